"""The sandbox's API over real HTTP: auth flows and their error shapes, conventions (request ids,
trailing slashes, 404/405/422), teams/projects, faults and the request log, and
--backend-compat. Datasets, artifacts and uploads are in test_sandbox_data.py, pipelines and
runs in test_sandbox_pipelines.py."""

import base64
import hashlib
import json
import re
import time

import pytest

from sandbox_client import Api, request


@pytest.fixture
def api(sandbox):
    sandbox.clear()
    return Api(sandbox.url).login()


def claims(token):
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


# ---- health and conventions -----------------------------------------------------------------

def test_health_and_readiness(sandbox):
    r = request(sandbox.url + "/health/")
    assert (r.status, r.json) == (200, {"status": "healthy"})
    r = request(sandbox.url + "/health/readiness")
    assert r.status == 200 and r.json["status"] == "ready"
    assert r.json["checks"]["database"] == "up"


def test_request_id_is_echoed_or_made(api):
    r = api("GET", "/users/me", headers={"X-Request-ID": "abc123"})
    assert r.headers["X-Request-ID"] == "abc123"
    r = api("GET", "/users/me")
    assert re.match(r"^[0-9a-f]{32}$", r.headers["X-Request-ID"])


def test_trailing_slash_redirects_to_the_other_form(api):
    pid = api.demo_project()
    r = api("GET", "/datasets", query={"project_id": pid},
            headers={"Host": "example.test:81", "X-Forwarded-Proto": "https"})
    assert r.status == 307
    assert r.headers["Location"] == "https://example.test:81/api/v1/datasets/?project_id=%d" % pid
    r = api("GET", "/projects/%d/" % pid)
    assert r.status == 307 and r.headers["Location"].endswith("/api/v1/projects/%d" % pid)


def test_unknown_route_404_and_wrong_method_405(api):
    r = api("GET", "/nothing/here")
    assert (r.status, r.json) == (404, {"detail": "Not Found"})
    r = api("PUT", "/users/me")
    assert (r.status, r.json) == (405, {"detail": "Method Not Allowed"})


def test_validation_errors_have_fastapis_shape(api):
    r = api("GET", "/datasets/")
    assert r.status == 422
    assert r.json["detail"][0]["type"] == "missing"
    assert r.json["detail"][0]["loc"] == ["query", "project_id"]
    assert r.json["detail"][0]["msg"] == "Field required"
    r = api("GET", "/datasets/abc")
    assert r.status == 422 and r.json["detail"][0]["type"] == "int_parsing"
    assert r.json["detail"][0]["loc"] == ["path", "dataset_id"]
    r = api("POST", "/datasets/", {"name": 5, "project_id": 1})
    kinds = sorted((d["type"], d["loc"][-1]) for d in r.json["detail"])
    assert kinds == [("missing", "storage_path"), ("string_type", "name")]
    r = api("POST", "/datasets/", b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 422 and r.json["detail"][0]["type"] == "json_invalid"


def test_server_fault_500_has_the_error_envelope(api):
    # the backend answers 500 for an expiry with a zone; the sandbox keeps that behaviour
    r = api("POST", "/api-keys/", {"name": "k", "expires_at": "2030-01-01T00:00:00Z"},
            headers={"X-Request-ID": "rid-500"})
    assert r.status == 500
    assert r.json["error"]["code"] == "INTERNAL_SERVER_ERROR"
    assert r.json["error"]["request_id"] == "rid-500"


# ---- authentication -------------------------------------------------------------------------

def test_login_issues_a_token_pair(sandbox):
    api = Api(sandbox.url).login()
    t = api.tokens
    assert t["token_type"] == "bearer"
    access, refresh = claims(t["access_token"]), claims(t["refresh_token"])
    assert access["type"] == "access" and refresh["type"] == "refresh"
    assert 1790 <= access["exp"] - time.time() <= 1800
    assert refresh["exp"] - time.time() > 6 * 24 * 3600
    me = api("GET", "/users/me")
    assert me.status == 200
    assert me.json["email"] == "demo@xether.local" and me.json["is_active"] is True
    assert set(me.json) == {"id", "email", "is_active", "is_superuser", "created_at",
                            "updated_at"}


def test_login_failures(sandbox):
    api = Api(sandbox.url)
    r = api.form("/auth/login", {"username": "demo@xether.local", "password": "wrong"})
    assert (r.status, r.json) == (401, {"detail": "Incorrect email or password"})
    assert "WWW-Authenticate" not in r.headers
    r = api.form("/auth/login", {"username": "nobody@x.y", "password": "xether-demo"})
    assert r.status == 401
    r = api("POST", "/auth/login", {"username": "demo@xether.local", "password": "xether-demo"})
    assert r.status == 422
    assert [d["loc"] for d in r.json["detail"]] == [["body", "username"], ["body", "password"]]


def test_no_or_bad_credentials_401_with_bearer_challenge(sandbox):
    api = Api(sandbox.url)
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic eDp5"}):
        r = api("GET", "/users/me", headers=headers)
        assert (r.status, r.json) == (401, {"detail": "Could not validate credentials"})
        assert r.headers["WWW-Authenticate"] == "Bearer"


def test_refresh_and_logout(sandbox):
    api = Api(sandbox.url).login()
    refresh = api.tokens["refresh_token"]
    r = api("POST", "/auth/refresh", query={"refresh_token": refresh})
    assert r.status == 200 and set(r.json) == {"access_token", "refresh_token", "token_type"}
    assert claims(r.json["access_token"])["type"] == "access"
    r = api("POST", "/auth/refresh", query={"refresh_token": api.tokens["access_token"]})
    assert (r.status, r.json) == (401, {"detail": "Invalid refresh token"})
    r = Api(sandbox.url)("POST", "/auth/logout", query={"refresh_token": refresh})
    assert r.status == 204 and r.data == b""
    r = api("POST", "/auth/refresh", query={"refresh_token": refresh})
    assert (r.status, r.json) == (401, {"detail": "Token has been blacklisted"})
    assert "WWW-Authenticate" not in r.headers
    assert api("GET", "/users/me").status == 200  # access tokens live on until they expire


def test_api_keys(api, sandbox):
    r = api("POST", "/api-keys/", {"name": "ci"})
    assert r.status == 200
    key, key_id = r.json["key"], r.json["id"]
    assert re.match(r"^xether_[A-Za-z0-9_-]{43}$", key)
    assert r.json["is_active"] is True and r.json["last_used_at"] is None
    listed = [k for k in api("GET", "/api-keys/").json if k["id"] == key_id][0]
    assert listed["key"] is None and listed["name"] == "ci"
    by_key = Api(sandbox.url)
    assert by_key("GET", "/users/me", headers={"X-API-Key": key}).status == 200
    r = api("GET", "/users/me", headers={"X-API-Key": key + "x"})  # checked before the bearer
    assert r.status == 401 and r.json == {"detail": "Could not validate credentials"}
    assert api("DELETE", "/api-keys/%d" % key_id).status == 204
    assert by_key("GET", "/users/me", headers={"X-API-Key": key}).status == 401
    assert api("DELETE", "/api-keys/%d" % key_id).status == 404


def test_secrets_at_rest_are_hashed_and_tokens_are_signed(api, sandbox):
    import sqlite3

    key = api("POST", "/api-keys/", {"name": "at-rest"}).json["key"]
    db = sqlite3.connect("file:%s/sandbox.db?mode=ro" % sandbox.data_dir, uri=True)
    try:
        users = db.execute("SELECT password_hash FROM users").fetchall()
        keys = [r[0] for r in db.execute("SELECT key_hash FROM api_keys")]
        dump = "\n".join(db.iterdump())
    finally:
        db.close()
    assert users and all(re.match(r"^(scrypt|pbkdf2)\$", h) for (h,) in users)
    assert "xether-demo" not in dump and key not in dump and key[7:] not in dump
    assert hashlib.sha256(key.encode()).hexdigest() in keys  # found by its digest only
    head, body, sig = api.tokens["access_token"].split(".")
    assert json.loads(base64.urlsafe_b64decode(head + "==")) == {"alg": "HS256", "typ": "JWT"}
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    for forged in (head + "." + body + "." + sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB"),
                   unsigned + "." + body + "."):
        r = Api(sandbox.url)("GET", "/users/me", headers={"Authorization": "Bearer " + forged})
        assert r.status == 401, forged


def test_expired_access_token_is_refused(start_sandbox):
    box = start_sandbox("--access-token-ttl", "1")
    api = Api(box.url).login()
    token = claims(api.tokens["access_token"])
    assert token["exp"] - token["iat"] == 1
    while api("GET", "/users/me").status == 200:  # accepted until it expires, not after
        assert time.time() < token["exp"] + 0.5
        time.sleep(0.05)
    assert time.time() >= token["exp"]
    r = api("GET", "/users/me")
    assert (r.status, r.json) == (401, {"detail": "Could not validate credentials"})
    r = api("POST", "/auth/refresh", query={"refresh_token": api.tokens["refresh_token"]})
    assert r.status == 200


def test_login_rate_limit(start_sandbox):
    box = start_sandbox(env={"XETHER_SANDBOX_LOGIN_LIMIT": "3"})
    api = Api(box.url)
    codes = [api.form("/auth/login", {"username": "demo@xether.local", "password": "x"}).status
             for _ in range(3)]
    assert codes == [401, 401, 401]
    r = api.form("/auth/login", {"username": "demo@xether.local", "password": "xether-demo"})
    assert (r.status, r.json) == (429, {"detail": "Too many requests. Please try again later."})
    assert 55 <= int(r.headers["Retry-After"]) <= 60  # the oldest attempt leaves in a minute


def test_inactive_user_and_other_teams(api, sandbox):
    pid = api.demo_project()
    team = api("GET", "/projects/%d" % pid).json["team_id"]
    email = "outsider%d@x.test" % int(time.time() * 1000)
    assert api("POST", "/_sandbox/users", {"email": email, "password": "pw"}).status == 201
    other = Api(sandbox.url).login(email, "pw")
    assert other("GET", "/projects/").json == []
    r = other("GET", "/projects/%d" % pid)
    assert (r.status, r.json) == (403, {"detail": "Insufficient permissions"})
    assert other("GET", "/teams/%d" % team).status == 403
    pipeline = api.pipeline("sleep", pid)
    dataset = api.dataset(pid, "private", b"a\n1\n")
    artifact = api.upload(pid, "private.csv", b"a\n2\n")[0]
    for path, what in (("/pipelines/%d" % pipeline, "Pipeline"), ("/datasets/%d" % dataset,
                       "Dataset"), ("/artifacts/%s" % artifact, "Artifact")):
        r = other("GET", path)
        assert (r.status, r.json) == (403, {"detail": "Insufficient permissions"}), path
        r = api("GET", path.rsplit("/", 1)[0] + "/999999")
        assert (r.status, r.json) == (404, {"detail": "%s not found" % what}), path
    sleeper = "inactive" + email
    api("POST", "/_sandbox/users", {"email": sleeper, "password": "pw", "is_active": False})
    r = Api(sandbox.url).form("/auth/login", {"username": sleeper, "password": "pw"})
    assert (r.status, r.json) == (400, {"detail": "Inactive user"})


# ---- teams and projects ---------------------------------------------------------------------

def test_teams_and_projects(api):
    teams = api("GET", "/teams/").json
    demo = [t for t in teams if t["name"] == "demo"][0]
    assert set(demo) == {"id", "name", "description", "owner_id", "created_at", "updated_at"}
    assert api("GET", "/teams/%d" % demo["id"]).json == demo
    r = api("POST", "/projects/", {"name": "extra", "team_id": demo["id"]})
    assert r.status == 201 and r.json["team_id"] == demo["id"] and r.json["description"] is None
    assert api("GET", "/projects/%d" % r.json["id"]).json == r.json
    listed = api("GET", "/projects/", query={"team_id": demo["id"]}).json
    assert r.json["id"] in [p["id"] for p in listed]
    assert api("GET", "/projects/", query={"team_id": 999999}).json == []
    assert api("GET", "/projects/999999").json == {"detail": "Project not found"}
    r = api("POST", "/projects/", {"name": "x", "team_id": 999999})
    assert (r.status, r.json) == (404, {"detail": "Team not found"})


# ---- faults and the request log -------------------------------------------------------------

def test_api_faults_and_request_log(api, sandbox):
    sandbox.fault({"target": "api", "action": "error", "status": 503, "path": "/api/v1/teams/",
                   "body": "<html>busy</html>", "content_type": "text/html"})
    r = api("GET", "/teams/")
    assert (r.status, r.data) == (503, b"<html>busy</html>")
    assert api("GET", "/teams/").status == 200
    pid = api.demo_project()
    sandbox.fault({"target": "api", "action": "drop_response", "method": "POST",
                   "path": "/api/v1/datasets/"})
    with pytest.raises(Exception):
        api("POST", "/datasets/", {"name": "dropped", "project_id": pid,
                                   "storage_path": "s3://datasets/d"})
    names = [d["name"] for d in api("GET", "/datasets/", query={"project_id": pid,
                                                                "search": "dropped"}).json]
    assert "dropped" in names  # the work was done before the connection closed
    sandbox.fault({"target": "api", "action": "redirect", "location": "http://127.0.0.1:1/x"})
    r = api("GET", "/users/me")
    assert (r.status, r.headers["Location"]) == (307, "http://127.0.0.1:1/x")
    sandbox.fault({"target": "api", "action": "stall", "seconds": 0.5, "path": "/health/"})
    t0 = time.time()
    assert api("GET", "/health/").status == 200
    assert time.time() - t0 >= 0.5
    log = [e for e in sandbox.requests() if e["target"] == "api" and "login" not in e["path"]]
    assert [(e["method"], e["path"], e["status"]) for e in log[:3]] == [
        ("GET", "/api/v1/teams/", 503), ("GET", "/api/v1/teams/", 200),
        ("GET", "/api/v1/projects/", 200)]
    assert ("POST", "/api/v1/datasets/", None) in [(e["method"], e["path"], e["status"])
                                                   for e in log]


def test_keep_alive_serves_many_requests_on_one_connection(api, sandbox):
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(sandbox.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    for path in ("/health/", "/api/v1/users/me", "/api/v1/nope", "/health/"):
        conn.request("GET", path, headers=api.headers)
        resp = conn.getresponse()
        body = resp.read()
        assert int(resp.headers["Content-Length"]) == len(body)
    conn.close()


# ---- backend-compat -------------------------------------------------------------------------

def test_backend_compat_hides_ext_routes(start_sandbox):
    box = start_sandbox("--backend-compat")
    api = Api(box.url).login()
    pid = api.demo_project()
    sleep = api.pipeline("sleep", pid)
    run = api("POST", "/pipelines/%d/execute" % sleep, {"seconds": 0})
    assert run.status == 201
    eid = run.json["id"]
    for method, path in (("GET", "/executions/%d" % eid), ("GET", "/executions/%d/logs" % eid),
                         ("POST", "/executions/%d/cancel" % eid),
                         ("POST", "/artifacts/multipart/abort"),
                         ("GET", "/artifacts/multipart/parts")):
        r = api(method, path, {} if method == "POST" else None)
        assert (r.status, r.json) == (404, {"detail": "Not Found"}), (method, path)
    aid, uid = api.initiate_multipart(pid, "compat.bin")
    assert api("GET", "/pipelines/%d/executions" % sleep).json[0]["id"] == eid

"""The sandbox's API over real HTTP: auth flows and their error shapes, conventions (request ids,
trailing slashes, 404/405/422, paging), teams/projects, datasets, artifacts and uploads,
faults, and --backend-compat. Pipelines and runs are in test_sandbox_pipelines.py."""

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


def test_expired_access_token_is_refused(start_sandbox):
    box = start_sandbox("--access-token-ttl", "1")
    api = Api(box.url).login()
    assert api("GET", "/users/me").status == 200
    time.sleep(2.1)
    assert api("GET", "/users/me").status == 401
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


# ---- datasets -------------------------------------------------------------------------------

def test_datasets_crud_search_paging_and_versions(api):
    pid = api("POST", "/projects/", {"name": "ds", "team_id": api("GET", "/teams/").json[0]["id"]}
              ).json["id"]
    made = []
    for i in range(5):
        r = api("POST", "/datasets/", {"name": "sales-%d" % i, "project_id": pid,
                                       "description": "month %d" % i,
                                       "storage_path": "s3://datasets/k%d" % i,
                                       "meta_data": {"n": i}})
        assert r.status == 201, r
        made.append(r.json)
    assert set(made[0]) == {"id", "name", "description", "project_id", "storage_path",
                            "meta_data", "created_at", "updated_at"}
    assert made[0]["meta_data"] == {"n": 0}
    r = api("GET", "/datasets/", query={"project_id": pid, "skip": 1, "limit": 2})
    assert [d["name"] for d in r.json] == ["sales-1", "sales-2"]
    assert r.headers["X-Total-Count"] == "5"
    r = api("GET", "/datasets/", query={"project_id": pid, "search": "MONTH 3"})
    assert [d["name"] for d in r.json] == ["sales-3"] and r.headers["X-Total-Count"] == "1"
    assert api("GET", "/datasets/", query={"project_id": pid, "search": "%"}).json == []
    assert api("GET", "/datasets/", query={"project_id": pid, "limit": 0}).status == 422
    did = made[0]["id"]
    r = api("PATCH", "/datasets/%d" % did, {"description": "new words"})
    assert r.status == 200 and r.json["description"] == "new words"
    assert r.json["name"] == "sales-0"
    r = api("POST", "/datasets/%d/versions" % did, {"version": "v2",
                                                    "storage_path": "s3://datasets/v2"})
    assert r.status == 201
    assert set(r.json) == {"id", "dataset_id", "version", "storage_path", "meta_data",
                           "created_at"}
    versions = api("GET", "/datasets/%d/versions" % did).json
    assert [v["version"] for v in versions] == ["v2"]
    assert api("DELETE", "/datasets/%d" % did).status == 204
    r = api("GET", "/datasets/%d" % did)
    assert (r.status, r.json) == (404, {"detail": "Dataset not found"})
    assert api("GET", "/datasets/", query={"project_id": 999999}).status == 404


# ---- artifacts and uploads ------------------------------------------------------------------

def test_single_upload_complete_download_delete(api):
    pid = api.demo_project()
    data = b"a,b\n1,2\n" * 100
    r = api("POST", "/artifacts/upload", {"name": "t.csv", "bucket": "datasets",
                                          "key": "datasets/%d/t1/t.csv" % pid,
                                          "content_type": "text/csv", "project_id": pid})
    assert r.status == 200 and set(r.json) == {"artifact_id", "upload_url"}
    aid = r.json["artifact_id"]
    put = request(r.json["upload_url"], "PUT", data, {"Content-Type": "text/csv"})
    assert put.status == 200 and put.headers["ETag"].startswith('"')
    sha = hashlib.sha256(data).hexdigest()
    bad = api("POST", "/artifacts/%s/complete" % aid, {"size": len(data) + 1, "checksum": sha})
    assert bad.status == 422 and bad.json["detail"][0]["loc"] == ["body", "size"]
    bad = api("POST", "/artifacts/%s/complete" % aid, {"size": len(data), "checksum": "0" * 64})
    assert bad.status == 422 and bad.json["detail"][0]["loc"] == ["body", "checksum"]
    ok = api("POST", "/artifacts/%s/complete" % aid,
             {"size": len(data), "checksum": "sha256:" + sha.upper()})
    assert (ok.status, ok.json) == (200, {"status": "completed", "artifact_id": aid})
    art = api("GET", "/artifacts/%s" % aid).json
    assert art["checksum_sha256"] == sha and art["size"] == len(data)
    assert art["content_type"] == "text/csv" and art["project_id"] == pid
    listed = api("GET", "/artifacts/", query={"project_id": pid}).json
    assert aid in [a["id"] for a in listed]
    assert api.download(aid) == data
    r = api("DELETE", "/artifacts/%s" % aid)
    assert (r.status, r.json) == (200, {"status": "deleted"})
    assert api("GET", "/artifacts/%s" % aid).status == 404
    assert api("GET", "/artifacts/%s/download" % aid).status == 404


def test_complete_before_upload_is_rejected(api):
    pid = api.demo_project()
    r = api("POST", "/artifacts/upload", {"name": "n", "bucket": "datasets",
                                          "key": "datasets/never/%f" % time.time(),
                                          "content_type": "text/plain", "project_id": pid})
    aid = r.json["artifact_id"]
    r = api("POST", "/artifacts/%s/complete" % aid, {"size": 1})
    assert r.status == 422 and r.json["detail"][0]["loc"] == ["body"]
    assert api("GET", "/artifacts/%s/download" % aid).status == 404


def _initiate(api, pid, name):
    r = api("POST", "/artifacts/multipart/initiate", {
        "name": name, "bucket": "datasets", "key": "datasets/%d/mp/%s" % (pid, name),
        "content_type": "application/octet-stream", "project_id": pid})
    assert r.status == 200 and set(r.json) == {"artifact_id", "upload_id"}
    return r.json["artifact_id"], r.json["upload_id"]


def _put_part(api, aid, uid, number, data):
    r = api("POST", "/artifacts/multipart/part-url", {"artifact_id": aid, "upload_id": uid,
                                                      "part_number": number})
    assert r.status == 200, r
    put = request(r.json["part_url"], "PUT", data)
    assert put.status == 200, put
    return put.headers["ETag"]


def test_multipart_upload_resume_listing_and_abort(api):
    pid = api.demo_project()
    aid, uid = _initiate(api, pid, "big.bin")
    first, second = b"x" * (5 << 20), b"tail bytes"
    etags = [_put_part(api, aid, uid, 1, first), _put_part(api, aid, uid, 2, second)]
    parts = api("GET", "/artifacts/multipart/parts", query={"artifact_id": aid, "upload_id": uid})
    assert [(p["part_number"], p["etag"], p["size"]) for p in parts.json] == \
        [(1, etags[0], len(first)), (2, etags[1], len(second))]
    whole = first + second
    r = api("POST", "/artifacts/multipart/complete", {
        "artifact_id": aid, "upload_id": uid, "size": len(whole),
        "checksum": hashlib.sha256(whole).hexdigest(),
        "parts": [{"part_number": i + 1, "etag": e} for i, e in enumerate(etags)]})
    assert r.status == 200 and r.json["status"] == "completed", r
    assert api("GET", "/artifacts/%s" % aid).json["size"] == len(whole)
    assert api.download(aid) == whole
    aid2, uid2 = _initiate(api, pid, "dropped.bin")
    r = api("POST", "/artifacts/multipart/abort", {"artifact_id": aid2, "upload_id": uid2})
    assert r.status == 204
    r = api("POST", "/artifacts/multipart/part-url", {"artifact_id": aid2, "upload_id": uid2,
                                                      "part_number": 1})
    assert r.status == 404


def test_multipart_bad_part_is_a_client_error(api):
    pid = api.demo_project()
    aid, uid = _initiate(api, pid, "bad.bin")
    _put_part(api, aid, uid, 1, b"only")
    r = api("POST", "/artifacts/multipart/complete", {
        "artifact_id": aid, "upload_id": uid,
        "parts": [{"part_number": 1, "etag": '"0123456789abcdef0123456789abcdef"'}]})
    assert r.status == 400 and "InvalidPart" in r.json["detail"]
    r = api("POST", "/artifacts/multipart/part-url", {"artifact_id": aid, "upload_id": uid,
                                                      "part_number": 10001})
    assert r.status == 422


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
    aid, uid = _initiate(api, pid, "compat.bin")
    assert api("GET", "/pipelines/%d/executions" % sleep).json[0]["id"] == eid


def test_storage_on_a_second_port(start_sandbox):
    box = start_sandbox("--storage-port", "0")
    api = Api(box.url).login()
    pid = api.demo_project()
    aid, _, _ = api.upload(pid, "two-ports.txt", b"hello", "text/plain")
    url = api("GET", "/artifacts/%s/download" % aid).json["download_url"]
    assert url.startswith("http://127.0.0.1:") and not url.startswith(box.url)
    assert request(url).data == b"hello"

"""The HTTP layer against a real sandbox and real peers: keep-alive, retries (backoff,
Retry-After, never a repeated POST), the one-line error for every error shape, credential
scoping on redirects, what is sent, and a --debug log with no secret in it."""

import re
import time

import pytest

import peers
from conftest import DEMO_EMAIL, DEMO_PASSWORD

ME = "/api/v1/users/me"
LOGIN = "/api/v1/auth/login"


@pytest.fixture
def user(user):
    """The logged-in CLI, with the sandbox's request log and faults cleared after the setup."""
    user.sandbox.clear()
    return user


@pytest.fixture
def proxy(tmp_path):
    tp = peers.start_tinyproxy(str(tmp_path / "tinyproxy"))
    yield tp
    tp.stop()


def calls(sandbox, path):
    return [(e["method"], e["status"]) for e in sandbox.requests() if e["path"] == path]


def fail_me(sandbox, status, times=1, **extra):
    spec = {"target": "api", "action": "error", "status": status, "path": ME, "times": times}
    spec.update(extra)
    sandbox.fault(spec)


# -- keep-alive -------------------------------------------------------------------------------

def test_calls_to_one_origin_share_one_connection(user, tmp_path):
    sandbox = user.sandbox
    front = peers.Forwarder(sandbox.url)
    try:
        r = user("--api-url", front.url, "login", "--email", DEMO_EMAIL, "--password-stdin",
                 input=DEMO_PASSWORD + "\n")
        assert r.code == 0, r
        assert calls(sandbox, LOGIN) == [("POST", 200)] and calls(sandbox, ME) == [("GET", 200)]
        assert front.connections == 1
        # artifact download: artifact record, download URL, then the object itself
        token = peers.stored_credentials(user)["access_token"]
        art = peers.make_artifact(sandbox, token, user.project_id)
        front.reset_counts()
        sandbox.clear()
        r = user("--api-url", front.url, "artifact", "download", art, str(tmp_path / "t.txt"))
        assert r.code == 0, r
        api = [e["path"] for e in sandbox.requests() if e["target"] == "api"]
        assert api == ["/api/v1/artifacts/" + art, "/api/v1/artifacts/%s/download" % art]
        assert front.connections == 1  # (the object itself comes from the sandbox's own URL)
    finally:
        front.close()


# -- retries ----------------------------------------------------------------------------------

def test_503_then_success(user):
    fail_me(user.sandbox, 503, body={"detail": "busy"})
    r = user("whoami")
    assert r.code == 0, r
    assert calls(user.sandbox, ME) == [("GET", 503), ("GET", 200)]


def test_429_with_retry_after_is_honoured(user):
    fail_me(user.sandbox, 429, headers={"Retry-After": "1"})
    started = time.time()
    r = user("whoami")
    assert r.code == 0, r
    assert time.time() - started >= 1.0
    assert "retrying" not in r.err  # one second is not worth a word
    assert calls(user.sandbox, ME) == [("GET", 429), ("GET", 200)]


def test_a_long_retry_after_is_announced(user):
    fail_me(user.sandbox, 503, headers={"Retry-After": "3"})
    started = time.time()
    r = user("whoami")
    assert r.code == 0, r
    assert time.time() - started >= 3.0
    assert re.search(r"warning: retrying in 3s \(HTTP 503 from 127\.0\.0\.1:\d+\)", r.err), r


def test_retry_after_as_an_http_date(user):
    from email.utils import formatdate

    fail_me(user.sandbox, 429, headers={"Retry-After": formatdate(time.time() + 2, usegmt=True)})
    started = time.time()
    r = user("whoami")
    assert r.code == 0, r
    assert time.time() - started >= 0.9
    assert calls(user.sandbox, ME) == [("GET", 429), ("GET", 200)]


def test_429_without_retry_after_backs_off_and_a_post_is_retried_after_429(user):
    fail_me(user.sandbox, 429, times=2, body={"detail": "Too many requests. Please try again later."})
    r = user("--debug", "whoami")
    assert r.code == 0, r
    assert calls(user.sandbox, ME) == [("GET", 429)] * 2 + [("GET", 200)]
    assert len(re.findall(r"\[debug\] \* retrying in \d\.\d\ds \(HTTP 429", r.err)) == 2
    user.sandbox.clear()
    user.sandbox.fault({"target": "api", "action": "error", "status": 429, "path": LOGIN,
                        "headers": {"Retry-After": "0"}})
    assert user.login(user.sandbox.url).code == 0
    assert calls(user.sandbox, LOGIN) == [("POST", 429), ("POST", 200)]


def test_max_attempts_bounds_the_retries(user):
    assert user("config", "set", "max_attempts", "2").code == 0
    fail_me(user.sandbox, 503, times=10, body={"detail": "still busy"})
    r = user("whoami")
    assert r.code == 7, r
    assert calls(user.sandbox, ME) == [("GET", 503)] * 2
    assert re.match(r"xether: error: HTTP 503: still busy \(request id [0-9a-f]{32}\)$",
                    r.err.splitlines()[0]), r


def test_backoff_is_exponential_with_full_jitter(user):
    assert user("config", "set", "max_attempts", "4").code == 0
    fail_me(user.sandbox, 503, times=10)
    r = user("--debug", "whoami")
    assert r.code == 7, r
    waits = [float(w) for w in re.findall(r"\* retrying in (\d+\.\d+)s \(HTTP 503", r.err)]
    waits += [float(w) for w in re.findall(r"warning: retrying in (\d+)s \(HTTP 503", r.err)]
    assert len(waits) == 3, r.err
    for attempt, wait in enumerate(waits, 1):
        assert 0 <= wait <= 0.5 * 2 ** (attempt - 1) + 0.5, waits  # (+0.5: whole-second rounding)
    assert calls(user.sandbox, ME) == [("GET", 503)] * 4


def test_retry_after_is_capped_at_a_minute(user):
    fail_me(user.sandbox, 503, headers={"Retry-After": "3600"})
    proc = user.popen("whoami")
    try:
        line = proc.stderr.readline()
        assert re.match(r"warning: retrying in 60s \(HTTP 503 from 127\.0\.0\.1:\d+\)$", line), line
        assert proc.poll() is None  # it really waits
    finally:
        proc.kill()
        proc.communicate()


def test_a_post_that_reached_the_server_is_never_repeated(user):
    sandbox = user.sandbox
    sandbox.fault({"target": "api", "action": "error", "status": 503, "path": LOGIN,
                   "body": {"detail": "unavailable"}})
    r = user("login", "--email", DEMO_EMAIL, "--password-stdin", input=DEMO_PASSWORD + "\n")
    assert r.code == 7, r
    assert calls(sandbox, LOGIN) == [("POST", 503)]
    sandbox.clear()
    sandbox.fault({"target": "api", "action": "drop_response", "path": LOGIN})
    r = user("login", "--email", DEMO_EMAIL, "--password-stdin", input=DEMO_PASSWORD + "\n")
    assert r.code == 8, r
    assert "may have reached the server" in r.err
    assert calls(sandbox, LOGIN) == [("POST", None)]


def test_a_dropped_get_is_retried(user):
    user.sandbox.fault({"target": "api", "action": "drop_response", "path": ME})
    r = user("whoami")
    assert r.code == 0, r
    assert calls(user.sandbox, ME) == [("GET", None), ("GET", 200)]


def test_a_body_cut_short_is_retried_for_a_get_only(cli):
    body = b'{"id": 7, "email": "cut@example.com"}'
    cut = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body), body[:10])
    whole = cut[:-10] + body
    server = peers.ScriptedServer([cut, whole])
    try:
        r = cli("--api-url", server.url, "whoami", "-o", "json", env={"XETHER_TOKEN": "t.t.t"})
        assert r.code == 0, r
        assert r.json()["email"] == "cut@example.com"
        assert server.requests == ["GET /api/v1/users/me HTTP/1.1"] * 2
        server.answers, server.requests[:] = [cut], []
        r = cli("--api-url", server.url, "login", "--email", "a@b.c", "--password-stdin",
                input="pw\n")
        assert r.code == 8, r
        assert "dropped" in r.err and "may have reached the server" in r.err
        assert server.requests == ["POST /api/v1/auth/login HTTP/1.1"]
    finally:
        server.close()


def test_connection_refused_is_retried_then_reported(cli):
    port = peers.free_port()
    assert cli("config", "set", "max_attempts", "3").code == 0
    r = cli("--api-url", "http://127.0.0.1:%d" % port, "--debug", "login", "--email", DEMO_EMAIL,
            "--password-stdin", input=DEMO_PASSWORD + "\n")
    assert r.code == 8, r
    assert "cannot reach 127.0.0.1:%d: connection refused" % port in r.err
    assert "Check --api-url" in r.err
    assert len(re.findall(r"\* retrying in .*connection refused", r.err)) == 2  # a POST, too


def test_dns_failure_is_retried_then_reported(cli):
    assert cli("config", "set", "max_attempts", "2").code == 0
    r = cli("--api-url", "http://no-such-host.invalid", "--debug", "login", "--email", DEMO_EMAIL,
            "--password-stdin", input=DEMO_PASSWORD + "\n")
    assert r.code == 8, r
    assert "cannot reach no-such-host.invalid: host name lookup failed" in r.err
    assert len(re.findall(r"\* retrying in .*host name lookup failed", r.err)) == 1


def test_read_timeout(user):
    assert user("config", "set", "max_attempts", "1").code == 0
    user.sandbox.fault({"target": "api", "action": "stall", "seconds": 3, "path": ME})
    started = time.time()
    r = user("--request-timeout", "0.5", "whoami")
    assert r.code == 8, r
    assert "timed out" in r.err and time.time() - started < 2.5
    user.sandbox.clear()
    user.sandbox.fault({"target": "api", "action": "stall", "seconds": 2, "path": ME})
    assert user("config", "set", "max_attempts", "2").code == 0
    r = user("--request-timeout", "0.5", "whoami")
    assert r.code == 0, r


# -- one error line for every error shape -----------------------------------------------------

def test_html_502_shows_status_and_reason_not_html(user):
    assert user("config", "set", "max_attempts", "1").code == 0
    fail_me(user.sandbox, 502, content_type="text/html",
            body="<html><head><title>502 Bad Gateway</title></head><body>nginx/1.25</body></html>")
    r = user("--debug", "whoami")
    assert r.code == 7, r
    error = [l for l in r.err.splitlines() if l.startswith("xether: error:")]
    sent = re.search(r"X-Request-ID: ([0-9a-f]{32})", r.err).group(1)
    assert error == ["xether: error: HTTP 502 Bad Gateway (request id %s)" % sent]
    assert "<html" not in r.err and "nginx" not in r.err


def test_error_shapes(user):
    assert user("config", "set", "max_attempts", "1").code == 0
    cases = [
        (500, {"error": {"code": "INTERNAL_SERVER_ERROR", "message": "db down",
                         "request_id": "req-from-body"}}, 7, "HTTP 500: db down (request id req-from-body)"),
        (422, {"detail": [{"type": "missing", "loc": ["body", "name"], "msg": "Field required"}]},
         6, "HTTP 422: name: Field required (request id "),
        (403, {"detail": "Insufficient permissions"}, 4, "HTTP 403: Insufficient permissions"),
        (409, {"error": {"code": "CONFLICT", "message": "already done"}}, 6, "HTTP 409: already done"),
        (500, "", 7, "HTTP 500 Internal Server Error (request id "),
    ]
    for status, body, code, text in cases:
        user.sandbox.clear()
        fail_me(user.sandbox, status, body=body)
        r = user("whoami")
        assert r.code == code, (status, r)
        assert text in r.err.splitlines()[0], (status, r)
    r = user("project", "info", "999999")
    assert r.code == 5 and "HTTP 404: Project not found (request id " in r.err


# -- redirects --------------------------------------------------------------------------------

def test_a_redirect_to_another_origin_carries_no_credentials(user):
    other = peers.HeaderRecorder()
    try:
        for env, header in (({}, "authorization"), ({"XETHER_API_KEY": "xether_" + "k" * 43}, "x-api-key")):
            user.sandbox.clear()
            user.sandbox.fault({"target": "api", "action": "redirect", "path": ME,
                                "location": other.url + "/elsewhere/me?x=1"})
            del other.seen[:]
            r = user("whoami", "-o", "json", env=env)
            assert r.code == 0, r
            assert r.json()["email"] == "someone@other.origin"
            assert [s["path"] for s in other.seen] == ["/elsewhere/me?x=1"]
            headers = other.seen[0]["headers"]
            assert "authorization" not in headers and "x-api-key" not in headers, header
            assert headers["user-agent"].startswith("xether/")
    finally:
        other.close()


def test_a_same_origin_redirect_keeps_credentials(user):
    user.sandbox.fault({"target": "api", "action": "redirect", "path": ME,
                        "location": user.sandbox.url + ME})
    r = user("whoami", "-o", "json")
    assert r.code == 0, r
    assert r.json()["email"] == DEMO_EMAIL
    assert calls(user.sandbox, ME) == [("GET", 307), ("GET", 200)]


# -- what is sent -----------------------------------------------------------------------------

def test_requests_are_explicit_about_content_type_and_identity(cli):
    fake = peers.HeaderRecorder(answer={"access_token": "aaa.bbb.ccc", "refresh_token": "ddd.eee.fff",
                                        "email": "fake@example.com"})
    try:
        r = cli("--api-url", fake.url + "/prefix", "login", "--email", "a@b.c", "--password-stdin",
                input="pw-123\n")
        assert r.code == 0, r
        login, me = fake.seen
        assert (login["method"], login["path"]) == ("POST", "/prefix/api/v1/auth/login")
        assert login["headers"]["content-type"] == "application/x-www-form-urlencoded"
        assert login["body"] == b"username=a%40b.c&password=pw-123"
        assert "authorization" not in login["headers"]
        assert (me["method"], me["path"]) == ("GET", "/prefix/api/v1/users/me")
        assert me["headers"]["authorization"] == "Bearer aaa.bbb.ccc"
        for seen in (login, me):
            assert re.match(r"[0-9a-f]{32}$", seen["headers"]["x-request-id"])
            assert re.match(r"xether/\S+ python/\d+\.\d+\.\d+ \S+$", seen["headers"]["user-agent"])
            assert seen["headers"]["accept"] == "application/json"
    finally:
        fake.close()


# -- --debug ----------------------------------------------------------------------------------

def test_debug_log_shows_traffic_but_no_secret(cli, sandbox, tmp_path, proxy):
    sandbox.clear()
    url = sandbox.url
    logs = []

    def run(*args, **kw):
        r = cli("--api-url", url, "--debug", *args, **kw)
        assert r.code == 0, r
        logs.append(r.err)
        return r

    run("login", "--email", DEMO_EMAIL, "--password-stdin", input=DEMO_PASSWORD + "\n")
    first = peers.stored_credentials(cli)
    assert cli("project", "use", "1").code == 0
    sandbox.fault({"target": "api", "action": "error", "status": 401, "path": ME,
                   "headers": {"WWW-Authenticate": "Bearer"}})
    run("whoami")  # refresh_token travels in the query string
    second = peers.stored_credentials(cli)
    assert second["access_token"] != first["access_token"]
    status, key = peers.api(url, "POST", "/api-keys/", token=second["access_token"], body={"name": "dbg"})
    assert status == 200
    art = peers.make_artifact(sandbox, second["access_token"], 1)
    # through the proxy, whose log shows the signed URL the CLI really requested
    run("artifact", "download", art, str(tmp_path / "d.txt"), env={"HTTP_PROXY": proxy.url})
    storage = [line for line in proxy.requests() if "/_storage/" in line]
    signatures = re.findall(r"Signature=([^&\s]+)", " ".join(storage))
    run("login", "--api-key-stdin", input=key["key"] + "\n")
    run("whoami")
    assert cli("login", "--email", DEMO_EMAIL, "--password-stdin", input=DEMO_PASSWORD + "\n").code == 0
    third = peers.stored_credentials(cli)
    run("logout")
    assert len(signatures) == 1 and len(signatures[0]) >= 32, storage
    text = "\n".join(logs)
    secrets = [DEMO_PASSWORD, key["key"]] + signatures + [
        c[k] for c in (first, second, third) for k in ("access_token", "refresh_token")]
    for secret in secrets:
        assert secret not in text, secret
    for request_line in ("> POST %s/api/v1/auth/login" % url, "> GET %s%s" % (url, ME),
                         "> POST %s/api/v1/auth/refresh?refresh_token=***" % url,
                         "> POST %s/api/v1/auth/logout?refresh_token=***" % url,
                         "X-Xether-Signature=***", "Authorization: ***", "X-API-Key: ***"):
        assert request_line in text, request_line
    assert re.search(r"\[debug\] < 200 OK \d+\.\d{3}s request-id=[0-9a-f]{32}", text)
    # the pre-signed request carried no credential header at all
    block = text[text.index("> GET %s/_storage/" % url):]
    block = block[:block.index("[debug] <")]
    assert "Authorization" not in block and "X-API-Key" not in block and "Signature=***" in block

"""login / logout / whoami against a real sandbox: prompts on a real terminal, stored
credentials, API keys, environment overrides, token refresh and revocation."""

import json
import os
import pty
import select
import stat
import time

import peers
from conftest import DEMO_EMAIL, DEMO_PASSWORD


def creds_path(cli):
    return os.path.join(cli.env["XETHER_CONFIG_DIR"], "credentials.json")


stored = peers.stored_credentials


def api_calls(sandbox, path):
    return [(e["method"], e["status"]) for e in sandbox.requests() if e["path"] == path]


# -- a real terminal ----------------------------------------------------------------------------

def _read_until(fd, wanted, deadline):
    data = b""
    while wanted not in data:
        left = deadline - time.time()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError("no %r on the terminal; got %r" % (wanted, data))
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            raise AssertionError("terminal closed before %r; got %r" % (wanted, data))
        data += chunk
    return data


def _read_rest(fd, deadline):
    data = b""
    while time.time() < deadline:
        if not select.select([fd], [], [], max(0, deadline - time.time()))[0]:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def run_on_terminal(cli, args, dialogue, timeout=30):
    """Run the CLI with a pty as its controlling terminal; answer each (prompt, reply).
    Returns (exit code, everything the terminal showed)."""
    argv = cli.prog + list(args)
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdin/stdout/stderr and /dev/tty are the pty
        try:
            os.execve(argv[0], argv, cli.env)
        finally:
            os._exit(127)
    deadline = time.time() + timeout
    seen = b""
    try:
        for prompt, reply in dialogue:
            seen += _read_until(fd, prompt, deadline)
            os.write(fd, reply)
        seen += _read_rest(fd, deadline)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.WEXITSTATUS(status), seen.decode("utf-8", "replace")


# -- tests ----------------------------------------------------------------------------------

def test_login_prompts_on_a_terminal_and_never_echoes_the_password(cli, sandbox):
    code, screen = run_on_terminal(
        cli, ["--api-url", sandbox.url, "login"],
        [(b"Email: ", DEMO_EMAIL.encode() + b"\n"), (b"Password: ", DEMO_PASSWORD.encode() + b"\n")])
    assert code == 0, screen
    assert DEMO_EMAIL in screen  # the email is echoed as typed
    assert DEMO_PASSWORD not in screen
    assert "Logged in as %s on %s" % (DEMO_EMAIL, sandbox.url) in screen
    assert stored(cli)["email"] == DEMO_EMAIL


def test_wrong_password_on_the_terminal(cli, sandbox):
    code, screen = run_on_terminal(
        cli, ["--api-url", sandbox.url, "login", "--email", DEMO_EMAIL],
        [(b"Password: ", b"not-the-password-42\n")])
    assert code == 3, screen
    assert "not-the-password-42" not in screen
    assert "Incorrect email or password" in screen
    assert not os.path.exists(creds_path(cli))


def test_stdin_secrets_typed_on_a_terminal_are_not_echoed(user):
    token = stored(user)["access_token"]
    status, key = peers.api(user.sandbox.url, "POST", "/api-keys/", token=token, body={"name": "tty"})
    assert status == 200, key
    code, screen = run_on_terminal(user, ["login", "--api-key-stdin"],
                                   [(b"API key: ", key["key"].encode() + b"\n")])
    assert code == 0, screen
    assert key["key"] not in screen and "Logged in as %s" % DEMO_EMAIL in screen
    assert stored(user)["api_key"] == key["key"]
    code, screen = run_on_terminal(user, ["login", "--email", DEMO_EMAIL, "--password-stdin"],
                                   [(b"Password: ", DEMO_PASSWORD.encode() + b"\n")])
    assert code == 0 and DEMO_PASSWORD not in screen, screen


def test_login_with_password_stdin_stores_private_credentials(cli, sandbox):
    r = cli("--api-url", sandbox.url, "login", "--email", DEMO_EMAIL, "--password-stdin",
            input=DEMO_PASSWORD + "\n")
    assert r.code == 0, r
    assert "Logged in as %s on %s" % (DEMO_EMAIL, sandbox.url) in r.err
    assert DEMO_PASSWORD not in r.out + r.err
    creds = stored(cli)
    assert creds["api_url"] == sandbox.url and creds["email"] == DEMO_EMAIL
    assert creds["access_token"].count(".") == 2 and creds["refresh_token"].count(".") == 2
    assert creds["access_token"] not in r.out + r.err
    assert stat.S_IMODE(os.stat(creds_path(cli)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(creds_path(cli))).st_mode) == 0o700
    # --api-url on login becomes the profile's api_url, so whoami needs no flag
    r = cli("whoami", "-o", "json")
    assert r.code == 0, r
    info = r.json()
    assert (info["email"], info["api_url"], info["profile"], info["method"]) == (
        DEMO_EMAIL, sandbox.url, "default", "token")
    assert creds["access_token"] not in r.out
    r = cli("auth", "status")
    assert r.code == 0 and "User:" in r.out and DEMO_EMAIL in r.out


def test_password_on_the_command_line_is_refused(cli, sandbox):
    sandbox.clear()
    r = cli("--api-url", sandbox.url, "login", "--email", DEMO_EMAIL, "--password", "hunter2-argv")
    assert r.code == 2, r
    assert "--password is not accepted" in r.err and "--password-stdin" in r.err
    assert "hunter2-argv" not in r.out + r.err
    assert api_calls(sandbox, "/api/v1/auth/login") == []


def test_wrong_password_and_no_terminal(cli, sandbox):
    r = cli("--api-url", sandbox.url, "login", "--email", DEMO_EMAIL, "--password-stdin",
            input="wrong-password\n")
    assert r.code == 3, r
    assert len(r.err.splitlines()) == 1 and "login failed: HTTP 401: Incorrect email or password" in r.err
    r = cli("--api-url", sandbox.url, "login", "--email", DEMO_EMAIL, input="")
    assert r.code == 2 and "--password-stdin" in r.err
    r = cli("--api-url", sandbox.url, "login", "--email", DEMO_EMAIL, "--password-stdin", input="")
    assert r.code == 2 and "no password on stdin" in r.err
    assert not os.path.exists(creds_path(cli))


def test_whoami_when_not_logged_in(cli, sandbox):
    r = cli("--api-url", sandbox.url, "whoami")
    assert r.code == 3
    assert "not logged in to %s (profile default)" % sandbox.url in r.err
    assert "xether login" in r.err


def _token(sandbox):
    import urllib.parse
    import urllib.request

    form = urllib.parse.urlencode({"username": DEMO_EMAIL, "password": DEMO_PASSWORD}).encode()
    with urllib.request.urlopen(sandbox.url + "/api/v1/auth/login", form, timeout=10) as r:
        return json.loads(r.read())


def test_api_key_login_and_environment_overrides(user):
    sandbox = user.sandbox
    token = stored(user)["access_token"]
    status, key = peers.api(sandbox.url, "POST", "/api-keys/", token=token, body={"name": "ci"})
    assert status == 200, key
    secret = key["key"]
    assert secret.startswith("xether_")

    # the key from stdin replaces the stored token
    r = user("login", "--api-key-stdin", input=secret + "\n")
    assert r.code == 0, r
    assert "Logged in as %s on %s" % (DEMO_EMAIL, sandbox.url) in r.err
    assert stored(user)["api_key"] == secret and "access_token" not in stored(user)
    r = user("whoami")
    assert r.code == 0, r
    assert secret not in r.out + r.err and secret[:9] + "..." in r.out
    r = user("login", "--api-key-stdin", input="xether_" + "x" * 43 + "\n")
    assert r.code == 3 and "API key was rejected" in r.err
    assert stored(user)["api_key"] == secret  # a failed login keeps the old credentials

    # XETHER_API_KEY beats the stored credential: a bad one fails, a good one is named
    r = user("whoami", env={"XETHER_API_KEY": "xether_" + "y" * 43})
    assert r.code == 3 and "API key was rejected" in r.err
    r = user("whoami", "-o", "json", env={"XETHER_API_KEY": secret})
    assert r.code == 0 and r.json()["source"] == "env XETHER_API_KEY"

    # XETHER_TOKEN: works with no stored credentials at all, and a bad one fails
    assert user("logout").code == 0
    fresh = _token(sandbox)
    r = user("whoami", "-o", "json", env={"XETHER_TOKEN": fresh["access_token"]})
    assert r.code == 0, r
    assert r.json()["source"] == "env XETHER_TOKEN" and r.json()["email"] == DEMO_EMAIL
    r = user("whoami", env={"XETHER_TOKEN": "not.a.token"})
    assert r.code == 3, r
    peers.api(sandbox.url, "DELETE", "/api-keys/%d" % key["id"], token=fresh["access_token"])


def test_expired_access_token_is_refreshed_and_stored(cli, start_sandbox):
    box = start_sandbox("--access-token-ttl", "2")
    cli.login(box.url)
    before = stored(cli)
    time.sleep(3)
    box.clear()
    r = cli("whoami", "-o", "json")
    assert r.code == 0, r
    assert r.json()["email"] == DEMO_EMAIL
    after = stored(cli)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] and after["email"] == DEMO_EMAIL
    assert stat.S_IMODE(os.stat(creds_path(cli)).st_mode) == 0o600
    assert api_calls(box, "/api/v1/auth/refresh") == [("POST", 200)]
    assert api_calls(box, "/api/v1/users/me") == [("GET", 200)]
    assert [n for n in os.listdir(os.path.dirname(creds_path(cli))) if n.endswith(".tmp")] == []


def test_a_401_is_refreshed_once_and_the_call_repeated(user):
    sandbox = user.sandbox
    before = stored(user)
    sandbox.clear()
    sandbox.fault({"target": "api", "action": "error", "status": 401, "path": "/api/v1/users/me",
                   "headers": {"WWW-Authenticate": "Bearer"},
                   "body": {"detail": "Could not validate credentials"}})
    r = user("whoami")
    assert r.code == 0, r
    assert [(e["method"], e["path"], e["status"]) for e in sandbox.requests()] == [
        ("GET", "/api/v1/users/me", 401), ("POST", "/api/v1/auth/refresh", 200),
        ("GET", "/api/v1/users/me", 200)]
    assert stored(user)["access_token"] != before["access_token"]


def test_refused_refresh_means_session_expired(user):
    sandbox = user.sandbox
    refresh = stored(user)["refresh_token"]
    status, _ = peers.api(sandbox.url, "POST", "/auth/logout?refresh_token=" + refresh)
    assert status == 204
    sandbox.clear()
    sandbox.fault({"target": "api", "action": "error", "status": 401, "path": "/api/v1/users/me",
                   "times": 5, "headers": {"WWW-Authenticate": "Bearer"},
                   "body": {"detail": "Could not validate credentials"}})
    r = user("whoami")
    assert r.code == 3, r
    assert "session expired, run xether login" in r.err.splitlines()[0]
    assert api_calls(sandbox, "/api/v1/auth/refresh") == [("POST", 401)]
    assert api_calls(sandbox, "/api/v1/users/me") == [("GET", 401)]


def test_an_api_key_is_never_refreshed(user):
    sandbox = user.sandbox
    sandbox.clear()
    sandbox.fault({"target": "api", "action": "error", "status": 401, "path": "/api/v1/users/me",
                   "headers": {"WWW-Authenticate": "Bearer"}, "body": {"detail": "Invalid API key"}})
    r = user("whoami", env={"XETHER_API_KEY": "xether_" + "z" * 43})
    assert r.code == 3 and "API key was rejected: HTTP 401: Invalid API key" in r.err
    assert api_calls(sandbox, "/api/v1/auth/refresh") == []


def test_logout_revokes_on_the_server_and_forgets_locally(user):
    sandbox = user.sandbox
    refresh = stored(user)["refresh_token"]
    assert peers.api(sandbox.url, "POST", "/auth/refresh?refresh_token=" + refresh)[0] == 200
    r = user("logout")
    assert r.code == 0, r
    assert "Logged out of %s" % sandbox.url in r.err
    assert stored(user) is None
    status, body = peers.api(sandbox.url, "POST", "/auth/refresh?refresh_token=" + refresh)
    assert (status, body) == (401, {"detail": "Token has been blacklisted"})
    assert user("whoami").code == 3
    r = user("logout")
    assert r.code == 0 and "Not logged in" in r.err


def test_logout_clears_credentials_even_when_the_server_is_gone(cli, start_sandbox):
    box = start_sandbox()
    cli.login(box.url)
    assert cli("config", "set", "max_attempts", "1").code == 0
    box.stop()
    r = cli("logout")
    assert r.code == 0, r
    assert "could not revoke the session on the server" in r.err
    assert "local credentials are removed anyway" in r.err
    assert stored(cli) is None


def test_profiles_keep_separate_credentials(cli, sandbox):
    r = cli("--profile", "other", "--api-url", sandbox.url, "login", "--email", DEMO_EMAIL,
            "--password-stdin", input=DEMO_PASSWORD + "\n")
    assert r.code == 0, r
    assert cli("--profile", "other", "whoami").code == 0
    assert cli("whoami", env={"XETHER_API_URL": sandbox.url}).code == 3
    assert cli("whoami", env={"XETHER_PROFILE": "other"}).code == 0
    assert stored(cli, "other")["email"] == DEMO_EMAIL and stored(cli) is None

"""Shared fixtures: run xether as a user would, against a real sandbox on a free port.

- `cli`: a runner for `python xether.py ...` with an isolated config/cache/HOME
  (`cli("dataset", "ls")` -> Result(code, out, err)); `cli.env` is its environment.
- `pyz`: the built dist/xether.pyz (built once if missing).
- `sandbox`: one sandbox for the session, started with the test hooks on; `sandbox.url`,
  `sandbox.fault({...})`, `sandbox.clear()`, `sandbox.requests()`.
- `start_sandbox(*extra_args, env=None)`: a private sandbox (its own data dir) for tests that
  need special options (`--backend-compat`, `--access-token-ttl 2`, ...); stopped afterwards.
- `user`: a `cli` logged in to the session sandbox as the demo user, project `demo` selected.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from peers import stop_process

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
XETHER_PY = os.path.join(ROOT, "xether.py")
PYZ = os.path.join(ROOT, "dist", "xether.pyz")
DEMO_EMAIL = "demo@xether.local"
DEMO_PASSWORD = "xether-demo"

_SCRUB = ("XETHER_API_URL", "XETHER_PROJECT", "XETHER_API_KEY", "XETHER_TOKEN",
          "XETHER_PROFILE", "XETHER_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
          "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "NO_COLOR",
          "FORCE_COLOR", "SSL_CERT_FILE", "SSL_CERT_DIR", "COLUMNS")


class Result(object):
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "Result(code=%r, out=%r, err=%r)" % (self.code, self.out[-2000:], self.err[-2000:])


def clean_env(home):
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update({
        "HOME": home,
        "XETHER_CONFIG_DIR": os.path.join(home, "config"),
        "XDG_CACHE_HOME": os.path.join(home, "cache"),
        "XDG_DATA_HOME": os.path.join(home, "data"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LC_ALL": "C.UTF-8",
    })
    return env


class Runner(object):
    """Calls the CLI in a subprocess; `prog` is the argv prefix (xether.py or the pyz)."""

    def __init__(self, home, prog=None):
        self.home = home
        self.env = clean_env(home)
        self.prog = prog or [sys.executable, XETHER_PY]

    def __call__(self, *args, **kw):
        env = dict(self.env)
        env.update(kw.pop("env", None) or {})
        proc = subprocess.run(self.prog + [str(a) for a in args], env=env,
                              input=kw.pop("input", None), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=kw.pop("timeout", 120),
                              universal_newlines=True, **kw)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def popen(self, *args, **kw):
        env = dict(self.env)
        env.update(kw.pop("env", None) or {})
        return subprocess.Popen(self.prog + [str(a) for a in args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True, **kw)

    def login(self, url, email=DEMO_EMAIL, password=DEMO_PASSWORD):
        r = self("--api-url", url, "login", "--email", email, "--password-stdin",
                 input=password + "\n")
        assert r.code == 0, r
        return r


@pytest.fixture
def cli(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Runner(str(home))


def _newest_source_mtime():
    newest = os.path.getmtime(XETHER_PY)
    for folder, _, files in os.walk(os.path.join(ROOT, "xether_lib")):
        for name in files:
            if name.endswith(".py"):
                newest = max(newest, os.path.getmtime(os.path.join(folder, name)))
    return newest


@pytest.fixture(scope="session")
def pyz():
    """dist/xether.pyz, (re)built when missing or older than the sources."""
    if not os.path.exists(PYZ) or os.path.getmtime(PYZ) < _newest_source_mtime():
        subprocess.run(["bash", os.path.join(ROOT, "build.sh")], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    return PYZ


class Sandbox(object):
    def __init__(self, data_dir, extra_args=(), env=None):
        self.data_dir = data_dir
        e = clean_env(os.path.dirname(data_dir))
        e["XETHER_SANDBOX_TEST_HOOKS"] = "1"
        e.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, XETHER_PY, "sandbox", "--host", "127.0.0.1", "--port", "0",
             "--data-dir", data_dir] + list(extra_args),
            env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.proc.kill()
            raise RuntimeError("sandbox did not start: %r %s" % (self.url, self.proc.stderr.read()))
        self._drain()
        self._wait_healthy()

    def _drain(self):
        import threading

        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=stream.read, daemon=True).start()

    def _wait_healthy(self):
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health/", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sandbox at %s never became healthy" % self.url)

    def hook(self, method, path, payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def fault(self, spec):
        return self.hook("POST", "/_sandbox/faults", spec)

    def clear(self):
        self.hook("DELETE", "/_sandbox/faults")
        self.hook("DELETE", "/_sandbox/requests")

    def requests(self):
        return self.hook("GET", "/_sandbox/requests")

    def stop(self):
        stop_process(self.proc)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    box = Sandbox(str(tmp_path_factory.mktemp("sandbox") / "data"))
    yield box
    box.stop()


@pytest.fixture
def start_sandbox(tmp_path):
    started = []

    def start(*extra_args, **kw):
        box = Sandbox(str(tmp_path / ("sandbox%d" % len(started)) / "data"), extra_args,
                      env=kw.get("env"))
        started.append(box)
        return box

    yield start
    for box in started:
        box.stop()


@pytest.fixture
def user(cli, sandbox):
    """A CLI logged in as the demo user on the session sandbox, with project 'demo' in use."""
    sandbox.clear()
    cli.env["XETHER_API_URL"] = sandbox.url
    cli.login(sandbox.url)
    r = cli("project", "ls", "-o", "json")
    assert r.code == 0, r
    demo = [p for p in r.json() if p["name"] == "demo"][0]
    r = cli("project", "use", demo["id"])
    assert r.code == 0, r
    cli.project_id = demo["id"]
    cli.sandbox = sandbox
    return cli


def which(name):
    return shutil.which(name)

"""TLS and proxies with real peers: a private CA made with openssl, a TLS-terminating
forwarder in front of the sandbox, and tinyproxy (plain forwarding and CONNECT)."""

import re
import shutil
import subprocess

import pytest

import peers
from conftest import DEMO_EMAIL, DEMO_PASSWORD

ME = "/api/v1/users/me"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return peers.make_ca(str(tmp_path_factory.mktemp("ca")))


@pytest.fixture
def tls(sandbox, certs):
    front = peers.Forwarder(sandbox.url, tls=certs.server_context())
    yield front
    front.close()


@pytest.fixture
def proxy(tmp_path):
    tp = peers.start_tinyproxy(str(tmp_path / "tinyproxy"))
    yield tp
    tp.stop()


@pytest.fixture
def token(user):
    user.sandbox.clear()
    return peers.stored_credentials(user)["access_token"]


def whoami(cli, url, *flags, **kw):
    return cli("--api-url", url, *(flags + ("whoami", "-o", "json")), **kw)


# -- TLS --------------------------------------------------------------------------------------

def test_login_over_tls_with_a_private_ca(cli, tls, certs):
    r = cli("--api-url", tls.url, "--ca-bundle", certs.ca, "login", "--email", DEMO_EMAIL,
            "--password-stdin", input=DEMO_PASSWORD + "\n")
    assert r.code == 0, r
    assert "Logged in as %s on %s" % (DEMO_EMAIL, tls.url) in r.err
    assert (tls.connections, tls.handshakes) == (1, 1)  # login and users/me: one connection
    # --api-url and --ca-bundle given to login are remembered by the profile
    r = cli("whoami", "-o", "json")
    assert r.code == 0 and r.json()["api_url"] == tls.url
    assert cli("config", "get", "ca_bundle").out == certs.ca + "\n"
    assert cli("logout").code == 0


def test_an_unknown_ca_fails_clearly_and_is_not_retried(user, tls, token):
    r = whoami(user, tls.url, env={"XETHER_TOKEN": token})
    assert r.code == 8, r
    lines = r.err.splitlines()
    assert lines[0].startswith("xether: error: TLS certificate of 127.0.0.1 could not be verified")
    assert "--ca-bundle" in lines[1] and "XETHER_CA_BUNDLE" in lines[1]
    assert tls.connections == 1 and tls.handshakes == 0
    assert user.sandbox.requests() == []


def test_every_way_to_trust_the_ca(user, tls, token, certs, tmp_path):
    env = {"XETHER_TOKEN": token}
    cert_dir = tmp_path / "certs"
    cert_dir.mkdir()
    shutil.copy(certs.ca, str(cert_dir / "ca.pem"))
    subprocess.run([peers.OPENSSL, "rehash", str(cert_dir)], check=True)
    ways = [(("--ca-bundle", certs.ca), {}), ((), {"XETHER_CA_BUNDLE": certs.ca}),
            ((), {"SSL_CERT_FILE": certs.ca}), ((), {"SSL_CERT_DIR": str(cert_dir)})]
    for flags, extra in ways:
        r = whoami(user, tls.url, *flags, env=dict(env, **extra))
        assert r.code == 0, (flags, extra, r)
        assert r.json()["email"] == DEMO_EMAIL
    assert user("config", "set", "ca_bundle", certs.ca).code == 0
    assert whoami(user, tls.url, env=env).code == 0
    r = whoami(user, tls.url, "--ca-bundle", str(tmp_path / "missing.pem"), env=env)
    assert r.code == 2 and "missing.pem is not a readable file" in r.err


def test_insecure_works_and_warns_every_time(user, tls, token):
    for _ in range(2):
        r = whoami(user, tls.url, "--insecure", env={"XETHER_TOKEN": token})
        assert r.code == 0, r
        assert r.err.count("warning: TLS certificate verification is off (--insecure)") == 1
    r = whoami(user, user.sandbox.url, "--insecure")
    assert r.code == 0 and "verification is off" in r.err


def test_https_to_http_redirect_is_refused(user, tls, token, certs):
    other = peers.HeaderRecorder()
    try:
        user.sandbox.fault({"target": "api", "action": "redirect", "path": ME,
                            "location": other.url + ME})
        r = whoami(user, tls.url, "--ca-bundle", certs.ca, env={"XETHER_TOKEN": token})
        assert r.code == 8, r
        assert "refusing a redirect from https to %s%s" % (other.url, ME) in r.err
        assert other.seen == []
    finally:
        other.close()


# -- proxies ----------------------------------------------------------------------------------

def test_api_calls_go_through_http_proxy(user, proxy):
    url = user.sandbox.url
    for name in ("HTTP_PROXY", "http_proxy"):
        before = len(proxy.requests())
        r = whoami(user, url, env={name: proxy.url})
        assert r.code == 0, (name, r)
        assert proxy.requests()[before:] == ["GET %s%s" % (url, ME)]
    for bypass in ("127.0.0.1", "localhost,127.0.0.1:%s" % url.rsplit(":", 1)[1], "*"):
        for name in ("NO_PROXY", "no_proxy"):
            before = len(proxy.requests())
            r = whoami(user, url, env={"HTTP_PROXY": proxy.url, name: bypass})
            assert r.code == 0, r
            assert proxy.requests()[before:] == [], (name, bypass)


def test_https_goes_through_connect(user, proxy, tls, token, certs):
    for name in ("HTTPS_PROXY", "https_proxy"):
        before = len(proxy.requests())
        tls.reset_counts()
        r = whoami(user, tls.url, "--ca-bundle", certs.ca,
                   env={"XETHER_TOKEN": token, name: proxy.url})
        assert r.code == 0, r
        assert proxy.requests()[before:] == ["CONNECT 127.0.0.1:%d" % tls.port]
        assert tls.handshakes == 1
    before = len(proxy.requests())
    r = whoami(user, tls.url, "--ca-bundle", certs.ca,
               env={"XETHER_TOKEN": token, "HTTPS_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"})
    assert r.code == 0 and proxy.requests()[before:] == []
    # a certificate error through the tunnel is still a certificate error
    r = whoami(user, tls.url, env={"XETHER_TOKEN": token, "HTTPS_PROXY": proxy.url})
    assert r.code == 8 and "TLS certificate of 127.0.0.1" in r.err


def test_presigned_urls_go_through_the_proxy_without_credentials(user, proxy, tmp_path):
    url = user.sandbox.url
    art = peers.make_artifact(user.sandbox, peers.stored_credentials(user)["access_token"],
                              user.project_id)
    r = user("artifact", "download", art, str(tmp_path / "x.txt"), env={"HTTP_PROXY": proxy.url})
    assert r.code == 0, r
    lines = proxy.requests()
    assert lines[:2] == ["GET %s/api/v1/artifacts/%s" % (url, art),
                         "GET %s/api/v1/artifacts/%s/download?expires_in_seconds=3600" % (url, art)]
    assert len(lines) == 3 and re.match(r"GET %s/_storage/\S+X-Xether-Signature=" % url, lines[2])
    with open(str(tmp_path / "x.txt"), "rb") as f:
        assert f.read() == b"hello, transport\n"


def test_a_dead_proxy_is_a_network_error(user):
    assert user("config", "set", "max_attempts", "1").code == 0
    port = peers.free_port()
    r = whoami(user, user.sandbox.url, env={"HTTP_PROXY": "http://127.0.0.1:%d" % port})
    assert r.code == 8, r
    assert "connection refused" in r.err

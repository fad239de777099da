"""The transport's FileRange body against the real sandbox store: a byte range of a file sent
with sendfile (plain http) and through one reused buffer (TLS, via a TLS-terminating forwarder),
sent again from its start on a retry, and a file shorter than its range reported, not padded.
The store's completion check (size and SHA-256 of what it holds) proves the bytes."""

import hashlib
import os
import sys
from urllib.parse import urlsplit

import pytest

import peers
from conftest import DEMO_EMAIL, DEMO_PASSWORD, ROOT

sys.path.insert(0, ROOT)
from xether_lib.transport import FileRange, Transport  # noqa: E402

MiB = 1 << 20
OFFSET, LENGTH = 100001, 3 * MiB + 7


class Counted(FileRange):
    """A FileRange that counts attempts and the bytes sent in the current one."""

    def __init__(self, *args, **kw):
        FileRange.__init__(self, *args, **kw)
        self.attempts = 0
        self.sent = 0

    def begin(self):
        self.attempts += 1
        self.sent = 0

    def advance(self, n):
        self.sent += n


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return peers.make_ca(str(tmp_path_factory.mktemp("ca")))


@pytest.fixture
def source(tmp_path):
    path = str(tmp_path / "source.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(OFFSET + LENGTH + 12345))
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "rb", buffering=0) as f:
        yield f, hashlib.sha256(data[OFFSET:OFFSET + LENGTH]).hexdigest()


@pytest.fixture
def token(sandbox):
    import json
    import urllib.parse
    import urllib.request

    sandbox.clear()
    data = urllib.parse.urlencode({"username": DEMO_EMAIL, "password": DEMO_PASSWORD}).encode()
    req = urllib.request.Request(sandbox.url + "/api/v1/auth/login", data=data, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["access_token"]


def start(sandbox, token):
    status, projects = peers.api(sandbox.url, "GET", "/projects/", token=token)
    project = [p for p in projects if p["name"] == "demo"][0]["id"]
    status, up = peers.api(sandbox.url, "POST", "/artifacts/upload", token=token, body={
        "name": "r.bin", "bucket": "datasets", "key": "datasets/%d/%s/r.bin" % (
            project, os.urandom(8).hex()), "content_type": "application/octet-stream",
        "project_id": project, "expires_in_seconds": 3600})
    assert status == 200, up
    return up


def complete(sandbox, token, up, sha):
    return peers.api(sandbox.url, "POST", "/artifacts/%s/complete" % up["artifact_id"],
                     token=token, body={"size": LENGTH, "checksum": sha})[0]


def via(front, url):
    """`url` with its origin replaced by the forwarder's."""
    parts = urlsplit(url)
    return front.url + parts.path + ("?" + parts.query if parts.query else "")


def put(transport, url, body):
    return transport.request("PUT", url, body=body,
                             headers={"Content-Type": "application/octet-stream"})


@pytest.mark.parametrize("tls", [False, True], ids=["http-sendfile", "tls-buffer"])
def test_a_range_of_a_file_is_stored_exactly(sandbox, token, source, certs, tls):
    f, sha = source
    up = start(sandbox, token)
    front = peers.Forwarder(up["upload_url"], tls=certs.server_context() if tls else None)
    try:
        body = Counted(f, OFFSET, LENGTH, slice_size=MiB)
        resp = put(Transport(ca_bundle=certs.ca), via(front, up["upload_url"]), body)
        assert resp.status == 200, resp.body
        assert (body.attempts, body.sent) == (1, LENGTH)
        assert complete(sandbox, token, up, sha) == 200
    finally:
        front.close()


def test_a_retry_sends_the_range_again_from_its_start(sandbox, token, source):
    f, sha = source
    up = start(sandbox, token)
    sandbox.fault({"target": "storage-put", "action": "error", "status": 503})
    body = Counted(f, OFFSET, LENGTH)
    resp = put(Transport(sleep=lambda s: None), up["upload_url"], body)
    assert resp.status == 200, resp.body
    assert (body.attempts, body.sent) == (2, LENGTH)
    puts = [e["status"] for e in sandbox.requests() if e["method"] == "PUT"]
    assert puts == [503, 200]
    assert complete(sandbox, token, up, sha) == 200


@pytest.mark.parametrize("tls", [False, True], ids=["http-sendfile", "tls-buffer"])
def test_a_file_shorter_than_its_range_is_an_error(sandbox, token, source, certs, tls):
    f, _ = source
    up = start(sandbox, token)
    front = peers.Forwarder(up["upload_url"], tls=certs.server_context() if tls else None)
    try:
        size = os.fstat(f.fileno()).st_size
        body = Counted(f, size - MiB, 2 * MiB, slice_size=MiB // 2)
        with pytest.raises(EOFError):
            put(Transport(ca_bundle=certs.ca, max_attempts=1), via(front, up["upload_url"]),
                body)
        assert body.sent == MiB
    finally:
        front.close()

"""The sandbox's local object store, driven through real HTTP.

Each test gets a Store on a fresh data dir and a storage server (Store.make_storage_server) on
127.0.0.1:<free port>; pre-signed URLs are used with curl and http.client exactly as a client
would, and the store's own interface is then checked against what was sent.
"""

import hashlib
import http.client
import os
import socket
import subprocess
import threading
import time
from urllib.parse import urlsplit

import pytest

from xether_lib.sandbox.faults import Faults, RequestLog
from xether_lib.sandbox.store import Store, StoreError

MIB = 1 << 20
CURL = "/usr/bin/curl"


@pytest.fixture
def store(tmp_path):
    st = Store(str(tmp_path / "data"), b"test-secret", Faults(True), RequestLog(True))
    server = st.make_storage_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    st.set_public_base_url("http://127.0.0.1:%d" % server.server_address[1])
    yield st
    server.shutdown()
    server.server_close()


class Reply(object):
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())


def request(url, method="GET", body=None, headers=None, conn=None):
    """One request with http.client; `conn` to reuse a keep-alive connection."""
    parts = urlsplit(url)
    own = conn is None
    conn = conn or http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, parts.path + "?" + parts.query, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        if own:
            conn.close()


def curl(*args):
    """Run curl; returns (http status, stdout bytes)."""
    proc = subprocess.run([CURL, "-sS", "-w", "\n%{http_code}"] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    body, _, code = proc.stdout.rpartition(b"\n")
    return int(code), body


def xml_code(body):
    assert body.startswith(b"<?xml"), body
    return body.split(b"<Code>")[1].split(b"</Code>")[0].decode()


def put_url(store, key, data, **kw):
    url = store.presign_put("datasets", key, 60, **kw)
    return request(url, "PUT", data, {"Content-Type": kw.get("content_type") or
                                      "application/octet-stream"})


def test_put_then_get_with_curl(store, tmp_path):
    data = os.urandom(3 * MIB + 17)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    url = store.presign_put("datasets", "datasets/1/ab/some file.csv", 60)
    assert url.startswith(store.public_base_url + "/_storage/datasets/datasets/1/ab/some%20file")
    assert "X-Xether-Expires=" in url and "X-Xether-Signature=" in url
    code, _ = curl("-T", str(src), "-D", str(tmp_path / "h"), url)
    assert code == 200
    assert 'ETag: "%s"' % hashlib.md5(data).hexdigest() in (tmp_path / "h").read_text()
    assert store.stat("datasets", "datasets/1/ab/some file.csv")["sha256"] == \
        hashlib.sha256(data).hexdigest()
    code, body = curl(store.presign_get("datasets", "datasets/1/ab/some file.csv", 60))
    assert code == 200 and body == data


def test_get_headers_range_and_head(store):
    data = bytes(range(256)) * 40
    assert put_url(store, "r.bin", data).status == 200
    url = store.presign_get("datasets", "r.bin", 60)
    r = request(url)
    assert (r.status, r.body) == (200, data)
    assert r.header("Content-Length") == str(len(data))
    assert r.header("Accept-Ranges") == "bytes"
    assert r.header("ETag") == '"%s"' % hashlib.md5(data).hexdigest()
    r = request(url, headers={"Range": "bytes=100-"})
    assert (r.status, r.body) == (206, data[100:])
    assert r.header("Content-Range") == "bytes 100-%d/%d" % (len(data) - 1, len(data))
    r = request(url, headers={"Range": "bytes=10-19"})
    assert (r.status, r.body, r.header("Content-Length")) == (206, data[10:20], "10")
    r = request(url, headers={"Range": "bytes=%d-" % len(data)})
    assert r.status == 416 and xml_code(r.body) == "InvalidRange"
    r = request(url, "HEAD")
    assert (r.status, r.body, r.header("Content-Length")) == (200, b"", str(len(data)))


def test_missing_object_is_404_nosuchkey(store):
    r = request(store.presign_get("datasets", "nothing/here", 60))
    assert r.status == 404 and xml_code(r.body) == "NoSuchKey"
    assert r.header("Content-Type") == "application/xml"


def test_tampered_and_expired_urls_get_403_xml(store):
    assert put_url(store, "k", b"secret bytes").status == 200
    url = store.presign_get("datasets", "k", 60)
    sig = url.split("X-Xether-Signature=")[1]
    bad = url.replace(sig, ("0" if sig[0] != "0" else "1") + sig[1:])
    for tampered in (bad, url.replace("/k?", "/k2?"),
                     url.replace("X-Xether-Expires=", "X-Xether-Expires=9")):
        r = request(tampered)
        assert r.status == 403 and xml_code(r.body) == "SignatureDoesNotMatch", tampered
        assert r.header("Content-Type") == "application/xml"
    r = request(url.split("&X-Xether-Signature")[0])
    assert r.status == 403 and xml_code(r.body) == "AccessDenied"
    # A PUT URL cannot be used to GET, nor a GET URL to PUT.
    assert request(store.presign_put("datasets", "k", 60)).status == 403
    assert request(url, "PUT", b"x").status == 403
    # Expired: a URL signed for a moment already past.
    query = {"X-Xether-Expires": str(int(time.time()) - 5)}
    query["X-Xether-Signature"] = store._signature("GET", "datasets", "k", query, None)
    old = url.split("?")[0] + "?X-Xether-Expires=%s&X-Xether-Signature=%s" % (
        query["X-Xether-Expires"], query["X-Xether-Signature"])
    r = request(old)
    assert r.status == 403 and xml_code(r.body) == "AccessDenied"
    assert b"<Message>Request has expired</Message>" in r.body


def test_credential_headers_are_refused(store):
    url = store.presign_put("datasets", "c", 60)
    for header in ({"Authorization": "Bearer abc"}, {"X-API-Key": "xk_123"}):
        r = request(url, "PUT", b"data", header)
        assert r.status == 400 and xml_code(r.body) == "InvalidArgument"
    assert store.stat("datasets", "c") is None


def test_chunked_put_is_501_and_missing_length_411(store, tmp_path):
    src = tmp_path / "f"
    src.write_bytes(b"x" * 1000)
    code, body = curl("-T", str(src), "-H", "Transfer-Encoding: chunked",
                      store.presign_put("datasets", "ch", 60))
    assert code == 501 and xml_code(body) == "NotImplemented"
    url = urlsplit(store.presign_put("datasets", "ch", 60))
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(("PUT %s?%s HTTP/1.1\r\nHost: x\r\n\r\n" % (url.path, url.query)).encode())
        answer = sock.makefile("rb").read(4096)
    assert answer.startswith(b"HTTP/1.1 411 ") and b"<Code>MissingContentLength<" in answer
    assert store.stat("datasets", "ch") is None


def test_signed_content_type_must_match(store):
    url = store.presign_put("datasets", "t.csv", 60, content_type="text/csv")
    r = request(url, "PUT", b"a,b\n", {"Content-Type": "application/octet-stream"})
    assert r.status == 403 and xml_code(r.body) == "SignatureDoesNotMatch"
    r = request(url, "PUT", b"a,b\n", {"Content-Type": "text/csv"})
    assert r.status == 200
    got = request(store.presign_get("datasets", "t.csv", 60))
    assert got.header("Content-Type") == "text/csv" and got.body == b"a,b\n"


def test_keep_alive_survives_errors(store):
    url = store.presign_put("datasets", "ka", 60)
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(url).port, timeout=10)
    try:
        r = request(url + "0", "PUT", b"y" * 70000, {}, conn)           # bad signature
        assert r.status == 403
        assert request(url, "PUT", b"z" * 70000, {}, conn).status == 200
        get = store.presign_get("datasets", "ka", 60)
        assert request(get, "GET", None, {"Range": "bytes=0-1"}, conn).body == b"zz"
        assert request(get, "GET", None, {}, conn).body == b"z" * 70000
    finally:
        conn.close()


def test_store_interface_put_read_stat_delete(store, tmp_path):
    data = os.urandom(2 * MIB + 3)
    got = store.put_object("datasets", "direct/1", data, "application/x-test")
    assert got == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    src = tmp_path / "f"
    src.write_bytes(data[:1000])
    with open(str(src), "rb") as f:
        assert store.put_object("datasets", "direct/2", f)["size"] == 1000
    with store.open_read("datasets", "direct/1") as f:
        assert f.read() == data
    st = store.stat("datasets", "direct/1")
    assert (st["size"], st["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert store.delete("datasets", "direct/1") is True
    assert store.delete("datasets", "direct/1") is False
    assert store.stat("datasets", "direct/1") is None
    with pytest.raises(StoreError) as e:
        store.open_read("datasets", "direct/1")
    assert (e.value.status, e.value.code) == (404, "NoSuchKey")
    with pytest.raises(StoreError) as e:
        store.presign_get("Bad_Bucket", "k", 60)
    assert e.value.status == 400
    assert store.handles("/_storage/x/y") and not store.handles("/api/v1/datasets/")

"""The sandbox's local object store: multipart uploads, injected faults and the request log,
through real HTTP (fixtures and helpers shared with test_sandbox_store.py)."""

import hashlib
import http.client
import os
import time
from urllib.parse import urlsplit

import pytest

from test_sandbox_store import MIB, request, store, xml_code  # noqa: F401 (fixture)
from xether_lib.sandbox.faults import Faults, RequestLog
from xether_lib.sandbox.store import Store, StoreError

B = "datasets"


def put_part(st, key, upload_id, number, data):
    r = request(st.presign_part(B, key, upload_id, number, 60), "PUT", data,
                {"Content-Type": "application/octet-stream"})
    assert r.status == 200, r.body
    return r.header("ETag")


def store_error(fn, *args):
    with pytest.raises(StoreError) as e:
        fn(*args)
    return e.value.status, e.value.code


def test_multipart_upload_and_s3_errors(store):
    key = "datasets/7/cafe/big.bin"
    uid = store.initiate_multipart(B, key, "application/octet-stream")
    one, two = os.urandom(5 * MIB), os.urandom(1234)
    put_part(store, key, uid, 1, b"replaced below")
    e1 = put_part(store, key, uid, 1, one)
    e2 = put_part(store, key, uid, 2, two)
    assert e1 == '"%s"' % hashlib.md5(one).hexdigest()
    assert store.list_parts(B, key, uid) == [
        {"part_number": 1, "etag": e1, "size": len(one)},
        {"part_number": 2, "etag": e2, "size": len(two)}]
    good = [{"part_number": 1, "etag": e1}, {"part_number": 2, "etag": e2}]
    assert store_error(store.complete_multipart, B, key, uid, good[::-1]) == \
        (400, "InvalidPartOrder")
    assert store_error(store.complete_multipart, B, key, uid,
                       [good[0], {"part_number": 2, "etag": e1}]) == (400, "InvalidPart")
    assert store_error(store.complete_multipart, B, key, uid,
                       good + [{"part_number": 3, "etag": e2}]) == (400, "InvalidPart")
    done = store.complete_multipart(B, key, uid, good)
    assert done == {"size": len(one) + len(two), "sha256": hashlib.sha256(one + two).hexdigest()}
    assert store.stat(B, key)["sha256"] == done["sha256"]
    assert request(store.presign_get(B, key, 60)).body == one + two
    assert store_error(store.list_parts, B, key, uid) == (404, "NoSuchUpload")
    assert store_error(store.complete_multipart, B, key, uid, good) == (404, "NoSuchUpload")


def test_entity_too_small_abort_and_unknown_uploads(store):
    uid = store.initiate_multipart(B, "small")
    parts = [{"part_number": n, "etag": put_part(store, "small", uid, n, b"p%d" % n)}
             for n in (1, 2)]
    assert store_error(store.complete_multipart, B, "small", uid, parts) == \
        (400, "EntityTooSmall")
    assert store.complete_multipart(B, "small", uid, parts[:1])["size"] == 2   # last may be small
    uid = store.initiate_multipart(B, "gone")
    put_part(store, "gone", uid, 1, b"abc")
    store.abort_multipart(B, "gone", uid)
    assert store_error(store.list_parts, B, "gone", uid) == (404, "NoSuchUpload")
    r = request(store.presign_part(B, "gone", uid, 2, 60), "PUT", b"late")
    assert r.status == 404 and xml_code(r.body) == "NoSuchUpload"
    assert store_error(store.list_parts, B, "other-key", store.initiate_multipart(B, "k")) == \
        (404, "NoSuchUpload")
    assert store_error(store.list_parts, B, "k", "../../etc") == (404, "NoSuchUpload")
    assert store_error(store.presign_part, B, "k", uid, 10001, 60)[0] == 400


def test_request_log_records_every_storage_request(store):
    store.request_log.clear()
    uid = store.initiate_multipart(B, "logged")
    put_part(store, "logged", uid, 3, b"abc")
    assert request(store.presign_put(B, "plain", 60), "PUT", b"hello").status == 200
    get = store.presign_get(B, "plain", 60)
    request(get, headers={"Range": "bytes=1-"})
    request(get + "0")
    log = store.request_log.entries()
    assert [(e["target"], e["method"], e["status"], e["bytes"]) for e in log] == [
        ("storage-put", "PUT", 200, 3), ("storage-put", "PUT", 200, 5),
        ("storage-get", "GET", 206, 4), ("storage-get", "GET", 403, 0)]
    assert log[0]["part_number"] == 3 and log[0]["query"]["uploadId"] == uid
    assert log[0]["path"] == "/_storage/datasets/logged"
    assert log[2]["range"] == "bytes=1-" and log[1]["range"] is None
    assert all("X-Xether-Signature" not in e["query"] for e in log)
    assert "X-Xether-Expires" in log[1]["query"]


def _put_get(st, key, data):
    assert request(st.presign_put(B, key, 60), "PUT", data).status == 200
    return st.presign_get(B, key, 60)


def test_fault_drop_after_on_get_and_put(store):
    data = os.urandom(300000)
    url = _put_get(store, "d", data)
    store.faults.add({"target": "storage-get", "action": "drop_after", "bytes": 1000})
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", parts.path + "?" + parts.query)
    resp = conn.getresponse()
    assert resp.getheader("Content-Length") == str(len(data))
    with pytest.raises(http.client.IncompleteRead) as e:
        resp.read()
    assert e.value.partial == data[:1000]
    conn.close()
    assert request(url).body == data   # the fault was used up
    store.faults.add({"target": "storage-put", "action": "drop_after", "bytes": 5000})
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        request(store.presign_put(B, "dropped", 60), "PUT", os.urandom(4 * MIB))
    assert store.stat(B, "dropped") is None
    log = store.request_log.entries()
    assert (log[-1]["fault"], log[-1]["bytes"], log[-1]["status"]) == ("drop_after", 5000, None)


def test_fault_stall_error_expire(store):
    url = _put_get(store, "s", b"x" * 10000)
    store.faults.add({"target": "storage-get", "action": "stall", "seconds": 0.4})
    started = time.time()
    assert request(url).body == b"x" * 10000
    assert time.time() - started >= 0.4
    store.faults.add({"target": "storage-put", "action": "stall", "seconds": 0.3})
    started = time.time()
    assert request(store.presign_put(B, "s2", 60), "PUT", b"y").status == 200
    assert time.time() - started >= 0.3
    store.faults.add({"target": "storage-put", "action": "error", "status": 503, "times": 2})
    for _ in range(2):
        r = request(store.presign_put(B, "s3", 60), "PUT", b"z" * 1000)
        assert r.status == 503 and xml_code(r.body) == "SlowDown"
    assert store.stat(B, "s3") is None
    store.faults.add({"target": "storage-get", "action": "error", "status": 500,
                      "body": "<html>proxy</html>", "content_type": "text/html",
                      "headers": {"Retry-After": "3"}})
    r = request(url)
    assert (r.status, r.body, r.header("Content-Type"), r.header("Retry-After")) == \
        (500, b"<html>proxy</html>", "text/html", "3")
    store.faults.add({"target": "storage-get", "action": "expire"})
    r = request(url)
    assert r.status == 403 and b"Request has expired" in r.body
    assert request(url).status == 200


def test_fault_corrupt_and_ignore_range(store):
    data = os.urandom(100001)
    url = _put_get(store, "c", data)
    store.faults.add({"target": "storage-get", "action": "corrupt"})
    got = request(url).body
    diffs = [i for i in range(len(data)) if got[i] != data[i]]
    assert len(got) == len(data) and diffs == [len(data) // 2]
    store.faults.add({"target": "storage-get", "action": "ignore_range"})
    r = request(url, headers={"Range": "bytes=50000-"})
    assert (r.status, r.body) == (200, data)
    store.faults.add({"target": "storage-put", "action": "corrupt", "path": "/_storage/datasets/c2"})
    assert request(store.presign_put(B, "c2", 60), "PUT", data).status == 200
    assert store.stat(B, "c2")["sha256"] != hashlib.sha256(data).hexdigest()


def test_faults_ignored_when_hooks_are_off(tmp_path):
    st = Store(str(tmp_path / "d"), b"k", Faults(False), RequestLog(False))
    server = st.make_storage_server("127.0.0.1", 0)
    import threading
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        st.set_public_base_url("http://127.0.0.1:%d" % server.server_address[1])
        st.faults.add({"target": "storage-get", "action": "error", "status": 503})
        url = _put_get(st, "k", b"abc")
        assert request(url).status == 200
        assert st.request_log.entries() == []
    finally:
        server.shutdown()
        server.server_close()

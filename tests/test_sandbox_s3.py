"""The sandbox store's real-S3 mode against moto_server on a free 127.0.0.1 port.

SigV4 is first checked against the worked examples of the AWS documentation (moto does not
verify signatures); then a Store in S3 mode pre-signs a PUT and a two-part multipart upload
(used with curl / urllib as a client would), completes it, and boto3 confirms the bytes.
"""

import calendar
import hashlib
import os
import subprocess
import time
import urllib.request

import pytest

from peers import Moto, free_port
from xether_lib.sandbox import sigv4
from xether_lib.sandbox.faults import Faults, RequestLog
from xether_lib.sandbox.store import Store, StoreError

MIB = 1 << 20
CURL = "/usr/bin/curl"
AWS_KEY, AWS_SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_sigv4_matches_the_aws_documentation_examples():
    now = calendar.timegm((2013, 5, 24, 0, 0, 0))
    ep = sigv4.Endpoint("https://examplebucket.s3.amazonaws.com")
    url = sigv4.presign_url("GET", ep, "/test.txt", "us-east-1", AWS_KEY, AWS_SECRET, 86400,
                            now=now)
    assert url.endswith("X-Amz-Signature="
                        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    assert "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" in url
    headers = sigv4.sign_headers("GET", ep, "/test.txt", {}, {"Range": "bytes=0-9"},
                                 sigv4.EMPTY_SHA256, "us-east-1", AWS_KEY, AWS_SECRET, now=now)
    assert headers["authorization"].endswith(
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature="
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    assert sigv4.Endpoint("http://127.0.0.1:80").host == "127.0.0.1"
    assert sigv4.Endpoint("http://127.0.0.1:9000/").host == "127.0.0.1:9000"


@pytest.fixture(scope="module")
def moto():
    pytest.importorskip("moto")
    pytest.importorskip("boto3")
    server = Moto()
    yield server.url
    server.stop()


@pytest.fixture
def s3(moto, tmp_path):
    import boto3

    client = boto3.client("s3", endpoint_url=moto, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = "xether-%d" % int(time.time() * 1000)
    client.create_bucket(Bucket=bucket)
    store = Store(str(tmp_path / "data"), b"unused", Faults(True), RequestLog(True), s3={
        "endpoint": moto, "region": "us-east-1", "access_key": "testing",
        "secret_key": "testing"})
    return store, client, bucket


def curl_put(url, path, content_type="application/octet-stream"):
    out = subprocess.run([CURL, "-sS", "-D", "-", "-o", "/dev/null", "-w", "%{http_code}",
                          "-H", "Content-Type: " + content_type, "-T", path, url],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    text = out.stdout.decode()
    etag = [l.split(":", 1)[1].strip() for l in text.splitlines()
            if l.lower().startswith("etag:")]
    return int(text[-3:]), etag[0] if etag else None


def test_presigned_put_and_get(s3, tmp_path):
    store, client, bucket = s3
    data = os.urandom(200000)
    src = tmp_path / "one.bin"
    src.write_bytes(data)
    key = "datasets/1/abc/one file.bin"
    url = store.presign_put(bucket, key, 300, content_type="application/octet-stream")
    assert url.startswith(client.meta.endpoint_url + "/" + bucket + "/datasets/1/abc/one%20file")
    for part in ("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Credential=testing%2F",
                 "X-Amz-Date=", "X-Amz-Expires=300", "X-Amz-SignedHeaders=host",
                 "X-Amz-Signature="):
        assert part in url
    assert curl_put(url, str(src)) == (200, '"%s"' % hashlib.md5(data).hexdigest())
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    st = store.stat(bucket, key)
    assert (st["size"], st["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    with urllib.request.urlopen(store.presign_get(bucket, key, 300)) as r:
        assert r.read() == data
    assert not store.handles("/_storage/" + bucket + "/" + key)


def test_multipart_through_presigned_parts(s3, tmp_path):
    store, client, bucket = s3
    key = "datasets/1/def/big.bin"
    one, two = os.urandom(5 * MIB + 10), os.urandom(3000)
    uid = store.initiate_multipart(bucket, key, "application/octet-stream")
    etags = []
    for number, data in ((1, one), (2, two)):
        path = tmp_path / ("part%d" % number)
        path.write_bytes(data)
        code, etag = curl_put(store.presign_part(bucket, key, uid, number, 300), str(path))
        assert (code, etag) == (200, '"%s"' % hashlib.md5(data).hexdigest())
        etags.append(etag)
    assert store.list_parts(bucket, key, uid) == [
        {"part_number": 1, "etag": etags[0], "size": len(one)},
        {"part_number": 2, "etag": etags[1], "size": len(two)}]
    parts = [{"part_number": n + 1, "etag": e} for n, e in enumerate(etags)]
    with pytest.raises(StoreError) as e:
        store.complete_multipart(bucket, key, uid, parts[::-1])
    assert (e.value.status, e.value.code) == (400, "InvalidPartOrder")
    with pytest.raises(StoreError) as e:
        store.complete_multipart(bucket, key, uid, [parts[0], dict(parts[1], etag='"0"')])
    assert (e.value.status, e.value.code) == (400, "InvalidPart")
    done = store.complete_multipart(bucket, key, uid, parts)
    whole = one + two
    assert done == {"size": len(whole), "sha256": hashlib.sha256(whole).hexdigest()}
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == done["sha256"]
    assert store.stat(bucket, key)["sha256"] == done["sha256"]
    with pytest.raises(StoreError) as e:
        store.list_parts(bucket, key, uid)
    assert (e.value.status, e.value.code) == (404, "NoSuchUpload")


def test_small_part_abort_and_object_calls(s3):
    store, client, bucket = s3
    uid = store.initiate_multipart(bucket, "small")
    etags = []
    for number in (1, 2):
        req = urllib.request.Request(store.presign_part(bucket, "small", uid, number, 300),
                                     data=b"tiny", method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(req) as r:
            etags.append(r.headers["ETag"])
    with pytest.raises(StoreError) as e:
        store.complete_multipart(bucket, "small", uid,
                                 [{"part_number": 1, "etag": etags[0]},
                                  {"part_number": 2, "etag": etags[1]}])
    assert (e.value.status, e.value.code) == (400, "EntityTooSmall")
    store.abort_multipart(bucket, "small", uid)
    with pytest.raises(StoreError) as e:
        store.list_parts(bucket, "small", uid)
    assert e.value.code == "NoSuchUpload"

    got = store.put_object(bucket, "direct/x.json", b'{"a": 1}', "application/json")
    assert got == {"size": 8, "sha256": hashlib.sha256(b'{"a": 1}').hexdigest()}
    head = client.head_object(Bucket=bucket, Key="direct/x.json")
    assert head["ContentType"] == "application/json"
    with store.open_read(bucket, "direct/x.json") as f:
        assert f.read() == b'{"a": 1}'
    assert store.delete(bucket, "direct/x.json") is True
    assert store.delete(bucket, "direct/x.json") is False
    assert store.stat(bucket, "direct/x.json") is None
    with pytest.raises(StoreError) as e:
        store.open_read(bucket, "direct/x.json")
    assert (e.value.status, e.value.code) == (404, "NoSuchKey")


def test_unreachable_endpoint_is_a_store_error(tmp_path):
    store = Store(str(tmp_path), b"k", Faults(), RequestLog(), s3={
        "endpoint": "http://127.0.0.1:%d" % free_port(), "region": "us-east-1",
        "access_key": "a", "secret_key": "b"})
    with pytest.raises(StoreError) as e:
        store.stat("datasets", "k")
    assert e.value.status == 503

"""`dataset push` against a real S3 peer: moto's S3 server on a free 127.0.0.1 port behind a
sandbox in S3 mode. The CLI talks to moto directly through the SigV4 pre-signed URLs the
sandbox hands out; boto3 then reads each stored object back and its SHA-256 must match."""

import hashlib

import pytest

from dataset_helpers import MiB, make_file
from peers import Moto

pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")


@pytest.fixture
def moto_url(tmp_path):
    moto = Moto(str(tmp_path / "moto.log"))
    yield moto.url
    moto.stop()


def _s3(url):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_push_single_and_multipart_to_real_s3(moto_url, start_sandbox, cli, tmp_path):
    s3 = _s3(moto_url)
    s3.create_bucket(Bucket="datasets")
    box = start_sandbox("--s3-endpoint", moto_url, "--s3-region", "us-east-1",
                        "--s3-access-key", "test", "--s3-secret-key", "test")
    cli.env["XETHER_API_URL"] = box.url
    cli.login(box.url)
    project = [p for p in cli("project", "ls", "-o", "json").json() if p["name"] == "demo"][0]
    assert cli("project", "use", project["id"]).code == 0
    for name, size, extra in (("small.csv", 300 * 1024 + 3, ()),
                              ("large.bin", 12 * MiB + 7, ("--part-size", "5MiB"))):
        src = tmp_path / name
        sha = make_file(src, size)
        r = cli("dataset", "push", str(src), "-o", "json", *extra)
        assert r.code == 0, r
        record = r.json()
        assert record["meta_data"]["sha256"] == sha
        bucket, key = record["storage_path"][len("s3://"):].split("/", 1)
        assert bucket == "datasets" and key.endswith("/" + name)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert len(body) == size and hashlib.sha256(body).hexdigest() == sha
        if extra:  # really multipart: S3's ETag of a multipart object ends in -<parts>
            assert s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"').endswith("-3")

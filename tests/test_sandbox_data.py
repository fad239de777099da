"""The sandbox's data routes over real HTTP: datasets (CRUD, search, offset paging with
X-Total-Count, versions), artifacts with single and multipart uploads through pre-signed URLs,
and pre-signed storage served on a second port."""

import hashlib
import time

import pytest

from sandbox_client import Api, request


@pytest.fixture
def api(sandbox):
    sandbox.clear()
    return Api(sandbox.url).login()


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


def _put_part(api, aid, uid, number, data):
    r = api("POST", "/artifacts/multipart/part-url", {"artifact_id": aid, "upload_id": uid,
                                                      "part_number": number})
    assert r.status == 200, r
    put = request(r.json["part_url"], "PUT", data)
    assert put.status == 200, put
    return put.headers["ETag"]


def test_multipart_upload_resume_listing_and_abort(api):
    pid = api.demo_project()
    aid, uid = api.initiate_multipart(pid, "big.bin")
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
    aid2, uid2 = api.initiate_multipart(pid, "dropped.bin")
    r = api("POST", "/artifacts/multipart/abort", {"artifact_id": aid2, "upload_id": uid2})
    assert r.status == 204
    r = api("POST", "/artifacts/multipart/part-url", {"artifact_id": aid2, "upload_id": uid2,
                                                      "part_number": 1})
    assert r.status == 404


def test_multipart_bad_part_is_a_client_error(api):
    pid = api.demo_project()
    aid, uid = api.initiate_multipart(pid, "bad.bin")
    _put_part(api, aid, uid, 1, b"only")
    r = api("POST", "/artifacts/multipart/complete", {
        "artifact_id": aid, "upload_id": uid,
        "parts": [{"part_number": 1, "etag": '"0123456789abcdef0123456789abcdef"'}]})
    assert r.status == 400 and "InvalidPart" in r.json["detail"]
    r = api("POST", "/artifacts/multipart/part-url", {"artifact_id": aid, "upload_id": uid,
                                                      "part_number": 10001})
    assert r.status == 422


# ---- storage on its own port ---------------------------------------------------------------

def test_storage_on_a_second_port(start_sandbox):
    box = start_sandbox("--storage-port", "0")
    api = Api(box.url).login()
    pid = api.demo_project()
    aid, _, _ = api.upload(pid, "two-ports.txt", b"hello", "text/plain")
    url = api("GET", "/artifacts/%s/download" % aid).json["download_url"]
    assert url.startswith("http://127.0.0.1:") and not url.startswith(box.url)
    assert request(url).data == b"hello"

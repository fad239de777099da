"""`xether artifact ls|info|download` against the session sandbox: listing and filters,
the key/value view, downloads to a directory or a file, unsafe server names, an existing
DEST, a server without a checksum, and every artifact of a real pipeline run.

Artifacts are created here through the API as the demo user (POST /artifacts/upload, PUT to
the pre-signed URL, POST /complete); the helpers below are shared with test_download_faults.
"""

import hashlib
import json
import os
import time
import urllib.parse
import urllib.request

import pytest

from conftest import DEMO_EMAIL, DEMO_PASSWORD

_TOKENS = {}


# -- helpers (also used by test_download_faults.py) ------------------------------------------
def _http(url, method="GET", body=None, token=None, form=None):
    headers, data = {}, None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json; charset=utf-8"
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=60) as r:
        raw = r.read()
    return json.loads(raw) if raw else None


def api(base, method, path, body=None):
    """Call the sandbox API as the demo user."""
    if base not in _TOKENS:
        _TOKENS[base] = _http(base + "/api/v1/auth/login", "POST", form={
            "username": DEMO_EMAIL, "password": DEMO_PASSWORD})["access_token"]
    return _http(base + "/api/v1" + path, method, body=body, token=_TOKENS[base])


def demo_project(base):
    return [p for p in api(base, "GET", "/projects/") if p["name"] == "demo"][0]["id"]


def upload(base, data, name="data.bin", execution_id=None, content_type="application/octet-stream",
           pipeline_id=None):
    """A completed artifact holding `data`; returns (artifact id, object key)."""
    key = "tests/%s/blob" % os.urandom(8).hex()
    body = {"name": name, "bucket": "datasets", "key": key, "content_type": content_type,
            "project_id": demo_project(base)}
    if execution_id is not None:
        body["execution_id"] = execution_id
    if pipeline_id is not None:
        body["pipeline_id"] = pipeline_id
    started = api(base, "POST", "/artifacts/upload", body)
    req = urllib.request.Request(started["upload_url"], data=data, method="PUT", headers={
        "Content-Type": content_type, "Content-Length": str(len(data))})
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()
    api(base, "POST", "/artifacts/%s/complete" % started["artifact_id"],
        {"size": len(data), "checksum": sha256(data)})
    return started["artifact_id"], key


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def unique_execution_id():
    return 900000 + int.from_bytes(os.urandom(3), "big")


# -- ls / info ---------------------------------------------------------------------------------
def test_ls_lists_and_filters_by_execution(user, sandbox):
    run = unique_execution_id()
    a, _ = upload(sandbox.url, b"alpha\n", "alpha.txt", execution_id=run)
    b, _ = upload(sandbox.url, b"beta\n", "beta.txt")
    r = user("artifact", "ls", "--all", "-o", "json")
    assert r.code == 0, r
    ids = [x["id"] for x in r.json()]
    assert a in ids and b in ids
    r = user("artifact", "ls", "--execution", run, "-o", "json")
    assert r.code == 0, r
    assert [x["id"] for x in r.json()] == [a]
    r = user("artifact", "ls", "--execution", run)
    assert r.code == 0, r
    header = r.out.splitlines()[0].split()
    assert header == ["ID", "NAME", "SIZE", "SHA256", "EXECUTION", "CREATED"]
    assert "alpha.txt" in r.out and sha256(b"alpha\n")[:12] in r.out and str(run) in r.out
    assert "beta.txt" not in r.out


def test_ls_by_pipeline(user, sandbox):
    pipeline = 800000 + int.from_bytes(os.urandom(2), "big")
    a, _ = upload(sandbox.url, b"p\n", "p.txt", pipeline_id=pipeline)
    upload(sandbox.url, b"q\n", "q.txt")
    r = user("artifact", "ls", "--pipeline", pipeline, "-o", "json")
    assert r.code == 0, r
    assert [x["id"] for x in r.json()] == [a]


def test_ls_limit_and_bad_values(user, sandbox):
    for i in range(2):
        upload(sandbox.url, b"x%d" % i, "limit%d.txt" % i)
    r = user("artifact", "ls", "--limit", "1", "-o", "json")
    assert r.code == 0, r
    assert len(r.json()) == 1
    r = user("artifact", "ls", "--limit", "1")
    assert r.code == 0 and "--all" in r.err, r
    r = user("artifact", "ls", "--limit", "lots")
    assert r.code == 2 and "limit" in r.err, r
    r = user("artifact", "ls", "--execution", "abc")
    assert r.code == 2 and "execution id" in r.err, r


def test_info_shows_every_field(user, sandbox):
    data = b"some,csv\n1,2\n"
    art, key = upload(sandbox.url, data, "info.csv", content_type="text/csv")
    r = user("artifact", "info", art)
    assert r.code == 0, r
    for label in ("ID:", "Name:", "Size:", "SHA-256:", "Content type:", "Key:", "Created:"):
        assert label in r.out
    assert sha256(data) in r.out and key in r.out and "text/csv" in r.out
    r = user("artifact", "info", art, "-o", "json")
    assert r.code == 0, r
    obj = r.json()
    assert obj["id"] == art and obj["size"] == len(data) and obj["checksum_sha256"] == sha256(data)


def test_info_and_download_unknown_or_bad_id(user):
    r = user("artifact", "info", "nosuchartifact")
    assert r.code == 5, r
    r = user("artifact", "download", "../../etc")
    assert r.code == 2 and "invalid artifact id" in r.err, r
    r = user("artifact", "download")
    assert r.code == 2, r


# -- download ----------------------------------------------------------------------------------
def test_download_into_cwd_directory_and_file(user, sandbox, tmp_path):
    data = os.urandom(300000)
    art, _ = upload(sandbox.url, data, "report.bin")
    work = tmp_path / "work"
    work.mkdir()
    r = user("artifact", "download", art, cwd=str(work))
    assert r.code == 0, r
    path = str(work / "report.bin")
    assert r.out == path + "\n"
    assert read(path) == data
    assert sha256(data) in r.err and "verified" in r.err
    out = tmp_path / "out"
    out.mkdir()
    r = user("artifact", "download", art, str(out), "-o", "json")
    assert r.code == 0, r
    assert r.json() == {"path": str(out / "report.bin"), "size": len(data),
                        "sha256": sha256(data), "verified": True}
    r = user("-q", "artifact", "download", art, str(out / "renamed.dat"))
    assert r.code == 0, r
    assert r.out == str(out / "renamed.dat") + "\n" and r.err == ""
    assert read(str(out / "renamed.dat")) == data
    assert sorted(os.listdir(str(out))) == ["renamed.dat", "report.bin"]  # no .part left


def test_download_url_gets_no_credentials(user, sandbox, tmp_path):
    """The store shares the API's origin here, and still sees no Authorization header."""
    art, _ = upload(sandbox.url, b"secret-free", "nocreds.txt")
    r = user("--debug", "--no-progress", "artifact", "download", art, str(tmp_path))
    assert r.code == 0, r
    requests = []   # [(request line, [header lines])] from the --debug log
    for line in r.err.splitlines():
        if line.startswith("[debug] >   ") and requests:
            requests[-1][1].append(line.split(">", 1)[1].strip())
        elif line.startswith("[debug] > "):
            requests.append((line[len("[debug] > "):], []))
    api_calls = [h for line, h in requests if line.startswith("GET %s/api/" % sandbox.url)]
    store_calls = [h for line, h in requests if line.startswith("GET %s/_storage/" % sandbox.url)]
    assert api_calls and all("Authorization: ***" in h for h in api_calls), requests
    assert len(store_calls) == 1, requests
    assert not [h for h in store_calls[0] if h.lower().startswith(("authorization", "x-api-key"))]


def test_download_to_missing_directory_is_a_usage_error(user, sandbox, tmp_path):
    art, _ = upload(sandbox.url, b"abc", "abc.txt")
    r = user("artifact", "download", art, str(tmp_path / "nope" / "file.txt"))
    assert r.code == 2 and "does not exist" in r.err, r


@pytest.mark.parametrize("name,expected", [
    ("../../etc/passwd", "passwd"),
    ("/abs/path", "path"),
    ("a\x1b[2Jb", "a_[2Jb"),
    ("..\\..\\win.ini", "win.ini"),
    ("..", None),
    ("", None),
])
def test_unsafe_names_are_reduced_to_a_safe_base_name(user, sandbox, tmp_path, name, expected):
    art, _ = upload(sandbox.url, b"payload", name)
    dest = tmp_path / "dest"
    dest.mkdir()
    r = user("artifact", "download", art, str(dest))
    assert r.code == 0, r
    expected = expected or "artifact-%s" % art
    assert os.listdir(str(dest)) == [expected]
    assert read(str(dest / expected)) == b"payload"
    assert sorted(os.listdir(str(tmp_path))) == ["dest", "home"]
    assert "\x1b" not in r.out and "\x1b" not in r.err


def test_existing_dest_is_kept_without_force(user, sandbox, tmp_path):
    art, _ = upload(sandbox.url, b"new bytes", "keep.txt")
    dest = tmp_path / "keep.txt"
    dest.write_bytes(b"old bytes")
    r = user("artifact", "download", art, str(dest))
    assert r.code == 2 and "already exists" in r.err and "--force" in r.err, r
    assert dest.read_bytes() == b"old bytes"
    r = user("artifact", "download", art, str(tmp_path))  # same file, via the directory
    assert r.code == 2, r
    assert dest.read_bytes() == b"old bytes"
    assert sorted(os.listdir(str(tmp_path))) == ["home", "keep.txt"]
    r = user("artifact", "download", art, str(dest), "--force")
    assert r.code == 0, r
    assert dest.read_bytes() == b"new bytes"


def test_missing_server_checksum_downloads_unverified(user, sandbox, tmp_path):
    data = b"no checksum here\n"
    art, _ = upload(sandbox.url, data, "plain.txt")
    meta = api(sandbox.url, "GET", "/artifacts/%s" % art)
    meta["checksum_sha256"] = None
    sandbox.fault({"target": "api", "action": "error", "status": 200, "method": "GET",
                   "path": "/api/v1/artifacts/%s" % art, "body": meta})
    r = user("artifact", "download", art, str(tmp_path), "-o", "json")
    assert r.code == 0, r
    assert r.json() == {"path": str(tmp_path / "plain.txt"), "size": len(data),
                        "sha256": sha256(data), "verified": False}
    assert "could not be verified" in r.err
    assert read(str(tmp_path / "plain.txt")) == data


def test_server_checksum_with_prefix_and_upper_case(user, sandbox, tmp_path):
    data = b"prefixed\n"
    art, _ = upload(sandbox.url, data, "prefixed.txt")
    meta = api(sandbox.url, "GET", "/artifacts/%s" % art)
    meta["checksum_sha256"] = "sha256:" + sha256(data).upper()
    sandbox.fault({"target": "api", "action": "error", "status": 200, "method": "GET",
                   "path": "/api/v1/artifacts/%s" % art, "body": meta})
    r = user("artifact", "download", art, str(tmp_path), "-o", "json")
    assert r.code == 0, r
    assert r.json()["verified"] is True


# -- every artifact of a run --------------------------------------------------------------------
def test_download_execution_batch_rerun_and_clash(user, sandbox, tmp_path):
    run = unique_execution_id()
    one, _ = upload(sandbox.url, b"first\n", "same.txt", execution_id=run)
    two, _ = upload(sandbox.url, b"second\n", "same.txt", execution_id=run)
    three, _ = upload(sandbox.url, b"third\n", "../other.txt", execution_id=run)
    upload(sandbox.url, b"not in the run\n", "stranger.txt")
    out = tmp_path / "results"   # does not exist yet: created
    r = user("artifact", "download", "--execution", run, str(out), "-o", "json")
    assert r.code == 0, r
    got = r.json()
    assert [g["path"] for g in got] == [str(out / "same.txt"), str(out / ("%s-same.txt" % two)),
                                        str(out / "other.txt")]
    assert all(g["verified"] for g in got)
    assert read(got[0]["path"]) == b"first\n" and read(got[1]["path"]) == b"second\n"
    assert read(got[2]["path"]) == b"third\n"
    r = user("artifact", "download", "--execution", run, str(out))  # rerun: already there
    assert r.code == 0 and "already there" in r.err, r
    (out / "other.txt").write_bytes(b"changed")
    r = user("artifact", "download", "--execution", run, str(out))
    assert r.code == 2 and "other.txt" in r.err, r
    assert (out / "other.txt").read_bytes() == b"changed"
    r = user("artifact", "download", "--execution", run, str(out), "--force")
    assert r.code == 0, r
    assert (out / "other.txt").read_bytes() == b"third\n"


def test_download_execution_without_artifacts(user, tmp_path):
    r = user("artifact", "download", "--execution", unique_execution_id(), str(tmp_path / "x"))
    assert r.code == 0 and "no artifacts" in r.err, r
    assert not (tmp_path / "x").exists()


def _run_pipeline(base, name, params):
    project = demo_project(base)
    pipeline = [p for p in api(base, "GET", "/pipelines/?project_id=%d" % project)
                if p["name"] == name][0]
    execution = api(base, "POST", "/pipelines/%d/execute" % pipeline["id"], params)
    deadline = time.time() + 60
    while time.time() < deadline:
        execution = api(base, "GET", "/executions/%d" % execution["id"])
        if execution["status"] in ("completed", "failed", "cancelled", "timeout"):
            return execution
        time.sleep(0.1)
    raise AssertionError("run %d did not finish" % execution["id"])


def test_download_every_artifact_of_a_real_run(user, sandbox, tmp_path):
    csv = b"name,qty\napple,3\npear,\napple,3\n"
    _, key = upload(sandbox.url, csv, "fruit.csv", content_type="text/csv")
    dataset = api(sandbox.url, "POST", "/datasets/", {
        "name": "fruit-%s" % os.urandom(4).hex(), "project_id": demo_project(sandbox.url),
        "storage_path": "s3://datasets/%s" % key})
    execution = _run_pipeline(sandbox.url, "profile-csv", {"dataset_id": dataset["id"]})
    assert execution["status"] == "completed", execution
    r = user("artifact", "download", "--execution", execution["id"], str(tmp_path / "run"),
             "-o", "json")
    assert r.code == 0, r
    got = r.json()
    assert len(got) >= 1 and all(g["verified"] for g in got)
    names = [os.path.basename(g["path"]) for g in got]
    assert "profile.json" in names
    profile = json.loads(read(str(tmp_path / "run" / "profile.json")).decode())
    assert "3" in json.dumps(profile)  # the rows counted (3 data rows)


def test_safe_basename_cases():
    from xether_lib.safe_names import MAX_NAME_BYTES, safe_basename

    fb = "artifact-x"
    assert safe_basename("report.csv", fb) == "report.csv"
    assert safe_basename("../../etc/passwd", fb) == "passwd"
    assert safe_basename("dir/sub/", fb) == "sub"
    assert safe_basename("C:\\Windows\\win.ini", fb) == "win.ini"
    assert safe_basename("C:evil.txt", fb) == "evil.txt"
    assert safe_basename("tab\there\x85\x7f", fb) == "tab_here__"
    for bad in ("", ".", "..", "/", "../..", "   ", None, 42):
        assert safe_basename(bad, fb) == fb
    long = safe_basename("\u00e9" * 300 + ".parquet", fb)
    assert long.endswith(".parquet") and len(long.encode("utf-8")) <= MAX_NAME_BYTES
    long.encode("utf-8").decode("utf-8")  # not cut inside a character

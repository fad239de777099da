"""`xether dataset ...` against the real sandbox: push (single and parallel multipart), the
recorded meta_data, pull back and compare bytes, ls/info/versions, --to versions, rm (also
when the blob cannot be deleted), a create answered with a lost connection, and bad input."""

import json
import os

import pytest

from dataset_helpers import (MiB, api_call, api_calls, make_file, part_puts, sha256_of,
                             state_files)
from peers import wait_for


def push_json(user, path, *extra):
    r = user("dataset", "push", str(path), "-o", "json", *extra)
    assert r.code == 0, r
    return r.json()


def test_single_push_records_meta_and_pulls_back(user, tmp_path):
    src = tmp_path / "sales report.csv"
    sha = make_file(src, 3 * MiB + 17)
    user.sandbox.clear()
    record = push_json(user, src)
    meta = record["meta_data"]
    assert meta["sha256"] == sha and meta["size_bytes"] == 3 * MiB + 17
    assert meta["filename"] == "sales report.csv" and meta["content_type"] == "text/csv"
    assert record["name"] == "sales report.csv"
    key = "datasets/%d/" % user.project_id
    assert record["storage_path"].startswith("s3://datasets/" + key)
    assert record["storage_path"].endswith("/sales report.csv")
    log = user.sandbox.requests()
    assert part_puts(log, None) == [] and len(api_calls(log, "/api/v1/artifacts/upload")) == 1
    puts = [e for e in log if e["target"] == "storage-put"]
    assert len(puts) == 1 and puts[0]["bytes"] == 3 * MiB + 17
    out = tmp_path / "back.csv"
    r = user("dataset", "pull", record["id"], str(out))
    assert r.code == 0, r
    assert r.out.strip() == str(out) and sha256_of(out) == sha


def test_multipart_parts_go_in_parallel(user, tmp_path):
    src = tmp_path / "big.bin"
    sha = make_file(src, 12 * MiB + 5)
    # Each part PUT is stored, then its answer waits 2 s: with parallel workers all three part
    # URLs are fetched before any part is answered; one at a time, never.
    user.sandbox.fault({"target": "storage-put", "action": "stall", "seconds": 2, "times": 3})
    proc = user.popen("dataset", "push", str(src), "--part-size", "5MiB", "--concurrency", "4",
                      "-o", "json")
    seen = wait_for(lambda: _urls_before_answers(user.sandbox.requests()), timeout=20)
    assert seen == (3, 0)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    record = json.loads(out)
    assert record["meta_data"]["sha256"] == sha and record["meta_data"]["size_bytes"] == src.stat().st_size
    log = user.sandbox.requests()
    assert sorted(part_puts(log)) == [1, 2, 3]
    assert [e["bytes"] for e in sorted(
        (e for e in log if e["target"] == "storage-put"), key=lambda e: e["part_number"])] == [
        5 * MiB, 5 * MiB, 2 * MiB + 5]
    assert state_files(user) == []  # resume state removed after success
    back = tmp_path / "back.bin"
    r = user("dataset", "pull", record["id"], str(back))
    assert r.code == 0, r
    assert sha256_of(back) == sha


def _urls_before_answers(log):
    urls = len(api_calls(log, "/api/v1/artifacts/multipart/part-url"))
    answered = len([e for e in log if e["target"] == "storage-put"])
    return (urls, answered) if urls == 3 or answered else None


def test_versions_with_to(user, tmp_path):
    first, second, third = (tmp_path / n for n in ("a.json", "b.json", "c.json"))
    for i, p in enumerate((first, second, third)):
        make_file(p, 1000 + i)
    base = push_json(user, first, "--name", "versioned", "--description", "three files")
    r = user("dataset", "push", str(second), "--to", base["id"])
    assert r.code == 0, r
    assert r.out.strip() == str(base["id"])
    v = push_json(user, third, "--to", base["id"])
    assert v["version"] == "v2" and v["meta_data"]["sha256"] == sha256_of(third)
    r = user("dataset", "push", str(third), "--to", base["id"], "--version", "v2")
    assert r.code == 2 and "already has a version" in r.err
    r = user("dataset", "versions", base["id"], "-o", "json")
    assert r.code == 0, r
    assert [x["version"] for x in r.json()] == ["v1", "v2"]
    r = user("dataset", "versions", base["id"])
    assert r.code == 0 and "v1" in r.out and "VERSION" in r.out
    out = tmp_path / "v1.json"
    r = user("dataset", "pull", base["id"], "--version", "v1", str(out))
    assert r.code == 0, r
    assert sha256_of(out) == sha256_of(second)
    r = user("dataset", "pull", base["id"], str(tmp_path / "x"), "--version", "v9")
    assert r.code == 5 and "v1, v2" in r.err
    r = user("dataset", "info", base["id"])
    assert r.code == 0, r
    for text in ("versioned", "three files", base["storage_path"], base["meta_data"]["sha256"],
                 base["meta_data"]["artifact_id"], "v1, v2"):
        assert text in r.out
    r = user("dataset", "push", str(first), "--to", "999999")
    assert r.code == 5, r


def test_ls_limit_search_and_json(user, tmp_path):
    tag = "lstest-" + os.urandom(4).hex()
    src = tmp_path / "f.txt"
    sha = make_file(src, 2048)
    for i in range(3):
        push_json(user, src, "--name", "%s-%d" % (tag, i))
    r = user("dataset", "ls", "--search", tag)
    assert r.code == 0, r
    assert r.out.count(tag) == 3 and sha[:12] in r.out and "2.0 KiB" in r.out
    r = user("dataset", "ls", "--search", tag, "--limit", "2")
    assert r.code == 0 and r.out.count(tag) == 2
    assert "first 2 of 3" in r.err and "--all" in r.err
    r = user("dataset", "ls", "--search", tag, "--all", "-o", "json")
    assert r.code == 0, r
    items = r.json()
    assert len(items) == 3 and all(i["meta_data"]["sha256"] == sha for i in items)
    r = user("dataset", "ls", "--limit", "0")
    assert r.code == 2


def test_rm_deletes_record_and_blob(user, tmp_path):
    src = tmp_path / "gone.bin"
    make_file(src, 4096)
    record = push_json(user, src)
    r = user("dataset", "rm", record["id"])  # no TTY, no --yes
    assert r.code == 2 and "--yes" in r.err
    user.sandbox.clear()
    r = user("dataset", "rm", record["id"], "--yes")
    assert r.code == 0, r
    assert "Deleted dataset %s" % record["id"] in r.err
    deletes = api_calls(user.sandbox.requests(), "/api/v1/artifacts/", "DELETE")
    assert [e["status"] for e in deletes] == [200]
    assert deletes[0]["path"].endswith(record["meta_data"]["artifact_id"])
    assert user("dataset", "info", record["id"]).code == 5


def test_rm_reports_blob_that_cannot_be_deleted(user, tmp_path):
    src = tmp_path / "stuck.bin"
    make_file(src, 4096)
    record = push_json(user, src)
    artifact = record["meta_data"]["artifact_id"]
    user.sandbox.fault({"target": "api", "action": "error", "status": 500, "method": "DELETE",
                        "path": "/api/v1/artifacts/", "times": 20})
    r = user("dataset", "rm", record["id"], "--yes")
    assert r.code == 7, r
    assert artifact in r.err and "Deleted" not in r.err
    assert user("dataset", "info", record["id"]).code == 5


def test_create_answer_lost_is_looked_up_not_repeated(user, tmp_path):
    src = tmp_path / "once.bin"
    make_file(src, 1234)
    user.sandbox.fault({"target": "api", "action": "drop_response", "method": "POST",
                        "path": "/api/v1/datasets/"})
    record = push_json(user, src, "--name", "once-" + os.urandom(4).hex())
    creates = api_calls(user.sandbox.requests(), "/api/v1/datasets/")
    assert len(creates) == 1
    r = user("dataset", "ls", "--search", record["name"], "-o", "json")
    assert [d["id"] for d in r.json()] == [record["id"]]


def test_multipart_unsupported_falls_back_to_single(user, tmp_path):
    src = tmp_path / "fallback.bin"
    sha = make_file(src, 6 * MiB)
    user.sandbox.fault({"target": "api", "action": "error", "status": 500,
                        "path": "/api/v1/artifacts/multipart/initiate"})
    r = user("dataset", "push", str(src), "--part-size", "5MiB", "-o", "json")
    assert r.code == 0, r
    assert "one request" in r.err and r.json()["meta_data"]["sha256"] == sha
    puts = [e for e in user.sandbox.requests() if e["target"] == "storage-put"]
    assert len(puts) == 1 and puts[0]["part_number"] is None and puts[0]["bytes"] == 6 * MiB


def test_empty_file_and_content_type(user, tmp_path):
    src = tmp_path / "empty.dat"
    src.write_bytes(b"")
    record = push_json(user, src, "--content-type", "application/x-thing", "-q")
    assert record["meta_data"]["size_bytes"] == 0
    assert record["meta_data"]["sha256"] == sha256_of(src)
    assert record["meta_data"]["content_type"] == "application/x-thing"


def test_bad_input_exit_codes(user, tmp_path):
    missing = tmp_path / "nope.csv"
    r = user("dataset", "push", str(missing))
    assert r.code == 2 and "no such file" in r.err and "Traceback" not in r.err
    r = user("dataset", "push", str(tmp_path))
    assert r.code == 2 and "directory" in r.err
    ok = tmp_path / "ok.bin"
    make_file(ok, 10)
    for extra, words in ((["--part-size", "1MiB"], "part size"),
                         (["--part-size", "lots"], "part size"),
                         (["--concurrency", "0"], "concurrency"),
                         (["--version", "v3"], "--to")):
        r = user("dataset", "push", str(ok), *extra)
        assert r.code == 2 and words in r.err, (extra, r)
    r = user("dataset", "info", "abc")
    assert r.code == 2
    assert user("dataset", "push", "--help").out.count("xether dataset push") >= 2


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files whatever their mode")
def test_unreadable_file(user, tmp_path):
    src = tmp_path / "secret.bin"
    make_file(src, 10)
    src.chmod(0)
    r = user("dataset", "push", str(src))
    assert r.code == 2 and "cannot read" in r.err


def test_every_verb_has_description_and_examples(cli):
    for verb in ("ls", "info", "push", "rm", "versions", "pull"):
        r = cli("dataset", verb, "--help")
        assert r.code == 0, r
        assert "examples:" in r.out and "xether dataset %s" % verb in r.out.split("examples:")[1]


def test_modules_compile_on_python38():
    py38 = "/root/.pyenv/versions/3.8.18/bin/python"
    if not os.path.exists(py38):
        pytest.skip("no Python 3.8 here")
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = [os.path.join(root, "xether_lib", "transfer", n) for n in
             ("source.py", "hashing.py", "multipart.py", "resume_state.py", "upload.py")]
    files += [os.path.join(root, "xether_lib", "commands", "dataset", n)
              for n in ("__init__.py", "push.py")]
    code = "import sys\nfor f in sys.argv[1:]: compile(open(f).read(), f, 'exec')"
    assert subprocess.run([py38, "-c", code] + files).returncode == 0


def test_pull_checks_the_sha256_recorded_in_meta_data(user, tmp_path):
    src = tmp_path / "checked.bin"
    make_file(src, 5000)
    record = push_json(user, src)
    meta = dict(record["meta_data"], sha256="0" * 64)
    status, _ = api_call(user, "PATCH", "/datasets/%d" % record["id"], {"meta_data": meta})
    assert status == 200
    out = tmp_path / "out.bin"
    r = user("dataset", "pull", record["id"], str(out))
    assert r.code == 9, r
    assert not out.exists()


def test_rm_asks_on_a_terminal(user, tmp_path):
    import pty
    import subprocess

    src = tmp_path / "asked.bin"
    make_file(src, 100)
    ids = [push_json(user, src)["id"] for _ in range(2)]
    for dataset_id, answer, code in ((ids[0], b"n\n", 2), (ids[1], b"y\n", 0)):
        master, slave = pty.openpty()
        proc = subprocess.Popen(user.prog + ["dataset", "rm", str(dataset_id)], env=user.env,
                                stdin=slave, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        prompt = b""
        while b"[y/N]" not in prompt:
            prompt += os.read(master, 1024)
        assert b"Delete dataset %d" % dataset_id in prompt
        os.write(master, answer)
        assert proc.wait(30) == code
        os.close(master)
    assert user("dataset", "info", ids[0]).code == 0
    assert user("dataset", "info", ids[1]).code == 5


def test_create_failing_with_500_is_not_repeated(user, tmp_path):
    src = tmp_path / "unrecorded.bin"
    make_file(src, 1234)
    user.sandbox.fault({"target": "api", "action": "error", "status": 500, "method": "POST",
                        "path": "/api/v1/datasets/"})
    r = user("dataset", "push", str(src), "--name", "unrecorded-" + os.urandom(4).hex())
    assert r.code == 7, r
    assert "record could not be created" in r.err and "artifact " in r.err
    assert len(api_calls(user.sandbox.requests(), "/api/v1/datasets/")) == 1

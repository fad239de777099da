"""Uploads under trouble, against the real sandbox's fault hooks: kill -9 and Ctrl-C in the
middle of a multipart upload then resume (only missing parts are sent), an expired part URL,
a 503 SlowDown on a part, a file that grows while it is sent, a file changed since an
interrupted upload, and --no-resume."""

import json
import signal

from dataset_helpers import (MiB, api_calls, make_file, part_puts, read_state, sha256_of,
                             state_files, stored_parts)
from peers import wait_for

PUSH = ("dataset", "push")
SMALL_PARTS = ("--part-size", "5MiB", "--concurrency", "1")


def _interrupt_after_first_part(user, src, sig):
    """Start a push one part at a time; part 2 is stored but its answer stalls; send `sig`.
    Returns once the stalled answer has been given up too, so it cannot pollute the log."""
    user.sandbox.clear()
    user.sandbox.fault([{"target": "storage-put", "action": "stall", "seconds": 0},
                        {"target": "storage-put", "action": "stall", "seconds": 4}])
    proc = user.popen(*(PUSH + (str(src),) + SMALL_PARTS))
    wait_for(lambda: part_puts(user.sandbox.requests()) == [1])
    wait_for(lambda: state_files(user) and stored_parts(user) == [1, 2])
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    wait_for(lambda: part_puts(user.sandbox.requests(), None) == [1, 2])
    return proc.returncode, out, err


def _resume(user, src):
    user.sandbox.clear()
    r = user(*(PUSH + (str(src),) + SMALL_PARTS + ("-o", "json")))
    assert r.code == 0, r
    return r, user.sandbox.requests()


def test_kill9_then_resume_sends_only_missing_parts(user, tmp_path):
    src = tmp_path / "killed.bin"
    sha = make_file(src, 12 * MiB + 100)
    code, _, _ = _interrupt_after_first_part(user, src, signal.SIGKILL)
    assert code == -signal.SIGKILL
    state = read_state(user)
    assert state["part_size"] == 5 * MiB and state["upload_id"]
    r, log = _resume(user, src)
    assert "2 of 3 parts already stored" in r.err
    assert part_puts(log, None) == [3]
    assert len(api_calls(log, "/api/v1/artifacts/multipart/initiate")) == 0
    record = r.json()
    assert record["meta_data"]["sha256"] == sha
    assert record["meta_data"]["artifact_id"] == state["artifact_id"]
    assert state_files(user) == []
    back = tmp_path / "back.bin"
    assert user("dataset", "pull", record["id"], str(back)).code == 0
    assert sha256_of(back) == sha


def test_ctrl_c_exits_130_keeps_state_and_resumes(user, tmp_path):
    src = tmp_path / "interrupted.bin"
    sha = make_file(src, 12 * MiB)
    code, out, err = _interrupt_after_first_part(user, src, signal.SIGINT)
    assert code == 130, err
    assert "interrupted" in err and "Resume it with: xether dataset push" in err
    assert "Traceback" not in err and out == ""
    assert len(state_files(user)) == 1
    r, log = _resume(user, src)
    assert part_puts(log, None) == [3]
    assert r.json()["meta_data"]["sha256"] == sha


def test_changed_file_starts_over_and_no_resume_aborts(user, tmp_path):
    src = tmp_path / "changing.bin"
    make_file(src, 12 * MiB)
    _interrupt_after_first_part(user, src, signal.SIGKILL)
    old = read_state(user)
    sha = make_file(src, 11 * MiB)  # a different file now
    user.sandbox.clear()
    r = user(*(PUSH + (str(src),) + SMALL_PARTS + ("-o", "json")))
    assert r.code == 0, r
    assert "changed since an interrupted upload" in r.err
    assert r.json()["meta_data"]["sha256"] == sha
    log = user.sandbox.requests()
    assert sorted(part_puts(log)) == [1, 2, 3]
    aborts = api_calls(log, "/api/v1/artifacts/multipart/abort")
    assert [e["status"] for e in aborts] == [204]
    assert old["artifact_id"] != r.json()["meta_data"]["artifact_id"]
    # --no-resume: the interrupted upload is aborted and everything is sent again
    _interrupt_after_first_part(user, src, signal.SIGKILL)
    user.sandbox.clear()
    r = user(*(PUSH + (str(src),) + SMALL_PARTS + ("--no-resume",)))
    assert r.code == 0, r
    log = user.sandbox.requests()
    assert len(api_calls(log, "/api/v1/artifacts/multipart/abort")) == 1
    assert sorted(part_puts(log)) == [1, 2, 3]


def test_expired_part_url_gets_a_fresh_one(user, tmp_path):
    src = tmp_path / "expiring.bin"
    sha = make_file(src, 11 * MiB)
    user.sandbox.fault({"target": "storage-put", "action": "expire"})
    r = user(*(PUSH + (str(src),) + SMALL_PARTS + ("-o", "json")))
    assert r.code == 0, r
    log = user.sandbox.requests()
    assert len(part_puts(log, 403)) == 1 and sorted(part_puts(log)) == [1, 2, 3]
    assert len(api_calls(log, "/api/v1/artifacts/multipart/part-url")) == 4
    assert r.json()["meta_data"]["sha256"] == sha


def test_expired_single_url_gets_a_fresh_one(user, tmp_path):
    src = tmp_path / "expiring-small.bin"
    sha = make_file(src, 100000)
    user.sandbox.fault({"target": "storage-put", "action": "expire"})
    r = user(*(PUSH + (str(src), "-o", "json")))
    assert r.code == 0, r
    assert r.json()["meta_data"]["sha256"] == sha
    statuses = [e["status"] for e in user.sandbox.requests() if e["target"] == "storage-put"]
    assert statuses == [403, 200]


def test_expired_every_time_fails_with_the_store_words(user, tmp_path):
    src = tmp_path / "always-expired.bin"
    make_file(src, 100000)
    user.sandbox.fault({"target": "storage-put", "action": "expire", "times": 10})
    r = user(*(PUSH + (str(src),)))
    assert r.code == 4, r
    assert "AccessDenied" in r.err and "Request has expired" in r.err


def test_slowdown_on_a_part_is_retried(user, tmp_path):
    src = tmp_path / "slow.bin"
    sha = make_file(src, 11 * MiB)
    user.sandbox.fault({"target": "storage-put", "action": "error", "status": 503})
    r = user(*(PUSH + (str(src),) + SMALL_PARTS + ("-o", "json")))
    assert r.code == 0, r
    log = user.sandbox.requests()
    assert len(part_puts(log, 503)) == 1 and sorted(part_puts(log)) == [1, 2, 3]
    assert r.json()["meta_data"]["sha256"] == sha


def test_storage_error_shows_code_and_message(user, tmp_path):
    src = tmp_path / "denied.bin"
    make_file(src, 11 * MiB)
    body = ("<?xml version='1.0'?><Error><Code>SignatureDoesNotMatch</Code><Message>The request "
            "signature we calculated does not match</Message></Error>")
    user.sandbox.fault({"target": "storage-put", "action": "error", "status": 403, "body": body})
    r = user(*(PUSH + (str(src),) + SMALL_PARTS))
    assert r.code == 4, r
    assert "SignatureDoesNotMatch" in r.err and "does not match" in r.err
    assert "resume with: xether dataset push" in r.err
    assert len(state_files(user)) == 1


def test_file_growing_during_upload_fails_and_aborts(user, tmp_path):
    src = tmp_path / "growing.bin"
    make_file(src, 11 * MiB)
    user.sandbox.fault({"target": "storage-put", "action": "stall", "seconds": 1.5})
    proc = user.popen(*(PUSH + (str(src),) + SMALL_PARTS))
    wait_for(lambda: api_calls(user.sandbox.requests(), "/api/v1/artifacts/multipart/part-url"))
    with open(str(src), "ab") as f:
        f.write(b"more rows\n")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 9, err
    assert "changed during the upload" in err
    log = user.sandbox.requests()
    assert [e["status"] for e in api_calls(log, "/api/v1/artifacts/multipart/abort")] == [204]
    assert api_calls(log, "/api/v1/artifacts/multipart/complete") == []
    assert api_calls(log, "/api/v1/datasets/") == []
    assert state_files(user) == []


def test_progress_json_and_quiet(user, tmp_path):
    src = tmp_path / "quiet.bin"
    make_file(src, 11 * MiB)
    r = user(*(PUSH + (str(src),) + SMALL_PARTS + ("-q",)))
    assert r.code == 0, r
    assert r.out.strip().isdigit() and r.err == ""
    r = user(*(PUSH + (str(src),) + SMALL_PARTS))
    assert r.code == 0 and "Uploading quiet.bin: 100%" in r.err
    assert json.loads(user("dataset", "info", r.out.strip(), "-o", "json").out)["id"] == int(r.out)


def test_huge_file_raises_part_size_to_stay_within_10000_parts(user, tmp_path):
    src = tmp_path / "sparse-60g.bin"
    with open(str(src), "wb") as f:
        f.truncate(60 << 30)  # sparse: nothing is written, and nothing will be sent
    user.sandbox.fault({"target": "api", "action": "error", "status": 400, "times": 20,
                        "path": "/api/v1/artifacts/multipart/part-url"})
    r = user(*(PUSH + (str(src), "--part-size", "5MiB")))
    assert r.code == 6, r
    state = read_state(user)
    assert state["part_size"] == 7 * MiB and -(-(60 << 30) // state["part_size"]) <= 10000
    assert part_puts(user.sandbox.requests(), None) == []


def test_no_multipart_and_over_5gib_fails_clearly(user, tmp_path):
    src = tmp_path / "sparse-5g.bin"
    with open(str(src), "wb") as f:
        f.truncate((5 << 30) + 1)
    user.sandbox.fault({"target": "api", "action": "error", "status": 405,
                        "path": "/api/v1/artifacts/multipart/initiate"})
    r = user(*(PUSH + (str(src),)))
    assert r.code == 7, r
    assert "cannot do multipart" in r.err and "5 GiB" in r.err
    assert [e for e in user.sandbox.requests() if e["target"] == "storage-put"] == []

"""`xether artifact download` under injected storage faults (sandbox test hooks).

Every fault ends in one of two ways: a verified file at DEST, or exit 9 with DEST untouched
and no bad bytes left behind. Covered: a connection dropped mid-stream (resumed with Range),
a stall (the read timeout fires, then Range), a flipped byte, an expired URL (a fresh one is
fetched), a store that ignores Range, a 416, a mismatched sidecar, giving up after repeated
failures, and Ctrl-C followed by a resuming rerun.
"""

import json
import os
import re
import signal
import time

from peers import wait_for
from test_artifact import read, sha256, upload

SIZE = 3 * 1024 * 1024 + 12345


def _artifact(sandbox, name="blob.bin", size=SIZE):
    data = os.urandom(size)
    art, key = upload(sandbox.url, data, name)
    sandbox.clear()
    return art, data, key


def _gets(sandbox, key):
    return [e for e in sandbox.requests()
            if e["target"] == "storage-get" and e["path"].endswith(key)]


def _download_urls(sandbox, art):
    return [e for e in sandbox.requests() if e["target"] == "api"
            and e["path"] == "/api/v1/artifacts/%s/download" % art]


def _leftovers(directory):
    return [n for n in os.listdir(str(directory)) if n.endswith((".part", ".part.json"))]


def test_drop_mid_stream_resumes_with_range(user, sandbox, tmp_path):
    art, data, key = _artifact(sandbox)
    sandbox.fault({"target": "storage-get", "action": "drop_after", "bytes": 1500000})
    r = user("artifact", "download", art, str(tmp_path / "out.bin"))
    assert r.code == 0, r
    assert read(str(tmp_path / "out.bin")) == data
    gets = _gets(sandbox, key)
    assert gets[0]["range"] is None and gets[0]["fault"] == "drop_after"
    assert gets[1]["range"] == "bytes=1500000-" and gets[1]["status"] == 206, gets
    assert "resuming" in r.err and sha256(data) in r.err
    assert _leftovers(tmp_path) == []


def test_stall_times_out_and_resumes(user, sandbox, tmp_path):
    art, data, key = _artifact(sandbox)
    sandbox.fault({"target": "storage-get", "action": "stall", "seconds": 4})
    started = time.time()
    r = user("--request-timeout", "1", "artifact", "download", art, str(tmp_path / "out.bin"))
    assert r.code == 0, r
    assert time.time() - started < 4  # did not sit out the stall
    assert read(str(tmp_path / "out.bin")) == data
    assert "stalled" in r.err
    ranges = [e["range"] for e in _gets(sandbox, key) if e["range"]]
    assert ranges and ranges[0].startswith("bytes="), _gets(sandbox, key)


def test_corrupted_byte_exits_9_and_leaves_dest_untouched(user, sandbox, tmp_path):
    art, data, key = _artifact(sandbox)
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"the old file")
    sandbox.fault({"target": "storage-get", "action": "corrupt"})
    r = user("artifact", "download", art, str(dest), "--force")
    assert r.code == 9, r
    found = re.search(r"expected sha256 ([0-9a-f]{64}), got ([0-9a-f]{64})", r.err)
    assert found and found.group(1) == sha256(data) and found.group(2) != sha256(data), r
    assert dest.read_bytes() == b"the old file"
    assert _leftovers(tmp_path) == []


def test_expired_url_gets_a_fresh_one(user, sandbox, tmp_path):
    art, data, key = _artifact(sandbox)
    sandbox.fault({"target": "storage-get", "action": "expire"})
    r = user("artifact", "download", art, str(tmp_path / "out.bin"))
    assert r.code == 0, r
    assert read(str(tmp_path / "out.bin")) == data
    assert len(_download_urls(sandbox, art)) == 2
    assert [e["status"] for e in _gets(sandbox, key)] == [403, 200]


def test_store_ignoring_range_restarts_cleanly(user, sandbox, tmp_path):
    art, data, key = _artifact(sandbox)
    sandbox.fault([{"target": "storage-get", "action": "drop_after", "bytes": 1000000},
                   {"target": "storage-get", "action": "ignore_range"}])
    r = user("artifact", "download", art, str(tmp_path / "out.bin"))
    assert r.code == 0, r
    assert read(str(tmp_path / "out.bin")) == data
    gets = _gets(sandbox, key)
    assert gets[1]["range"] == "bytes=1000000-" and gets[1]["status"] == 200, gets


def _leave_partial(user, sandbox, art, dest, kept=1000000):
    """A failed download that keeps `kept` bytes in DEST.part (it gives up: exit 8)."""
    sandbox.fault([{"target": "storage-get", "action": "drop_after", "bytes": kept},
                   {"target": "storage-get", "action": "drop_after", "bytes": 0, "times": 20}])
    r = user("artifact", "download", art, str(dest))
    assert r.code == 8, r
    assert "gave up" in r.err and ".part" in r.err
    assert os.path.getsize(str(dest) + ".part") == kept
    assert not os.path.exists(str(dest))
    sandbox.clear()


def test_give_up_keeps_part_then_rerun_resumes(user, sandbox, tmp_path):
    art, data, key = _artifact(sandbox)
    dest = tmp_path / "out.bin"
    _leave_partial(user, sandbox, art, dest)
    r = user("artifact", "download", art, str(dest))
    assert r.code == 0, r
    assert read(str(dest)) == data
    assert [e["range"] for e in _gets(sandbox, key)] == ["bytes=1000000-"]
    assert _leftovers(tmp_path) == []


def test_416_or_mismatched_sidecar_starts_over(user, sandbox, tmp_path):
    art, data, key = _artifact(sandbox)
    dest = tmp_path / "out.bin"
    _leave_partial(user, sandbox, art, dest)
    sandbox.fault({"target": "storage-get", "action": "error", "status": 416})
    r = user("artifact", "download", art, str(dest))
    assert r.code == 0, r
    assert read(str(dest)) == data
    assert [(e["range"], e["status"]) for e in _gets(sandbox, key)] == [
        ("bytes=1000000-", 416), (None, 200)]
    os.unlink(str(dest))
    sandbox.clear()
    _leave_partial(user, sandbox, art, dest)
    sidecar = str(dest) + ".part.json"
    with open(sidecar) as f:
        ident = json.load(f)
    ident["sha256"] = "0" * 64
    with open(sidecar, "w") as f:
        json.dump(ident, f)
    r = user("artifact", "download", art, str(dest))
    assert r.code == 0, r
    assert read(str(dest)) == data
    assert [e["range"] for e in _gets(sandbox, key)] == [None]


def test_ctrl_c_keeps_part_and_a_rerun_resumes(user, sandbox, tmp_path):
    art, data, key = _artifact(sandbox, size=6 * 1024 * 1024)
    dest = tmp_path / "out.bin"
    part = str(dest) + ".part"
    sandbox.fault({"target": "storage-get", "action": "stall", "seconds": 20})
    proc = user.popen("artifact", "download", art, str(dest))
    wait_for(lambda: os.path.exists(part) and os.path.getsize(part) > 0, timeout=20)
    assert os.path.getsize(part) > 0
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, (out, err)
    assert ".part" in err and "xether artifact download %s" % art in err
    assert "Traceback" not in err
    kept = os.path.getsize(part)
    assert 0 < kept < len(data) and os.path.exists(part + ".json")
    assert not dest.exists()
    sandbox.clear()
    r = user("artifact", "download", art, str(dest))
    assert r.code == 0, r
    assert read(str(dest)) == data
    assert [e["range"] for e in _gets(sandbox, key)] == ["bytes=%d-" % kept]
    assert _leftovers(tmp_path) == []


def test_a_second_download_to_the_same_dest_is_refused(user, sandbox, tmp_path):
    art, data, key = _artifact(sandbox)
    dest = tmp_path / "out.bin"
    part = str(dest) + ".part"
    sandbox.fault({"target": "storage-get", "action": "stall", "seconds": 3})
    first = user.popen("artifact", "download", art, str(dest))
    wait_for(lambda: os.path.exists(part) and os.path.getsize(part) > 0, timeout=20)
    second = user("artifact", "download", art, str(dest))
    assert second.code == 2 and "another download is writing" in second.err, second
    out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert read(str(dest)) == data
    assert _leftovers(tmp_path) == []

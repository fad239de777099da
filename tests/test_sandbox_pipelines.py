"""The sandbox's pipelines and runs over real HTTP: profile and dedupe on uploaded CSVs, stage
and progress reporting, logs with after=, cancel (and 409 once finished), failures, timeouts,
recovery after a restart; and the `xether sandbox` process: its first line, defaults (port of
the `local` URL, state under XDG_DATA_HOME), start-up failures, and its stop on Ctrl-C/SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import XETHER_PY, Runner, Sandbox, clean_env
from sandbox_client import Api

CSV = (b"id,city,amount,note\n"
       b"1,Paris,10,\n"
       b"2,Lyon,2.5,x\n"
       b"3,Paris,-4,y\n"
       b"2,Lyon,2.5,x\n"
       b"4,,7,z\n")


@pytest.fixture
def api(sandbox):
    sandbox.clear()
    api = Api(sandbox.url).login()
    api.pid = api.demo_project()
    return api


def run(api, name, params, wait=True):
    r = api("POST", "/pipelines/%d/execute" % api.pipeline(name, api.pid), params)
    assert r.status == 201, r
    assert r.json["status"] == "pending" and r.json["meta_data"] == params
    return api.wait(r.json["id"]) if wait else r.json


def artifacts_of(api, execution_id):
    return api("GET", "/artifacts/", query={"execution_id": execution_id}).json


def test_builtin_pipelines_are_seeded(api):
    r = api("GET", "/pipelines/", query={"project_id": api.pid})
    names = [p["name"] for p in r.json]
    assert {"profile-csv", "dedupe-csv", "sleep", "fail"} <= set(names)
    p = api("GET", "/pipelines/%d" % r.json[0]["id"]).json
    assert set(p) == {"id", "name", "description", "project_id", "config", "is_active",
                      "created_at", "updated_at"}
    assert p["config"]["stages"] and p["is_active"] is True
    assert api("GET", "/pipelines/").status == 422


def test_profile_csv_end_to_end(api):
    did = api.dataset(api.pid, "cities", CSV)
    done = run(api, "profile-csv", {"dataset_id": did})
    assert done["status"] == "completed", done
    assert done["pipeline_name"] == "profile-csv" and done["error_message"] is None
    assert done["started_at"] and done["completed_at"] >= done["started_at"]
    assert [s["status"] for s in done["stages"]] == ["completed"] * 3
    assert done["progress"] == {"stages_completed": 3, "stages_total": 3,
                                "percentage_complete": 100.0}
    arts = artifacts_of(api, done["id"])
    assert [a["name"] for a in arts] == ["profile.json"]
    art = arts[0]
    assert art["pipeline_id"] == done["pipeline_id"] and art["project_id"] == api.pid
    profile = json.loads(api.download(art["id"]))
    assert profile["rows"] == 5 and profile["columns"] == ["id", "city", "amount", "note"]
    stats = profile["column_stats"]
    assert stats["id"] == {"nulls": 0, "distinct": 4, "min": 1, "max": 4}
    assert stats["city"] == {"nulls": 1, "distinct": 2}
    assert stats["amount"] == {"nulls": 0, "distinct": 4, "min": -4.0, "max": 10.0}
    assert stats["note"] == {"nulls": 1, "distinct": 3}
    import hashlib
    data = api.download(art["id"])
    assert art["checksum_sha256"] == hashlib.sha256(data).hexdigest()
    assert art["size"] == len(data)


def test_dedupe_csv_with_keys_and_output_dataset(api):
    did = api.dataset(api.pid, "dupes", CSV)
    done = run(api, "dedupe-csv", {"dataset_id": did, "keys": ["city"],
                                   "output_name": "cities-clean"})
    assert done["status"] == "completed", done
    art = artifacts_of(api, done["id"])[0]
    assert art["name"] == "deduped.csv"
    assert api.download(art["id"]) == b"id,city,amount,note\n1,Paris,10,\n2,Lyon,2.5,x\n4,,7,z\n"
    made = api("GET", "/datasets/", query={"project_id": api.pid, "search": "cities-clean"}).json
    assert len(made) == 1
    assert made[0]["storage_path"] == "s3://%s/%s" % (art["bucket"], art["key"])
    assert made[0]["meta_data"]["sha256"] == art["checksum_sha256"]
    every = run(api, "dedupe-csv", {"dataset_id": did})
    data = api.download(artifacts_of(api, every["id"])[0]["id"])
    assert data.count(b"2,Lyon,2.5,x") == 1 and data.count(b"\n") == 5


def test_cancel_a_running_sleep_then_409(api):
    started = run(api, "sleep", {"seconds": 30}, wait=False)
    eid = started["id"]
    deadline = time.time() + 10
    while api("GET", "/executions/%d" % eid).json["status"] != "running":
        assert time.time() < deadline
        time.sleep(0.05)
    t0 = time.time()
    r = api("POST", "/executions/%d/cancel" % eid, {"reason": "enough"})
    assert r.status == 200 and r.json["status"] == "cancelled", r
    assert time.time() - t0 < 3
    assert "enough" in r.json["error_message"]
    time.sleep(0.3)
    after = api("GET", "/executions/%d" % eid).json
    assert after["status"] == "cancelled" and after["completed_at"]
    assert "cancelled" in [s["status"] for s in after["stages"]]
    r = api("POST", "/executions/%d/cancel" % eid)
    assert r.status == 409 and "cancelled" in r.json["detail"]


def test_logs_are_numbered_and_paged_with_after(api):
    done = run(api, "sleep", {"seconds": 1.2})
    assert done["status"] == "completed"
    logs = api("GET", "/executions/%d/logs" % done["id"]).json
    seqs = [e["seq"] for e in logs]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 6
    assert set(logs[0]) == {"seq", "timestamp", "level", "stage", "message"}
    assert logs[0]["message"] == 'run started with parameters {"seconds": 1.2}'  # JSON
    assert any("slept 1 of" in e["message"] for e in logs)
    tail = api("GET", "/executions/%d/logs" % done["id"], query={"after": 3, "limit": 2}).json
    assert [e["seq"] for e in tail] == [4, 5]
    assert api("GET", "/executions/%d/logs" % done["id"], query={"after": 999}).json == []
    newest = api("GET", "/pipelines/%d/executions" % done["pipeline_id"]).json
    assert newest[0]["id"] == done["id"]
    assert [e["id"] for e in newest] == sorted((e["id"] for e in newest), reverse=True)


def test_failures_and_timeouts(api):
    failed = run(api, "fail", {})
    assert failed["status"] == "failed" and "process" in failed["error_message"]
    assert [s["status"] for s in failed["stages"]] == ["completed", "failed", "pending"]
    assert failed["progress"]["stages_completed"] == 1
    r = api("POST", "/executions/%d/cancel" % failed["id"])
    assert r.status == 409
    first = run(api, "fail", {"stage": 1})
    assert first["stages"][0]["status"] == "failed"
    timed = run(api, "sleep", {"seconds": 20, "timeout_seconds": 0.3})
    assert timed["status"] == "timeout" and "timeout" in timed["error_message"]
    missing = run(api, "profile-csv", {"dataset_id": 999999})
    assert missing["status"] == "failed" and "999999" in missing["error_message"]
    no_param = run(api, "profile-csv", {})
    assert "dataset_id" in no_param["error_message"]
    r = api("POST", "/pipelines/%d/execute" % api.pipeline("sleep", api.pid), [1, 2])
    assert r.status == 422
    assert api("GET", "/executions/999999").status == 404


def test_state_survives_a_restart_and_runs_in_flight_fail(tmp_path):
    data_dir = str(tmp_path / "data")
    box = Sandbox(data_dir)
    try:
        api = Api(box.url).login()
        pid = api.demo_project()
        did = api("POST", "/datasets/", {"name": "kept", "project_id": pid,
                                         "storage_path": "s3://datasets/k"}).json["id"]
        eid = api("POST", "/pipelines/%d/execute" % api.pipeline("sleep", pid),
                  {"seconds": 60}).json["id"]
    finally:
        box.stop()
    assert box.proc.returncode == 0
    box = Sandbox(data_dir)
    try:
        api2 = Api(box.url)
        api2.headers = api.headers  # the old token is still good: same secret
        assert api2("GET", "/datasets/%d" % did).json["name"] == "kept"
        run = api2("GET", "/executions/%d" % eid).json
        assert run["status"] == "failed" and "restarted" in run["error_message"]
    finally:
        box.stop()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_sandbox_command_prints_url_first_and_stops_cleanly(tmp_path, sig):
    env = clean_env(str(tmp_path))
    proc = subprocess.Popen([sys.executable, XETHER_PY, "sandbox", "--port", "0",
                             "--data-dir", str(tmp_path / "d")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    first = proc.stdout.readline().strip()
    assert first.startswith("http://127.0.0.1:") and first.split(":")[-1].isdigit()
    rest = [proc.stdout.readline() for _ in range(3)]
    assert "demo@xether.local" in "".join(rest)
    proc.send_signal(sig)
    assert proc.wait(10) == (130 if sig == signal.SIGINT else 0)  # Ctrl-C is 130, as anywhere
    err = proc.stderr.read()
    assert err == ("sandbox stopped (interrupted)\n" if sig == signal.SIGINT
                   else "sandbox stopped\n")
    proc.stdout.close()
    proc.stderr.close()
    assert oct(os.stat(str(tmp_path / "d" / "secret.key")).st_mode & 0o777) == "0o600"


def test_start_up_failures_are_one_clear_line_and_exit_2(tmp_path, sandbox):
    cli = Runner(str(tmp_path))
    taken = int(sandbox.url.rsplit(":", 1)[1])
    for flag in ("--port", "--storage-port"):
        args = ["--port", "0", flag, taken] if flag != "--port" else ["--port", taken]
        r = cli("sandbox", "--data-dir", tmp_path / "d", *args, timeout=30)
        assert r.code == 2 and r.out == "", r
        assert r.err == ("xether: error: cannot start the sandbox: cannot listen on "
                         "127.0.0.1:%d: Address already in use\n  Is a sandbox already running "
                         "there? Choose another port (0 picks a free one).\n" % taken), r
    (tmp_path / "file").write_text("")
    r = cli("sandbox", "--port", "0", "--data-dir", tmp_path / "file" / "d", timeout=30)
    assert r.code == 2 and "cannot start the sandbox: " in r.err and "/file/d" in r.err, r
    assert "Traceback" not in r.err and len(r.err.splitlines()) == 1
    r = cli("sandbox", "--port", "70000")
    assert r.code == 2 and "'70000' is not a port number" in r.err, r


def test_defaults_port_of_the_local_url_and_data_in_xdg_data_home(tmp_path):
    import socket

    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", 8000))
    except OSError:
        pytest.skip("port 8000 is taken on this machine")
    finally:
        probe.close()
    cli = Runner(str(tmp_path))
    proc = subprocess.Popen([sys.executable, XETHER_PY, "sandbox"], env=cli.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    try:
        assert proc.stdout.readline().strip() == "http://127.0.0.1:8000"
        cli.login("local")
        r = cli("--api-url", "local", "project", "ls", "-o", "json")
        assert r.code == 0 and [p["name"] for p in r.json()] == ["demo"], r
        assert os.path.isfile(os.path.join(cli.env["XDG_DATA_HOME"], "xether", "sandbox",
                                           "secret.key"))
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.fixture
def moto(tmp_path):
    """A moto S3 server on a free loopback port, with the bucket `datasets`."""
    import shutil
    import socket

    from sandbox_client import request

    if not shutil.which("moto_server"):
        pytest.skip("moto_server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port
    deadline = time.time() + 20
    while True:
        try:
            if request(url + "/datasets", "PUT", b"").status == 200:
                break
        except OSError:
            assert time.time() < deadline, "moto_server did not start"
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


def test_profile_on_real_s3_storage(start_sandbox, moto):
    box = start_sandbox("--s3-endpoint", moto, "--s3-access-key", "testing",
                        "--s3-secret-key", "testing-secret")
    api = Api(box.url).login()
    api.pid = api.demo_project()
    did = api.dataset(api.pid, "on-s3", CSV)
    assert api("GET", "/datasets/%d" % did).json["storage_path"].startswith("s3://datasets/")
    done = run(api, "profile-csv", {"dataset_id": did})
    assert done["status"] == "completed", done
    art = artifacts_of(api, done["id"])[0]
    url = api("GET", "/artifacts/%s/download" % art["id"]).json["download_url"]
    assert url.startswith(moto + "/") and "X-Amz-Signature=" in url
    assert json.loads(api.download(art["id"]))["rows"] == 5

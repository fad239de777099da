"""`xether pipeline ...` end to end: the real CLI in a subprocess against a real sandbox.

Runs use the sandbox's built-in pipelines (profile-csv, sleep, fail) and --poll 0.2 so that
waiting stays quick. Runs that could outlive a test are cancelled before it ends.
"""

import json
import os
import signal
import time

import pytest

POLL = ("--poll", "0.2")


def pipeline_ids(cli):
    r = cli("pipeline", "ls", "-o", "json")
    assert r.code == 0, r
    return dict((p["name"], p["id"]) for p in r.json())


def start(cli, name, *params):
    """Start a run without waiting; returns its id."""
    args = ["pipeline", "run", name, "-q"]
    for p in params:
        args += ["--param", p]
    r = cli(*args)
    assert r.code == 0, r
    assert r.err == ""
    return int(r.out.strip())


def status(cli, run_id, *extra):
    r = cli("pipeline", "status", run_id, "-o", "json", *extra)
    assert r.code == 0, r
    return r.json()


def wait_for(cli, run_id, wanted, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        run = status(cli, run_id)
        if run["status"] == wanted:
            return run
        time.sleep(0.1)
    raise AssertionError("run %s never became %s (last: %r)" % (run_id, wanted, run))


def executions(cli, pipeline_id):
    r = cli("pipeline", "history", pipeline_id, "--limit", "1000", "-o", "json")
    assert r.code == 0, r
    return r.json()


# -- ls, info, history -----------------------------------------------------------------------

def test_ls_and_info_show_the_builtin_pipelines(user):
    ids = pipeline_ids(user)
    assert {"profile-csv", "dedupe-csv", "sleep", "fail"} <= set(ids)
    r = user("pipeline", "ls")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "ACTIVE", "UPDATED"]
    row = [line.split() for line in lines if " profile-csv " in line][0]
    assert row[:3] == [str(ids["profile-csv"]), "profile-csv", "yes"]

    r = user("pipeline", "info", "profile-csv")
    assert r.code == 0, r
    assert "Stages:" in r.out and "load -> profile -> write" in r.out
    assert "dataset_id: id of a CSV dataset" in r.out
    assert "Last runs:" in r.out
    r = user("pipeline", "info", ids["sleep"], "-o", "json")
    assert r.code == 0, r
    assert r.json()["name"] == "sleep" and isinstance(r.json()["recent_executions"], list)
    r = user("pipeline", "info", "no-such-pipeline")
    assert r.code == 5 and "no pipeline named 'no-such-pipeline'" in r.err, r


def test_history_is_newest_first_with_status_filter_and_limit(user):
    ids = pipeline_ids(user)
    first = start(user, "fail", "stage=1")
    older = start(user, "sleep", "seconds=0")
    second = start(user, "sleep", "seconds=0", "tag=history")
    wait_for(user, first, "failed")
    wait_for(user, older, "completed")
    wait_for(user, second, "completed")
    rows = executions(user, ids["sleep"])
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    r = user("pipeline", "history", "sleep", "--limit", "1")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines[0].split()[:4] == ["ID", "STATUS", "STARTED", "DURATION"]
    assert len(lines) == 2 and lines[1].split()[:2] == [str(second), "completed"]
    assert '{"seconds":0,"tag":"history"}' in lines[1]
    assert "see more with --limit" in r.err
    r = user("pipeline", "history", ids["fail"], "--status", "failed", "-o", "json")
    assert r.code == 0, r
    assert first in [x["id"] for x in r.json()]
    assert set(x["status"] for x in r.json()) == {"failed"}
    r = user("pipeline", "history", ids["fail"], "--limit", "0")
    assert r.code == 2, r


# -- run and wait ------------------------------------------------------------------------------

CSV = ("id,name,score,city\n"
       "1,alice,90.5,Paris\n"
       "2,bob,,Berlin\n"
       "3,carol,72,\n"
       "4,alice,88,Paris\n")


def test_profile_csv_run_waits_and_its_artifact_holds_the_profile(user, tmp_path):
    data = tmp_path / "people.csv"
    data.write_text(CSV)
    r = user("dataset", "push", str(data), "-q")
    assert r.code == 0, r
    dataset_id = int(r.out.strip())

    r = user("pipeline", "run", "profile-csv", "--param", "dataset_id=%d" % dataset_id,
             "--wait", *POLL)
    assert r.code == 0, r
    run_id = int(r.out.strip())
    assert "run %d completed" % run_id in r.err and "(3/3 stages)" in r.err
    assert "run %d: completed, 3/3 stages done\n" % run_id in r.err
    assert "\r" not in r.err  # not a terminal: plain lines, no redrawing

    out = tmp_path / "out"
    out.mkdir()
    r = user("artifact", "download", "--execution", run_id, str(out))
    assert r.code == 0, r
    profile = json.loads((out / "profile.json").read_text())
    assert profile["rows"] == 4
    assert profile["columns"] == ["id", "name", "score", "city"]
    stats = profile["column_stats"]
    assert stats["id"] == {"nulls": 0, "distinct": 4, "min": 1, "max": 4}
    assert stats["name"] == {"nulls": 0, "distinct": 3}
    assert stats["score"] == {"nulls": 1, "distinct": 3, "min": 72.0, "max": 90.5}
    assert stats["city"] == {"nulls": 1, "distinct": 2}

    run = status(user, run_id)
    assert run["status"] == "completed" and run["meta_data"] == {"dataset_id": dataset_id}
    r = user("pipeline", "status", run_id)
    assert r.code == 0, r
    for text in ("Status:", "completed", "3/3 stages done", "profile", "Duration:"):
        assert text in r.out


def test_params_reach_the_server_exactly(user, tmp_path):
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps({"seconds": 0, "note": "from file",
                                       "range": {"start": "a", "end": "b"}}))
    r = user("pipeline", "run", "sleep", "--params-file", params_file, "--param", "n=5",
             "--param", "flag=true", "--param", 'tags=["a","b"]', "--param", "word=hello",
             "--param", "range.end=2024-02-01", "--param", "date_range.start=2024-01-01",
             "-o", "json")
    assert r.code == 0, r
    sent = {"seconds": 0, "note": "from file", "n": 5, "flag": True, "tags": ["a", "b"],
            "word": "hello", "range": {"start": "a", "end": "2024-02-01"},
            "date_range": {"start": "2024-01-01"}}
    started = r.json()
    assert started["meta_data"] == sent and started["status"] == "pending"
    assert status(user, started["id"])["meta_data"] == sent

    r = user("pipeline", "run", "sleep", "--params-file", "-", "-q",
             input='{"seconds": 0, "via": "stdin"}')
    assert r.code == 0, r
    assert status(user, int(r.out))["meta_data"] == {"seconds": 0, "via": "stdin"}


def test_bad_params_exit_2_and_start_nothing(user, tmp_path):
    ids = pipeline_ids(user)
    before = len(executions(user, ids["sleep"]))
    bad = tmp_path / "bad.json"
    bad.write_text('{"seconds": 1,\n "x": }\n')
    r = user("pipeline", "run", "sleep", "--params-file", bad)
    assert r.code == 2 and "line 2, column 7" in r.err, r
    bad.write_text("[1, 2]")
    r = user("pipeline", "run", "sleep", "--params-file", bad)
    assert r.code == 2 and "must hold a JSON object" in r.err, r
    r = user("pipeline", "run", "sleep", "--param", "oops")
    assert r.code == 2 and "KEY=VALUE" in r.err, r
    r = user("pipeline", "run", "sleep", "--wait", "--timeout", "soon")
    assert r.code == 2 and "--timeout" in r.err, r
    assert "Traceback" not in r.err
    assert len(executions(user, ids["sleep"])) == before


def test_a_failing_run_exits_10_with_its_error(user):
    r = user("pipeline", "run", "fail", "--param", "stage=prepare", "--wait", *POLL)
    assert r.code == 10, r
    run_id = int(r.out.strip())
    assert ("run %d failed in stage prepare: stage prepare failed (on purpose" % run_id) in r.err
    assert "xether pipeline logs %d" % run_id in r.err
    run = status(user, run_id)
    assert run["status"] == "failed" and "stage prepare failed" in run["error_message"]
    r = user("pipeline", "run", "fail", "--wait", "-o", "json", *POLL)
    assert r.code == 10, r
    assert r.json()["status"] == "failed" and r.json()["error_message"]  # one JSON document
    assert "failed in stage process" in r.err


def test_an_unknown_status_is_shown_as_is_and_not_taken_as_the_end(user):
    run_id = start(user, "sleep", "seconds=1")
    user.sandbox.fault({"target": "api", "method": "GET", "path": "/api/v1/executions/%d" % run_id,
                        "action": "error", "status": 200, "times": 3,
                        "body": {"id": run_id, "status": "queued", "started_at": None}})
    r = user("pipeline", "status", run_id, "--watch", *POLL)
    assert r.code == 0, r
    assert "run %d: queued" % run_id in r.err
    assert "run %d completed" % run_id in r.err


def test_cancel_from_another_process_ends_the_wait_with_exit_10(user):
    proc = user.popen("pipeline", "run", "sleep", "--param", "seconds=30", "--wait", *POLL)
    try:
        run_id = int(proc.stdout.readline())
        wait_for(user, run_id, "running")
        r = user("pipeline", "cancel", run_id)  # not a terminal: refuses without --yes
        assert r.code == 2 and "--yes" in r.err, r
        r = user("pipeline", "cancel", run_id, "--yes", "--reason", "from the test")
        assert r.code == 0, r
        assert "cancelled run %d" % run_id in r.err
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 10, err
    assert "run %d was cancelled: Cancelled by user: from the test" % run_id in err
    r = user("pipeline", "cancel", run_id, "--yes")
    assert r.code == 6 and "already finished" in r.err, r


def test_follow_prints_every_log_line_exactly_once(user):
    r = user("pipeline", "run", "sleep", "--param", "seconds=2", "--follow", *POLL)
    assert r.code == 0, r
    lines = r.out.splitlines()
    run_id = int(lines[0])
    logs = user("pipeline", "logs", run_id, "-o", "json").json()
    assert len(logs) >= 10 and [e["seq"] for e in logs] == list(range(1, len(logs) + 1))
    messages = [line[len("2026-01-01 00:00:00 INFO    "):] for line in lines[1:]]
    assert messages == [("[%s] " % e["stage"] if e["stage"] else "") + e["message"]
                        for e in logs]
    assert "slept 2 of 2 seconds" in r.out and lines[-1].endswith("run completed")


def test_log_text_from_the_server_is_escaped(user, tmp_path):
    data = tmp_path / "tiny.csv"
    data.write_text("a\n1\n")
    evil = "evil\x1b]0;owned\x07\x1b[2J"
    r = user("dataset", "push", str(data), "--name", evil, "-q")
    assert r.code == 0, r
    r = user("pipeline", "run", "profile-csv", "--param", "dataset_id=%s" % r.out.strip(),
             "--follow", *POLL)
    assert r.code == 0, r
    assert "\x1b" not in r.out and "\x07" not in r.out
    assert "(evil\\x1b]0;owned\\x07\\x1b[2J)" in r.out
    r = user("pipeline", "logs", int(r.out.splitlines()[0]))
    assert r.code == 0 and "\x1b" not in r.out and "evil\\x1b]0;owned" in r.out, r


def test_follow_rides_out_server_errors(user):
    user("config", "set", "max_attempts", "1")
    run_id = start(user, "sleep", "seconds=2")
    user.sandbox.fault({"target": "api", "path": "/api/v1/executions/%d" % run_id,
                        "method": "GET", "action": "error", "status": 503, "times": 3})
    r = user("pipeline", "logs", run_id, "--follow", *POLL)
    assert r.code == 0, r
    assert "still watching" in r.err and "back in contact" in r.err
    assert "Traceback" not in r.err
    printed = r.out.splitlines()
    logs = user("pipeline", "logs", run_id).out.splitlines()
    assert printed == logs and len(logs) >= 10
    assert len(set(printed)) == len(printed)
    assert printed[-1].endswith("run completed")


def test_logs_filters(user):
    run_id = start(user, "fail", "stage=process")
    wait_for(user, run_id, "failed")
    r = user("pipeline", "logs", run_id, "--level", "error")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines and all(" ERROR " in line for line in lines)
    r = user("pipeline", "logs", run_id, "--stage", "prepare", "-o", "csv")
    assert r.code == 0, r
    rows = r.out.splitlines()
    assert rows[0] == "seq,timestamp,level,stage,message"
    assert len(rows) > 1 and all(",prepare," in row for row in rows[1:])
    r = user("pipeline", "logs", run_id, "--level", "loud")
    assert r.code == 2 and "--level" in r.err, r


def test_timeout_gives_up_with_exit_11_and_the_run_goes_on(user):
    r = user("pipeline", "run", "sleep", "--param", "seconds=30", "--wait", "--timeout", "1",
             *POLL)
    run_id = int(r.out.strip())
    try:
        assert r.code == 11, r
        assert "gave up waiting after 1.0s: run %d is still running" % run_id in r.err
        assert "xether pipeline status %d --watch" % run_id in r.err
        assert status(user, run_id)["status"] == "running"
    finally:
        user("pipeline", "cancel", run_id, "--yes")


def test_ctrl_c_while_waiting_exits_130_and_the_run_goes_on(user):
    run_id = start(user, "sleep", "seconds=30")
    proc = user.popen("pipeline", "status", run_id, "--watch", *POLL)
    try:
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        user("pipeline", "cancel", run_id, "--yes")
    assert proc.returncode == 130, err
    assert "stopped watching run %d; it goes on running on the server" % run_id in err
    assert "xether pipeline cancel %d" % run_id in err


# -- a start request must never be repeated ----------------------------------------------------

@pytest.mark.parametrize("fault, code", [
    ({"action": "drop_response"}, 8),
    ({"action": "error", "status": 502}, 7),
])
def test_a_lost_execute_answer_is_not_retried(user, fault, code):
    ids = pipeline_ids(user)
    before = executions(user, ids["sleep"])
    path = "/api/v1/pipelines/%d/execute" % ids["sleep"]
    user.sandbox.clear()
    user.sandbox.fault(dict(fault, target="api", path=path))
    r = user("pipeline", "run", ids["sleep"], "--param", "seconds=0", "--wait", *POLL)
    assert r.code == code, r
    assert "may have started" in r.err
    assert "xether pipeline history %d" % ids["sleep"] in r.err
    posts = [q for q in user.sandbox.requests() if q["method"] == "POST" and q["path"] == path]
    assert len(posts) == 1
    after = executions(user, ids["sleep"])
    made = 1 if fault["action"] == "drop_response" else 0
    assert len(after) == len(before) + made


# -- a server without the [ext] routes --------------------------------------------------------

def test_status_and_wait_on_a_backend_compatible_server(cli, start_sandbox):
    box = start_sandbox("--backend-compat")
    cli.env["XETHER_API_URL"] = box.url
    cli.env["XETHER_PROJECT"] = "1"
    cli.login(box.url)
    ids = pipeline_ids(cli)
    r = cli("pipeline", "run", "sleep", "--param", "seconds=1", "--follow", *POLL)
    assert r.code == 0, r
    run_id = int(r.out.strip())
    assert "does not support execution logs" in r.err
    assert "looking run %d up in the runs of pipeline %d" % (run_id, ids["sleep"]) in r.err
    r = cli("pipeline", "status", run_id)
    assert r.code == 7, r
    assert "cannot look up run %d by its id alone" % run_id in r.err and "--pipeline" in r.err
    r = cli("pipeline", "status", run_id, "--pipeline", ids["sleep"], "-o", "json")
    assert r.code == 0, r
    assert r.json()["id"] == run_id and r.json()["status"] == "completed"
    r = cli("pipeline", "status", 999, "--pipeline", ids["sleep"])
    assert r.code == 5 and "not among the runs" in r.err, r
    r = cli("pipeline", "cancel", run_id, "--yes")
    assert r.code == 7 and "does not support cancelling runs" in r.err, r


def test_every_verb_has_help_with_examples(cli):
    for verb in ("ls", "info", "run", "status", "history", "logs", "cancel"):
        r = cli("pipeline", verb, "--help")
        assert r.code == 0, r
        assert "examples:" in r.out and "xether pipeline %s" % verb in r.out.split("examples:")[1]


def test_polling_backs_off_from_the_start_interval_to_ten_seconds():
    from xether_lib.commands.pipeline_watch import poll_interval

    assert poll_interval(2.0, 0) == 2.0
    assert 2.0 < poll_interval(2.0, 30) < 10.0
    assert poll_interval(2.0, 600) == 10.0
    assert poll_interval(0.2, 0) == 0.2
    assert poll_interval(30.0, 0) == 30.0  # a --poll above the cap is kept


def on_terminal(user, args, answer=None, stdin_tty=False):
    """Run xether with stderr (and optionally stdin) on a pseudo-terminal; returns
    (exit code, stdout, what the terminal showed). `answer` is typed after the first output."""
    import pty
    import subprocess

    master, slave = pty.openpty()
    proc = subprocess.Popen(user.prog + [str(a) for a in args], env=dict(user.env, COLUMNS="100"),
                            stdin=slave if stdin_tty else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
        if answer is not None:
            os.write(master, answer.encode())
            answer = None
    proc.wait(timeout=30)
    os.close(master)
    return proc.returncode, proc.stdout.read().decode(), b"".join(chunks).decode("utf-8", "replace")


needs_pty = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")


@needs_pty
def test_on_a_terminal_the_status_is_one_redrawn_line(user):
    code, out, screen = on_terminal(user, ["pipeline", "run", "sleep", "--param", "seconds=2",
                                           "--wait", "--poll", "0.5"])
    assert code == 0, screen
    assert "\r" in screen and "\x1b[K" in screen
    assert "stage 2/3 (sleep)" in screen
    assert "run %s completed" % out.strip() in screen
    # the elapsed time moves on between polls: several redraws of the running line
    assert len([p for p in screen.split("\r") if "stage 2/3 (sleep)" in p]) >= 3


@needs_pty
def test_cancel_asks_on_a_terminal(user):
    run_id = start(user, "sleep", "seconds=30")
    try:
        code, _, screen = on_terminal(user, ["pipeline", "cancel", run_id], answer="n\n",
                                      stdin_tty=True)
        assert code == 0 and "Cancel run %d? [y/N]" % run_id in screen, screen
        assert "Not cancelled" in screen
        assert status(user, run_id)["status"] in ("pending", "running")
        code, _, screen = on_terminal(user, ["pipeline", "cancel", run_id], answer="y\n",
                                      stdin_tty=True)
        assert code == 0 and "cancelled run %d" % run_id in screen, screen
        assert status(user, run_id)["status"] == "cancelled"
    finally:
        user("pipeline", "cancel", run_id, "--yes")

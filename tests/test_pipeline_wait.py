"""`xether pipeline` waiting for runs: live status, --follow, logs, cancel, --timeout and
Ctrl-C, on a pipe and on a terminal; the real CLI against a real sandbox. Runs that could
outlive a test are cancelled before it ends.
"""

import json
import signal
import time

from pipeline_helpers import POLL, needs_pty, on_terminal, start, status, wait_for


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
    r = user("pipeline", "run", "sleep", "--param", "seconds=1", "--follow", *POLL)
    assert r.code == 0, r
    lines = r.out.splitlines()
    run_id = int(lines[0])
    logs = user("pipeline", "logs", run_id, "-o", "json").json()
    assert len(logs) >= 10 and [e["seq"] for e in logs] == list(range(1, len(logs) + 1))
    messages = [line[len("2026-01-01 00:00:00 INFO    "):] for line in lines[1:]]
    assert messages == [("[%s] " % e["stage"] if e["stage"] else "") + e["message"]
                        for e in logs]
    assert "slept 1 of 1 seconds" in r.out and lines[-1].endswith("run completed")


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
    run_id = start(user, "sleep", "seconds=1")
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


def test_giving_up_with_o_json_still_prints_the_run_as_one_document(user):
    r = user("pipeline", "run", "sleep", "--param", "seconds=30", "--wait", "--timeout", "1",
             "-o", "json", *POLL)
    run = json.loads(r.out)  # exactly one document, and the only way a script learns the id
    try:
        assert r.code == 11, r
        assert run["status"] == "running" and run["meta_data"] == {"seconds": 30}
        assert "gave up waiting after 1.0s: run %d is still running" % run["id"] in r.err
    finally:
        user("pipeline", "cancel", run["id"], "--yes")


def interrupt(proc, after):
    """SIGINT (what Ctrl-C sends) to a running xether after `after` seconds; (out, err)."""
    try:
        time.sleep(after)
        proc.send_signal(signal.SIGINT)
        return proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_ctrl_c_while_waiting_exits_130_and_the_run_goes_on(user):
    run_id = start(user, "sleep", "seconds=30")
    try:
        proc = user.popen("pipeline", "status", run_id, "--watch", *POLL)
        out, err = interrupt(proc, 1.0)
        assert proc.returncode == 130, err
        assert "stopped watching run %d; it goes on running on the server" % run_id in err
        assert "xether pipeline status %d --watch" % run_id in err
        assert "xether pipeline cancel %d" % run_id in err
        assert "Traceback" not in err
        proc = user.popen("pipeline", "logs", run_id, "--follow", *POLL)
        out, err = interrupt(proc, 0.8)
        assert proc.returncode == 130, err
        assert "slept 1 of 30 seconds" in out and "Traceback" not in err
        assert "Keep watching: xether pipeline logs %d --follow" % run_id in err
        assert status(user, run_id)["status"] == "running"
    finally:
        user("pipeline", "cancel", run_id, "--yes")


def test_polling_backs_off_from_the_start_interval_to_ten_seconds():
    from xether_lib.commands.pipeline.watch import poll_interval

    assert poll_interval(2.0, 0) == 2.0
    assert 2.0 < poll_interval(2.0, 30) < 10.0
    assert poll_interval(2.0, 600) == 10.0
    assert poll_interval(0.2, 0) == 0.2
    assert poll_interval(30.0, 0) == 30.0  # a --poll above the cap is kept


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


def test_quiet_and_no_progress_waits(user):
    r = user("pipeline", "run", "sleep", "--param", "seconds=0", "--wait", "-q", *POLL)
    assert r.code == 0 and r.err == "", r
    assert r.out.strip().isdigit()
    r = user("pipeline", "run", "sleep", "--param", "seconds=0", "--wait", "--no-progress", *POLL)
    assert r.code == 0, r
    run_id = int(r.out)
    assert "run %d:" % run_id not in r.err  # no status line
    assert "run %d completed" % run_id in r.err


def test_a_reader_that_goes_away_ends_logs_follow_quietly(user):
    import subprocess

    run_id = start(user, "sleep", "seconds=10")
    try:
        proc = user.popen("pipeline", "logs", run_id, "--follow", *POLL)
        assert "run started" in proc.stdout.readline()
        proc.stdout.close()  # like `| head -1`: the next line written finds no reader
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("logs --follow kept running with no reader")
        assert proc.returncode == 0 and proc.stderr.read() == ""
        assert status(user, run_id)["status"] == "running"
    finally:
        user("pipeline", "cancel", run_id, "--yes")

"""Helpers of the `xether pipeline` tests: starting runs, reading their status and history
through the CLI, and running the CLI with stderr on a pseudo-terminal."""

import os
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

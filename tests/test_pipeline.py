"""`xether pipeline ...` end to end: the real CLI in a subprocess against a real sandbox.

This file: ls, info, history, starting runs with parameters, results of finished runs, a start
request that is never repeated, and a server without the [ext] routes. Waiting, following,
cancelling and stopping are in test_pipeline_wait.py. Runs use the sandbox's built-in
pipelines (profile-csv, sleep, fail) and --poll 0.2 so that waiting stays quick.
"""

import json
import re
import time

import pytest

from pipeline_helpers import POLL, executions, pipeline_ids, start, status, wait_for


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
    assert "Its outputs: xether artifact ls --execution %d" % run_id in r.err
    r = user("artifact", "ls", "--execution", run_id, "-o", "json")
    assert r.code == 0, r
    assert [(a["name"], a["execution_id"]) for a in r.json()] == [("profile.json", run_id)]

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
    for timeout in ("soon", "0", "0s"):
        r = user("pipeline", "run", "sleep", "--wait", "--timeout", timeout)
        assert r.code == 2 and "--timeout" in r.err and r.out == "", r
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


@pytest.mark.parametrize("fault, code, made", [
    ({"action": "drop_response"}, 8, 1),
    ({"action": "error", "status": 502}, 7, 0),
    ({"action": "stall", "seconds": 1.5}, 8, 1),  # read timeout; the server goes on and runs it
])
def test_a_lost_execute_answer_is_not_retried(user, fault, code, made):
    ids = pipeline_ids(user)
    before = executions(user, ids["sleep"])
    path = "/api/v1/pipelines/%d/execute" % ids["sleep"]
    user.sandbox.clear()
    user.sandbox.fault(dict(fault, target="api", path=path))
    r = user("--request-timeout", "0.5", "pipeline", "run", ids["sleep"], "--param",
             "seconds=0", "--wait", *POLL)
    assert r.code == code, r
    assert "may have started" in r.err
    assert "xether pipeline history %d" % ids["sleep"] in r.err
    deadline = time.time() + 5
    while len(executions(user, ids["sleep"])) < len(before) + made and time.time() < deadline:
        time.sleep(0.1)  # a stalled request is still being served
    posts = [q for q in user.sandbox.requests() if q["method"] == "POST" and q["path"] == path]
    assert len(posts) == 1
    assert len(executions(user, ids["sleep"])) == len(before) + made


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


def test_a_runs_artifacts_on_a_server_that_ignores_the_execution_filter(cli, start_sandbox,
                                                                         tmp_path):
    from sandbox_client import Api

    box = start_sandbox("--backend-compat")
    cli.env.update(XETHER_API_URL=box.url, XETHER_PROJECT="1")
    cli.login(box.url)
    data = tmp_path / "people.csv"
    data.write_text(CSV)
    dataset = cli("dataset", "push", str(data), "-q").out.strip()
    runs = []
    for _ in range(2):
        r = cli("pipeline", "run", "profile-csv", "--param", "dataset_id=" + dataset, "--wait",
                "-q", *POLL)
        assert r.code == 0, r
        runs.append(int(r.out))
    listed = Api(box.url).login()("GET", "/artifacts/", query={"project_id": 1,
                                                               "execution_id": runs[0]}).json
    assert set(a["execution_id"] for a in listed) >= set(runs)  # like today's backend
    r = cli("artifact", "ls", "--execution", runs[0], "-o", "json")
    assert r.code == 0, r
    assert [(a["name"], a["execution_id"]) for a in r.json()] == [("profile.json", runs[0])]


def test_every_verb_has_help_with_examples(cli):
    for verb in ("ls", "info", "run", "status", "history", "logs", "cancel"):
        r = cli("pipeline", verb, "--help")
        assert r.code == 0, r
        assert "examples:" in r.out and "xether pipeline %s" % verb in r.out.split("examples:")[1]


def test_ascii_locale_never_breaks_on_non_ascii_server_text(user, tmp_path):
    data = tmp_path / "u.csv"
    data.write_text("n,\u00e9\n1,\u00fc\n", encoding="utf-8")
    r = user("dataset", "push", str(data), "--name", "donn\u00e9es-\u65e5\u672c", "-q")
    assert r.code == 0, r
    ascii_env = {"LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": "ascii"}
    r = user("pipeline", "run", "profile-csv", "--param", "dataset_id=%s" % r.out.strip(),
             "--param", "label=\u00e9t\u00e9", "--follow", *POLL, env=ascii_env)
    assert r.code == 0, r
    run_id = int(r.out.splitlines()[0])
    assert "donn\\xe9es-\\u65e5\\u672c" in r.out and "run %d completed" % run_id in r.err
    for args in (["status", run_id], ["logs", run_id], ["logs", run_id, "-o", "csv"],
                 ["history", "profile-csv"], ["info", "profile-csv"], ["ls"],
                 ["status", run_id, "-o", "json"]):
        r = user("pipeline", *args, env=ascii_env)
        assert r.code == 0 and "Error" not in r.err, (args, r)
        r.out.encode("ascii")
        r.err.encode("ascii")


EVIL = "\x1b]0;owned\x07\x1b[2J\r\x08\x9b"


def test_server_text_is_escaped_in_tables_records_and_errors(user):
    pipeline = {"id": 77, "name": "p" + EVIL, "description": "d" + EVIL, "is_active": True,
                "project_id": user.project_id, "config": {"stages": ["s" + EVIL]},
                "updated_at": "2026-01-01T00:00:00"}
    run = {"id": 55, "pipeline_id": 77, "status": "failed" + EVIL, "meta_data": {"k": EVIL},
           "started_at": "2026-01-01T00:00:00", "error_message": "boom" + EVIL,
           "stages": [{"name": "st" + EVIL, "status": "failed"}]}
    entry = {"seq": 1, "timestamp": "2026-01-01T00:00:00", "level": "INFO" + EVIL,
             "stage": "st" + EVIL, "message": "line" + EVIL}
    answers = [("/api/v1/executions/55/logs", 200, [entry]),
               ("/api/v1/pipelines/77/executions", 200, [run]),
               ("/api/v1/pipelines/77", 200, pipeline), ("/api/v1/pipelines/", 200, [pipeline]),
               ("/api/v1/executions/55", 200, run),
               ("/api/v1/executions/56", 409, {"detail": "no" + EVIL})]
    user.sandbox.fault([{"target": "api", "method": "GET", "path": path, "action": "error",
                         "status": code, "body": body, "times": 20}
                        for path, code, body in answers])
    try:
        for args in (["ls"], ["ls", "-o", "csv"], ["info", 77], ["history", 77],
                     ["status", 55], ["status", 56], ["--color", "always", "history", 77],
                     ["logs", 55], ["status", 55, "--watch", "--timeout", "0.5", "--poll", "0.2"]):
            r = user("pipeline", *args)
            assert r.code in (0, 6, 11), (args, r)
            for text in (r.out, r.err):
                text = re.sub("\x1b\\[[0-9;]*m", "", text)  # our own colours only
                assert not any(c in text for c in "\x1b\x07\r\x08\x9b"), (args, text)
            assert "\\x1b]0;owned\\x07" in r.out + r.err, (args, r)
    finally:
        user.sandbox.clear()

"""Runs pipeline executions in worker threads: pending -> running -> completed / failed /
cancelled / timeout, with per-stage times, numbered logs and real cancellation.

Every status change is a conditional UPDATE (`... WHERE status = 'running'`), so a cancel from
a request thread and the worker finishing can race without either overwriting the other. The
pipelines themselves (what a run does) live in `pipelines.py`; they get a `Run` to log, mark
stages, check for cancel/timeout, read datasets and write artifacts.
"""

import contextlib
import json
import threading
import time
import uuid

from xether_lib.sandbox import pipelines
from xether_lib.sandbox.db import decode
from xether_lib.sandbox.pipelines import PipelineError
from xether_lib.sandbox.web import utcnow

TERMINAL = ("completed", "failed", "cancelled", "timeout")


class Stop(Exception):
    """Ends a run early: `status` is cancelled or timeout."""

    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status


class Run(object):
    """What a pipeline sees of its execution."""

    def __init__(self, runner, execution, pipeline, cancelled):
        self.runner = runner
        self.db = runner.db
        self.store = runner.store
        self.bucket = runner.bucket
        self.id = execution["id"]
        self.pipeline = pipeline
        self.params = execution["meta_data"] or {}
        self.stages = execution["stages"] or []
        self._cancelled = cancelled
        self._deadline = None
        self.current = None

    def set_timeout(self, seconds):
        self._deadline = time.time() + seconds
        self._timeout = seconds

    def log(self, message, level="INFO", stage=None):
        self.runner.log(self.id, message, level, stage or self.current)

    def check(self):
        if self._cancelled.is_set():
            raise Stop("cancelled", "cancelled")
        if self._deadline is not None and time.time() > self._deadline:
            raise Stop("timeout", "Run exceeded its timeout of %g seconds" % self._timeout)

    def sleep(self, seconds):
        end = time.time() + seconds
        while True:
            self.check()
            left = end - time.time()
            if left <= 0:
                return
            self._cancelled.wait(min(left, 0.05))

    def _mark(self, name, status):
        for stage in self.stages:
            if stage["name"] == name:
                stage["status"] = status
                stage["started_at" if status == "running" else "completed_at"] = utcnow()
        self.db.update("executions", self.id, stages=self.stages)

    @contextlib.contextmanager
    def stage(self, name):
        self.check()
        self.current = name
        self._mark(name, "running")
        self.log("stage %s started" % name)
        try:
            yield
        except Stop as stop:
            self._mark(name, stop.status)
            raise
        except BaseException:
            self._mark(name, "failed")
            raise
        self._mark(name, "completed")
        self.log("stage %s completed" % name)

    def save_artifact(self, name, data, content_type):
        """Store bytes (or a file object) as an artifact of this run; returns its record."""
        key = "executions/%d/%s" % (self.id, name)
        stored = self.store.put_object(self.bucket, key, data, content_type)
        now = utcnow()
        artifact_id = uuid.uuid4().hex
        self.db.insert("artifacts", id=artifact_id, name=name, bucket=self.bucket, key=key,
                       size=stored["size"], content_type=content_type,
                       checksum_sha256=stored["sha256"], pipeline_id=self.pipeline["id"],
                       execution_id=self.id, project_id=self.pipeline["project_id"],
                       status="completed", created_at=now, updated_at=now)
        self.log("wrote artifact %s (%d bytes, id %s)" % (name, stored["size"], artifact_id))
        return self.db.one("SELECT * FROM artifacts WHERE id = ?", (artifact_id,))


class Runner(object):
    def __init__(self, db, store, bucket):
        self.db = db
        self.store = store
        self.bucket = bucket
        self._lock = threading.Lock()
        self._live = {}  # execution id -> (thread, cancel event)

    def log(self, execution_id, message, level="INFO", stage=None):
        self.db.run("INSERT INTO execution_logs (execution_id, seq, timestamp, level, stage, "
                    "message) SELECT ?, coalesce(max(seq), 0) + 1, ?, ?, ?, ? "
                    "FROM execution_logs WHERE execution_id = ?",
                    (execution_id, utcnow(), level, stage, message, execution_id))

    def start(self, execution_id):
        cancelled = threading.Event()
        thread = threading.Thread(target=self._work, args=(execution_id, cancelled),
                                  name="run-%d" % execution_id, daemon=True)
        with self._lock:
            self._live[execution_id] = (thread, cancelled)
        thread.start()

    def cancel(self, execution_id, reason=None):
        """Cancel a pending or running execution; False when it had already finished."""
        message = "Cancelled by user" + (": %s" % reason if reason else "")
        done = self.db.run("UPDATE executions SET status = 'cancelled', completed_at = ?, "
                           "error_message = ? WHERE id = ? AND status IN ('pending', 'running')",
                           (utcnow(), message, execution_id)).rowcount
        if not done:
            return False
        self.log(execution_id, message, "WARNING")
        with self._lock:
            live = self._live.get(execution_id)
        if live is not None:
            live[1].set()
            live[0].join(2.0)
        return True

    def _finish(self, execution_id, status, error=None):
        self.db.run("UPDATE executions SET status = ?, completed_at = ?, error_message = ? "
                    "WHERE id = ? AND status = 'running'",
                    (status, utcnow(), error, execution_id))

    def _work(self, execution_id, cancelled):
        try:
            self._execute(execution_id, cancelled)
        finally:
            with self._lock:
                self._live.pop(execution_id, None)

    def _execute(self, execution_id, cancelled):
        started = self.db.run("UPDATE executions SET status = 'running', started_at = ? "
                              "WHERE id = ? AND status = 'pending'",
                              (utcnow(), execution_id)).rowcount
        if not started:
            return
        execution = decode(self.db.one("SELECT * FROM executions WHERE id = ?",
                                       (execution_id,)))
        pipeline = decode(self.db.one("SELECT * FROM pipelines WHERE id = ?",
                                      (execution["pipeline_id"],)))
        run = Run(self, execution, pipeline, cancelled)
        run.log("run started with parameters %s" % json.dumps(execution["meta_data"] or {},
                                                               sort_keys=True))
        try:
            pipelines.run(run)
        except Stop as stop:
            if stop.status == "timeout":
                run.log(str(stop), "ERROR")
                self._finish(execution_id, "timeout", str(stop))
            return
        except PipelineError as exc:
            self._fail(run, str(exc))
            return
        except Exception as exc:  # a bug or an I/O failure: the run fails, the sandbox lives
            self._fail(run, "%s: %s" % (type(exc).__name__, exc))
            return
        run.log("run completed")
        self._finish(execution_id, "completed")

    def _fail(self, run, message):
        run.log(message, "ERROR")
        self._finish(run.id, "failed", message)


def new_stages(config):
    return [{"name": name, "status": "pending", "started_at": None, "completed_at": None}
            for name in (config or {}).get("stages", [])]


def progress(stages, status):
    total = len(stages or [])
    done = sum(1 for s in stages or [] if s.get("status") == "completed")
    pct = 100.0 if status == "completed" else (round(100.0 * done / total, 1) if total else 0.0)
    return {"stages_completed": done, "stages_total": total, "percentage_complete": pct}

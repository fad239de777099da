"""Pipeline runs (executions) as data: status values, stage progress, durations, and finding a
run by id - through GET /executions/{id}, or, on a server without that [ext] route, through
the pipeline's list of executions. Nothing here prints.
"""

from xether_lib.errors import NOT_FOUND, UnsupportedError, XetherError
from xether_lib.term.values import parse_time, utc_now

STATUSES = ("pending", "running", "completed", "failed", "cancelled", "timeout")
TERMINAL = ("completed", "failed", "cancelled", "timeout")


def status_of(execution):
    """The run's status as the server wrote it (`unknown` when missing)."""
    value = execution.get("status")
    return "unknown" if value in (None, "") else str(value)


def is_finished(execution):
    """True for a terminal status; a status xether does not know is not finished."""
    return status_of(execution).lower() in TERMINAL


def succeeded(execution):
    return status_of(execution).lower() == "completed"


def stages_of(execution):
    return [s for s in execution.get("stages") or [] if isinstance(s, dict)]


def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def stage_counts(execution):
    """(stages done, stages in all, name of the running stage): None where unknown."""
    stages = stages_of(execution)
    progress = execution.get("progress")
    progress = progress if isinstance(progress, dict) else {}
    done, total = _count(progress.get("stages_completed")), _count(progress.get("stages_total"))
    if stages:
        total = total if total is not None else len(stages)
        if done is None:
            done = sum(1 for s in stages if str(s.get("status")).lower() == "completed")
    current = next((s.get("name") for s in stages
                    if str(s.get("status")).lower() == "running"), None)
    return done, total, current


def failed_stage(execution):
    """The name of the stage that failed (or stopped), if the server says."""
    for stage in stages_of(execution):
        if str(stage.get("status")).lower() in ("failed", "timeout", "cancelled"):
            return stage.get("name")
    return None


def ended_at(execution):
    """When the run ended: `completed_at`, else the last stage's end (may be None)."""
    end = parse_time(execution.get("completed_at"))
    if end is not None:
        return end
    ends = [parse_time(s.get("completed_at")) for s in stages_of(execution)]
    ends = [e for e in ends if e is not None]
    return max(ends) if ends else None


def duration(execution, now=None):
    """Seconds the run took (or has taken so far); None when the times do not tell."""
    start = parse_time(execution.get("started_at"))
    if start is None:
        return None
    end = ended_at(execution) if is_finished(execution) else (now or utc_now())
    if end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


class RunLookup(object):
    """Fetches one run again and again (for status and waiting), with the history fallback.

    `notice(text)` is told once when the fallback is taken.
    """

    def __init__(self, api, execution_id, pipeline_id=None, notice=None):
        self.api = api
        self.execution_id = execution_id
        self.pipeline_id = pipeline_id
        self.notice = notice
        self.fallback = False

    def get(self):
        if not self.fallback:
            try:
                return self.api.get_execution(self.execution_id)
            except UnsupportedError:
                self._take_fallback()
        return self.from_history()

    def _take_fallback(self):
        if self.pipeline_id is None:
            raise UnsupportedError(
                "this server cannot look up run %d by its id alone (it has no "
                "GET /executions/{id})" % self.execution_id,
                hint="Name the run's pipeline: xether pipeline status %d --pipeline PIPELINE_ID"
                     % self.execution_id)
        self.fallback = True
        if self.notice:
            self.notice("this server has no GET /executions/{id}: looking run %d up in the "
                        "runs of pipeline %d instead" % (self.execution_id, self.pipeline_id))

    def from_history(self):
        for item in self.api.list_executions(self.pipeline_id):
            if isinstance(item, dict) and str(item.get("id")) == str(self.execution_id):
                return item
        raise XetherError("run %d is not among the runs of pipeline %d"
                          % (self.execution_id, self.pipeline_id),
                          hint="List them: xether pipeline history %d" % self.pipeline_id,
                          exit_code=NOT_FOUND)

    def watch_command(self):
        """The command line that watches this run again."""
        text = "xether pipeline status %d --watch" % self.execution_id
        if self.fallback:
            text += " --pipeline %d" % self.pipeline_id
        return text

"""Waiting for a pipeline run to end (`run --wait/--follow`, `status --watch`, `logs --follow`).

Polls the run (2 s at first, backing off to 10 s on long runs; `--poll` sets the start), shows
it live (on a terminal one redrawn line with status, stage k/n and elapsed time; elsewhere a
line per change), streams its logs with --follow, rides out network blips and 5xx answers,
gives up at --timeout (WaitTimeout, exit 11) and turns Ctrl-C into Interrupted (exit 130);
both say that the run goes on and how to get back to it.
"""

import time

from xether_lib.errors import (ApiError, Interrupted, NetworkError, RunFailed, UnsupportedError,
                               WaitTimeout)
from xether_lib.runs import (duration, failed_stage, is_finished, stage_counts, status_of,
                            succeeded)

POLL_START = 2.0
POLL_CAP = 10.0
BACKOFF_SPAN = 10.0   # the interval grows by 1 s for every 10 s of waiting
TICK = 0.5            # how often a terminal's status line is redrawn between polls
SETTLE = 0.3          # a last look at the logs this long after the run ended


def poll_interval(start, waited):
    """Seconds to the next poll after `waited` seconds of waiting."""
    return min(max(POLL_CAP, start), start + waited / BACKOFF_SPAN)


def human_seconds(seconds):
    """`0.4s`, `12s`, `1:02:03`: short runs in seconds, long ones as a clock."""
    from xether_lib.term.values import human_duration

    if seconds is None:
        return "-"
    if seconds < 10:
        return "%.1fs" % seconds
    if seconds < 60:
        return "%ds" % seconds
    return human_duration(seconds)


def stage_text(execution):
    done, total, current = stage_counts(execution)
    if not total:
        return ""
    if current and not is_finished(execution):
        return "stage %d/%d (%s)" % (min((done or 0) + 1, total), total, current)
    return "%d/%d stages done" % (done or 0, total)


def live_text(execution, with_elapsed):
    parts = ["run %s: %s" % (execution.get("id"), status_of(execution))]
    stages = stage_text(execution)
    if stages:
        parts.append(stages)
    took = duration(execution)
    if with_elapsed and took is not None and not is_finished(execution):
        parts.append(human_seconds(took))
    return ("  " if with_elapsed else ", ").join(parts)


class Watch(object):
    """One wait for one run. `lookup` is a runs.RunLookup; `logs` a LogReader or None;
    `printer` a LogPrinter for the entries; `live` False to show no status at all;
    `logs_required` makes a server without the logs route an error, not a warning; `again`
    is the command that picks the wait up again (default: `pipeline status --watch`)."""

    def __init__(self, ctx, lookup, poll=None, timeout=None, logs=None, printer=None,
                 live=True, logs_required=False, again=None):
        self.ctx = ctx
        self.out = ctx.out
        self.lookup = lookup
        self.poll = poll or POLL_START
        self.timeout = timeout
        self.logs = logs
        self.printer = printer
        self.live = live
        self.logs_required = logs_required
        self.again = again
        self.tty = self.out.stderr_tty
        self._line = None
        self._blip = False
        self._last = None

    @property
    def last(self):
        """The run as last seen (None before the first look)."""
        return self._last

    # -- the loop -------------------------------------------------------------------------
    def wait(self, execution=None):
        """The run's final state, once it has ended (raises WaitTimeout / Interrupted).
        `execution`, the run as last seen, only stands in until the first fresh look."""
        self.started = time.monotonic()
        self.deadline = None if self.timeout is None else self.started + self.timeout
        self._last = execution
        try:
            return self._loop()
        except KeyboardInterrupt:
            self._pause()
            raise Interrupted("stopped watching run %d; it goes on running on the server"
                              % self.lookup.execution_id, hint=self._carry_on())
        finally:
            self._pause()

    def _loop(self):
        while True:
            self._read_logs()
            execution = self._fetch()
            if execution is not None:
                self._show(execution)
                if is_finished(execution):
                    self._settle_logs()
                    return execution
            self._sleep()

    def _fetch(self):
        try:
            execution = self.lookup.get()
        except (NetworkError, ApiError) as exc:
            self._blipped(exc)
            return None
        if self._blip:
            self._blip = False
            self._message(self.out.info, "back in contact with the server")
        return execution

    def _blipped(self, exc):
        if isinstance(exc, ApiError) and exc.status < 500 and exc.status != 429:
            raise exc
        if not self._blip:
            self._message(self.out.warn, "%s; still watching, will retry" % exc.message)
        self._blip = True

    def _read_logs(self):
        if self.logs is None:
            return
        try:
            entries = self.logs.read()
        except UnsupportedError as exc:
            if self.logs_required:
                raise
            self.logs = None
            self._message(self.out.warn, "%s: showing the status only" % exc.message)
            return
        except (NetworkError, ApiError) as exc:
            self._blipped(exc)
            return
        if entries:
            self._pause()
            self.printer.emit(entries)

    def _settle_logs(self):
        if self.logs is not None:
            time.sleep(SETTLE)
            self._read_logs()

    def _sleep(self):
        now = time.monotonic()
        if self.deadline is not None and now >= self.deadline:
            self._give_up()
        interval = poll_interval(self.poll, now - self.started)
        end = now + interval
        if self.deadline is not None:
            end = min(end, self.deadline)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, TICK) if self.tty else left)
            if self.tty and self._last is not None:
                self._show(self._last)

    def _give_up(self):
        self._pause()
        state = "still " + status_of(self._last) if self._last is not None else "not finished"
        raise WaitTimeout("gave up waiting after %s: run %d is %s"
                          % (human_seconds(self.timeout), self.lookup.execution_id, state),
                          hint="The run goes on. " + self._carry_on())

    def _carry_on(self):
        return ("Keep watching: %s\n  Cancel it: xether pipeline cancel %d"
                % (self.again or self.lookup.watch_command(), self.lookup.execution_id))

    # -- showing --------------------------------------------------------------------------
    def _show(self, execution):
        self._last = execution
        if not self.live:
            return
        if self._line is None:
            self._line = self.out.status_line()
        self._line.set(live_text(execution, self.tty))

    def _pause(self):
        """Take the status line off the screen (before other text is printed)."""
        if self._line is not None:
            self._line.close()
            self._line = None

    def _message(self, say, text):
        self._pause()
        say(text)


def conclude(out, execution):
    """The closing summary: success for a completed run, RunFailed (exit 10) otherwise."""
    run_id = execution.get("id")
    took = duration(execution)
    if succeeded(execution):
        done, total, _ = stage_counts(execution)
        stages = " (%d/%d stages)" % (done or total, total) if total else ""
        out.success("run %s completed%s%s" % (run_id, " in " + human_seconds(took)
                                             if took is not None else "", stages))
        out.info("Its outputs: xether artifact ls --execution %s" % run_id)
        return
    status = status_of(execution)
    where = failed_stage(execution)
    text = "run %s %s" % (run_id, {"timeout": "timed out", "cancelled": "was cancelled"}
                          .get(status.lower(), status))
    if where and status.lower() != "cancelled":
        text += " in stage %s" % where
    if execution.get("error_message"):
        text += ": %s" % execution["error_message"]
    raise RunFailed(text, hint="Read its logs: xether pipeline logs %s" % run_id)

"""Execution logs: reading them page by page with `after=<last seq>` (never a line twice,
never one skipped, even from a server that ignores `after`), the --stage/--level filters, and
printing an entry as one escaped line: time, level, stage, message.
"""

from xether_lib.errors import UsageError

PAGE = 500
LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
ALIASES = {"WARN": "WARNING", "ERR": "ERROR", "FATAL": "CRITICAL"}


def parse_level(text):
    """--level: a level name (case does not matter); entries at that level or above show."""
    name = str(text).strip().upper()
    name = ALIASES.get(name, name)
    if name not in LEVELS:
        raise UsageError("invalid --level %r: use one of %s" % (text, ", ".join(LEVELS)))
    return name


def level_rank(level):
    name = str(level or "").strip().upper()
    return LEVELS.get(ALIASES.get(name, name), LEVELS["INFO"])


class LogFilter(object):
    def __init__(self, stage=None, level=None):
        self.stage = stage
        self.min_rank = LEVELS[level] if level else None

    def __call__(self, entry):
        if self.stage is not None and str(entry.get("stage") or "") != self.stage:
            return False
        return self.min_rank is None or level_rank(entry.get("level")) >= self.min_rank


def _seq(entry):
    value = entry.get("seq")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class LogReader(object):
    """The new entries of one run's log, each handed out once."""

    def __init__(self, api, execution_id):
        self.api = api
        self.execution_id = execution_id
        self.after = 0

    def read(self):
        """Every entry past the last one seen, in seq order (all pages)."""
        entries = []
        while True:
            page = self.api.execution_logs(self.execution_id, after=self.after, limit=PAGE)
            page = [e for e in page or [] if isinstance(e, dict)]
            fresh = self._fresh(page)
            entries.extend(fresh)
            if len(page) < PAGE or not fresh:
                return entries

    def _fresh(self, page):
        fresh = []
        for entry in page:
            seq = _seq(entry)
            if seq is None or seq > self.after:
                fresh.append(entry)
                self.after = seq if seq is not None else self.after
        return fresh


def format_entry(entry):
    """`2026-11-25 08:42:25 INFO    [load] message` (escaping is left to the output kit)."""
    from xether_lib.term.values import format_time, plain

    stamp = format_time(entry.get("timestamp")) if entry.get("timestamp") else "-"
    level = str(entry.get("level") or "-").upper()
    stage = entry.get("stage")
    text = "%s %-7s " % (stamp, level)
    if stage:
        text += "[%s] " % plain(stage)
    return text + plain(entry.get("message"))


def log_columns():
    from xether_lib.term.table import Column

    return [Column("seq", "SEQ", "int"), Column("timestamp", "TIME", "time"),
            Column("level", "LEVEL"), Column("stage", "STAGE"), Column("message", "MESSAGE")]


class LogPrinter(object):
    """Prints entries as they come: lines on stdout (tables), collected for -o json/csv
    (one document at the end, from `finish()`), or lines on stderr with `to_stderr`."""

    def __init__(self, out, keep=None, to_stderr=False):
        self.out = out
        self.keep = keep or (lambda entry: True)
        self.to_stderr = to_stderr
        self.structured = out.fmt in ("json", "csv") and not to_stderr
        self.collected = []

    def emit(self, entries):
        for entry in entries:
            if not self.keep(entry):
                continue
            if self.structured:
                self.collected.append(entry)
            elif self.to_stderr:
                self.out.info(format_entry(entry).replace("\n", "\\n"))
            else:
                self.out.value(format_entry(entry))

    def finish(self):
        if self.structured:
            self.out.table(self.collected, log_columns(), empty=None)

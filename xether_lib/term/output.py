"""`Output`: the one object commands print through. It picks the format
(table / json / csv), keeps stdout for data only (one JSON document with -o
json), sends messages, warnings, errors and progress to stderr, honours -q and
--no-progress, colours only where allowed, and never raises UnicodeEncodeError.
"""

import os

from xether_lib.term.style import (Style, color_enabled, error_prefix, escape, glyph,
                                   isatty, safe_write, set_color_mode, stream_encoding,
                                   terminal_width)

FORMATS = ("table", "json", "csv")
_JSON_C1 = dict((c, "\\u%04x" % c) for c in range(0x7F, 0xA0))


class Output(object):
    def __init__(self, fmt="table", color="auto", quiet=False, progress=True,
                 stdout=None, stderr=None):
        import sys

        self._fmt = fmt if fmt in FORMATS else "table"
        self.color = color or "auto"
        self._quiet = bool(quiet)
        self.show_progress = bool(progress)
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        set_color_mode(self.color)
        self.style = Style(color_enabled(self.stdout, self.color))
        self.err_style = Style(color_enabled(self.stderr, self.color))
        self._live = []  # progress and status lines that may be drawn on stderr

    # ---- properties -------------------------------------------------------------------

    @property
    def fmt(self):
        return self._fmt

    @property
    def is_json(self):
        return self._fmt == "json"

    @property
    def quiet(self):
        return self._quiet

    @property
    def stdout_tty(self):
        return isatty(self.stdout)

    @property
    def stderr_tty(self):
        return isatty(self.stderr)

    @property
    def width(self):
        return terminal_width(self.stdout)

    # ---- data on stdout ---------------------------------------------------------------

    def table(self, items, columns, footer=None, empty="No items found.", now=None):
        """Items as a table, a JSON array of the raw objects, or CSV of the columns."""
        items = list(items)
        if self.is_json:
            self._json(items)
        elif self._fmt == "csv":
            self._csv([c.key for c in columns], [_csv_row(columns, i) for i in items])
        elif items:
            from xether_lib.term.table import render_table

            self._out(render_table(items, columns, self.width, self.style,
                                   stream_encoding(self.stdout), now))
        elif empty:
            self.info(empty)
        if footer:
            self.info(footer)

    def record(self, obj, fields, now=None):
        """One object as `Label: value` lines, the raw object as JSON, or CSV."""
        from xether_lib.term.table import as_column

        columns = [as_column(f) for f in fields]
        if self.is_json:
            self._json(obj)
        elif self._fmt == "csv":
            self._csv([c.key for c in columns], [_csv_row(columns, obj)])
        else:
            from xether_lib.term.record import render_record

            self._out(render_record(obj, columns, self.width, self.style, now))

    def data(self, obj):
        """Any JSON-like value: the JSON document with -o json, else readable."""
        if self.is_json:
            return self._json(obj)
        if isinstance(obj, dict):
            return self.record(obj, [_auto_column(k, v) for k, v in obj.items()])
        if isinstance(obj, (list, tuple)) and obj and all(isinstance(i, dict) for i in obj):
            keys = []
            for item in obj:
                keys.extend(k for k in item if k not in keys)
            values = dict((k, next((i.get(k) for i in obj if i.get(k) is not None), None))
                          for k in keys)
            return self.table(obj, [_auto_column(k, values[k]) for k in keys])
        if isinstance(obj, (list, tuple)):
            return self._out("".join(self._plain_line(i) for i in obj))
        return self._out(self._plain_line(obj))

    def value(self, text):
        """One plain line on stdout (an id, a path), printed even with -q; with
        -o json the value as a JSON string, so stdout stays one document."""
        if self.is_json:
            return self._json(text)
        self._out(self._plain_line(text))

    # ---- messages on stderr -----------------------------------------------------------

    def success(self, msg):
        if not self._quiet:
            mark = glyph(stream_encoding(self.stderr), "\u2713", "OK:")
            self._err("%s %s\n" % (self.err_style.paint(mark, "green"), escape(msg)))

    def info(self, msg):
        if not self._quiet:
            self._err(escape(msg) + "\n")

    def warn(self, msg):
        self._err("%s %s\n" % (self.err_style.paint("warning:", "yellow"), escape(msg)))

    def error(self, msg, hint=None):
        text = "%s %s\n" % (error_prefix(self.stderr, self.color), escape(msg))
        if hint:
            text += "  %s\n" % escape(hint)
        self._err(text)

    # ---- live feedback ----------------------------------------------------------------

    def progress(self, total, label):
        from xether_lib.term.progress import Progress

        return self._track(Progress(total, label, self.stderr, self._live_enabled()))

    def status_line(self):
        from xether_lib.term.progress import StatusLine

        return self._track(StatusLine(self.stderr, self._live_enabled()))

    def _live_enabled(self):
        return self.show_progress and not self._quiet

    def _track(self, line):
        if line.tty:
            self._live.append(line)
        return line

    # ---- writing ----------------------------------------------------------------------

    def _plain_line(self, value):
        from xether_lib.term.values import plain

        return escape(plain(value), multiline=False) + "\n"

    def _json(self, obj):
        import json

        ascii_only = stream_encoding(self.stdout) is not None and not _is_utf(self.stdout)
        text = json.dumps(obj, indent=2, ensure_ascii=ascii_only, default=str)
        if not ascii_only:  # DEL and C1 controls are legal raw in JSON strings: escape them
            text = text.translate(_JSON_C1)
        self._out(text + "\n")

    def _csv(self, header, rows):
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n" if os.linesep == "\n" else "\n")
        writer.writerow([escape(h) for h in header])
        writer.writerows(rows)
        self._out(buf.getvalue())

    def _out(self, text):
        safe_write(self.stdout, text)
        self.stdout.flush()

    def _err(self, text):
        self._live = [line for line in self._live if not line.closed]
        for line in self._live:
            line.suspend()
        try:
            safe_write(self.stderr, text)
            self.stderr.flush()
        except (OSError, ValueError):
            pass


def _is_utf(stream):
    import codecs

    try:
        return codecs.lookup(stream_encoding(stream)).name.startswith("utf")
    except LookupError:
        return False


def _csv_row(columns, row):
    from xether_lib.term.values import plain

    return [escape(plain(c.value(row))) for c in columns]


def _auto_column(key, sample):
    from xether_lib.term.table import Column

    kind = "json" if isinstance(sample, (dict, list)) else "text"
    if isinstance(key, str) and key.endswith("_at"):
        kind = "age"
    return Column(key, str(key), kind)

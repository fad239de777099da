"""The output kit (xether_lib/term): escaping, colour rules, tables, records,
sizes and ages, JSON/CSV output, progress and status lines, on StringIO, on an
ASCII-only stream, on a pipe and on a real pseudo-terminal."""

import io
import json
import os
import select
import subprocess
import sys
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from xether_lib.term import style, values  # noqa: E402
from xether_lib.term.output import Output  # noqa: E402
from xether_lib.term.progress import Progress, StatusLine  # noqa: E402
from xether_lib.term.record import render_record  # noqa: E402
from xether_lib.term.style import (Style, color_enabled, display_width, error_prefix,  # noqa: E402
                                   escape, escape_line)
from xether_lib.term.table import Column, render_table  # noqa: E402

NOW = "2026-11-25T12:00:00Z"


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    style.set_color_mode("auto")
    yield
    style.set_color_mode("auto")


def ascii_stream():
    return io.TextIOWrapper(io.BytesIO(), encoding="ascii", newline="")


def ascii_text(stream):
    stream.flush()
    return stream.buffer.getvalue().decode("ascii")


class Clock(object):
    """A monotonic clock the test moves by hand (steps of 1/32 s are exact floats)."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Pty(object):
    """A real pseudo-terminal: `stream` writes to the slave, `read()` drains the master."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        self.stream = io.open(self.slave, "w", encoding="utf-8", closefd=False)

    def read(self):
        chunks = []
        while select.select([self.master], [], [], 0.2)[0]:
            chunk = os.read(self.master, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8")

    def close(self):
        self.stream.close()
        os.close(self.slave)
        os.close(self.master)


@pytest.fixture
def pty_pair():
    p = Pty()
    yield p
    p.close()


# ---- escaping -------------------------------------------------------------------------

def test_escape_neutralises_every_control_character():
    raw = "a\x1b[2Jb\x07c\rd\x08e\x7ff\x9bg\x00h\x85i\nj\tk"
    assert escape(raw) == "a\\x1b[2Jb\\x07c\\rd\\x08e\\x7ff\\x9bg\\x00h\\x85i\nj\tk" \
        .replace("\\r", "\\x0d")
    assert escape_line(raw).endswith("i\\x0aj\\x09k")
    assert escape("caf\u00e9 \u65e5\u672c") == "caf\u00e9 \u65e5\u672c"
    assert escape(None) == "" and escape(42) == "42" and escape(b"x\x1by") == "x\\x1by"
    assert escape("]0;title\x07") == "]0;title\\x07"


def test_error_prefix_plain_and_coloured():
    assert error_prefix(io.StringIO()) == "xether: error:"
    assert error_prefix(io.StringIO(), "always") == "xether: \x1b[1;31merror:\x1b[0m"
    style.set_color_mode("always")
    assert error_prefix(io.StringIO()) == "xether: \x1b[1;31merror:\x1b[0m"


# ---- colour rules ---------------------------------------------------------------------

def test_colour_rules_on_a_tty(monkeypatch, pty_pair):
    tty = pty_pair.stream
    assert color_enabled(tty, "auto") is True
    assert color_enabled(io.StringIO(), "auto") is False
    assert color_enabled(tty, "never") is False
    monkeypatch.setenv("NO_COLOR", "")
    assert color_enabled(tty, "auto") is True          # empty NO_COLOR does not count
    monkeypatch.setenv("NO_COLOR", "1")
    assert color_enabled(tty, "auto") is False
    assert color_enabled(tty, "always") is True
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert color_enabled(tty, "auto") is False


def test_force_color(monkeypatch):
    pipe = io.StringIO()
    monkeypatch.setenv("FORCE_COLOR", "0")
    assert color_enabled(pipe, "auto") is False
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    assert color_enabled(pipe, "auto") is True
    assert color_enabled(pipe, "never") is False
    assert color_enabled(pipe, "always") is True


def test_style_paint():
    assert Style(True).paint("ok", "green") == "\x1b[32mok\x1b[0m"
    assert Style(True).paint("H", "bold", "red") == "\x1b[1;31mH\x1b[0m"
    assert Style(False).paint("ok", "green") == "ok"


# ---- values ---------------------------------------------------------------------------

@pytest.mark.parametrize("n, text", [
    (0, "0 B"), (512, "512 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1258291, "1.2 MiB"),
    (1048575, "1.0 MiB"), (3 * 1024 ** 3, "3.0 GiB"), (5 * 1024 ** 4, "5.0 TiB"),
    ("2048", "2.0 KiB"), ("n/a", "n/a"),
])
def test_human_size(n, text):
    assert values.human_size(n) == text


@pytest.mark.parametrize("when, text", [
    ("2026-11-25T11:59:30.701318", "just now"),
    ("2026-11-25T11:57:00", "3m ago"),
    ("2026-11-25T06:59:59.5", "5h ago"),
    ("2026-11-23T11:00:00Z", "2d ago"),
    ("2026-11-25T13:00:00+02:00", "1h ago"),
    ("2026-11-25T13:00:00+0100", "just now"),
    ("2026-10-20T08:42:25.701318", "2026-10-20"),
    ("2026-11-25T17:00:00Z", "in 5h"),
    ("not a time", "not a time"),
])
def test_human_age(when, text):
    assert values.human_age(when, now=NOW) == text


def test_parse_time_forms():
    a = values.parse_time("2026-11-25T08:42:25.701318")
    assert a.isoformat() == "2026-11-25T08:42:25.701318+00:00"
    assert values.parse_time("2026-11-25T08:42:25Z") == values.parse_time("2026-11-25 08:42:25")
    assert values.parse_time("2026-11-25T10:42:25.123456789+02:00").isoformat() == \
        "2026-11-25T08:42:25.123456+00:00"
    assert values.parse_time("2026-13-45") is None and values.parse_time(None) is None
    assert values.format_time("2026-11-25T08:42:25.701318") == "2026-11-25 08:42:25"


def test_display_width():
    assert display_width("abc") == 3
    assert display_width("\u65e5\u672c\u8a9e") == 6
    assert display_width("e\u0301te\u0301") == 3
    assert display_width("\uff21") == 2  # fullwidth A


# ---- tables ---------------------------------------------------------------------------

COLUMNS = [Column("id", "ID", "int"), Column("name", "NAME"), Column("size", "SIZE", "size")]


def test_table_escapes_aligns_and_right_aligns_numbers():
    rows = [{"id": 7, "name": "evil\x1b]0;pwned\x07", "size": 512},
            {"id": 1234, "name": None, "size": 3 * 1024 ** 3}]
    assert render_table(rows, COLUMNS, 80) == (
        "  ID  NAME                     SIZE\n"
        "   7  evil\\x1b]0;pwned\\x07    512 B\n"
        "1234  -                     3.0 GiB\n")


def test_table_cjk_and_combining_alignment():
    rows = [{"id": 1, "name": "\u65e5\u672c\u8a9e\u30c7\u30fc\u30bf", "size": 1},
            {"id": 2, "name": "cafe\u0301", "size": 2},
            {"id": 3, "name": "plain", "size": 3}]
    text = render_table(rows, COLUMNS, 80)
    lines = text.splitlines()
    assert len({display_width(line) for line in lines}) == 1
    assert lines[1] == " 1  \u65e5\u672c\u8a9e\u30c7\u30fc\u30bf   1 B"
    assert lines[2] == " 2  cafe\u0301" + " " * 11 + "2 B"


def test_table_truncates_widest_text_column_first():
    cols = [Column("id", "ID", "int"), Column("name", "NAME"), Column("desc", "DESCRIPTION"),
            Column("size", "SIZE", "size")]
    rows = [{"id": 1, "name": "short-name", "desc": "x" * 100, "size": 2048}]
    lines = render_table(rows, cols, 40, encoding="utf-8").splitlines()
    assert lines[1] == " 1  short-name  " + "x" * 14 + "\u2026  2.0 KiB"
    assert all(display_width(line) <= 40 for line in lines)
    ascii_lines = render_table(rows, cols, 40, encoding="ascii").splitlines()
    assert ascii_lines[1] == " 1  short-name  " + "x" * 12 + "...  2.0 KiB"


def test_table_truncates_wide_characters_by_columns():
    cols = [Column("name", "N", min_width=5), Column("size", "SIZE", "size")]
    rows = [{"name": "\u65e5\u672c\u8a9e\u30c7\u30fc\u30bf", "size": 0}]
    lines = render_table(rows, cols, 12, encoding="utf-8").splitlines()
    assert lines[1] == "\u65e5\u672c\u2026    0 B"
    assert all(display_width(line) == 12 for line in lines)


def test_table_kinds_and_colours():
    cols = [Column("sha", "SHA", "sha"), Column("status", "STATUS", "status"),
            Column("created_at", "AGE", "age"), Column("x", "X", getter=lambda r: r["n"] * 2)]
    rows = [{"sha": "sha256:ABCDEF0123456789abcdef", "status": "failed",
             "created_at": "2026-11-25T11:54:59.999999", "n": 21},
            {"sha": None, "status": "weird", "created_at": None, "n": 1}]
    text = render_table(rows, cols, 80, Style(True), now=NOW)
    assert text.splitlines() == [
        "\x1b[1mSHA         \x1b[0m  \x1b[1mSTATUS\x1b[0m  \x1b[1mAGE   \x1b[0m  \x1b[1m X\x1b[0m",
        "abcdef012345  \x1b[31mfailed\x1b[0m  5m ago  42",
        "-             weird   -        2",
    ]


def test_record_view_wraps_and_escapes():
    obj = {"id": 5, "name": "sales\x1b[1m", "meta_data": {"rows": 10, "tags": ["a"]},
           "description": "word " * 20, "created_at": "2026-11-24T12:00:00"}
    fields = [("ID", "id"), ("Name", "name"), ("Meta", "meta_data"),
              Column("description", "Description"), Column("created_at", "Created", "age")]
    assert render_record(obj, fields, width=50, now=NOW) == (
        "ID:           5\n"
        "Name:         sales\\x1b[1m\n"
        "Meta:         {\"rows\":10,\"tags\":[\"a\"]}\n"
        "Description:  word word word word word word word\n"
        "              word word word word word word word\n"
        "              word word word word word word\n"
        "Created:      2026-11-24 12:00:00 (1d ago)\n")


# ---- Output: formats and messages -----------------------------------------------------

def make_output(fmt="table", quiet=False, stdout=None, stderr=None, **kw):
    return Output(fmt=fmt, color="auto", quiet=quiet, progress=True,
                  stdout=stdout or io.StringIO(), stderr=stderr or io.StringIO(), **kw)


def test_json_is_exactly_one_document_and_messages_go_to_stderr():
    out = make_output("json")
    items = [{"id": 1, "name": "a\x1b\x9b", "size": 5}]
    out.info("working")
    out.success("done")
    out.table(items, COLUMNS, footer="1 of 3 shown")
    doc = out.stdout.getvalue()
    assert json.loads(doc) == items
    assert doc.count("\n") == doc.rstrip("\n").count("\n") + 1
    assert "\x1b" not in doc and "\x9b" not in doc and "\\u009b" in doc
    assert out.stderr.getvalue() == "working\n\u2713 done\n1 of 3 shown\n"
    rec = make_output("json")
    rec.record({"id": 9, "nested": {"k": [1]}}, [("ID", "id")])
    assert json.loads(rec.stdout.getvalue()) == {"id": 9, "nested": {"k": [1]}}


def test_json_on_an_ascii_stream_escapes_non_ascii():
    stream = ascii_stream()
    make_output("json", stdout=stream).data({"name": "\u65e5\u672c"})
    assert json.loads(ascii_text(stream)) == {"name": "\u65e5\u672c"}
    assert "\\u65e5" in ascii_text(stream)


def test_csv_quoting_and_plain_values():
    out = make_output("csv")
    rows = [{"id": 1, "name": 'a,b "q"\nline', "size": 1258291},
            {"id": 2, "name": "x\x1by", "size": None}]
    out.table(rows, COLUMNS)
    assert out.stdout.getvalue() == (
        'id,name,size\r\n1,"a,b ""q""\nline",1258291\r\n2,x\\x1by,\r\n')
    rec = make_output("csv")
    rec.record({"id": 3, "meta": {"a": 1}, "t": "2026-11-25T08:42:25.701318"},
               [("ID", "id"), ("Meta", "meta"), Column("t", "Time", "age")])
    assert rec.stdout.getvalue() == 'id,meta,t\r\n3,"{""a"":1}",2026-11-25T08:42:25.701318\r\n'


def test_messages_quiet_and_value():
    out = make_output(quiet=True)
    out.info("hidden")
    out.success("hidden too")
    out.warn("careful \x1b[2J")
    out.error("bad\x07thing", hint="try --help")
    out.value("ds-123\x1b")
    assert out.stderr.getvalue() == (
        "warning: careful \\x1b[2J\nxether: error: bad\\x07thing\n  try --help\n")
    assert out.stdout.getvalue() == "ds-123\\x1b\n"
    assert out.fmt == "table" and out.quiet and not out.is_json
    assert not out.stdout_tty and not out.stderr_tty
    assert out.progress(10, "x").enabled is False
    assert out.status_line().enabled is False


def test_table_output_fits_columns_env_and_reports_empty(monkeypatch):
    monkeypatch.setenv("COLUMNS", "24")
    out = make_output()
    out.table([{"id": 1, "name": "n" * 40, "size": 1}], COLUMNS)
    assert out.stdout.getvalue() == "ID  NAME            SIZE\n 1  nnnnnnnnnnnnn\u2026   1 B\n"
    empty = make_output()
    empty.table([], COLUMNS, empty="No datasets.")
    assert empty.stdout.getvalue() == "" and empty.stderr.getvalue() == "No datasets.\n"


def test_ascii_stream_never_raises():
    stdout, stderr = ascii_stream(), ascii_stream()
    out = make_output(stdout=stdout, stderr=stderr)
    out.table([{"id": 1, "name": "\u65e5\u672c" * 30 + "\u00e9", "size": 1}], COLUMNS)
    out.record({"name": "caf\u00e9"}, [("Name", "name")])
    out.value("\u00e9t\u00e9")
    out.success("fini \u2713")
    out.warn("\u26a0")
    text = ascii_text(stdout)
    assert "..." in text and "\\u65e5" in text
    assert text.endswith("Name:  caf\\xe9\n\\xe9t\\xe9\n")
    assert ascii_text(stderr) == "OK: fini \\u2713\nwarning: \\u26a0\n"


def test_data_dumps_readably():
    out = make_output()
    out.data({"id": 1, "tags": ["a", "b"]})
    out.data(["x", "y\x1b"])
    assert out.stdout.getvalue() == 'id:    1\ntags:  ["a","b"]\nx\ny\\x1b\n'


# ---- progress -------------------------------------------------------------------------

def test_progress_on_a_pipe_prints_a_line_per_ten_percent():
    stream, clock = io.StringIO(), Clock()
    p = Progress(1000, "upload a.csv", stream, True, clock=clock)
    for _ in range(40):
        clock.now += 0.25
        p.update(25)
    p.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()
    assert len(lines) == 10
    assert lines[0] == "upload a.csv: 10% (100 B / 1000 B, 100 B/s)"
    assert lines[-1] == "upload a.csv: 100% (1000 B / 1000 B, 100 B/s)"


def test_progress_jumps_and_unknown_total():
    stream, clock = io.StringIO(), Clock()
    p = Progress(100, "x", stream, True, clock=clock)
    p.set(45)
    p.set(46)
    p.set(100)
    p.close()
    assert stream.getvalue() == "x: 45% (45 B / 100 B)\nx: 100% (100 B / 100 B)\n"
    stream = io.StringIO()
    p = Progress(None, "dl", stream, True, clock=clock)
    for _ in range(7):
        clock.now += 10
        p.update(2048)
    p.close()
    assert stream.getvalue() == ("dl: 6.0 KiB, 204 B/s\ndl: 12.0 KiB, 204 B/s\n"
                                 "dl: 14.0 KiB done\n")


def test_progress_disabled_prints_nothing():
    stream = io.StringIO()
    with Progress(10, "x", stream, False) as p:
        p.update(10)
    s = StatusLine(stream, False)
    s.set("waiting")
    s.close()
    assert stream.getvalue() == ""


def test_progress_is_thread_safe():
    stream = io.StringIO()
    p = Progress(8000, "parts", stream, True)
    threads = [threading.Thread(target=lambda: [p.update(1) for _ in range(1000)])
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    p.close()
    assert p.done == 8000
    assert [line.split(":")[1].split("%")[0] for line in stream.getvalue().splitlines()] == \
        [" %d" % (10 * i) for i in range(1, 11)]


def test_status_line_on_a_pipe_prints_only_changes():
    stream = io.StringIO()
    s = StatusLine(stream, True)
    for text in ("run 5: pending", "run 5: pending", "run 5: running\x1b[2J", "run 5: running\x1b[2J"):
        s.set(text)
    s.close()
    assert stream.getvalue() == "run 5: pending\nrun 5: running\\x1b[2J\n"


# ---- a real terminal ------------------------------------------------------------------

def test_progress_redraws_throttled_on_a_tty(pty_pair):
    clock = Clock()
    p = Progress(100 * 1024, "up", pty_pair.stream, True, clock=clock)
    assert p.tty
    for _ in range(100):
        clock.now += 1 / 32.0
        p.update(1024)
    p.close()
    text = pty_pair.read()
    assert "\n" not in text
    assert text.count("\r") == 26 and text.count("\x1b[K") == 26  # 25 redraws + clear
    assert text.endswith("\r\x1b[K")
    assert "\rup  1.0 KiB / 100.0 KiB    1%  -- B/s\x1b[K\rup  5.0 KiB / 100.0 KiB    5%" in text
    last = text.split("\r")[-2]
    assert last.startswith("up  97.0 KiB / 100.0 KiB   97%  32.0 KiB/s  ETA 0:00")


def test_status_line_spinner_on_a_tty(pty_pair):
    clock = Clock()
    s = StatusLine(pty_pair.stream, True, clock=clock)
    s.set("run 1: running")
    s.set("run 1: running")   # throttled: same text, too soon
    clock.now += 0.5
    s.set("run 1: running")
    s.close()
    frames = s.frames
    assert pty_pair.read() == "\r%s run 1: running\x1b[K\r%s run 1: running\x1b[K\r\x1b[K" % (
        frames[1], frames[2])


def test_colour_and_redraw_on_a_pty_but_not_on_a_pipe(pty_pair):
    rows = [{"id": 1, "status": "completed"}]
    cols = [Column("id", "ID", "int"), Column("status", "STATUS", "status")]
    tty = Output(fmt="table", color="auto", stdout=pty_pair.stream, stderr=pty_pair.stream)
    tty.table(rows, cols)
    tty.success("ok")
    with tty.progress(10, "p") as p:
        p.update(10)
    got = pty_pair.read()
    assert "\x1b[1mID\x1b[0m" in got and "\x1b[32mcompleted\x1b[0m" in got
    assert "\x1b[32m\u2713\x1b[0m ok" in got and "\rp  10 B / 10 B  100%" in got

    read_fd, write_fd = os.pipe()
    pipe = io.open(write_fd, "w", encoding="utf-8")
    plain = Output(fmt="table", color="auto", stdout=pipe, stderr=pipe)
    plain.table(rows, cols)
    with plain.progress(10, "p") as p:
        p.update(10)
    pipe.close()
    with io.open(read_fd, "r", encoding="utf-8", newline="") as f:
        assert f.read() == "ID  STATUS\n 1  completed\np: 100% (10 B / 10 B)\n"


def test_messages_clear_a_drawn_progress_line_first(pty_pair):
    out = Output(stdout=pty_pair.stream, stderr=pty_pair.stream)
    clock = Clock()
    bar = out.progress(100, "dl")
    bar.clock = clock
    bar.update(10)
    out.warn("retrying")
    clock.now += 0.01   # not throttled: the line was cleared, so it comes back at once
    bar.update(10)
    bar.close()
    out.info("after")
    assert pty_pair.read() == (
        "\rdl  10 B / 100 B   10%  -- B/s\x1b[K\r\x1b[K\x1b[33mwarning:\x1b[0m retrying\r\n"
        "\rdl  20 B / 100 B   20%  -- B/s\x1b[K\r\x1b[Kafter\r\n")


# ---- process level --------------------------------------------------------------------

def run_python(code, **env_extra):
    env = dict(os.environ, PYTHONPATH=ROOT)
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        env.pop(name, None)
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


def test_importing_style_is_cheap():
    code = ("import sys; heavy = ('json', 're', 'unicodedata', 'csv', 'threading', 'datetime');"
            "before = set(m for m in heavy if m in sys.modules);"
            "import xether_lib.term.style;"
            "print(sorted(set(m for m in heavy if m in sys.modules) - before))")
    assert run_python(code).stdout == b"[]\n"


def test_ascii_locale_process_falls_back_without_errors():
    code = ("from xether_lib.term.output import Output; from xether_lib.term.table import Column;"
            "o = Output();"
            "o.table([{'n': '\\u65e5\\u672c' * 50}], [Column('n', 'N')]);"
            "o.success('\\u2713 fine'); o.value('\\u00e9')")
    r = run_python(code, PYTHONIOENCODING="ascii", LC_ALL="C", LANG="C", COLUMNS="20")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"N\n" + b"\\u65e5\\u672c" * 4 + b"...\n\\xe9\n"
    assert r.stderr == b"OK: \\u2713 fine\n"

"""The output kit (xether_lib/term): escaping, colour rules, tables, records, sizes and ages,
JSON/CSV output and messages, on StringIO, on an ASCII-only stream and on a pseudo-terminal;
progress bars and status lines are in test_term_progress.py."""

import io
import json
import os
import subprocess
import sys

import pytest

from term_helpers import (ROOT, ascii_stream, ascii_text, make_output, plain_env,  # noqa: F401
                          pty_pair)
from xether_lib.term import style, values
from xether_lib.term.output import Output
from xether_lib.term.record import render_record
from xether_lib.term.style import (Style, color_enabled, display_width, error_prefix, escape,
                                   escape_line, terminal_width)
from xether_lib.term.table import Column, render_table

NOW = "2026-11-25T12:00:00Z"


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


def test_width_is_columns_else_the_terminal_size_else_80(monkeypatch, pty_pair):
    import fcntl
    import struct
    import termios

    fcntl.ioctl(pty_pair.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 33, 0, 0))
    assert terminal_width(pty_pair.stream) == 33
    assert terminal_width(io.StringIO()) == 80
    read_fd, write_fd = os.pipe()
    with io.open(write_fd, "w") as pipe:
        assert terminal_width(pipe) == 80
    os.close(read_fd)
    monkeypatch.setenv("COLUMNS", "nonsense")
    assert terminal_width(pty_pair.stream) == 33
    monkeypatch.setenv("COLUMNS", "120")
    assert terminal_width(pty_pair.stream) == 120
    out = Output(stdout=pty_pair.stream, stderr=io.StringIO(), color="never")
    monkeypatch.delenv("COLUMNS")
    out.table([{"id": 1, "name": "n" * 60, "size": 1}], COLUMNS)
    assert max(len(line) for line in pty_pair.read().splitlines()) == 33


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

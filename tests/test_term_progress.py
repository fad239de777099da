"""The output kit's progress bars and status lines (xether_lib/term/progress.py): a line per
10 % on a pipe, throttled redraws and spinners on a real pseudo-terminal, thread safety, and
messages that clear a drawn line first."""

import io
import os
import threading

from term_helpers import Clock, plain_env, pty_pair  # noqa: F401
from xether_lib.term.output import Output
from xether_lib.term.progress import Progress, StatusLine
from xether_lib.term.table import Column


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



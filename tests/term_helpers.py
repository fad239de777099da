"""Helpers of the output-kit tests: a clean colour environment (an autouse fixture each test
module imports), ASCII-only streams, a hand-moved clock, a real pseudo-terminal and an Output
on StringIO."""

import io
import os
import select
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from xether_lib.term import style  # noqa: E402
from xether_lib.term.output import Output  # noqa: E402


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


def make_output(fmt="table", quiet=False, stdout=None, stderr=None, **kw):
    return Output(fmt=fmt, color="auto", quiet=quiet, progress=True,
                  stdout=stdout or io.StringIO(), stderr=stderr or io.StringIO(), **kw)

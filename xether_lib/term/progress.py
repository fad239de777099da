"""Live feedback on stderr: `Progress` for transfers (bytes, percent, rate, ETA)
and `StatusLine` for waits of unknown length (a spinner and a text).

On a TTY both redraw one line (`\\r` + text + clear to end of line) at most ten
times a second; elsewhere they print plain lines, never carriage returns:
Progress one per 10 % (one per 30 s when the total is unknown), StatusLine one
whenever its text changes. Disabled ones print nothing. Updates are
thread-safe (parts upload in parallel).
"""

import collections
import threading
import time

from xether_lib.term.style import (escape_line, glyph, isatty, safe_write, stream_encoding,
                                   terminal_width, truncate)
from xether_lib.term.values import human_duration, human_size

REDRAW_INTERVAL = 0.1
PLAIN_INTERVAL = 30.0
RATE_WINDOW = 5.0
CLEAR = "\x1b[K"


class _LiveLine(object):
    """What Progress and StatusLine share: TTY detection, lock, throttle, I/O."""

    def __init__(self, stream, enabled, clock=None):
        self.stream = stream
        self.enabled = bool(enabled) and stream is not None
        self.tty = self.enabled and isatty(stream)
        self.clock = clock or time.monotonic
        self.encoding = stream_encoding(stream) if stream is not None else None
        self._lock = threading.Lock()
        self._last_draw = None
        self._drawn = False
        self.closed = False

    def _due(self, now):
        return self._last_draw is None or now - self._last_draw >= REDRAW_INTERVAL

    def _redraw(self, text, now):
        width = terminal_width(self.stream) - 1
        text = truncate(text, width, glyph(self.encoding, "\u2026", "..."))
        self._write("\r" + text + CLEAR)
        self._last_draw, self._drawn = now, True

    def _print(self, text):
        self._write(text + "\n")

    def _clear(self):
        if self._drawn:
            self._write("\r" + CLEAR)
            self._drawn = False

    def _write(self, text):
        try:
            safe_write(self.stream, text)
            self.stream.flush()
        except (OSError, ValueError):  # feedback must never break the work
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def suspend(self):
        """Clear the drawn line so a message can be printed; the next update redraws."""
        with self._lock:
            if self.tty and not self.closed:
                self._clear()
                self._last_draw = None

    def close(self):
        with self._lock:
            if self.enabled and not self.closed:
                self._finish()
            self.closed = True

    def _finish(self):
        self._clear()


class Progress(_LiveLine):
    """Bytes done of `total` (None when unknown) for one labelled transfer."""

    def __init__(self, total, label, stream=None, enabled=True, clock=None):
        _LiveLine.__init__(self, stream, enabled, clock)
        self.total = total if total is None else max(int(total), 0)
        self.label = escape_line(label)
        self.done = 0
        self._started = self.clock()
        self._samples = collections.deque()
        self._printed_step = 0
        self._printed_at = self._started

    def update(self, nbytes):
        """Add `nbytes` to the count (safe from several threads)."""
        with self._lock:
            self._advance(self.done + nbytes)

    def set(self, done):
        """Set the count to `done` bytes (after a resume, for instance)."""
        with self._lock:
            self._advance(done)

    def _advance(self, done):
        done = max(int(done), 0)
        if done < self.done:  # restarted: the old samples say nothing about the rate
            self._samples.clear()
        self.done = done
        if not self.enabled or self.closed:
            return
        now = self.clock()
        self._sample(now)
        if self.tty:
            if self._due(now):
                self._redraw(self.tty_text(now), now)
        elif self.total is not None:
            step = self._step()
            if step > self._printed_step:
                self._printed_step = step
                self._print(self.plain_text(now))
        elif now - self._printed_at >= PLAIN_INTERVAL:
            self._printed_at = now
            self._print(self.plain_text(now))

    def _step(self):
        if not self.total:
            return 10
        return min(self.done * 10 // self.total, 10)

    def _sample(self, now):
        self._samples.append((now, self.done))
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW:
            self._samples.popleft()

    def rate(self, now=None):
        """Bytes per second over the last few seconds, or None when too early."""
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        if t1 - t0 < 0.2:
            return None
        return max(d1 - d0, 0) / (t1 - t0)

    def percent(self):
        if self.total is None:
            return None
        return 100 if not self.total else min(self.done * 100 // self.total, 100)

    def amount(self):
        if self.total is None:
            return human_size(self.done)
        return "%s / %s" % (human_size(self.done), human_size(self.total))

    def tty_text(self, now):
        parts = [self.label, self.amount()]
        rate = self.rate(now)
        if self.total is not None:
            parts.append("%3d%%" % self.percent())
        parts.append(human_size(int(rate)) + "/s" if rate else "-- B/s")
        if self.total is not None and rate:
            parts.append("ETA " + human_duration((self.total - self.done) / rate))
        return "  ".join(parts)

    def plain_text(self, now):
        rate = self.rate(now)
        speed = ", %s/s" % human_size(int(rate)) if rate else ""
        if self.total is None:
            return "%s: %s%s" % (self.label, self.amount(), speed)
        return "%s: %d%% (%s%s)" % (self.label, self.percent(), self.amount(), speed)

    def _finish(self):
        if self.tty:
            self._clear()
        elif self.total is None and self.done:
            self._print("%s: %s done" % (self.label, human_size(self.done)))
        elif self.total is not None and self._step() == 10 and self._printed_step < 10:
            self._print(self.plain_text(self.clock()))


class StatusLine(_LiveLine):
    """A spinner and a text for waits of unknown length (a run in progress)."""

    def __init__(self, stream=None, enabled=True, clock=None):
        _LiveLine.__init__(self, stream, enabled, clock)
        fancy = "\u280b\u2819\u2839\u2838\u283c\u2834\u2826\u2827\u2807\u280f"
        self.frames = glyph(self.encoding, fancy, "|/-\\")
        self.text = None
        self._frame = 0

    def set(self, text):
        """Show `text` (escaped); on a TTY the spinner moves on each call."""
        text = escape_line(text)
        with self._lock:
            if not self.enabled or self.closed:
                return
            changed, self.text = text != self.text, text
            if not self.tty:
                if changed:
                    self._print(text)
                return
            now = self.clock()
            if changed or self._due(now):
                self._frame = (self._frame + 1) % len(self.frames)
                self._redraw("%s %s" % (self.frames[self._frame], text), now)

"""SHA-256 of a whole file computed alongside an upload, not after it; request bodies.

`HashThread(source)` reads the file front to back on its own thread, into one reused buffer,
while the part workers send (hashlib and the reads release the GIL, so both run at once and the
page cache serves the second reader): the checksum costs no second pass of wall time.
`result()` waits for it and returns the hex digest, or raises what went wrong (a file that
shrank). `Body` is one request body (the whole file for a single PUT, which hashes inline as
the bytes go out); `PartBody` is one part, a `FileRange` the transport sends straight from the
file. Both start over cleanly when the transport sends them again (a retry).
"""

import hashlib
import threading

from xether_lib.filerange import FileRange
from xether_lib.transfer.source import Cancelled

HASH_READ = 1 << 20


class HashThread(object):
    def __init__(self, source, cancelled=None):
        self.source = source
        self.cancelled = cancelled
        self.digest = None
        self.error = None
        self._thread = threading.Thread(target=self._run, name="xether-sha256", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        h = hashlib.sha256()
        try:
            for view in self.source.views(0, self.source.size, self.cancelled, HASH_READ):
                h.update(view)
            self.digest = h.hexdigest()
        except Cancelled:
            self.error = Cancelled()
        except Exception as exc:  # handed to the main thread by result()
            self.error = exc

    def done(self):
        return not self._thread.is_alive()

    def result(self, poll=0.2):
        while self._thread.is_alive():
            self._thread.join(poll)  # short waits keep Ctrl-C responsive
        if self.error is not None:
            raise self.error
        return self.digest


class _Sent(object):
    """Bytes of one body counted into the progress bar, taken back when the body restarts."""

    def __init__(self, progress):
        self.progress = progress
        self.count = 0

    def restart(self):
        if self.progress is not None and self.count:
            self.progress.update(-self.count)
        self.count = 0

    def add(self, n):
        self.count += n
        if self.progress is not None:
            self.progress.update(n)


class Body(object):
    """A request body for Transport (a zero-argument callable): each call streams the chunks
    again from the start, taking back the progress of the attempt before (a retry) and, with
    `hashed=True`, starting the SHA-256 over (the single-PUT upload hashes inline)."""

    def __init__(self, make_chunks, progress=None, hashed=False):
        self.make_chunks = make_chunks
        self.hashed = hashed
        self.hasher = hashlib.sha256() if hashed else None
        self._sent = _Sent(progress)

    def __call__(self):
        return self._generate()

    def _generate(self):
        if self.hashed:
            self.hasher = hashlib.sha256()
        self._sent.restart()
        for chunk in self.make_chunks():
            if self.hashed:
                self.hasher.update(chunk)
            self._sent.add(len(chunk))
            yield chunk

    def hexdigest(self):
        return self.hasher.hexdigest()


class PartBody(FileRange):
    """[offset, offset+length) of `source`, sent by the transport from the file; stops with
    Cancelled when `cancelled()` turns true, IntegrityError when the file ends early."""

    def __init__(self, source, offset, length, progress=None, cancelled=None):
        FileRange.__init__(self, source.fileobj, offset, length)
        self.source = source
        self.cancelled = cancelled
        self._sent = _Sent(progress)

    def begin(self):
        self._sent.restart()

    def check(self):
        if self.cancelled is not None and self.cancelled():
            raise Cancelled()

    def advance(self, n):
        self._sent.add(n)

    def short(self, sent):
        return self.source.changed("it became shorter while being read")

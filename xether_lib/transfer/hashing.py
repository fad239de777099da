"""SHA-256 of a whole file computed alongside an upload, not after it.

`HashThread(source)` reads the file front to back in 1 MiB chunks on its own thread while the
part workers send (hashlib and pread release the GIL, so both run at once and the page cache
serves the second reader): the checksum costs no second pass of wall time. `result()` waits
for it and returns the hex digest, or raises what went wrong (a file that shrank).
`Body` is one request body (a part, or the whole file for a single PUT, which hashes inline
as the bytes go out); it starts over cleanly when the transport sends it again (a retry).
"""

import hashlib
import threading

from xether_lib.transfer.source import Cancelled


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
            for chunk in self.source.chunks(0, self.source.size, self.cancelled):
                h.update(chunk)
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


class Body(object):
    """A request body for Transport (a zero-argument callable): each call streams the chunks
    again from the start, taking back the progress of the attempt before (a retry) and, with
    `hashed=True`, starting the SHA-256 over (the single-PUT upload hashes inline)."""

    def __init__(self, make_chunks, progress=None, hashed=False):
        self.make_chunks = make_chunks
        self.progress = progress
        self.hashed = hashed
        self.hasher = hashlib.sha256() if hashed else None
        self.sent = 0

    def __call__(self):
        return self._generate()

    def _generate(self):
        if self.hashed:
            self.hasher = hashlib.sha256()
        if self.progress is not None and self.sent:
            self.progress.update(-self.sent)
        self.sent = 0
        for chunk in self.make_chunks():
            if self.hashed:
                self.hasher.update(chunk)
            self.sent += len(chunk)
            if self.progress is not None:
                self.progress.update(len(chunk))
            yield chunk

    def hexdigest(self):
        return self.hasher.hexdigest()

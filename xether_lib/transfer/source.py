"""The local file an upload reads: checked on open, read by byte range in 1 MiB chunks.

`FileSource(path)` refuses a missing file, a directory, anything that is not a regular
file, and an unreadable file (UsageError, exit 2). `chunks(offset, length)` yields the bytes
of a range 1 MiB at a time with positional reads (`os.pread`, or a per-thread file object and
seek+read where pread does not exist), so parallel part workers never share a file position
and memory never grows with the file; `views(offset, length, size)` does the same into one
reused buffer (no allocation per chunk); `fileobj` is the open file for `FileRange` bodies
(sent by the transport straight from the file). A range that comes back short means the file
shrank: IntegrityError. `check_unchanged()` raises IntegrityError when the size or mtime moved
since the file was opened.
"""

import os
import stat
import threading

from xether_lib.errors import IntegrityError, UsageError
from xether_lib.filerange import read_into

CHUNK = 1 << 20


class FileSource(object):
    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.display = path
        self.fd = _open_checked(path)
        st = os.fstat(self.fd)
        self.size = st.st_size
        self.mtime_ns = st.st_mtime_ns
        self.name = os.path.basename(self.path)
        self.fileobj = os.fdopen(self.fd, "rb", buffering=0, closefd=False)
        self._local = threading.local()

    def close(self):
        if self.fd is not None:
            self.fileobj.close()
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def read_at(self, offset, n):
        if hasattr(os, "pread"):
            return os.pread(self.fd, n, offset)
        f = getattr(self._local, "f", None)
        if f is None:
            f = self._local.f = open(self.path, "rb")
        f.seek(offset)
        return f.read(n)

    def chunks(self, offset, length, cancelled=None):
        """The bytes of [offset, offset+length) in chunks of at most 1 MiB."""
        return self._walk(offset, length, cancelled, CHUNK, self.read_at)

    def views(self, offset, length, cancelled=None, size=CHUNK):
        """[offset, offset+length) as memoryviews of one buffer of `size` bytes, reused: each
        view holds its bytes only until the next one is asked for."""
        buf = memoryview(bytearray(max(1, min(size, length))))
        return self._walk(offset, length, cancelled, len(buf),
                          lambda at, n: buf[:read_into(self.fileobj, buf[:n], at)])

    def _walk(self, offset, length, cancelled, step, read):
        end = offset + length
        while offset < end:
            if cancelled is not None and cancelled():
                raise Cancelled()
            data = read(offset, min(step, end - offset))
            if not len(data):
                raise self.changed("it became shorter while being read")
            offset += len(data)
            yield data

    def changed(self, how):
        return IntegrityError("%s changed during the upload: %s" % (self.display, how),
                              hint="Push it again once nothing is writing to it.")

    def check_unchanged(self):
        st = os.fstat(self.fd)
        if st.st_size != self.size:
            raise self.changed("its size went from %d to %d bytes" % (self.size, st.st_size))
        if st.st_mtime_ns != self.mtime_ns:
            raise self.changed("it was modified")


class Cancelled(Exception):
    """Raised inside a request body to stop sending (Ctrl-C or another part failed)."""


def _open_checked(path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UsageError("%s: no such file" % path)
    except OSError as exc:
        raise UsageError("%s: cannot read it: %s" % (path, exc.strerror or exc))
    if stat.S_ISDIR(st.st_mode):
        raise UsageError("%s is a directory: push one file at a time" % path,
                         hint="Pack a directory first, e.g. tar czf data.tar.gz DIR")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError("%s is not a regular file" % path)
    try:
        return os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise UsageError("%s: cannot read it: %s" % (path, exc.strerror or exc))

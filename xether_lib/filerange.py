"""A request body sent straight from a file: `FileRange`, and how the transport writes it.

`FileRange(fileobj, offset, length)` is `length` bytes at `offset` of an open binary file
(an object with `fileno()`). `write_range(sock, body)` sends it in slices of at most
`body.slice_size` bytes: on a plain TCP socket with `os.sendfile` the kernel copies the file to
the socket (no bytes pass through Python); on TLS, or where `os.sendfile` is missing, the
slices are read into one reusable buffer with positional reads. Every attempt starts over
from `offset` (a retry re-sends the whole range). Subclasses hook in: `begin()` before an
attempt, `check()` before every slice (raise to stop), `advance(n)` after n bytes went out,
`short(sent)` for the error of a file that ended before the range did.
"""

import os
import socket
import threading

SLICE = 4 << 20
BUFFER = 1 << 20
_seek_lock = threading.Lock()   # the read fallback where positional reads do not exist


class FileRange(object):
    def __init__(self, fileobj, offset, length, slice_size=SLICE):
        self.fileobj = fileobj
        self.offset = int(offset)
        self.length = int(length)
        self.slice_size = max(1, int(slice_size))

    def begin(self):
        """Called before each attempt sends the range from its start."""

    def check(self):
        """Called before each slice; raise to stop sending."""

    def advance(self, n):
        """Called after n more bytes went out."""

    def short(self, sent):
        return EOFError("the file ended %d bytes into a range of %d" % (sent, self.length))

    def read_into(self, view, offset):
        return read_into(self.fileobj, view, offset)


def read_into(fileobj, view, offset):
    """Read up to len(view) bytes at `offset` of `fileobj` into `view`, without moving any
    file position where the system has positional reads; returns the count."""
    if hasattr(os, "preadv"):
        return os.preadv(fileobj.fileno(), [view], offset)
    if hasattr(os, "pread"):
        data = os.pread(fileobj.fileno(), len(view), offset)
        view[:len(data)] = data
        return len(data)
    with _seek_lock:
        fileobj.seek(offset)
        return fileobj.readinto(view)


def write_range(sock, body):
    """Send `body` (a FileRange) on `sock`, an open connection, from its first byte."""
    body.begin()
    if _can_sendfile(sock):
        _send_with_sendfile(sock, body)
    else:
        _send_with_buffer(sock, body)


def _can_sendfile(sock):
    if not hasattr(os, "sendfile") or not hasattr(sock, "sendfile"):
        return False
    import ssl

    return not isinstance(sock, ssl.SSLSocket) and sock.type == socket.SOCK_STREAM


def _send_with_sendfile(sock, body):
    done = 0
    while done < body.length:
        body.check()
        n = min(body.slice_size, body.length - done)
        sent = sock.sendfile(body.fileobj, body.offset + done, n)
        done += sent
        if sent:
            body.advance(sent)
        if sent < n:
            raise body.short(done)


def _send_with_buffer(sock, body):
    buf = memoryview(bytearray(min(BUFFER, max(body.length, 1))))
    done = 0
    while done < body.length:
        body.check()
        n = body.read_into(buf[:min(len(buf), body.length - done)], body.offset + done)
        if not n:
            raise body.short(done)
        sock.sendall(buf[:n])
        done += n
        body.advance(n)

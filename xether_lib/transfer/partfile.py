"""The `DEST.part` file a download writes into, and its `DEST.part.json` sidecar.

A `PartFile` owns both: it resumes a `.part` whose sidecar matches the download (hashing
the bytes already there), or starts it over; appends and hashes new bytes; locks the
`.part` so two downloads cannot write it at once; and at the end either commits it onto
DEST (fsync, atomic rename, fsync of the directory) or discards it. DEST itself is never
opened for writing.
"""

import errno
import hashlib
import json
import os

from xether_lib.errors import USAGE, UsageError, XetherError
from xether_lib.fsutil import fsync_dir

HASH_READ = 1 << 20
PIPE_DEPTH = 2   # chunks waiting per stage: bounds the memory in flight


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _lock(fd, path):
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; the rename is still atomic
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise UsageError("another download is writing %s" % path,
                             hint="Wait for it to finish, or choose another destination.")
        raise


class PartFile(object):
    """`target + ".part"` plus its sidecar; `ident` is what the sidecar must match."""

    def __init__(self, target, ident):
        self.target = target
        self.path = target + ".part"
        self.sidecar = target + ".part.json"
        self.ident = dict(ident)
        self._size = 0
        self.hasher = hashlib.sha256()
        self.resumed = 0
        self._fd = None
        self._pipe = None

    # -- opening ---------------------------------------------------------------------------
    def open(self):
        """Open (and lock) the .part; resume it when its sidecar matches, else start over."""
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0),
                               0o666)  # the umask decides, as for any new file
        except OSError as exc:
            raise UsageError("cannot write %s: %s" % (self.path, exc.strerror or exc))
        try:
            _lock(self._fd, self.path)
        except BaseException:
            self.close()
            raise
        if self._sidecar_matches() and self._rehash():
            self.resumed = self._size
        else:
            self.restart()
        return self

    def _sidecar_matches(self):
        try:
            with open(self.sidecar, "rb") as f:
                return json.loads(f.read().decode("utf-8")) == self.ident
        except (OSError, ValueError):
            return False

    def _rehash(self):
        """Hash the bytes already in the .part; False when there are too many of them."""
        length = os.fstat(self._fd).st_size
        limit = self.ident.get("size")
        if limit is not None and length > limit:
            return False
        os.lseek(self._fd, 0, os.SEEK_SET)
        buf = bytearray(HASH_READ)
        view = memoryview(buf)
        with os.fdopen(os.dup(self._fd), "rb", buffering=0) as f:  # shares the offset
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                self.hasher.update(view[:n])
                self._size += n
        return True

    def restart(self):
        """Empty the .part and write a fresh sidecar (start the download over)."""
        self.sync()
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        self._size = 0
        self.resumed = 0
        self.hasher = hashlib.sha256()
        data = json.dumps(self.ident, sort_keys=True).encode("utf-8")
        with open(self.sidecar, "wb") as f:
            f.write(data)

    # -- writing ---------------------------------------------------------------------------
    @property
    def size(self):
        """Bytes written and hashed so far (waits for the writer threads)."""
        self.sync()
        return self._size

    def write(self, data):
        """Queue a chunk (bytes) to be appended and hashed on the pipeline's threads."""
        if self._pipe is None:
            from xether_lib.transfer.pipeline import Pipeline

            self._pipe = Pipeline([self._append, self._digest], depth=PIPE_DEPTH)
        self._pipe.put(data)

    def sync(self):
        """Wait until every queued chunk is written and hashed; raise a write error."""
        if self._pipe is not None:
            self._pipe.drain()

    def _append(self, data):
        view = memoryview(data)
        done, total = 0, len(view)
        try:
            while done < total:
                done += os.write(self._fd, view[done:])
        except OSError as exc:
            raise XetherError("cannot write %s: %s" % (self.path, exc.strerror or exc),
                              exit_code=USAGE)

    def _digest(self, data):
        self.hasher.update(data)
        self._size += len(data)

    def hexdigest(self):
        self.sync()
        return self.hasher.hexdigest()

    # -- ending ----------------------------------------------------------------------------
    def close(self):
        """Close the .part, keeping it and its sidecar (for a later resume)."""
        if self._pipe is not None:
            pipe, self._pipe = self._pipe, None
            pipe.close()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def discard(self):
        """Close and remove the .part and its sidecar (bad bytes)."""
        self.close()
        _remove(self.path)
        _remove(self.sidecar)

    def commit(self, force):
        """fsync the .part, move it onto the target, fsync the directory, drop the sidecar."""
        self.sync()
        os.fsync(self._fd)
        self.close()
        if force:
            os.replace(self.path, self.target)
        else:
            _move_no_clobber(self.path, self.target)
        _remove(self.sidecar)
        fsync_dir(os.path.dirname(os.path.abspath(self.target)))


def _move_no_clobber(src, dst):
    """Rename src onto dst, failing (UsageError) if dst appeared meanwhile."""
    try:
        os.link(src, dst)
    except FileExistsError:
        raise UsageError("%s already exists (created while downloading); the download is "
                         "kept in %s" % (dst, src), hint="Pass --force to replace it.")
    except OSError:  # no hard links here (some file systems): check, then rename
        if os.path.lexists(dst):
            raise UsageError("%s already exists; the download is kept in %s" % (dst, src),
                             hint="Pass --force to replace it.")
        os.replace(src, dst)
        return
    os.unlink(src)

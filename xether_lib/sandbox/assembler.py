"""Building a multipart upload's object while its parts arrive (local store).

S3 gives a completed multipart object a SHA-256 over all its bytes, in part order, and the
object is the parts concatenated. Doing both only when CompleteMultipartUpload arrives costs a
second full pass (and a second write) that a single PUT never pays. So:
- parts are written straight into their place in `assembly.data` in the upload's folder, part
  n at (n - 1) * stride when it fits (`Blobs._slot` decides; the first PUT of a number only,
  one writer at a time: `claim`, `write_slot`); other parts get a file of their own;
- per upload, an `Assembly` hashes the stored parts 1, 2, 3, ... in part-number order, each as
  soon as it and all before it are stored, on a background thread that runs only while there
  is a next part to take, keeping a snapshot of the SHA-256 after every part.
`Blobs.complete` then hashes only the parts not taken yet (`resume_point`) and renames the
assembly into place (or copies the parts into a new file when they do not lie end to end).

Every PUT of a part number bumps that part's version; a taken part whose version has changed (a
re-PUT) is dropped with every part after it, and the hash rolls back to the snapshot after the
part before. `stop` seals the assembly: no slot write lands after it. The state lives in memory
only: after a restart (the parts already stored are taken again), an abort, an I/O error, or a
completion naming other parts than those taken, what does not match is hashed at completion.
"""

import collections
import hashlib
import os
import threading

from .streams import copy_stream

ASSEMBLY = "assembly.data"

# One part hashed: its number and version, its size, and the SHA-256 of the object up to and
# including it (never updated after this).
Taken = collections.namedtuple("Taken", "number version size sha")


def part_file(folder, number):
    return os.path.join(folder, "%05d.part" % number)


def resume_point(taken, chosen):
    """(k, sha256) to go on from: the first k `chosen` parts (dicts with part_number and size,
    in order) are the first k `taken` ones, and `sha256` (a fresh copy) has seen exactly them."""
    k = 0
    for t, p in zip(taken, chosen):
        if t.number != p["part_number"] or t.size != p["size"]:
            break
        k += 1
    return k, (taken[k - 1].sha.copy() if k else hashlib.sha256())


class Assembly(object):
    """The object of one multipart upload, assembled so far from its folder's part files."""

    def __init__(self, folder, parts=()):
        self.folder = folder
        # number -> (version, size, offset in the assembly or None: a file of its own), from
        # the parts already stored (after a restart: part dicts with "offset" for a slot)
        self.versions = dict((p["part_number"], (0, p["size"], p.get("offset"))) for p in parts)
        self.writing = set()   # part numbers being written into their slot
        self.taken = []
        self.lock = threading.Lock()
        self.thread = None
        self.running = True

    def claim(self, number):
        """True if the caller may write part `number` into its slot (nobody else is)."""
        with self.lock:
            if not self.running or number in self.writing:
                return False
            self.writing.add(number)
            return True

    def write_slot(self, number, src, offset, length, hashers, flip_at=None):
        """Receive a claimed part into the assembly at `offset` (see `copy_stream`); after
        `stop`, the bytes are read but dropped. The claim ends with `stored` or `release`."""
        fd = os.open(os.path.join(self.folder, ASSEMBLY), os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "wb", buffering=0) as f:
            f.seek(offset)
            copy_stream(src, _Sealed(self, f), length, hashers, flip_at)

    def release(self, number):
        with self.lock:
            self.writing.discard(number)

    def stored(self, number, size, offset=None):
        """Part `number` has just been stored, in its slot at `offset` or in its own file (call
        it right after, before anyone can complete the upload); starts the worker if it is idle
        and now has a part to take."""
        with self.lock:
            if offset is not None:
                self.writing.discard(number)
            self.versions[number] = (self.versions.get(number, (0,))[0] + 1, size, offset)
            if not self.running or self.thread is not None:
                return
            self._rewind()   # safe: only the worker changes `taken` while it runs
            if self._next() in self.versions:
                self.thread = threading.Thread(target=self._run, name="assembly", daemon=True)
                try:
                    self.thread.start()
                except RuntimeError:   # no thread to be had: completion does the work
                    self.thread = None

    def stop(self, wait=True):
        """Take no more parts; with `wait`, let the part in hand finish and return the taken
        parts that are still current (the assembly file holds exactly them)."""
        with self.lock:
            self.running = False
            thread = self.thread
        if wait and thread is not None:
            thread.join()
        with self.lock:
            self._rewind()
            return list(self.taken)

    def hashed(self):
        with self.lock:
            return len(self.taken)

    # -- the worker ---------------------------------------------------------------------
    def _next(self):
        return self.taken[-1].number + 1 if self.taken else 1

    def _rewind(self):
        """Drop the first taken part that was re-PUT since, and every one after it."""
        for i, t in enumerate(self.taken):
            if self.versions.get(t.number, (None,))[0] != t.version:
                del self.taken[i:]
                return

    def _run(self):
        try:
            for number, version, f, size, sha in iter(self._next_part, None):
                with f:
                    copy_stream(f, None, size, (sha,), parallel=False)
                with self.lock:
                    self.taken.append(Taken(number, version, size, sha))
        except (OSError, ValueError):   # the folder went away (abort, complete)
            pass
        finally:
            with self.lock:
                if self.thread is threading.current_thread():
                    self.thread = None

    def _next_part(self):
        """(number, version, part file at the part, size, sha256) of the next part to hash, or
        None (and the worker is no longer counted as running) when there is none yet."""
        with self.lock:
            self._rewind()
            number = self._next()
            version, size, offset = self.versions.get(number, (None, 0, None))
            if not self.running or version is None:
                self.thread = None
                return None
            # Opened under the lock, after reading the version: a re-PUT bumps the version
            # only after its bytes are in place, so these are at least as new as `version`.
            f = open_part(self.folder, number, offset)
            sha = self.taken[-1].sha.copy() if self.taken else hashlib.sha256()
            return number, version, f, size, sha


def open_part(folder, number, offset):
    """A part's bytes for reading: its own file, or the assembly positioned at its slot."""
    if offset is None:
        return open(part_file(folder, number), "rb")
    f = open(os.path.join(folder, ASSEMBLY), "rb")
    f.seek(offset)
    return f


class _Sealed(object):
    """The write end of a slot: writes nothing once the assembly is stopped."""

    def __init__(self, assembly, f):
        self.assembly, self.f = assembly, f

    def write(self, chunk):
        with self.assembly.lock:
            if self.assembly.running:
                view = memoryview(chunk)
                while view:
                    view = view[self.f.write(view):]

"""Building a multipart upload's object while its parts arrive (local store).

S3 gives a completed multipart object a SHA-256 over all its bytes, in part order, and the
object is the parts concatenated. Doing both only when CompleteMultipartUpload arrives costs a
second full pass over the data that a single PUT never pays. So, per upload, an `Assembly`
appends the stored parts 1, 2, 3, ... (part-number order, each as soon as it and all before it
are stored) to `assembly.data` in the upload's folder and hashes them as it goes, on a
background thread that runs only while there is a next part to take. `Blobs.complete` then
only hashes and appends the parts not taken yet (`resume_point`).

Every PUT of a part number bumps that part's version; a taken part whose version has changed (a
re-PUT) is dropped with every part after it, and the file and the hash roll back to the
snapshot taken after the part before. The state lives in memory only: after a restart (the
parts already stored are taken again), an abort, an I/O error, or a completion naming other
parts than those taken, whatever does not match is simply done again at completion.
"""

import collections
import hashlib
import os
import threading

from .streams import copy_stream

ASSEMBLY = "assembly.data"

# One part appended: its number and version, its size, the file's length after it, and the
# SHA-256 of the object up to and including it (never updated after this).
Taken = collections.namedtuple("Taken", "number version size end sha")


def part_file(folder, number):
    return os.path.join(folder, "%05d.part" % number)


def resume_point(taken, chosen):
    """(k, offset, sha256) to go on from: the first k `chosen` parts (dicts with part_number and
    size, in order) are the first k `taken` ones, so the assembly's first `offset` bytes are
    theirs and `sha256` (a fresh copy) has seen exactly them."""
    k = 0
    for t, p in zip(taken, chosen):
        if t.number != p["part_number"] or t.size != p["size"]:
            break
        k += 1
    if not k:
        return 0, 0, hashlib.sha256()
    return k, taken[k - 1].end, taken[k - 1].sha.copy()


class Assembly(object):
    """The object of one multipart upload, assembled so far from its folder's part files."""

    def __init__(self, folder, numbers=()):
        self.folder = folder
        self.versions = dict.fromkeys(numbers, 0)   # parts already stored (after a restart)
        self.taken = []
        self.lock = threading.Lock()
        self.thread = None
        self.running = True

    def stored(self, number):
        """Part `number`'s file has just been replaced (call right after, before anyone can
        complete the upload); starts the worker if it is idle and now has a part to take."""
        with self.lock:
            self.versions[number] = self.versions.get(number, 0) + 1
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

    # -- the worker ---------------------------------------------------------------------
    def _next(self):
        return self.taken[-1].number + 1 if self.taken else 1

    def _rewind(self):
        """Drop the first taken part that was re-PUT since, and every one after it."""
        for i, t in enumerate(self.taken):
            if self.versions.get(t.number) != t.version:
                del self.taken[i:]
                return

    def _run(self):
        out = None
        try:
            fd = os.open(os.path.join(self.folder, ASSEMBLY), os.O_RDWR | os.O_CREAT, 0o600)
            out = os.fdopen(fd, "r+b")
            for number, version, f, start, sha in iter(self._claim, None):
                with f:
                    size = os.fstat(f.fileno()).st_size
                    out.seek(start)
                    out.truncate()
                    copy_stream(f, out, size, (sha,), parallel=False)
                out.flush()
                with self.lock:
                    self.taken.append(Taken(number, version, size, start + size, sha))
        except (OSError, ValueError):   # the folder went away (abort, complete) or disk full
            pass
        finally:
            with self.lock:
                if self.thread is threading.current_thread():
                    self.thread = None
            if out is not None:
                out.close()

    def _claim(self):
        """(number, version, open part file, offset, sha256) of the next part to append, or
        None (and the worker is no longer counted as running) when there is none yet."""
        with self.lock:
            self._rewind()
            number = self._next()
            version = self.versions.get(number)
            if not self.running or version is None:
                self.thread = None
                return None
            # Opened under the lock, after reading the version: a re-PUT bumps the version
            # only after replacing the file, so this file is at least as new as `version`.
            f = open(part_file(self.folder, number), "rb")
            if not self.taken:
                return number, version, f, 0, hashlib.sha256()
            last = self.taken[-1]
            return number, version, f, last.end, last.sha.copy()

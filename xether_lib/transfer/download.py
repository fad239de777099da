"""Downloading an artifact: resumable, verified, atomic (API.md §7).

`download_artifact(ctx, artifact_id, dest, ...)` is the one entry point (used by
`artifact download` and `dataset pull`). It reads the artifact's name, size and SHA-256
from the API, gets a pre-signed URL, streams it into `DEST.part` while hashing, resumes
with `Range` after drops and stalls, replaces an expired URL, checks size and SHA-256,
then moves the file onto DEST atomically. DEST is never touched before the bytes are
verified, and never without `force` when it exists.
"""

import os
import random
import time

from xether_lib.errors import (IntegrityError, Interrupted, NetworkError, StorageError,
                               UsageError)
from xether_lib.safe_names import safe_basename
from xether_lib.transfer.partfile import PartFile
from xether_lib.transfer.storage_errors import parse_storage_error

CHUNK = 1 << 20          # bytes per read from the network
MAX_FAILURES = 5         # consecutive failed attempts (no progress) before giving up
MAX_URL_REFRESHES = 3    # fresh pre-signed URLs after 403 answers
MAX_RESTARTS = 3         # times the .part may be emptied to start over
BACKOFF_BASE = 0.25
BACKOFF_CAP = 8.0


def normalize_sha256(value):
    """Lower-case hex of a SHA-256 (`sha256:` prefix and case tolerated), or None."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().lower()
    if text.startswith("sha256:"):
        text = text[len("sha256:"):].strip()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        return None
    return text


def _as_size(value):
    try:
        size = int(value)
    except (TypeError, ValueError):
        return None
    return size if size >= 0 else None


def target_path(dest, name, artifact_id):
    """The file to create: DEST itself, or DEST/<safe name> when DEST is a directory."""
    base = safe_basename(name, "artifact-%s" % artifact_id)
    if dest is None or dest == "":
        return os.path.abspath(base)
    if os.path.isdir(dest):
        return os.path.abspath(os.path.join(dest, base))
    if dest.endswith(("/", os.sep)):
        raise UsageError("directory %s does not exist" % dest)
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise UsageError("cannot save to %s: directory %s does not exist" % (dest, parent))
    return os.path.abspath(dest)


def check_target_free(path, force):
    """Exit 2 when `path` exists and --force was not given (it is never touched)."""
    if os.path.isdir(path):
        raise UsageError("%s is a directory" % path)
    if os.path.lexists(path) and not force:
        raise UsageError("%s already exists; not replacing it" % path,
                         hint="Pass --force to replace it (only after the new bytes are verified).")


def download_artifact(ctx, artifact_id, dest, force=False, expected_sha256=None,
                      expected_size=None, resume_hint=None, meta=None):
    """Download one artifact to `dest` (a directory or a file path); returns
    {"path", "size", "sha256", "verified"}. `expected_*` take precedence over the
    artifact's own metadata (`meta`, fetched when not given); `resume_hint` is the command
    line that resumes (shown as "Resume with: ..." after Ctrl-C)."""
    meta = meta if meta is not None else ctx.api.get_artifact(artifact_id)
    target = target_path(dest, meta.get("name"), artifact_id)
    check_target_free(target, force)
    sha = normalize_sha256(expected_sha256) or normalize_sha256(meta.get("checksum_sha256"))
    size = _as_size(expected_size if expected_size is not None else meta.get("size"))
    job = Download(ctx, artifact_id, target, size, sha, force, resume_hint)
    digest, got = job.run()
    if sha is None:
        ctx.out.warn("the server has no SHA-256 for artifact %s: %s was downloaded but could not "
                     "be verified (sha256 %s)" % (artifact_id, target, digest))
    return {"path": target, "size": got, "sha256": digest, "verified": sha is not None}


class Download(object):
    """One artifact into one target, with retries; `run()` -> (sha256 hex, size)."""

    def __init__(self, ctx, artifact_id, target, size, sha256, force=False, resume_hint=None):
        self.ctx = ctx
        self.force = force
        self.artifact_id = artifact_id
        self.target = target
        self.size = size
        self.sha256 = sha256
        self.resume_hint = resume_hint
        self.url = None
        self.refreshes = 0
        self.restarts = 0
        self.total = size  # what the store says the object's length is, once known

    def run(self):
        ident = {"artifact_id": str(self.artifact_id), "size": self.size, "sha256": self.sha256,
                 "api_url": self.ctx.settings.api_url}
        part = PartFile(self.target, ident).open()
        bar = LazyBar(self.ctx.out, self.size, os.path.basename(self.target))
        try:
            self._check_space(part)
            if part.resumed:
                bar.set(part.resumed)
            self._fetch(part, bar)
        except KeyboardInterrupt:
            self._stop(part, bar)
            raise self._interrupted(part)
        except IntegrityError:
            bar.close()
            part.discard()
            raise
        except BaseException:
            self._stop(part, bar)
            raise
        bar.close()
        return self._finish(part)

    @staticmethod
    def _stop(part, bar):
        """Close after a failure: keep a .part worth resuming, drop an empty one."""
        bar.close()
        if part.size:
            part.close()
        else:
            part.discard()

    def _check_space(self, part):
        if self.size is None:
            return
        import shutil

        try:
            free = shutil.disk_usage(os.path.dirname(self.target)).free
        except OSError:
            return
        needed = self.size - part.size
        if needed > free:
            raise UsageError("not enough disk space for %s: %d bytes needed, %d free"
                             % (self.target, needed, free))

    # -- the retry loop --------------------------------------------------------------------
    def _fetch(self, part, bar):
        failures = 0
        while not self._complete(part):
            before = part.size
            try:
                if self._attempt(part, bar):
                    return
            except NetworkError as exc:
                failures = 0 if part.size > before else failures + 1
                if failures >= MAX_FAILURES:
                    raise NetworkError("%s (gave up after %d attempts; %d bytes kept in %s)"
                                       % (exc.message, MAX_FAILURES, part.size, part.path),
                                       hint="Run the same command again to resume.")
                self._backoff(failures, exc)

    def _complete(self, part):
        return self.total is not None and part.size >= self.total and part.size > 0

    def _backoff(self, failures, exc):
        delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(failures - 1, 0))))
        if not self.ctx.out.quiet:
            self.ctx.out.warn("%s; resuming" % exc.message)
        time.sleep(delay)

    def _download_url(self):
        if self.url is None:
            self.url = self.ctx.api.artifact_download_url(self.artifact_id)
        return self.url

    def _attempt(self, part, bar):
        """One GET; True when the object was read to its end, False to try again now."""
        offset = part.size
        headers = {"Range": "bytes=%d-" % offset} if offset else {}
        resp = self.ctx.transport.request("GET", self._download_url(), headers=headers,
                                          stream=True)
        try:
            if resp.status >= 400:
                return self._refused(resp, part, bar)
            if not self._accept(resp, part, bar):
                return False
            self._stream(resp, part, bar)
        finally:
            resp.close()
        if self.total is not None and part.size < self.total:
            raise NetworkError("the connection to the store dropped after %d of %d bytes"
                               % (part.size, self.total))
        return True

    def _refused(self, resp, part, bar):
        err = parse_storage_error(resp, "downloading artifact %s" % self.artifact_id)
        if resp.status == 403 and self.refreshes < MAX_URL_REFRESHES:
            self.refreshes += 1       # an expired pre-signed URL: ask for a fresh one
            self.url = None
            return False
        if resp.status == 416 and part.size:
            self._restart(part, bar)  # our bytes do not fit the object: start over
            return False
        raise err

    def _restart(self, part, bar):
        """Empty the .part and start over (a bounded number of times)."""
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            raise StorageError("downloading artifact %s: the store's answers do not fit "
                               "together (restarted %d times)" % (self.artifact_id, MAX_RESTARTS))
        part.restart()
        bar.set(0)

    def _accept(self, resp, part, bar):
        """Check the answer fits our offset; restart the .part when it does not."""
        length = _as_size(resp.headers.get("Content-Length"))
        if resp.status == 206:
            start, total = _content_range(resp.headers.get("Content-Range"))
            if start != part.size:
                self._restart(part, bar)
                return False
            self._learn_total(total if total is not None else
                              (part.size + length if length is not None else None))
            return True
        if part.size:                 # 200: the store ignored Range; take the whole object
            self._restart(part, bar)
        self._learn_total(length)
        return True

    def _learn_total(self, total):
        if total is None:
            return
        if self.size is not None and total != self.size:
            raise IntegrityError("size mismatch for artifact %s: expected %d bytes, the store "
                                 "has %d" % (self.artifact_id, self.size, total),
                                 hint="%s was not changed." % self.target)
        self.total = total

    def _stream(self, resp, part, bar):
        read = resp.read
        write = part.write
        update = bar.update
        while True:
            data = read(CHUNK)
            if not data:
                return
            write(data)
            update(len(data))

    # -- the end ---------------------------------------------------------------------------
    def _finish(self, part):
        digest, got = part.hexdigest(), part.size
        problem = None
        if self.size is not None and got != self.size:
            problem = "size mismatch for artifact %s: expected %d bytes, got %d" % (
                self.artifact_id, self.size, got)
        elif self.sha256 is not None and digest != self.sha256:
            problem = "checksum mismatch for artifact %s: expected sha256 %s, got %s" % (
                self.artifact_id, self.sha256, digest)
        if problem:
            part.discard()
            raise IntegrityError(problem, hint="The bad bytes were removed; %s was not changed."
                                 % self.target)
        part.commit(self.force)
        return digest, got

    def _interrupted(self, part):
        if not part.size:
            return Interrupted("interrupted before any byte of %s arrived" % self.target)
        return Interrupted(
            "interrupted: %d bytes kept in %s for resuming" % (part.size, part.path),
            hint=("Resume with: %s" % self.resume_hint) if self.resume_hint
            else "Run the same command again to resume.")


class LazyBar(object):
    """A progress bar that appears with the first byte (none for a download that fails first)."""

    def __init__(self, out, total, label):
        self._args = (out, total, label)
        self._bar = None

    def _get(self):
        if self._bar is None:
            out, total, label = self._args
            self._bar = out.progress(total, label)
        return self._bar

    def update(self, nbytes):
        self._get().update(nbytes)

    def set(self, done):
        self._get().set(done)

    def close(self):
        if self._bar is not None:
            self._bar.close()


def _content_range(value):
    """(start, total) of `bytes START-END/TOTAL`; (None, None) when unreadable."""
    try:
        _, _, rest = (value or "").strip().partition(" ")
        span, _, total = rest.partition("/")
        start = int(span.split("-")[0])
        return start, (int(total) if total.strip() not in ("", "*") else None)
    except ValueError:
        return None, None

"""A multipart upload (API.md §5): parts sent in parallel threads, resumable.

`Plan` cuts the file into parts (the part size raised to stay within 10,000 parts).
`MultipartUpload.run()` sends the parts not yet stored from `concurrency` daemon worker
threads (each sends its range straight from the file: `PartBody`), while a `HashThread` hashes
the whole file sequentially; it records each finished part in the resume state, then checks
the file did not change and completes the upload with every part's ETag exactly as received.
An expired part URL (403 "Request has expired") gets a fresh URL; 5xx/429 answers are retried
by the transport. Errors are raised to the caller; `stop()` makes the workers give up (Ctrl-C).
"""

import threading

from xether_lib.errors import ApiError, IntegrityError, StorageError, XetherError
from xether_lib.transfer.hashing import HashThread, PartBody
from xether_lib.transfer.source import Cancelled
from xether_lib.transfer.storage_errors import is_expired, parse_storage_error

MiB = 1 << 20
MAX_PARTS = 10000
MAX_PART_SIZE = 5 << 30
URL_REFRESHES = 3
STOP_GRACE = 5.0


class Plan(object):
    def __init__(self, size, wanted_part_size):
        part_size = int(wanted_part_size)
        if size > part_size * MAX_PARTS:
            part_size = -(-size // MAX_PARTS)
            part_size = -(-part_size // MiB) * MiB
        self.size = size
        self.part_size = part_size
        self.count = max(1, -(-size // part_size))

    def range(self, number):
        offset = (number - 1) * self.part_size
        return offset, min(self.part_size, self.size - offset)


class MultipartUpload(object):
    """One upload: `artifact_id`/`upload_id` from initiate (or a resume state), `state` the
    UploadState to record parts in, `stored` {part number: etag} already on the server."""

    def __init__(self, ctx, source, plan, artifact_id, upload_id, state, stored, concurrency,
                 content_type, progress):
        self.ctx = ctx
        self.source = source
        self.plan = plan
        self.artifact_id = artifact_id
        self.upload_id = upload_id
        self.state = state
        self.etags = dict(stored)
        self.concurrency = max(1, int(concurrency))
        self.content_type = content_type
        self.progress = progress
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._todo = [n for n in range(1, plan.count + 1) if n not in self.etags]
        self._error = None

    def stop(self):
        self._stop.set()

    def stored_bytes(self):
        return sum(self.plan.range(n)[1] for n in self.etags)

    def run(self):
        """Send the missing parts; returns the SHA-256 of the whole file (not yet completed)."""
        hasher = HashThread(self.source, self._stop.is_set).start()
        if self.progress is not None:
            self.progress.set(self.stored_bytes())
        workers = [threading.Thread(target=self._worker, name="xether-part-%d" % i, daemon=True)
                   for i in range(min(self.concurrency, len(self._todo)))]
        for w in workers:
            w.start()
        self._wait(workers)
        if self._error is not None:
            raise self._error
        sha256 = hasher.result()
        self.source.check_unchanged()
        return sha256

    def _wait(self, workers):
        for w in workers:
            while w.is_alive() and self._error is None:
                w.join(0.2)  # short waits keep Ctrl-C responsive
        if self._error is not None:  # let the others notice the stop, within reason
            self._stop.set()
            for w in workers:
                w.join(STOP_GRACE / max(len(workers), 1))

    def _next(self):
        with self._lock:
            if self._stop.is_set() or self._error is not None or not self._todo:
                return None
            return self._todo.pop(0)

    def _worker(self):
        while True:
            number = self._next()
            if number is None:
                return
            try:
                etag = self._send_part(number)
            except Cancelled:
                return
            except Exception as exc:  # handed to the main thread
                with self._lock:
                    if self._error is None:
                        self._error = exc
                self._stop.set()
                return
            with self._lock:
                self.etags[number] = etag
            self.state.record_part(number, etag)

    def _send_part(self, number):
        offset, length = self.plan.range(number)
        body = PartBody(self.source, offset, length, self.progress, self._stop.is_set)
        headers = {"Content-Length": str(length), "Content-Type": self.content_type}
        for attempt in range(URL_REFRESHES + 1):
            url = self.ctx.api.multipart_part_url(self.artifact_id, self.upload_id, number)
            resp = self.ctx.transport.request("PUT", url["part_url"], headers=headers, body=body)
            if resp.status < 300:
                etag = resp.headers.get("ETag")
                if not etag:
                    raise StorageError("the store accepted part %d but sent no ETag" % number)
                return etag
            err = parse_storage_error(resp, "uploading part %d" % number)
            if not (is_expired(err) and attempt < URL_REFRESHES):
                raise err

    def parts(self):
        return [{"part_number": n, "etag": self.etags[n]} for n in sorted(self.etags)]

    def complete(self, sha256):
        """Tell the API the upload is whole; a size/checksum mismatch is an IntegrityError."""
        try:
            return self.ctx.api.complete_multipart(self.artifact_id, self.upload_id, self.parts(),
                                                   self.plan.size, sha256)
        except ApiError as exc:
            if exc.status == 422:
                raise IntegrityError("the store does not hold what was sent: %s" % exc.message)
            raise

    def abort(self):
        """Abort on the server (best effort: an old server may lack the route)."""
        try:
            self.ctx.api.abort_multipart(self.artifact_id, self.upload_id)
            return True
        except XetherError:  # best effort: the caller reports the real failure
            return False

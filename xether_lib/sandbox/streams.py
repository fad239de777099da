"""Streaming bytes between files and sockets for the local object store, hashed as they pass.

`copy_stream` moves exactly N bytes in 1 MiB chunks (never a whole object in memory), feeds
them to hashlib objects (for a large copy with several, in worker threads, so MD5 and SHA-256
run beside each other and the socket and disk I/O; a lone hasher, as for a part, runs inline:
no copy of each chunk, no hand-off) and can flip one byte (the `corrupt` fault). `blobs.py`
re-exports these names for the modules that imported them from there.
"""

import queue
import threading

CHUNK = 1 << 20
PARALLEL_HASH_MIN = 16 << 20


class ShortBody(ConnectionError):
    """The sender stopped before Content-Length bytes arrived."""


def copy_stream(src, dst, length, hashers=(), flip_at=None, parallel=True):
    """Copy exactly `length` bytes from `src` (readinto) to `dst` (write; None discards),
    updating `hashers`; flip one byte at offset `flip_at` (the corrupt fault). Returns the
    count; raises ShortBody if `src` ends early. Large copies with several hashers hash in
    worker threads unless `parallel` is false (a background copy that should not take more
    than one core)."""
    threaded = parallel and len(hashers) > 1 and length >= PARALLEL_HASH_MIN
    feed = _ThreadedHashers(hashers) if threaded else None
    buf = bytearray(min(CHUNK, max(length, 1)))
    view = memoryview(buf)
    done = 0
    try:
        while done < length:
            n = src.readinto(view[:min(len(buf), length - done)])
            if not n:
                raise ShortBody("body ended after %d of %d bytes" % (done, length))
            if flip_at is not None and done <= flip_at < done + n:
                buf[flip_at - done] ^= 0xFF
            chunk = view[:n]
            if feed:
                feed.update(chunk)
            else:
                for h in hashers:
                    h.update(chunk)
            if dst is not None:
                dst.write(chunk)
            done += n
    finally:
        if feed:
            feed.close()
    return done


class _ThreadedHashers(object):
    """Feeds each hasher from its own thread (hashlib releases the GIL on large updates)."""

    def __init__(self, hashers):
        self.queues = [queue.Queue(8) for _ in hashers]
        self.threads = [threading.Thread(target=_drain, args=(h, q), daemon=True)
                        for h, q in zip(hashers, self.queues)]
        for t in self.threads:
            t.start()

    def update(self, chunk):
        data = bytes(chunk)
        for q in self.queues:
            q.put(data)

    def close(self):
        for q in self.queues:
            q.put(None)
        for t in self.threads:
            t.join()


def _drain(hasher, q):
    for chunk in iter(q.get, None):
        hasher.update(chunk)

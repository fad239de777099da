"""A small chain of worker threads that process byte chunks in order, one stage each.

A download receives on the main thread while one thread writes the previous chunk and
another hashes the one before (system calls and hashlib on large buffers release the GIL),
so the three costs overlap instead of adding up. `Pipeline(stages, depth)`: `put(chunk)`
hands a chunk to the first stage (blocking when `depth` chunks wait), `drain()` waits until
every chunk went through every stage and raises the first error a stage hit; after an
error the later chunks are dropped and every later `put`/`drain` raises it again. `close()` stops the threads.
"""

import queue
import threading

_STOP = object()


class Pipeline(object):
    def __init__(self, stages, depth=4):
        self._queues = [queue.Queue(maxsize=depth) for _ in stages]
        self._error = None
        self._pending = 0
        self._cond = threading.Condition()
        self._threads = []
        for i, stage in enumerate(stages):
            out = self._queues[i + 1] if i + 1 < len(stages) else None
            t = threading.Thread(target=self._run, args=(stage, self._queues[i], out),
                                 name="xether-pipe-%d" % i, daemon=True)
            t.start()
            self._threads.append(t)

    def _run(self, stage, inbox, outbox):
        while True:
            chunk = inbox.get()
            if chunk is _STOP:
                if outbox is not None:
                    outbox.put(_STOP)
                return
            if self._error is None:
                try:
                    stage(chunk)
                except BaseException as exc:  # handed to the main thread by drain()
                    self._error = exc
                    with self._cond:
                        self._cond.notify_all()
            if outbox is not None:
                outbox.put(chunk)
            else:
                self._done()

    def _done(self):
        with self._cond:
            self._pending -= 1
            self._cond.notify_all()

    def put(self, chunk):
        if self._error is not None:
            self.drain()
        with self._cond:
            self._pending += 1
        self._queues[0].put(chunk)

    def drain(self):
        with self._cond:
            while self._pending > 0 and self._error is None:
                self._cond.wait(0.5)
        if self._error is not None:
            raise self._error

    def close(self):
        """Stop the threads after the chunks already handed in (errors are dropped)."""
        if self._threads:
            self._queues[0].put(_STOP)
            for t in self._threads:
                t.join()
            self._threads = []

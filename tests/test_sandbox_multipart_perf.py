"""The local store builds a multipart object while its parts arrive (sandbox/assembler.py), so
completing an upload only finishes what is left. These tests check that the shortcut never
changes the result: parts out of order, parts re-PUT after they were taken (with other or
the same bytes), completions naming fewer parts or skipping some, a restart of the store, an
abort while the worker runs and concurrent PUTs. Every object is checked byte for byte, with
its SHA-256 and its `<md5 of md5s>-N` ETag, over real HTTP (pre-signed URLs)."""

import hashlib
import os
import random
import threading
import time

from test_sandbox_store import MIB, request, store  # noqa: F401 (fixture)
from test_sandbox_store_faults import put_part
from xether_lib.sandbox.faults import Faults, RequestLog
from xether_lib.sandbox.store import Store

B = "datasets"
PART = 5 * MIB


def upload_dir(st, uid):
    return os.path.join(st.data_dir, "blobs", "uploads", uid)


def wait_hashed(st, uid, count, timeout=20.0):
    """Wait until the background worker has hashed `count` parts of the upload."""
    deadline = time.time() + timeout
    while st.blobs.hashed_parts(uid) != count:
        assert time.time() < deadline, "only %d parts hashed" % st.blobs.hashed_parts(uid)
        time.sleep(0.01)


def complete_and_check(st, key, uid, parts):
    """Complete with `parts` [(number, etag, bytes)]; check the object is exactly their bytes."""
    expected = b"".join(data for _, _, data in parts)
    done = st.complete_multipart(B, key, uid, [{"part_number": n, "etag": e} for n, e, _ in
                                               parts])
    assert done == {"size": len(expected), "sha256": hashlib.sha256(expected).hexdigest()}
    digests = b"".join(bytes.fromhex(e.strip('"')) for _, e, _ in parts)
    assert st.stat(B, key)["etag"] == '"%s-%d"' % (hashlib.md5(digests).hexdigest(), len(parts))
    assert request(st.presign_get(B, key, 60)).body == expected
    assert os.listdir(os.path.join(st.data_dir, "blobs", "tmp")) == []
    assert not os.path.exists(upload_dir(st, uid))


def send(st, key, uid, number, data):
    return number, put_part(st, key, uid, number, data), data


def test_out_of_order_parts_and_reput_after_hashing(store):
    uid = store.initiate_multipart(B, "ooo")
    data = [os.urandom(PART + 1), os.urandom(PART), os.urandom(PART + 7), os.urandom(1000)]
    sent = {}
    for n in (3, 1, 4, 2):
        sent[n] = send(store, "ooo", uid, n, data[n - 1])
    wait_hashed(store, uid, 4)
    sent[2] = send(store, "ooo", uid, 2, os.urandom(PART))        # other bytes, same size
    sent[1] = send(store, "ooo", uid, 1, data[0])                   # the same bytes again
    complete_and_check(store, "ooo", uid, [sent[n] for n in (1, 2, 3, 4)])


def test_reput_with_another_size_then_complete_at_once(store):
    for attempt in range(3):   # complete races the worker's redo: either way, the same object
        key = "race%d" % attempt
        uid = store.initiate_multipart(B, key)
        sent = [send(store, key, uid, n, os.urandom(PART)) for n in (1, 2, 3)]
        wait_hashed(store, uid, 3)
        sent[0] = send(store, key, uid, 1, os.urandom(PART + 4096))
        complete_and_check(store, key, uid, sent)


def test_completion_with_fewer_or_skipped_parts(store):
    uid = store.initiate_multipart(B, "skip")
    sent = [send(store, "skip", uid, n, os.urandom(PART)) for n in (1, 2, 3, 4)]
    wait_hashed(store, uid, 4)
    complete_and_check(store, "skip", uid, [sent[0], sent[2], sent[3]])
    uid = store.initiate_multipart(B, "fewer")
    sent = [send(store, "fewer", uid, n, os.urandom(PART)) for n in (1, 2, 3)]
    wait_hashed(store, uid, 3)
    complete_and_check(store, "fewer", uid, sent[:2])
    uid = store.initiate_multipart(B, "no-first")
    sent = [send(store, "no-first", uid, n, os.urandom(PART)) for n in (2, 3)]
    complete_and_check(store, "no-first", uid, sent)


def serve(st):
    server = st.make_storage_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    st.set_public_base_url("http://127.0.0.1:%d" % server.server_address[1])
    return server


def test_a_restart_forgets_the_running_hash_but_not_the_parts(store):
    uid = store.initiate_multipart(B, "restart")
    sent = [send(store, "restart", uid, n, os.urandom(PART)) for n in (1, 2, 3)]
    wait_hashed(store, uid, 3)
    other = store.initiate_multipart(B, "restart-2")
    more = [send(store, "restart-2", other, n, os.urandom(PART)) for n in (1, 2)]
    again = Store(store.data_dir, b"test-secret", Faults(True), RequestLog(True))
    server = serve(again)
    try:
        sent[1] = send(again, "restart", uid, 2, os.urandom(PART))   # taken before the restart
        sent.append(send(again, "restart", uid, 4, os.urandom(100)))
        wait_hashed(again, uid, 4)   # the parts from before are hashed again
        complete_and_check(again, "restart", uid, sent)
        complete_and_check(again, "restart-2", other, more)   # nothing new: all done here
    finally:
        server.shutdown()
        server.server_close()


def assembly_threads():
    return [t for t in threading.enumerate() if t.name == "assembly"]


def test_abort_while_assembling_leaves_nothing_behind(store):
    uid = store.initiate_multipart(B, "gone")
    for n in (1, 2, 3, 4):
        send(store, "gone", uid, n, os.urandom(PART))
    store.abort_multipart(B, "gone", uid)
    deadline = time.time() + 10
    while assembly_threads() and time.time() < deadline:
        time.sleep(0.01)
    assert assembly_threads() == []
    blobs = os.path.join(store.data_dir, "blobs")
    assert os.listdir(os.path.join(blobs, "tmp")) == []
    assert os.listdir(os.path.join(blobs, "uploads")) == []


def test_concurrent_parts_and_reputs(store):
    uid = store.initiate_multipart(B, "busy")
    sizes = [PART] * 7 + [12345]
    latest, lock = {}, threading.Lock()

    def worker(numbers, seed):
        rnd = random.Random(seed)
        for n in numbers:
            for _ in range(rnd.choice((1, 1, 2, 3))):
                data = os.urandom(sizes[n - 1]) if rnd.random() < 0.7 else \
                    latest.get(n, (0, 0, os.urandom(sizes[n - 1])))[2]
                got = send(store, "busy", uid, n, data)
                with lock:
                    latest[n] = got

    threads = [threading.Thread(target=worker, args=(range(k, 9, 4), k)) for k in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    complete_and_check(store, "busy", uid, [latest[n] for n in range(1, 9)])


def test_parts_that_do_not_lie_end_to_end(store):
    # The first PUT sets the slot stride: here the smaller last part, so the larger ones get
    # files of their own and completion copies every part into a new file.
    uid = store.initiate_multipart(B, "uneven")
    sent = {3: send(store, "uneven", uid, 3, os.urandom(PART))}
    for n in (1, 2):
        sent[n] = send(store, "uneven", uid, n, os.urandom(PART + 1000 * n))
    wait_hashed(store, uid, 3)
    complete_and_check(store, "uneven", uid, [sent[n] for n in (1, 2, 3)])
    assert [p["part_number"] for p in store.list_parts(B, "k", store.initiate_multipart(
        B, "k"))] == []

"""The local object store's disk layout: objects, multipart uploads and their parts.

Under `<data_dir>/blobs/`:
- `objects/<h[:2]>/<h>.data` and `<h>.json` (size, sha256, etag, content type), where `h` is
  the SHA-256 of `bucket + "\\n" + key`, so no key can name a path of its own;
- `uploads/<upload_id>/upload.json` and `<part number>.part` / `.json` (etag, size), and
  `assembly.data`, the object being built from the parts while they arrive (`assembler.py`);
- `tmp/` for files being written; everything lands by `os.replace`.
Bytes are streamed in 1 MiB chunks (`copy_stream`), hashed as they pass; data and its JSON
side file change together under one lock, so readers never see one without the other.
Completing a multipart upload renames the assembly into place after appending (and hashing)
only the parts its background worker has not taken yet.
"""

import hashlib
import json
import os
import re
import secrets
import shutil
import threading
import time

from .assembler import ASSEMBLY, Assembly, open_part, part_file, resume_point
from .storeerror import StoreError, no_such_upload
from .streams import copy_stream

MIN_PART = 5 << 20
SLOT_LIMIT = 1 << 40   # no part is written past 1 TiB into an assembly
MAX_PART_NUMBER = 10000
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def check_names(bucket, key):
    if not isinstance(bucket, str) or not _BUCKET.match(bucket):
        raise StoreError(400, "InvalidBucketName", "The specified bucket is not valid.")
    if not isinstance(key, str) or not key or len(key.encode("utf-8")) > 1024 or "\0" in key:
        raise StoreError(400, "KeyTooLongError" if key and len(key) > 1024 else "InvalidArgument",
                         "The object key must be 1 to 1024 bytes of UTF-8.")


def check_part_number(part_number):
    try:
        number = int(part_number)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= MAX_PART_NUMBER:
        raise StoreError(400, "InvalidArgument",
                         "Part number must be an integer between 1 and %d, inclusive"
                         % MAX_PART_NUMBER)
    return number


def bare_etag(etag):
    return str(etag).strip().strip('"').lower()


def write_json(path, obj):
    tmp = "%s.%s.tmp" % (path, secrets.token_hex(4))
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class Blobs(object):
    def __init__(self, root):
        self.root = root
        self.lock = threading.Lock()
        self._assemblies = {}   # upload id -> Assembly (memory only)
        shutil.rmtree(os.path.join(root, "tmp"), ignore_errors=True)   # left by a crash
        for sub in ("objects", "uploads", "tmp"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)

    # -- files --------------------------------------------------------------------------
    def _object_base(self, bucket, key):
        h = hashlib.sha256(("%s\n%s" % (bucket, key)).encode("utf-8")).hexdigest()
        return os.path.join(self.root, "objects", h[:2], h)

    def _upload_dir(self, upload_id):
        if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
            raise no_such_upload()
        return os.path.join(self.root, "uploads", upload_id)

    def _receive(self, src, length, hashers, flip_at=None):
        """Stream `length` bytes of `src` into a new temp file; returns its path."""
        path = os.path.join(self.root, "tmp", secrets.token_hex(12))
        try:
            with open(path, "wb") as f:
                copy_stream(src, f, length, hashers, flip_at)
        except BaseException:
            _remove(path)
            raise
        return path

    # -- objects ------------------------------------------------------------------------
    def _commit_object(self, tmp, bucket, key, meta):
        base = self._object_base(bucket, key)
        os.makedirs(os.path.dirname(base), exist_ok=True)
        with self.lock:
            os.replace(tmp, base + ".data")
            write_json(base + ".json", meta)
        return meta

    def put(self, bucket, key, src, length, content_type=None, flip_at=None):
        md5, sha = hashlib.md5(), hashlib.sha256()
        tmp = self._receive(src, length, (md5, sha), flip_at)
        return self._commit_object(tmp, bucket, key, _object_meta(
            bucket, key, length, sha.hexdigest(), md5.hexdigest(), content_type))

    def stat(self, bucket, key):
        return read_json(self._object_base(bucket, key) + ".json")

    def open(self, bucket, key):
        """(meta, binary file) of an object, consistent with each other; NoSuchKey if absent."""
        base = self._object_base(bucket, key)
        with self.lock:
            meta = read_json(base + ".json")
            try:
                f = open(base + ".data", "rb") if meta else None
            except OSError:
                f = None
        if f is None:
            raise StoreError(404, "NoSuchKey")
        return meta, f

    def delete(self, bucket, key):
        base = self._object_base(bucket, key)
        with self.lock:
            existed = os.path.exists(base + ".json")
            _remove(base + ".json")
            _remove(base + ".data")
        return existed

    # -- multipart ----------------------------------------------------------------------
    def initiate(self, bucket, key, content_type=None):
        upload_id = secrets.token_hex(16)
        os.makedirs(self._upload_dir(upload_id))
        write_json(os.path.join(self._upload_dir(upload_id), "upload.json"), {
            "bucket": bucket, "key": key, "content_type": content_type,
            "initiated": time.time()})
        return upload_id

    def upload(self, bucket, key, upload_id):
        """The upload's directory, after checking it exists for this bucket and key."""
        folder = self._upload_dir(upload_id)
        meta = read_json(os.path.join(folder, "upload.json"))
        if not meta or meta["bucket"] != bucket or meta["key"] != key:
            raise no_such_upload()
        return folder, meta

    def put_part(self, bucket, key, upload_id, part_number, src, length, flip_at=None):
        self.upload(bucket, key, upload_id)
        number = check_part_number(part_number)
        md5, tmp = hashlib.md5(), None
        with self.lock:
            folder, meta = self.upload(bucket, key, upload_id)
            assembly = self._assembly(upload_id, folder)
            offset = self._slot(folder, meta, number, length)
            if offset is not None and not assembly.claim(number):
                offset = None
        try:
            if offset is None:
                tmp = self._receive(src, length, (md5,), flip_at)
            else:
                assembly.write_slot(number, src, offset, length, (md5,), flip_at)
            etag = '"%s"' % md5.hexdigest()
            with self.lock:
                folder, _ = self.upload(bucket, key, upload_id)
                path = part_file(folder, number)
                if tmp:
                    os.replace(tmp, path)
                else:
                    _remove(path)   # an older version of the part, in a file of its own
                assembly.stored(number, length, offset)
                part = {"part_number": number, "etag": etag, "size": length}
                if offset is not None:
                    part["offset"] = offset
                write_json(path[:-len(".part")] + ".json", part)
        finally:
            if offset is not None:
                assembly.release(number)
            if tmp:
                _remove(tmp)
        return etag

    def _slot(self, folder, meta, number, length):
        """Where in the assembly part `number` is written, or None for a file of its own: only
        a first PUT, into a slot of the upload's stride (the first large part's size)."""
        if os.path.exists(part_file(folder, number)[:-len(".part")] + ".json"):
            return None   # stored before: its slot may be being read
        stride = meta.get("stride")
        if stride is None and length >= MIN_PART:
            stride = meta["stride"] = length
            write_json(os.path.join(folder, "upload.json"), meta)
        if stride is None or length > stride or (number - 1) * stride + length > SLOT_LIMIT:
            return None
        return (number - 1) * stride

    def list_parts(self, bucket, key, upload_id):
        with self.lock:
            folder, _ = self.upload(bucket, key, upload_id)
            parts = sorted(self._parts_unlocked(folder), key=lambda p: p["part_number"])
        return [dict((k, p[k]) for k in ("part_number", "etag", "size")) for p in parts]

    def abort(self, bucket, key, upload_id):
        with self.lock:
            folder, _ = self.upload(bucket, key, upload_id)
            gone = os.path.join(self.root, "tmp", "aborted-" + upload_id)
            os.replace(folder, gone)
            assembly = self._assemblies.pop(upload_id, None)
        if assembly is not None:
            assembly.stop(wait=False)
        shutil.rmtree(gone, ignore_errors=True)

    def complete(self, bucket, key, upload_id, parts):
        """Check `parts` as S3 does, then finish the assembly into the object."""
        with self.lock:
            folder, meta = self.upload(bucket, key, upload_id)
            stored = {p["part_number"]: p for p in self._parts_unlocked(folder)}
            chosen = check_completion(parts, stored)
            work = os.path.join(self.root, "tmp", "completing-" + upload_id)
            os.replace(folder, work)
            assembly = self._assemblies.pop(upload_id, None)
        try:
            taken = assembly.stop() if assembly is not None else []
            return self._concatenate(work, bucket, key, chosen, meta, taken)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def hashed_parts(self, upload_id):
        """How many parts the upload's background worker has hashed so far (tests, debugging)."""
        with self.lock:
            assembly = self._assemblies.get(upload_id)
        return assembly.hashed() if assembly is not None else 0

    def _assembly(self, upload_id, folder):
        """The upload's Assembly (call with the lock held); a new one after a restart starts
        from the parts already in the folder."""
        assembly = self._assemblies.get(upload_id)
        if assembly is None:
            parts = self._parts_unlocked(folder)
            assembly = self._assemblies[upload_id] = Assembly(folder, parts)
        return assembly

    def _parts_unlocked(self, folder):
        names = [n for n in os.listdir(folder) if n.endswith(".json") and n[0].isdigit()]
        return [p for p in (read_json(os.path.join(folder, n)) for n in names) if p]

    def _concatenate(self, work, bucket, key, chosen, meta, taken):
        """Hash the chosen parts not taken yet; the assembly, with any part stored in a file of
        its own copied into its slot, is the object when the parts lie end to end there, else
        every part is copied into a new file."""
        done, sha = resume_point(taken, chosen)
        stride, total = meta.get("stride"), sum(p["size"] for p in chosen)
        in_place = stride and all(p["part_number"] == i + 1 and p["size"] <= stride
                                  for i, p in enumerate(chosen)) and \
            all(p["size"] == stride for p in chosen[:-1])
        path = os.path.join(work, ASSEMBLY if in_place else "object.data")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+b") as out:
            for i, p in enumerate(chosen):
                hashers = (sha,) if i >= done else ()
                if in_place and "offset" in p and not hashers:
                    continue
                if in_place:
                    out.seek((p["part_number"] - 1) * stride)
                with open_part(work, p["part_number"], p.get("offset")) as src:
                    dst = None if in_place and "offset" in p else out
                    copy_stream(src, dst, p["size"], hashers)
                out.flush()
            out.truncate(total)
        digests = b"".join(bytes.fromhex(bare_etag(p["etag"])) for p in chosen)
        etag = "%s-%d" % (hashlib.md5(digests).hexdigest(), len(chosen))
        return self._commit_object(path, bucket, key, _object_meta(
            bucket, key, total, sha.hexdigest(), etag, meta.get("content_type")))


def check_order(parts):
    """The part numbers of a CompleteMultipartUpload list, checked to be ascending."""
    if not parts:
        raise StoreError(400, "MalformedXML", "You must specify at least one part")
    numbers = []
    for p in parts:
        try:
            numbers.append(int(p["part_number"]))
        except (KeyError, TypeError, ValueError):
            raise StoreError(400, "InvalidPart", "Each part needs a part_number and an etag.")
    if any(b <= a for a, b in zip(numbers, numbers[1:])):
        raise StoreError(400, "InvalidPartOrder",
                         "The list of parts was not in ascending order. Parts must be ordered "
                         "by part number.")
    return numbers


def check_completion(parts, stored):
    """The stored parts named by a CompleteMultipartUpload list, in order; S3's errors."""
    numbers = check_order(parts)
    chosen = []
    for number, p in zip(numbers, parts):
        have = stored.get(number)
        if have is None or bare_etag(have["etag"]) != bare_etag(p.get("etag", "")):
            raise StoreError(400, "InvalidPart",
                             "One or more of the specified parts could not be found. The part "
                             "may not have been uploaded, or the specified entity tag may not "
                             "match the part's entity tag. (part %d)" % number)
        chosen.append(have)
    for have in chosen[:-1]:
        if have["size"] < MIN_PART:
            raise StoreError(400, "EntityTooSmall",
                             "Your proposed upload is smaller than the minimum allowed size "
                             "(part %d is %d bytes; every part but the last needs at least %d)"
                             % (have["part_number"], have["size"], MIN_PART))
    return chosen


def _object_meta(bucket, key, size, sha256, etag, content_type):
    return {"bucket": bucket, "key": key, "size": size, "sha256": sha256,
            "etag": '"%s"' % bare_etag(etag), "content_type": content_type,
            "modified": time.time()}


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass

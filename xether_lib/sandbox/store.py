"""The sandbox's object store: the one interface the API server uses for bytes.

`Store` hands out pre-signed URLs and manages objects and multipart uploads, in one of two modes:
- local (default): blobs on disk under `<data_dir>/blobs` (`blobs.py`), served by the sandbox
  itself at `<public_base_url>/_storage/<bucket>/<key>?X-Xether-Expires=..&X-Xether-Signature=..`
  (`storage_http.py`), with the test-hook faults and the request log;
- S3 (`s3=dict(endpoint, region, access_key, secret_key)`): AWS SigV4 pre-signed URLs and
  header-signed API calls to a real S3-compatible service (`sigv4.py`, `s3client.py`); the
  sandbox then serves no storage traffic itself.

A local signature is HMAC-SHA256(secret) over method, bucket, key, upload id, part number,
expiry and, when the URL was signed for one (`X-Xether-SignedHeaders=content-type`), the
Content-Type the PUT must carry (as S3 does when a content type is part of the signature).
"""

import hashlib
import hmac
import io
import os
import threading
import time
from urllib.parse import quote, urlencode

from .blobs import Blobs, check_names, check_part_number
from .storage_http import PREFIX, StorageHandler
from .storeerror import StoreError, expired

__all__ = ["Store", "StoreError"]


class Store(object):
    def __init__(self, data_dir, secret, faults, request_log, public_base_url=None, s3=None):
        self.data_dir = data_dir
        self.secret = secret if isinstance(secret, bytes) else str(secret).encode("utf-8")
        self.faults = faults
        self.request_log = request_log
        self.public_base_url = None
        self.set_public_base_url(public_base_url)
        self.s3 = None
        self._sha_cache = {}
        self._cache_lock = threading.Lock()
        if s3:
            from .s3client import S3Client
            self.s3 = S3Client(s3["endpoint"], s3.get("region") or "us-east-1",
                               s3["access_key"], s3["secret_key"])
        self.blobs = None if s3 else Blobs(os.path.join(data_dir, "blobs"))
        self._http = StorageHandler(self)

    def set_public_base_url(self, url):
        self.public_base_url = url.rstrip("/") if url else None

    # -- pre-signed URLs ----------------------------------------------------------------
    def presign_put(self, bucket, key, expires_in, content_type=None):
        return self._presign("PUT", bucket, key, expires_in, content_type=content_type)

    def presign_get(self, bucket, key, expires_in):
        return self._presign("GET", bucket, key, expires_in)

    def presign_part(self, bucket, key, upload_id, part_number, expires_in):
        number = check_part_number(part_number)
        return self._presign("PUT", bucket, key, expires_in,
                             {"uploadId": upload_id, "partNumber": str(number)})

    def _presign(self, method, bucket, key, expires_in, extra=None, content_type=None):
        check_names(bucket, key)
        if self.s3:
            return self.s3.presign(method, bucket, key, expires_in, extra)
        if not self.public_base_url:
            raise StoreError(500, "InternalError", "the storage URL is not known yet")
        expires = int(time.time()) + max(int(expires_in), 1)
        query = dict(extra or {})
        query["X-Xether-Expires"] = str(expires)
        if content_type:
            query["X-Xether-SignedHeaders"] = "content-type"
        query["X-Xether-Signature"] = self._signature(method, bucket, key, query, content_type)
        return "%s%s%s/%s?%s" % (self.public_base_url, PREFIX, quote(bucket),
                                 quote(key, safe="/~"), urlencode(query))

    def _signature(self, method, bucket, key, query, content_type):
        signed_type = content_type if query.get("X-Xether-SignedHeaders") == "content-type" else ""
        text = "\n".join([method, bucket, key, query.get("uploadId", ""),
                          query.get("partNumber", ""), query.get("X-Xether-Expires", ""),
                          signed_type or ""])
        return hmac.new(self.secret, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def check_signature(self, method, bucket, key, query, content_type):
        """Raise the 403 S3 would give a tampered, incomplete or expired pre-signed URL."""
        given, expires = query.get("X-Xether-Signature"), query.get("X-Xether-Expires")
        if not given or not expires:
            raise StoreError(403, "AccessDenied", "Query-string authentication requires the "
                             "X-Xether-Signature and X-Xether-Expires parameters")
        signed_as = "GET" if method == "HEAD" else method
        wanted = self._signature(signed_as, bucket, key, query, content_type)
        if not hmac.compare_digest(wanted, given):
            raise StoreError(403, "SignatureDoesNotMatch", "The request signature we calculated "
                             "does not match the signature you provided.")
        if not expires.isdigit() or int(expires) < time.time():
            raise expired()

    # -- multipart ----------------------------------------------------------------------
    def initiate_multipart(self, bucket, key, content_type=None):
        check_names(bucket, key)
        if self.s3:
            return self.s3.create_multipart(bucket, key, content_type)
        return self.blobs.initiate(bucket, key, content_type)

    def list_parts(self, bucket, key, upload_id):
        check_names(bucket, key)
        if self.s3:
            return self.s3.list_parts(bucket, key, upload_id)
        return self.blobs.list_parts(bucket, key, upload_id)

    def complete_multipart(self, bucket, key, upload_id, parts):
        check_names(bucket, key)
        if self.s3:
            self.s3.complete_multipart(bucket, key, upload_id, parts)
            return _summary(self.stat(bucket, key))
        return _summary(self.blobs.complete(bucket, key, upload_id, parts))

    def abort_multipart(self, bucket, key, upload_id):
        check_names(bucket, key)
        if self.s3:
            return self.s3.abort_multipart(bucket, key, upload_id)
        return self.blobs.abort(bucket, key, upload_id)

    # -- objects ------------------------------------------------------------------------
    def stat(self, bucket, key):
        """{"size", "sha256", "etag", "content_type"} of an object, or None."""
        check_names(bucket, key)
        if not self.s3:
            meta = self.blobs.stat(bucket, key)
            return meta and dict((k, meta.get(k)) for k in ("size", "sha256", "etag",
                                                            "content_type"))
        head = self.s3.head_object(bucket, key)
        if head is None:
            return None
        head["sha256"] = self._s3_sha256(bucket, key, head["etag"])
        return head

    def _s3_sha256(self, bucket, key, etag):
        with self._cache_lock:
            known = self._sha_cache.get((bucket, key, etag))
        if known:
            return known
        sha = hashlib.sha256()
        with self.s3.get_object(bucket, key) as body:
            for chunk in iter(lambda: body.read(1 << 20), b""):
                sha.update(chunk)
        self._remember(bucket, key, etag, sha.hexdigest())
        return sha.hexdigest()

    def _remember(self, bucket, key, etag, sha256):
        with self._cache_lock:
            self._sha_cache[(bucket, key, etag)] = sha256

    def delete(self, bucket, key):
        check_names(bucket, key)
        if self.s3:
            return self.s3.delete_object(bucket, key)
        return self.blobs.delete(bucket, key)

    def open_read(self, bucket, key):
        check_names(bucket, key)
        if self.s3:
            return self.s3.get_object(bucket, key)
        return self.blobs.open(bucket, key)[1]

    def put_object(self, bucket, key, data_bytes_or_file, content_type=None):
        check_names(bucket, key)
        src = data_bytes_or_file
        if isinstance(src, (bytes, bytearray, memoryview)):
            src = io.BytesIO(bytes(src))
        length = _remaining(src)
        if self.s3:
            etag, sha256 = self.s3.put_object(bucket, key, src, length, content_type)
            self._remember(bucket, key, etag, sha256)
            return {"size": length, "sha256": sha256}
        return _summary(self.blobs.put(bucket, key, src, length, content_type))

    # -- serving ------------------------------------------------------------------------
    def handles(self, path):
        return self.s3 is None and path.startswith(PREFIX)

    def handle(self, handler):
        self._http.handle(handler)

    def make_storage_server(self, host, port):
        from .storage_server import make_server
        return make_server(self, host, port)


def _summary(meta):
    return {"size": meta["size"], "sha256": meta["sha256"]}


def _remaining(f):
    """Bytes left in a seekable binary file from its current position."""
    here = f.tell()
    end = f.seek(0, io.SEEK_END)
    f.seek(here)
    return end - here

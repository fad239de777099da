"""Serving pre-signed object traffic (`/_storage/<bucket>/<key>?...`) of the local store.

One `StorageHandler.handle(h)` call answers one request on a `BaseHTTPRequestHandler`
(HTTP/1.1 keep-alive: every answer has a Content-Length and every request body is consumed or
the connection is closed). Order: refuse header credentials (400), check the signature and
expiry (403), apply an injected fault (test hooks), then PUT (object or part) or GET/HEAD with
Range. Every request is recorded in the request log.

Faults (see docs/ARCHITECTURE.md): `drop_after` {bytes}, `stall` {seconds, when: "before" |
"mid"; a GET stalls mid-body by default, a PUT before its answer}, `error` {status, body,
headers, content_type}, `expire`, `corrupt` (GET: one byte of the body flipped; PUT: one
byte of the stored data flipped), `ignore_range`.
"""

import email.utils
import socket
import time
from urllib.parse import parse_qsl, unquote, urlsplit

from .storeerror import DEFAULT_CODES, StoreError, expired
from .streams import ShortBody, copy_stream

PREFIX = "/_storage/"
_HIDDEN = ("X-Xether-Signature", "X-Amz-Signature")
_WRITES = ("PUT", "POST", "DELETE")


class Exchange(object):
    """One request and what became of it (for the request log)."""

    def __init__(self, h):
        self.h = h
        self.method = h.command.upper()
        parts = urlsplit(h.path)
        self.path = parts.path
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.target = "storage-put" if self.method in _WRITES else "storage-get"
        self.range = h.headers.get("Range")
        self.status = None
        self.bytes = 0
        self.fault = None
        self.body_left = True   # request body not yet consumed
        self.logged = False

    def part_number(self):
        try:
            return int(self.query["partNumber"])
        except (KeyError, ValueError):
            return None

    def log_entry(self):
        return dict(target=self.target, method=self.method, path=self.path,
                    query={k: v for k, v in self.query.items() if k not in _HIDDEN},
                    range=self.range, part_number=self.part_number(), status=self.status,
                    bytes=self.bytes, fault=self.fault and self.fault.get("action"))


class StorageHandler(object):
    def __init__(self, store):
        self.store = store

    def handle(self, h):
        x = Exchange(h)
        try:
            try:
                self._serve(x)
            except StoreError as e:
                if x.status is not None:
                    raise ShortBody("failed after the answer began: %s" % e)
                self._answer(x, e.status, e.xml(), "application/xml")
        except (ShortBody, ConnectionError, socket.timeout):
            drop(h)
        finally:
            self._log(x)

    def _log(self, x):
        """Record the request once, before its last bytes go out, so that a client that has
        its answer always finds the entry in the log."""
        if not x.logged:
            x.logged = True
            self.store.request_log.record(**x.log_entry())

    def _serve(self, x):
        h = x.h
        x.fault = self.store.faults.take(x.target, x.method, x.path)
        if h.headers.get("Authorization") or h.headers.get("X-API-Key"):
            raise StoreError(400, "InvalidArgument", "Only one auth mechanism allowed; a "
                             "pre-signed request must not carry Authorization or X-API-Key")
        bucket, key = split_path(x.path)
        self.store.check_signature(x.method, bucket, key, x.query, h.headers.get("Content-Type"))
        action = x.fault and x.fault["action"]
        if action == "expire":
            raise expired()
        if action == "error":
            return self._fault_error(x)
        if action == "stall" and x.method != "PUT" and (
                x.method == "HEAD" or x.fault.get("when") == "before"):
            time.sleep(float(x.fault.get("seconds", 1)))
        if x.method == "PUT":
            return self._put(x, bucket, key)
        if x.method in ("GET", "HEAD"):
            return self._get(x, bucket, key)
        raise StoreError(405, "MethodNotAllowed",
                         "The specified method is not allowed against this resource.")

    # -- answers ------------------------------------------------------------------------
    def _send_head(self, x, status, headers, body_bytes=None):
        h = x.h
        x.status = status
        if body_bytes is not None:
            x.bytes = body_bytes
        self._log(x)
        h.send_response(status)
        for name, value in headers:
            h.send_header(name, value)
        h.end_headers()

    def _answer(self, x, status, body=b"", content_type=None, headers=()):
        self._consume(x)
        head = list(headers) + [("Content-Length", str(len(body)))]
        if content_type:
            head.append(("Content-Type", content_type))
        if x.h.close_connection:
            head.append(("Connection", "close"))
        self._send_head(x, status, head)
        if x.method != "HEAD" and body:
            x.h.wfile.write(body)

    def _fault_error(self, x):
        spec = x.fault
        status = int(spec.get("status", 503))
        body = spec.get("body")
        if body is None:
            code = DEFAULT_CODES.get(status, "InternalError")
            body, ctype = StoreError(status, code).xml(), "application/xml"
        else:
            body = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            ctype = spec.get("content_type") or (
                "application/xml" if body.lstrip().startswith(b"<") else "text/plain")
        self._answer(x, status, body, ctype,
                    sorted((spec.get("headers") or {}).items()))

    def _consume(self, x):
        """Read and discard a request body not read yet, or mark the connection to close."""
        if not x.body_left:
            return
        x.body_left = False
        h = x.h
        if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
            h.close_connection = True
            return
        try:
            length = int(h.headers.get("Content-Length") or 0)
        except ValueError:
            h.close_connection = True
            return
        if length > 0:
            copy_stream(h.rfile, None, length)

    # -- PUT ----------------------------------------------------------------------------
    def _put(self, x, bucket, key):
        length = self._put_length(x)
        spec, action = x.fault, x.fault and x.fault["action"]
        if action == "drop_after":
            x.bytes = copy_stream(x.h.rfile, None, min(int(spec.get("bytes", 0)), length))
            x.body_left = False
            self._log(x)
            return drop(x.h)
        flip = length // 2 if action == "corrupt" and length else None
        x.body_left = False
        blobs = self.store.blobs
        if "uploadId" in x.query:
            etag = blobs.put_part(bucket, key, x.query["uploadId"], x.query.get("partNumber"),
                                  x.h.rfile, length, flip)
        else:
            etag = blobs.put(bucket, key, x.h.rfile, length, x.h.headers.get("Content-Type"),
                             flip)["etag"]
        x.bytes = length
        if action == "stall":
            time.sleep(float(spec.get("seconds", 1)))
        self._answer(x, 200, headers=[("ETag", etag)])

    def _put_length(self, x):
        h = x.h
        if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
            raise StoreError(501, "NotImplemented", "A header you provided implies "
                             "functionality that is not implemented (Transfer-Encoding)")
        raw = h.headers.get("Content-Length")
        if raw is None:
            h.close_connection = True   # a body of unknown length may follow
            raise StoreError(411, "MissingContentLength",
                             "You must provide the Content-Length HTTP header.")
        try:
            length = int(raw)
            if length < 0:
                raise ValueError
        except ValueError:
            h.close_connection = True
            raise StoreError(400, "InvalidArgument", "Content-Length is not a number")
        return length

    # -- GET / HEAD ---------------------------------------------------------------------
    def _get(self, x, bucket, key):
        meta, f = self.store.blobs.open(bucket, key)
        with f:
            size = meta["size"]
            action = x.fault and x.fault["action"]
            wanted = None if action == "ignore_range" else parse_range(x.range, size)
            if wanted == "unsatisfiable":
                raise StoreError(416, "InvalidRange",
                                 "The requested range is not satisfiable (size %d)" % size)
            start, end = wanted or (0, size - 1)
            count = end - start + 1
            head = [("Content-Type", meta.get("content_type") or "application/octet-stream"),
                    ("Content-Length", str(count)), ("ETag", meta["etag"]),
                    ("Accept-Ranges", "bytes"),
                    ("Last-Modified", email.utils.formatdate(meta["modified"], usegmt=True))]
            if wanted:
                head.append(("Content-Range", "bytes %d-%d/%d" % (start, end, size)))
            self._consume(x)
            self._send_head(x, 206 if wanted else 200, head, _planned(x, count))
            if x.method == "GET" and count > 0:
                self._send_body(x, f, start, count)

    def _send_body(self, x, f, start, count):
        h, spec = x.h, x.fault or {}
        action = spec.get("action")
        f.seek(start)
        if action == "drop_after":
            x.bytes = copy_stream(f, h.wfile, min(int(spec.get("bytes", 0)), count))
            return drop(h)
        if action == "stall" and spec.get("when") != "before":
            half = count // 2
            x.bytes = copy_stream(f, h.wfile, half)
            h.wfile.flush()
            time.sleep(float(spec.get("seconds", 1)))
            x.bytes += copy_stream(f, h.wfile, count - half)
            return None
        if action == "corrupt":
            x.bytes = copy_stream(f, h.wfile, count, flip_at=count // 2)
            return None
        x.bytes = send_file(h, f, start, count)
        return None


def _planned(x, count):
    """The body bytes a GET/HEAD answer will send (a drop fault cuts it short)."""
    if x.method == "HEAD":
        return 0
    if x.fault and x.fault["action"] == "drop_after":
        return min(int(x.fault.get("bytes", 0)), count)
    return count


def send_file(h, f, start, count):
    """Send `count` bytes of `f` from `start`: sendfile(2) when the connection allows it."""
    h.wfile.flush()
    sock = getattr(h, "connection", None)
    if sock is not None and hasattr(sock, "sendfile"):
        return sock.sendfile(f, start, count)
    f.seek(start)
    return copy_stream(f, h.wfile, count)


def drop(h):
    """Close the connection abruptly: no answer, or the rest of the body never comes."""
    h.close_connection = True
    try:
        h.wfile.flush()
        h.connection.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass


def split_path(path):
    """(bucket, key) of `/_storage/<bucket>/<key>`; the key is percent-decoded."""
    rest = path[len(PREFIX):] if path.startswith(PREFIX) else ""
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise StoreError(400, "InvalidRequest", "A storage URL names a bucket and a key.")
    return unquote(bucket), unquote(key)


def parse_range(header, size):
    """(start, end) of a single `bytes=` range; None to ignore it; "unsatisfiable"."""
    if not header or not header.strip().lower().startswith("bytes="):
        return None
    spec = header.strip()[6:].strip()
    if "," in spec or "-" not in spec:
        return None
    first, _, last = (s.strip() for s in spec.partition("-"))
    try:
        if not first:
            suffix = int(last)
            return (max(size - suffix, 0), size - 1) if suffix > 0 and size else "unsatisfiable"
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size:
        return "unsatisfiable"
    if end < start:
        return None
    return start, min(end, size - 1)

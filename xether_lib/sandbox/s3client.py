"""A tiny S3 client over http.client for the sandbox's S3 mode (path-style, SigV4).

Calls: presign, CreateMultipartUpload, ListParts, CompleteMultipartUpload,
AbortMultipartUpload, HeadObject, GetObject (streamed), PutObject (streamed, SHA-256 computed
while sending), DeleteObject. Every failure becomes a `StoreError` carrying S3's own status,
code and message (including the 200-with-<Error> answer CompleteMultipartUpload can give);
an unreachable endpoint is 503 ServiceUnavailable. One connection per call.
"""

import hashlib
import http.client
import io
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from . import sigv4
from .blobs import check_order
from .streams import CHUNK
from .storeerror import StoreError


class Body(io.RawIOBase):
    """A streamed response body; closing it closes the connection."""

    def __init__(self, resp, conn):
        io.RawIOBase.__init__(self)
        self._resp, self._conn = resp, conn

    def readable(self):
        return True

    def readinto(self, b):
        return self._resp.readinto(b)

    def close(self):
        if not self.closed:
            self._resp.close()
            self._conn.close()
        io.RawIOBase.close(self)


class _Hashing(object):
    """A file wrapper that feeds SHA-256 with every byte read from it."""

    def __init__(self, f):
        self.f, self.sha = f, hashlib.sha256()

    def read(self, n=-1):
        data = self.f.read(n)
        self.sha.update(data)
        return data


class S3Client(object):
    def __init__(self, endpoint, region, access_key, secret_key, timeout=60.0):
        self.endpoint = sigv4.Endpoint(endpoint)
        self.region, self.timeout = region, timeout
        self._access, self._secret = access_key, secret_key

    def presign(self, method, bucket, key, expires_in, query=None):
        return sigv4.presign_url(method, self.endpoint, self.endpoint.path(bucket, key),
                                 self.region, self._access, self._secret, expires_in, query)

    # -- transport ----------------------------------------------------------------------
    def _connect(self):
        cls = http.client.HTTPSConnection if self.endpoint.scheme == "https" \
            else http.client.HTTPConnection
        return cls(self.endpoint.hostname, self.endpoint.port, timeout=self.timeout,
                   blocksize=CHUNK)

    def _send(self, method, bucket, key=None, query=None, headers=None, body=b"",
              payload_hash=None, length=None):
        """Send one signed request; returns (conn, response) with the status checked."""
        path = self.endpoint.path(bucket, key)
        if payload_hash is None:
            payload_hash = hashlib.sha256(body).hexdigest()
        signed = sigv4.sign_headers(method, self.endpoint, path, query, headers, payload_hash,
                                    self.region, self._access, self._secret)
        signed["content-length"] = str(len(body) if length is None else length)
        url = sigv4.uri_encode(path) + ("?" + sigv4.canonical_query(query) if query else "")
        conn = self._connect()
        try:
            conn.request(method, url, body=body, headers=signed)
            resp = conn.getresponse()
        except OSError as e:
            conn.close()
            raise StoreError(503, "ServiceUnavailable", "cannot reach S3 at %s: %s"
                             % (self.endpoint.origin, e))
        if resp.status >= 300:
            data = resp.read()
            conn.close()
            raise _error(resp.status, data)
        return conn, resp

    def _call(self, method, bucket, key=None, query=None, headers=None, body=b""):
        """A whole request: (response, body bytes), body checked for an embedded <Error>."""
        conn, resp = self._send(method, bucket, key, query, headers, body)
        try:
            data = resp.read()
        finally:
            conn.close()
        if data.lstrip().startswith(b"<") and _local(_parse(data).tag) == "Error":
            raise _error(500, data)
        return resp, data

    # -- multipart ----------------------------------------------------------------------
    def create_multipart(self, bucket, key, content_type=None):
        headers = {"Content-Type": content_type} if content_type else {}
        _, data = self._call("POST", bucket, key, {"uploads": ""}, headers)
        return _text(_parse(data), "UploadId")

    def list_parts(self, bucket, key, upload_id):
        parts, marker = [], None
        while True:
            query = {"uploadId": upload_id}
            if marker:
                query["part-number-marker"] = marker
            _, data = self._call("GET", bucket, key, query)
            root = _parse(data)
            for el in _children(root, "Part"):
                parts.append({"part_number": int(_text(el, "PartNumber")),
                              "etag": _text(el, "ETag"), "size": int(_text(el, "Size"))})
            marker = _text(root, "NextPartNumberMarker")
            if _text(root, "IsTruncated") != "true" or not marker:
                return parts

    def complete_multipart(self, bucket, key, upload_id, parts):
        numbers = check_order(parts)
        xml = "".join("<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>"
                      % (n, escape(str(p.get("etag", "")))) for n, p in zip(numbers, parts))
        body = ("<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % xml).encode("utf-8")
        _, data = self._call("POST", bucket, key, {"uploadId": upload_id},
                             {"Content-Type": "application/xml"}, body)
        return _text(_parse(data), "ETag")

    def abort_multipart(self, bucket, key, upload_id):
        self._call("DELETE", bucket, key, {"uploadId": upload_id})

    # -- objects ------------------------------------------------------------------------
    def head_object(self, bucket, key):
        """{"size", "etag", "content_type"}, or None when there is no such object."""
        try:
            resp, _ = self._call("HEAD", bucket, key)
        except StoreError as e:
            if e.status == 404:
                return None
            raise
        return {"size": int(resp.getheader("Content-Length") or 0),
                "etag": resp.getheader("ETag"), "content_type": resp.getheader("Content-Type")}

    def get_object(self, bucket, key):
        """A buffered binary stream of the object (closing it closes the connection)."""
        conn, resp = self._send("GET", bucket, key)
        return io.BufferedReader(Body(resp, conn), CHUNK)

    def put_object(self, bucket, key, src, length, content_type=None):
        """Stream `length` bytes of `src`; returns (etag, sha256 hex of what was sent)."""
        body = _Hashing(src)
        headers = {"Content-Type": content_type or "application/octet-stream"}
        conn, resp = self._send("PUT", bucket, key, None, headers, body, sigv4.UNSIGNED, length)
        try:
            resp.read()
        finally:
            conn.close()
        return resp.getheader("ETag"), body.sha.hexdigest()

    def delete_object(self, bucket, key):
        if self.head_object(bucket, key) is None:
            return False
        self._call("DELETE", bucket, key)
        return True


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _parse(data):
    try:
        return ET.fromstring(data)
    except ET.ParseError:
        raise StoreError(502, "InternalError", "S3 answered something that is not XML")


def _children(el, name):
    return [c for c in el if _local(c.tag) == name]


def _text(el, name):
    found = _children(el, name)
    return (found[0].text or "") if found else None


def _error(status, data):
    code = message = None
    if data.lstrip().startswith(b"<"):
        try:
            root = ET.fromstring(data)
            code, message = _text(root, "Code"), _text(root, "Message")
        except ET.ParseError:
            pass
    return StoreError(status, code, message)

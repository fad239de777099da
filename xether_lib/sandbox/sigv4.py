"""AWS Signature Version 4 for S3, with hmac and hashlib only.

Two uses, both path-style (`<endpoint>/<bucket>/<key>`):
- `presign_url`: a query-signed URL (X-Amz-Algorithm ... X-Amz-Signature, payload
  UNSIGNED-PAYLOAD, signed header `host`) that anyone may use until it expires;
- `sign_headers`: the `Authorization`, `x-amz-date` and `x-amz-content-sha256` headers of a
  header-authenticated request (what the S3 client sends).
"""

import hashlib
import hmac
import time
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_EXPIRES = 7 * 24 * 3600


class Endpoint(object):
    """An S3 endpoint URL split into what signing needs: scheme, host header, path prefix."""

    def __init__(self, url):
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an S3 endpoint must be an http(s) URL, got %r" % url)
        self.scheme = parts.scheme
        self.hostname = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        default = 443 if parts.scheme == "https" else 80
        name = "[%s]" % parts.hostname if ":" in parts.hostname else parts.hostname
        self.host = name if self.port == default else "%s:%d" % (name, self.port)
        self.prefix = parts.path
        self.origin = "%s://%s" % (self.scheme, self.host)

    def path(self, bucket, key=None):
        """The unencoded request path of a bucket or object."""
        return "%s/%s" % (self.prefix, bucket) + ("" if key is None else "/" + key)


def uri_encode(text, slash=True):
    """S3's URI encoding: everything but unreserved characters (and '/' in paths)."""
    return quote(text, safe="/~" if slash else "~")


def canonical_query(query):
    pairs = sorted((uri_encode(str(k), False), uri_encode(str(v), False))
                   for k, v in (query or {}).items())
    return "&".join("%s=%s" % kv for kv in pairs)


def amz_date(now=None):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))


def _hmac(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key, date, region, service="s3"):
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def signature(method, path, query, headers, payload_hash, stamp, region, secret_key):
    """The hex signature of a request; `headers` maps lower-case names to values."""
    names = sorted(headers)
    canonical = "\n".join([
        method.upper(), uri_encode(path), canonical_query(query),
        "".join("%s:%s\n" % (n, " ".join(str(headers[n]).split())) for n in names),
        ";".join(names), payload_hash])
    scope = "%s/%s/s3/aws4_request" % (stamp[:8], region)
    to_sign = "\n".join([ALGORITHM, stamp, scope,
                         hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = signing_key(secret_key, stamp[:8], region)
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def presign_url(method, endpoint, path, region, access_key, secret_key, expires_in,
                query=None, now=None):
    """A query-signed URL for `method` on `path` (unencoded) of `endpoint` (an Endpoint)."""
    expires_in = int(expires_in)
    if not 1 <= expires_in <= MAX_EXPIRES:
        raise ValueError("expires_in must be between 1 and %d seconds" % MAX_EXPIRES)
    stamp = amz_date(now)
    params = dict(query or {})
    params.update({
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": "%s/%s/%s/s3/aws4_request" % (access_key, stamp[:8], region),
        "X-Amz-Date": stamp,
        "X-Amz-Expires": str(expires_in),
        "X-Amz-SignedHeaders": "host",
    })
    sig = signature(method, path, params, {"host": endpoint.host}, UNSIGNED, stamp, region,
                    secret_key)
    return "%s%s?%s&X-Amz-Signature=%s" % (endpoint.origin, uri_encode(path),
                                          canonical_query(params), sig)


def sign_headers(method, endpoint, path, query, headers, payload_hash, region, access_key,
                 secret_key, now=None):
    """The headers to send: `headers` plus host, x-amz-date, x-amz-content-sha256 and
    Authorization (every given header is signed)."""
    stamp = amz_date(now)
    signed = {k.lower(): v for k, v in (headers or {}).items()}
    signed.update({"host": endpoint.host, "x-amz-date": stamp,
                   "x-amz-content-sha256": payload_hash})
    sig = signature(method, path, query, signed, payload_hash, stamp, region, secret_key)
    signed["authorization"] = "%s Credential=%s/%s/%s/s3/aws4_request, SignedHeaders=%s, " \
        "Signature=%s" % (ALGORITHM, access_key, stamp[:8], region, ";".join(sorted(signed)), sig)
    return signed

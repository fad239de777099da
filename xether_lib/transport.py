"""The HTTP session: every request of xether goes through here.

Owns keep-alive connections (one per origin and thread), timeouts, retries with
full-jitter backoff and Retry-After, TLS verification, proxies (CONNECT for https),
redirects (credentials never cross to another origin; https -> http is refused),
and the --debug log with secrets redacted. It returns a Response for every HTTP
status and raises NetworkError only when no answer could be had.
"""

import http.client
import random
import socket
import sys
import threading
import time
from urllib.parse import urljoin, urlsplit

from xether_lib import netenv, redact
from xether_lib.about import user_agent
from xether_lib.errors import NetworkError
from xether_lib.filerange import FileRange, write_range

__all__ = ["FileRange", "NetworkError", "Response", "Transport"]

IDEMPOTENT_METHODS = ("GET", "HEAD", "DELETE", "PUT", "OPTIONS")
RETRY_STATUSES = (429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
RETRY_AFTER_CAP = 60.0
IDLE_REUSE_LIMIT = 2.0  # a non-idempotent request never rides a connection idle longer than this


def origin_of(url):
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port)


def host_of(url):
    """`host:port` of a URL for messages: never the user info a URL may carry."""
    return urlsplit(url).netloc.rpartition("@")[2]


class _NeverSent(Exception):
    """The request provably did not reach the server (connect failed)."""

    def __init__(self, cause):
        Exception.__init__(self, str(cause))
        self.cause = cause


class _BodyLost(OSError):
    """The answer's body broke off (a drop or a stall) before it was read in full."""


class Response(object):
    """An HTTP answer. `read()` streams; errors while reading become NetworkError."""

    def __init__(self, raw, url, request_id, release, elapsed):
        self.raw = raw
        self.status = raw.status
        self.reason = raw.reason
        self.headers = raw.headers
        self.url = url
        self.request_id = raw.headers.get("X-Request-ID") or request_id
        self.elapsed = elapsed
        self._release = release
        self._body = None

    def read(self, n=-1):
        try:
            data = self.raw.read() if n is None or n < 0 else self.raw.read(n)
        except socket.timeout:
            self.close(broken=True)
            raise NetworkError("the connection to %s stalled (no data within the timeout)"
                               % host_of(self.url))
        except (OSError, http.client.HTTPException) as exc:
            self.close(broken=True)
            raise NetworkError("the connection to %s dropped: %s" % (host_of(self.url),
                                                                     _describe(exc)))
        if not data or self.raw.isclosed():
            self.close()
        return data

    @property
    def body(self):
        if self._body is None:
            self._body = self.read()
        return self._body

    def json(self):
        """The body parsed as JSON, or None when it is not JSON."""
        import json

        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def close(self, broken=False):
        if self._release is not None:
            release, self._release = self._release, None
            release(broken or not self.raw.isclosed())


class Transport(object):
    def __init__(self, timeout=30.0, ca_bundle=None, insecure=False, debug=False, warn=None,
                 max_attempts=5, backoff_base=0.5, backoff_cap=20.0, sleep=time.sleep):
        self.timeout = float(timeout)
        self.ca_bundle = ca_bundle
        self.insecure = insecure
        self.debug = debug
        self.warn = warn or (lambda msg: sys.stderr.write("warning: %s\n" % msg))
        self.max_attempts = max(1, int(max_attempts))
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sleep = sleep
        self.user_agent = user_agent()
        self._local = threading.local()
        self._ssl = None
        self._ssl_lock = threading.Lock()
        if insecure:
            self.warn("TLS certificate verification is off (--insecure): "
                      "anyone on the network path can read and change this traffic")

    # -- public ---------------------------------------------------------------------------
    def request(self, method, url, headers=None, body=None, idempotent=None, timeout=None,
                stream=False, api_origin=None):
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        headers = dict(headers or {})
        headers.setdefault("User-Agent", self.user_agent)
        for _ in range(MAX_REDIRECTS + 1):
            send_headers = self._scope_credentials(headers, url, api_origin)
            resp = self._with_retries(method, url, send_headers, body, idempotent, timeout, stream)
            location = resp.headers.get("Location")
            if resp.status not in REDIRECT_STATUSES or not location:
                return resp
            resp.close()
            target = urljoin(url, location)
            if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
                raise NetworkError("refusing a redirect from https to %s" % redact.redact_url(target))
            if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                method, body = "GET", None
            url = target
        raise NetworkError("too many redirects (last: %s)" % redact.redact_url(url))

    # -- internals ------------------------------------------------------------------------
    @staticmethod
    def _scope_credentials(headers, url, api_origin):
        if api_origin is not None and origin_of(url) == origin_of(api_origin):
            return headers
        return dict((k, v) for k, v in headers.items() if k.lower() not in redact.SECRET_HEADERS)

    def _with_retries(self, method, url, headers, body, idempotent, timeout, stream):
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self._send(method, url, headers, body, timeout, stream, idempotent)
            except _NeverSent as exc:
                error, retryable = exc.cause, True
            except NetworkError:
                raise
            except (OSError, http.client.HTTPException) as exc:
                if _is_cert_error(exc):
                    raise _cert_error(url, exc)
                error, retryable = exc, idempotent
            else:
                if resp.status not in RETRY_STATUSES or attempt >= self.max_attempts or not (
                        idempotent or resp.status == 429):
                    return resp
                delay = self._retry_after(resp)
                resp.close(broken=True)
                self._wait(delay if delay is not None else self._backoff(attempt),
                           "HTTP %d from %s" % (resp.status, host_of(url)))
                continue
            if _is_cert_error(error):
                raise _cert_error(url, error)
            if not retryable or attempt >= self.max_attempts:
                text = str(error) if isinstance(error, _BodyLost) else "cannot reach %s: %s" % (
                    host_of(url), _describe(error))
                raise NetworkError(text, hint=_network_hint(error, retryable))
            self._wait(self._backoff(attempt), _describe(error))

    def _backoff(self, attempt):
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1))))

    @staticmethod
    def _retry_after(resp):
        value = (resp.headers.get("Retry-After") or "").strip()
        if not value:
            return None
        if value.isdigit():
            return min(float(value), RETRY_AFTER_CAP)
        try:
            from email.utils import parsedate_to_datetime

            when = parsedate_to_datetime(value)
            return max(0.0, min(when.timestamp() - time.time(), RETRY_AFTER_CAP))
        except (TypeError, ValueError, IndexError, OverflowError):
            return None

    def _wait(self, seconds, why):
        if seconds > 2:
            self.warn("retrying in %.0fs (%s)" % (seconds, why))
        elif self.debug:
            self._log("* retrying in %.2fs (%s)" % (seconds, why))
        self.sleep(seconds)

    def _send(self, method, url, headers, body, timeout, stream, idempotent):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NetworkError("unsupported URL %s" % redact.redact_url(url))
        key = origin_of(url)
        conn, reused = self._connection(key, timeout, fresh=not idempotent)
        proxy = getattr(conn, "_xether_proxy", None)
        target = url if (proxy and parts.scheme == "http") else (parts.path or "/") + (
            "?" + parts.query if parts.query else "")
        if proxy and parts.scheme == "http" and proxy.auth_header:
            headers = dict(headers, **{"Proxy-Authorization": proxy.auth_header})
        if isinstance(body, FileRange) and "content-length" not in (k.lower() for k in headers):
            headers = dict(headers, **{"Content-Length": str(body.length)})
        payload = body() if callable(body) else body
        started = time.monotonic()
        request_id = headers.get("X-Request-ID")
        self._log_request(method, url, headers, payload)
        try:
            if isinstance(payload, FileRange):
                _request_from_file(conn, method, target, headers, payload)
            else:
                conn.request(method, target, body=payload, headers=headers)
            raw = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            conn.close()
            if reused and idempotent:  # a stale keep-alive connection: one fresh try
                return self._send(method, url, headers, body, timeout, stream, idempotent)
            raise exc
        except (OSError, http.client.HTTPException):
            conn.close()
            raise
        elapsed = time.monotonic() - started

        def release(broken):
            if broken or raw.will_close:
                conn.close()
            else:
                conn._xether_idle_since = time.monotonic()
                self._pool()[key] = conn

        resp = Response(raw, url, request_id, release, elapsed)
        self._log_response(resp)
        if not stream:
            try:
                resp.body  # read it all now, which frees the connection
            except NetworkError as exc:
                raise _BodyLost(exc.message)
        return resp

    def _pool(self):
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        return pool

    def _connection(self, key, timeout, fresh):
        conn = self._pool().pop(key, None)
        if conn is not None:
            idle = time.monotonic() - getattr(conn, "_xether_idle_since", 0)
            if fresh and idle > IDLE_REUSE_LIMIT:
                conn.close()
            else:
                conn.timeout = timeout or self.timeout
                if conn.sock is not None:
                    conn.sock.settimeout(conn.timeout)
                return conn, True
        conn = self._new_connection(key, timeout or self.timeout)
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if _is_cert_error(exc):
                raise
            raise _NeverSent(exc)
        return conn, False

    def _new_connection(self, key, timeout):
        scheme, host, port = key
        proxy = netenv.proxy_for(scheme, host, port)
        if scheme == "https":
            ctx = self._ssl_context()
            if proxy:
                conn = http.client.HTTPSConnection(proxy.host, proxy.port, timeout=timeout, context=ctx)
                tunnel_headers = {"Proxy-Authorization": proxy.auth_header} if proxy.auth_header else None
                conn.set_tunnel(host, port, headers=tunnel_headers)
            else:
                conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
        elif proxy:
            conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=timeout)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn._xether_proxy = proxy
        if self.debug and proxy:
            self._log("* via proxy %r" % proxy)
        return conn

    def _ssl_context(self):
        with self._ssl_lock:
            if self._ssl is None:
                try:
                    self._ssl = netenv.ssl_context(self.ca_bundle, self.insecure)
                except (OSError, ValueError) as exc:
                    raise NetworkError("cannot load the CA bundle %s: %s" % (self.ca_bundle, _describe(exc)),
                                       hint="Pass a PEM file of CA certificates with --ca-bundle.")
            return self._ssl

    # -- debug log ------------------------------------------------------------------------
    def _log(self, text):
        from xether_lib.term.style import escape

        sys.stderr.write("[debug] %s\n" % escape(text))

    def _log_request(self, method, url, headers, payload):
        if not self.debug:
            return
        size = headers.get("Content-Length") or (len(payload) if isinstance(payload, bytes) else 0)
        self._log("> %s %s (%s bytes)" % (method, redact.redact_url(url), size))
        for k, v in redact.redact_headers(headers):
            self._log(">   %s: %s" % (k, v))

    def _log_response(self, resp):
        if not self.debug:
            return
        self._log("< %d %s %.3fs request-id=%s" % (resp.status, resp.reason, resp.elapsed,
                                                    resp.request_id or "-"))
        for k, v in redact.redact_headers(resp.headers):
            self._log("<   %s: %s" % (k, v if k.lower() != "location" else redact.redact_url(v)))


def _request_from_file(conn, method, target, headers, body):
    """conn.request() for a FileRange body: the headers as http.client sends them, then the
    range straight from the file."""
    names = set(k.lower() for k in headers)
    conn.putrequest(method, target, skip_host="host" in names,
                    skip_accept_encoding="accept-encoding" in names)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    write_range(conn.sock, body)


def _describe(exc):
    if isinstance(exc, socket.timeout):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "host name lookup failed (%s)" % (exc.strerror or exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text


def _network_hint(exc, retried):
    if isinstance(exc, (ConnectionRefusedError, socket.gaierror)):
        return "Check --api-url (or XETHER_API_URL) and your network or proxy settings."
    if not retried:
        return "The request may have reached the server; check before repeating it."
    return "Check your network or proxy settings, then try again."


def _is_cert_error(exc):
    import ssl

    return isinstance(exc, ssl.SSLCertVerificationError)


def _cert_error(url, exc):
    host = urlsplit(url).hostname
    reason = getattr(exc, "verify_message", None) or _describe(exc)
    return NetworkError(
        "TLS certificate of %s could not be verified: %s" % (host, reason),
        hint="If your network uses its own CA, pass --ca-bundle FILE (or set XETHER_CA_BUNDLE "
             "or SSL_CERT_FILE) with its certificate in PEM form.")

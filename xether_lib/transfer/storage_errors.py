"""Turning an object store's error answer into a `StorageError` (API.md §8).

S3-compatible stores answer errors with an XML body
`<Error><Code>...</Code><Message>...</Message></Error>`; proxies and load balancers answer
HTML or nothing. `parse_storage_error(resp)` reads whichever came and returns one error with
the HTTP status, the XML Code and Message (when there were any), and the request id the
store sent. Shared by uploads and downloads.
"""

import re

from xether_lib.errors import NETWORK, NetworkError, StorageError, exit_code_for_status

_TAG = r"<%s>(.*?)</%s>"
_MAX_TEXT = 200


def _tag(text, name):
    match = re.search(_TAG % (name, name), text, re.S)
    if not match:
        return None
    from xml.sax.saxutils import unescape

    value = " ".join(unescape(match.group(1), {"&quot;": '"', "&apos;": "'"}).split())
    return value[:_MAX_TEXT] or None


def parse_error_body(body):
    """(code, message) from an S3 XML error body; (None, None) when it is not one."""
    if not body:
        return None, None
    text = body[:65536].decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    if "<Error" not in text:
        return None, None
    return _tag(text, "Code"), _tag(text, "Message")


def _store_request_id(resp):
    headers = resp.headers
    return headers.get("x-amz-request-id") or headers.get("X-Request-ID")


def _exit_code(status, code):
    if status in (408,) or code in ("RequestTimeout",):
        return NETWORK
    if status >= 500:
        return exit_code_for_status(500)
    return exit_code_for_status(status)


def parse_storage_error(resp, what="the storage request"):
    """A StorageError for an error Response of a pre-signed URL (reads the body)."""
    try:
        body = resp.body
    except NetworkError:  # a body that cannot be read still gives status and reason
        body = b""
    code, message = parse_error_body(body)
    text = "%s failed: HTTP %d" % (what, resp.status)
    if code:
        text += " %s" % code
    elif resp.reason:
        text += " %s" % resp.reason
    if message and message != code:
        text += ": %s" % message
    request_id = _store_request_id(resp)
    if request_id:
        text += " (request id %s)" % request_id
    err = StorageError(text, status=resp.status, code=code,
                       exit_code=_exit_code(resp.status, code))
    err.server_message = message
    err.request_id = request_id
    return err


def is_expired(err):
    """True when a StorageError says the pre-signed URL has expired (get a fresh one)."""
    if err.status != 403:
        return False
    message = (getattr(err, "server_message", None) or "").lower()
    return "expired" in message or err.code in ("ExpiredToken", "RequestExpired")

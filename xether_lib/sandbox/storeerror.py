"""The object store's error type and its S3-style XML error bodies.

Shared by the local blob store, the storage HTTP handler and the S3 client, so that a
failure reads the same whichever backend produced it.
"""

from xml.sax.saxutils import escape

# The code a bare status gets when nothing more specific is known (fault injection, S3 replies).
DEFAULT_CODES = {
    400: "InvalidRequest", 403: "AccessDenied", 404: "NoSuchKey", 405: "MethodNotAllowed",
    411: "MissingContentLength", 416: "InvalidRange", 500: "InternalError",
    501: "NotImplemented", 503: "SlowDown",
}
DEFAULT_MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "AccessDenied": "Access Denied",
    "NoSuchKey": "The specified key does not exist.",
    "NoSuchUpload": "The specified upload does not exist. The upload ID may be invalid, "
                    "or the upload may have been aborted or completed.",
}


class StoreError(Exception):
    """A storage failure with an HTTP status and an S3 error code (e.g. 404 NoSuchUpload)."""

    def __init__(self, status, code=None, message=None):
        self.status = int(status)
        self.code = code or DEFAULT_CODES.get(self.status, "InternalError")
        self.message = message or DEFAULT_MESSAGES.get(self.code, self.code)
        Exception.__init__(self, "%d %s: %s" % (self.status, self.code, self.message))

    def xml(self):
        return error_xml(self.code, self.message)


def error_xml(code, message):
    """The body S3 sends with an error: <Error><Code>..</Code><Message>..</Message></Error>."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '</Error>' % (escape(code), escape(message))).encode("utf-8")


def expired():
    return StoreError(403, "AccessDenied", "Request has expired")


def no_such_upload():
    return StoreError(404, "NoSuchUpload")

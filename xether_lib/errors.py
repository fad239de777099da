"""The error types of xether and the one table of exit codes.

Library code raises these; only `cli.py` prints them and turns them into the
process's exit status. Each error carries a one-line message and, optionally, a
hint line telling the user what to do next.
"""

OK = 0
UNEXPECTED = 1
USAGE = 2
NOT_AUTHENTICATED = 3
PERMISSION_DENIED = 4
NOT_FOUND = 5
REJECTED = 6
SERVER = 7
NETWORK = 8
INTEGRITY = 9
RUN_FAILED = 10
WAIT_TIMEOUT = 11
INTERRUPTED = 130

EXIT_CODES = (
    (OK, "success"),
    (UNEXPECTED, "unexpected error (a bug: rerun with --debug and report it)"),
    (USAGE, "usage or local input error (bad flags, missing or unreadable file, bad JSON)"),
    (NOT_AUTHENTICATED, "not authenticated: no credentials, 401, refresh failed"),
    (PERMISSION_DENIED, "permission denied (403)"),
    (NOT_FOUND, "not found (404)"),
    (REJECTED, "rejected by the server (400, 409, 422)"),
    (SERVER, "server error (5xx after retries) or an operation this server does not support"),
    (NETWORK, "network, TLS or timeout error after retries"),
    (INTEGRITY, "integrity failure (checksum or size mismatch)"),
    (RUN_FAILED, "a pipeline run ended failed, cancelled or timed out (when waiting for it)"),
    (WAIT_TIMEOUT, "gave up waiting (--timeout) while the run goes on"),
    (INTERRUPTED, "interrupted (Ctrl-C)"),
)


class XetherError(Exception):
    """Base of every error the CLI reports as one line (plus an optional hint)."""

    exit_code = UNEXPECTED

    def __init__(self, message, hint=None, exit_code=None):
        Exception.__init__(self, message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self):
        return self.message


class UsageError(XetherError):
    """Bad flags, bad values, a missing or unreadable local file, bad JSON."""

    exit_code = USAGE


class ConfigError(UsageError):
    """A config or credentials file that cannot be read, parsed or written."""


class AuthError(XetherError):
    """No credentials, rejected credentials, or a refresh that failed."""

    exit_code = NOT_AUTHENTICATED


class NetworkError(XetherError):
    """Connection, DNS, TLS or timeout failure after the retries ran out."""

    exit_code = NETWORK


class IntegrityError(XetherError):
    """Bytes that do not match their recorded size or SHA-256."""

    exit_code = INTEGRITY


class UnsupportedError(XetherError):
    """The server lacks a route this operation needs ([ext] routes of API.md)."""

    exit_code = SERVER


class RunFailed(XetherError):
    """A pipeline run we waited for ended failed, cancelled or timed out."""

    exit_code = RUN_FAILED


class WaitTimeout(XetherError):
    """We stopped waiting (--timeout); the run goes on."""

    exit_code = WAIT_TIMEOUT


class StorageError(XetherError):
    """An object-store request failed (its XML Code and Message are in the text)."""

    exit_code = SERVER

    def __init__(self, message, status=None, code=None, hint=None, exit_code=None):
        XetherError.__init__(self, message, hint=hint, exit_code=exit_code)
        self.status = status
        self.code = code


def exit_code_for_status(status):
    """Map an HTTP status from the API to an exit code (see EXIT_CODES)."""
    if status == 401:
        return NOT_AUTHENTICATED
    if status == 403:
        return PERMISSION_DENIED
    if status == 404:
        return NOT_FOUND
    if status in (400, 405, 409, 410, 413, 415, 422, 429) or 400 <= status < 500:
        return REJECTED
    if status >= 500:
        return SERVER
    return UNEXPECTED


class ApiError(XetherError):
    """An HTTP error answer from the API: status, the server's message, request id."""

    def __init__(self, status, message, request_id=None, reason="", hint=None, body=None,
                 method=None, path=None, code=None):
        text = "HTTP %d" % status
        if reason and not message:
            text += " " + reason
        if message:
            text += ": " + message
        if request_id:
            text += " (request id %s)" % request_id
        XetherError.__init__(self, text, hint=hint, exit_code=exit_code_for_status(status))
        self.status = status
        self.server_message = message
        self.request_id = request_id
        self.body = body
        self.method = method
        self.path = path
        self.code = code

    @property
    def not_found_route(self):
        """True when a 404/405 looks like a missing route rather than a missing resource."""
        return self.status in (404, 405) and (self.server_message or "") in (
            "Not Found", "Method Not Allowed", "")


class Interrupted(XetherError):
    """Ctrl-C, with a message saying what was kept and how to carry on."""

    exit_code = INTERRUPTED

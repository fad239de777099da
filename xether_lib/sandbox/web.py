"""The sandbox API's request and response vocabulary: a parsed request, the errors a route
raises (`HttpError`, `Invalid` for FastAPI-shaped 422s), the route table decorator, and the
small validators routes use for query, path and body fields.

Nothing here touches the socket; `server.py` turns these objects into bytes.
"""

import datetime
import json
import re
from urllib.parse import parse_qs

MAX_BODY = 10 * 1024 * 1024
REQUIRED = object()


def utcnow():
    """The backend's time format: naive UTC, ISO 8601, always with microseconds."""
    return datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f")


class HttpError(Exception):
    """Answer `status` with {"detail": detail} (and extra headers)."""

    def __init__(self, status, detail, headers=None):
        Exception.__init__(self, detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


class Invalid(HttpError):
    """A 422 whose detail is FastAPI's list of {type, loc, msg, input[, ctx]}."""

    def __init__(self, errors):
        HttpError.__init__(self, 422, errors)


def problem(kind, loc, msg, value, ctx=None):
    item = {"type": kind, "loc": list(loc), "msg": msg, "input": value}
    if ctx is not None:
        item["ctx"] = ctx
    return item


def not_found(what):
    return HttpError(404, "%s not found" % what)


class Response(object):
    def __init__(self, status=200, body=None, headers=None, raw=None, content_type=None):
        self.status = status
        self.headers = dict(headers or {})
        if raw is not None:
            self.data = raw
            self.content_type = content_type or "application/octet-stream"
        elif body is None and status in (204, 304, 307):
            self.data = b""
            self.content_type = None
        else:
            self.data = json.dumps(body).encode("utf-8")
            self.content_type = content_type or "application/json"


def page(items, total, headers=None):
    """A list answer: the items, with the total count in `X-Total-Count`."""
    h = {"X-Total-Count": str(total)}
    h.update(headers or {})
    return Response(200, items, h)


# ---- routes ---------------------------------------------------------------------------------

class Routes(object):
    """A module's routes: `@routes.add("GET", "/api/v1/datasets/{dataset_id}")`."""

    def __init__(self):
        self.table = []

    def add(self, method, pattern, public=False, ext=False):
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

        def decorate(fn):
            self.table.append((method, regex, fn, public, ext))
            return fn
        return decorate


# ---- the request ----------------------------------------------------------------------------

class Request(object):
    """What a route sees: method, path, query, headers, body, path params, the user."""

    def __init__(self, app, method, path, query, headers, client, request_id, rfile, length):
        self.app = app
        self.method = method
        self.path = path
        self.query_string = query
        self.query = parse_qs(query, keep_blank_values=True)
        self.headers = headers
        self.client = client
        self.request_id = request_id
        self.params = {}
        self.user = None
        self._rfile = rfile
        self.unread = length
        self._body = None

    # body
    def raw_body(self):
        if self._body is None:
            if self.unread > MAX_BODY:
                raise HttpError(413, "Request body too large")
            self._body = self._rfile.read(self.unread) if self.unread else b""
            self.unread = 0
        return self._body

    @property
    def body_size(self):
        """Bytes of the body read so far."""
        return len(self._body or b"")

    def json(self, required=True):
        raw = self.raw_body()
        if not raw.strip():
            if required:
                raise Invalid([problem("missing", ["body"], "Field required", None)])
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            pos = getattr(exc, "pos", 0) or 0
            raise Invalid([problem("json_invalid", ["body", pos], "JSON decode error", {},
                                   {"error": str(getattr(exc, "msg", exc))})])

    def form(self):
        ctype = self.headers.get("Content-Type", "")
        raw = self.raw_body()
        if "application/x-www-form-urlencoded" not in ctype.lower():
            return {}
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return {}
        return dict((k, v[-1]) for k, v in parse_qs(text, keep_blank_values=True).items())

    def body(self, spec, required=True):
        """The JSON body checked against `spec`: [(name, kind, required_or_default)]."""
        data = self.json(required)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise Invalid([problem("model_attributes_type", ["body"], "Input should be a valid "
                                   "dictionary or object to extract fields from", data)])
        return check_fields(data, spec, "body", whole=data)

    # query and path
    def arg(self, name, kind="str", default=REQUIRED):
        values = self.query.get(name)
        data = {name: values[-1]} if values else {}
        return check_fields(data, [(name, kind, default)], "query")[name]

    def path_int(self, name):
        return check_fields(dict(self.params), [(name, "int", REQUIRED)], "path")[name]

    def skip_limit(self):
        skip = self.arg("skip", "int", 0)
        limit = self.arg("limit", "int", 100)
        errors = []
        if skip < 0:
            errors.append(_bound("skip", skip, "greater_than_equal", "greater than or equal to", 0))
        if limit < 1 or limit > 10000:
            errors.append(_bound("limit", limit, "greater_than_equal" if limit < 1 else
                                 "less_than_equal", "greater than or equal to" if limit < 1
                                 else "less than or equal to", 1 if limit < 1 else 10000))
        if errors:
            raise Invalid(errors)
        return skip, limit


def _bound(name, value, kind, words, limit):
    key = "ge" if "greater" in words else "le"
    return problem(kind, ["query", name], "Input should be %s %d" % (words, limit), value,
                   {key: limit})


# ---- field checks ---------------------------------------------------------------------------

def _as_int(value):
    if isinstance(value, bool):
        raise ValueError("int_type")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.match(r"^\s*[-+]?\d+\s*$", value):
        return int(value)
    raise ValueError("int_parsing" if isinstance(value, str) else "int_type")


def _as_number(value):
    if isinstance(value, bool):
        raise ValueError("float_type")
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError("float_parsing" if isinstance(value, str) else "float_type")


def _typed(expected, code):
    def check(value):
        if not isinstance(value, expected) or isinstance(value, bool) and expected is not bool:
            raise ValueError(code)
        return value
    return check


KINDS = {
    "int": _as_int,
    "number": _as_number,
    "str": _typed(str, "string_type"),
    "dict": _typed(dict, "dict_type"),
    "list": _typed(list, "list_type"),
    "any": lambda v: v,
}

MESSAGES = {
    "int_type": "Input should be a valid integer",
    "int_parsing": "Input should be a valid integer, unable to parse string as an integer",
    "float_type": "Input should be a valid number",
    "float_parsing": "Input should be a valid number, unable to parse string as a number",
    "string_type": "Input should be a valid string",
    "dict_type": "Input should be a valid dictionary",
    "list_type": "Input should be a valid list",
}


def check_fields(data, spec, where, whole=None):
    """Pick and convert the fields of `spec`; raise one Invalid listing every problem."""
    out, errors = {}, []
    for name, kind, default in spec:
        if name not in data or (data[name] is None and default is not REQUIRED):
            if default is REQUIRED:
                errors.append(problem("missing", [where, name], "Field required", whole))
            else:
                out[name] = default
            continue
        try:
            out[name] = KINDS[kind](data[name])
        except ValueError as exc:
            code = str(exc)
            errors.append(problem(code, [where, name], MESSAGES[code], data[name]))
    if errors:
        raise Invalid(errors)
    return out


def value_error(loc, message, value):
    """A one-item 422 for a value that has the right type but is wrong."""
    return Invalid([problem("value_error", loc, "Value error, " + message, value)])

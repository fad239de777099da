"""The mechanics under every API call: URLs, auth headers, refresh-on-401, error shapes and
list shapes of API.md §0. `api.py` builds one method per route on top of `ApiBase.call`."""

import json
import os

from xether_lib.errors import ApiError, AuthError, UsageError, UnsupportedError, XetherError


class ListResult(list):
    """A list of items plus what the server said about the rest: `.total`, `.more`."""

    total = None
    more = False


def check_int_id(value, what="id"):
    text = str(value).strip()
    if not text.isdigit():
        raise UsageError("invalid %s %r: expected a number" % (what, value))
    return int(text)


def check_artifact_id(value):
    text = str(value).strip()
    if not text or not all(c.isalnum() or c in "._:-" for c in text) or text in (".", ".."):
        raise UsageError("invalid artifact id %r: letters, digits and ._:- only" % value)
    return text


def new_request_id():
    return os.urandom(16).hex()


def _validation_text(items):
    parts = []
    for item in items:
        if not isinstance(item, dict):
            parts.append(str(item))
            continue
        loc = [str(x) for x in (item.get("loc") or []) if x != "body"]
        msg = item.get("msg") or item.get("type") or "invalid"
        parts.append("%s: %s" % (".".join(loc), msg) if loc else str(msg))
    return "; ".join(parts)


def error_message(data):
    """(message, code, request_id) from any error body shape of API.md §0."""
    if not isinstance(data, dict):
        return "", None, None
    err = data.get("error")
    if isinstance(err, dict):
        return str(err.get("message") or err.get("code") or ""), err.get("code"), err.get("request_id")
    detail = data.get("detail")
    if isinstance(detail, str):
        return detail, None, None
    if isinstance(detail, list):
        return _validation_text(detail), None, None
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("status") or json.dumps(detail)), None, None
    if isinstance(data.get("message"), str):
        return data["message"], None, None
    return "", None, None


def jwt_expiry(token):
    """The `exp` claim of a JWT (no verification), or None."""
    import base64

    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return float(json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))["exp"])
    except (IndexError, ValueError, KeyError, TypeError, AttributeError):
        return None


class ApiBase(object):
    def __init__(self, transport, settings):
        self.transport = transport
        self.settings = settings
        self.origin = settings.api_url
        self.root = settings.api_root
        self._credentials = None

    # -- credentials ----------------------------------------------------------------------
    @property
    def credentials(self):
        if self._credentials is None:
            self._credentials = self.settings.credentials
        return self._credentials

    def use_credentials(self, credentials):
        self._credentials = dict(credentials)

    def _auth_headers(self):
        creds = self.credentials
        if creds.get("api_key"):
            return {"X-API-Key": creds["api_key"]}
        if creds.get("access_token"):
            return {"Authorization": "Bearer " + creds["access_token"]}
        raise AuthError("not logged in to %s (profile %s)" % (self.origin, self.settings.profile),
                        hint="Run 'xether login', or set XETHER_API_KEY.")

    def _can_refresh(self):
        creds = self.credentials
        return bool(creds.get("refresh_token")) and not creds.get("api_key")

    def _refresh(self):
        """Trade the refresh token for a new pair (stored atomically), or raise exit 3."""
        import time

        old = self.credentials
        path = "/auth/refresh"
        resp = self._send("POST", path, {"refresh_token": old["refresh_token"]}, None, None,
                          False, None, None)
        if resp.status in (400, 401, 403):
            refused = error_message(resp.json())[0] or "HTTP %d" % resp.status
            raise AuthError("session expired, run xether login",
                            hint="The server refused the refresh token: %s." % refused)
        if resp.status >= 400:
            raise self.error(resp, "POST", path)
        tokens = resp.json()
        if not isinstance(tokens, dict) or not tokens.get("access_token"):
            raise XetherError("the server answered POST %s without an access token (request id %s)"
                              % (path, resp.request_id), exit_code=7)
        new = dict(old, access_token=tokens["access_token"],
                   refresh_token=tokens.get("refresh_token") or old["refresh_token"],
                   refreshed_at=int(time.time()))
        new.pop("source", None)
        if (old.get("source") or "").startswith("credentials"):
            self.settings.save_credentials(new)
        self._credentials = dict(new, source=old.get("source"))

    def _maybe_refresh_early(self):
        import time

        creds = self.credentials
        exp = jwt_expiry(creds.get("access_token") or "")
        if exp is not None and exp - 10 < time.time() and self._can_refresh():
            self._refresh()

    # -- calls ----------------------------------------------------------------------------
    def url(self, path, params=None):
        from urllib.parse import urlencode

        query = [(k, v) for k, v in (params or {}).items() if v is not None]
        return self.root + path + ("?" + urlencode(query, doseq=True) if query else "")

    def call(self, method, path, params=None, json_body=None, form=None, auth=True,
             idempotent=None, raw=False, timeout=None):
        """One API request; returns the parsed JSON (or the Response with raw=True)."""
        if auth:
            self._maybe_refresh_early()
        resp = self._send(method, path, params, json_body, form, auth, idempotent, timeout)
        if (resp.status == 401 and auth and self._can_refresh()
                and "bearer" in (resp.headers.get("WWW-Authenticate") or "").lower()):
            self._refresh()
            resp = self._send(method, path, params, json_body, form, auth, idempotent, timeout)
        if resp.status >= 400:
            raise self.error(resp, method, path)
        if raw:
            return resp
        if resp.status in (204, 304) or not resp.body.strip():
            return None
        data = resp.json()
        if data is None:
            raise XetherError("the server answered %s %s with something that is not JSON (request id %s)"
                              % (method, path, resp.request_id), exit_code=7)
        return data

    def _send(self, method, path, params, json_body, form, auth, idempotent, timeout):
        headers = {"Accept": "application/json", "X-Request-ID": new_request_id()}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        elif form is not None:
            from urllib.parse import urlencode

            body = urlencode(form).encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if auth:
            headers.update(self._auth_headers())
        return self.transport.request(method, self.url(path, params), headers=headers, body=body,
                                      idempotent=idempotent, timeout=timeout, api_origin=self.origin)

    def error(self, resp, method, path):
        message, code, body_request_id = error_message(resp.json())
        request_id = body_request_id or resp.request_id
        err = ApiError(resp.status, message, request_id, reason=resp.reason, method=method,
                       path=path, code=code)
        if resp.status == 401:
            creds = self.credentials
            what = "the API key was rejected" if creds.get("api_key") else "not authenticated"
            auth_error = AuthError("%s: %s" % (what, err.message),
                                   hint="Run 'xether login' (or check XETHER_API_KEY / XETHER_TOKEN).")
            auth_error.api_error = err
            return auth_error
        return err

    def ext(self, what, method, path, **kw):
        """Call an [ext] route; a server without it raises UnsupportedError."""
        try:
            return self.call(method, path, **kw)
        except ApiError as exc:
            if exc.not_found_route:
                raise UnsupportedError("this server does not support %s (%s %s answered %d)"
                                       % (what, method, path, exc.status))
            raise

    # -- lists ----------------------------------------------------------------------------
    def list(self, path, params=None, limit=None, page_size=100):
        """All items (or the first `limit`) of a list route, whatever its shape."""
        items, skip, total, first_id = [], 0, None, None
        while True:
            want = page_size if limit is None else min(page_size, limit - len(items) + 1)
            query = dict(params or {}, skip=skip, limit=want)
            resp = self.call("GET", path, params=query, raw=True)
            page, page_total = _page_items(resp)
            total = page_total if page_total is not None else total
            if page and skip and isinstance(page[0], dict) and page[0].get("id") == first_id:
                break  # the server ignores skip: we have everything it will give
            if page and first_id is None and isinstance(page[0], dict):
                first_id = page[0].get("id")
            items.extend(page)
            if len(page) != want or (limit is not None and len(items) > limit):
                break
            skip += len(page)
        result = ListResult(items if limit is None else items[:limit])
        result.total = total
        result.more = limit is not None and (len(items) > limit or (total is not None and total > limit))
        return result


def _page_items(resp):
    data = resp.json()
    total = resp.headers.get("X-Total-Count")
    total = int(total) if total and total.strip().isdigit() else None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        pagination = data.get("pagination") or {}
        if isinstance(pagination, dict) and isinstance(pagination.get("total"), int):
            total = pagination["total"]
        return data["data"], total
    if isinstance(data, list):
        return data, total
    raise XetherError("unexpected list answer from %s (request id %s)" % (resp.url, resp.request_id),
                      exit_code=7)

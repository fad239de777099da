"""Routes of API.md §2: login, refresh, logout, users/me and API keys."""

import datetime

from xether_lib.sandbox import auth as auth_mod
from xether_lib.sandbox.db import decode
from xether_lib.sandbox.web import (HttpError, Invalid, REQUIRED, Response, Routes, page,
                                    problem, utcnow)

routes = Routes()
USER_FIELDS = ("id", "email", "is_active", "is_superuser", "created_at", "updated_at")
KEY_FIELDS = ("id", "name", "is_active", "created_at", "last_used_at", "expires_at")


@routes.add("POST", "/api/v1/auth/login", public=True)
def login(req):
    auth = req.app.auth
    wait = auth.limiter.hit(req.client)
    if wait is not None:
        raise HttpError(429, "Too many requests. Please try again later.",
                        {"Retry-After": str(wait)})
    form = req.form()
    missing = [problem("missing", ["body", name], "Field required", None)
               for name in ("username", "password") if name not in form]
    if missing:
        raise Invalid(missing)
    user = req.app.db.one("SELECT * FROM users WHERE email = ?", (form["username"].strip(),))
    if user is None:
        auth_mod.check_password(form["password"], auth_mod.hash_password("x"))  # same time
        raise HttpError(401, "Incorrect email or password")
    if not auth_mod.check_password(form["password"], user["password_hash"]):
        raise HttpError(401, "Incorrect email or password")
    if not user["is_active"]:
        raise HttpError(400, "Inactive user")
    return Response(200, auth.issue(user["id"]))


def _refresh_claims(req):
    token = req.arg("refresh_token", "str")
    claims = req.app.auth.claims(token, "refresh")
    if claims is None:
        raise HttpError(401, "Invalid refresh token")
    return claims


@routes.add("POST", "/api/v1/auth/refresh", public=True)
def refresh(req):
    claims = _refresh_claims(req)
    if req.app.auth.revoked(claims):
        raise HttpError(401, "Token has been blacklisted")
    user = req.app.db.one("SELECT * FROM users WHERE id = ?", (str(claims.get("sub")),))
    if user is None:
        raise HttpError(401, "Invalid refresh token")
    if not user["is_active"]:
        raise HttpError(400, "Inactive user")
    return Response(200, req.app.auth.issue(user["id"]))


@routes.add("POST", "/api/v1/auth/logout", public=True)
def logout(req):
    claims = _refresh_claims(req)
    req.app.auth.revoke(claims)
    return Response(204)


@routes.add("GET", "/api/v1/users/me")
def me(req):
    return Response(200, dict((k, v) for k, v in decode(req.user).items() if k in USER_FIELDS))


def _key_view(row, key=None):
    out = dict((k, v) for k, v in decode(row).items() if k in KEY_FIELDS)
    out["key"] = key
    return out


def _parse_expiry(value):
    """Naive UTC like the backend; an aware time fails as it does there (500)."""
    if value is None:
        return None
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid([problem("datetime_from_date_parsing", ["body", "expires_at"],
                               "Input should be a valid datetime or date, invalid character",
                               value)])
    if when.tzinfo is not None:
        raise RuntimeError("can't compare offset-naive and offset-aware datetimes")
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")


@routes.add("POST", "/api/v1/api-keys/")
def create_key(req):
    body = req.body([("name", "str", REQUIRED), ("expires_at", "str", None)])
    expires = _parse_expiry(body["expires_at"])
    key, digest = auth_mod.new_api_key()
    now = utcnow()
    key_id = req.app.db.insert("api_keys", user_id=req.user["id"], name=body["name"],
                               key_hash=digest, is_active=1, created_at=now, expires_at=expires)
    row = req.app.db.one("SELECT * FROM api_keys WHERE id = ?", (key_id,))
    return Response(200, _key_view(row, key))


@routes.add("GET", "/api/v1/api-keys/")
def list_keys(req):
    skip, limit = req.skip_limit()
    rows = req.app.db.all("SELECT * FROM api_keys WHERE user_id = ? ORDER BY id",
                          (req.user["id"],))
    return page([_key_view(r) for r in rows[skip:skip + limit]], len(rows))


@routes.add("DELETE", "/api/v1/api-keys/{key_id}")
def delete_key(req):
    key_id = req.path_int("key_id")
    gone = req.app.db.run("DELETE FROM api_keys WHERE id = ? AND user_id = ?",
                          (key_id, req.user["id"])).rowcount
    if not gone:
        raise HttpError(404, "API key not found")
    return Response(204)

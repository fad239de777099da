"""Test hooks under /_sandbox/ (served only with XETHER_SANDBOX_TEST_HOOKS=1): injected faults
and the request log, as docs/ARCHITECTURE.md describes, plus `POST /_sandbox/users`
{"email", "password", "is_active"?, "team_id"?} to add a user (optionally a member of a team),
for trying 400 "Inactive user" and 403 "Insufficient permissions"."""

from xether_lib.sandbox import auth as auth_mod
from xether_lib.sandbox.faults import FaultSpecError
from xether_lib.sandbox.web import HttpError, REQUIRED, Response, Routes, utcnow

routes = Routes()


@routes.add("POST", "/_sandbox/faults", public=True)
def add_faults(req):
    try:
        req.app.faults.add(req.json())
    except (FaultSpecError, TypeError, ValueError) as exc:
        raise HttpError(400, str(exc))
    return Response(200, {"status": "ok"})


@routes.add("DELETE", "/_sandbox/faults", public=True)
def clear_faults(req):
    req.app.faults.clear()
    return Response(204)


@routes.add("GET", "/_sandbox/requests", public=True)
def requests(req):
    return Response(200, req.app.request_log.entries())


@routes.add("DELETE", "/_sandbox/requests", public=True)
def clear_requests(req):
    req.app.request_log.clear()
    return Response(204)


@routes.add("POST", "/_sandbox/users", public=True)
def add_user(req):
    body = req.body([("email", "str", REQUIRED), ("password", "str", REQUIRED),
                     ("is_active", "any", True), ("team_id", "int", None)])
    db = req.app.db
    if db.one("SELECT id FROM users WHERE email = ?", (body["email"],)):
        raise HttpError(400, "The user with this email already exists in the system")
    now = utcnow()
    with db.transaction():
        uid = db.insert("users", email=body["email"], is_active=1 if body["is_active"] else 0,
                        password_hash=auth_mod.hash_password(body["password"]),
                        is_superuser=0, created_at=now, updated_at=now)
        if body["team_id"] is not None:
            db.insert("team_members", team_id=body["team_id"], user_id=uid, role="member")
    return Response(201, {"id": uid, "email": body["email"]})

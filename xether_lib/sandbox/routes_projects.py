"""Routes of API.md §3 (teams and projects), the health checks of §1, and the access rule every
other route uses: a user sees the teams they belong to and those teams' projects
(`project_for(req, id)` -> the project row, or 404 / 403)."""

from xether_lib.sandbox.db import decode
from xether_lib.sandbox.web import (HttpError, REQUIRED, Response, Routes, not_found, page,
                                    utcnow)

routes = Routes()
FORBIDDEN = "Insufficient permissions"


@routes.add("GET", "/health/", public=True)
def health(req):
    return Response(200, {"status": "healthy"})


@routes.add("GET", "/health/readiness", public=True)
def readiness(req):
    try:
        req.app.db.one("SELECT 1 AS ok")
        state = "up"
    except Exception:  # any database failure is "down", which is what readiness reports
        state = "down"
    checks = {"database": state, "redis": "up"}
    if state != "up":
        return Response(503, {"detail": {"status": "unready", "checks": checks}})
    return Response(200, {"status": "ready", "checks": checks})


def is_member(req, team_id):
    return req.app.db.one("SELECT 1 AS ok FROM team_members WHERE team_id = ? AND user_id = ?",
                          (team_id, req.user["id"])) is not None


def team_for(req, team_id):
    team = req.app.db.one("SELECT * FROM teams WHERE id = ?", (team_id,))
    if team is None:
        raise not_found("Team")
    if not is_member(req, team_id):
        raise HttpError(403, FORBIDDEN)
    return team


def project_for(req, project_id, what="Project"):
    project = req.app.db.one("SELECT * FROM projects WHERE id = ?", (project_id,))
    if project is None:
        raise not_found(what)
    if not is_member(req, project["team_id"]):
        raise HttpError(403, FORBIDDEN)
    return project


def owned_row(req, table, row_id, what):
    """The row `row_id` of `table` (404 naming `what` when there is none), if the caller is
    a member of its project's team (403 otherwise); a row of no project is anyone's."""
    row = req.app.db.one("SELECT * FROM %s WHERE id = ?" % table, (row_id,))
    if row is None:
        raise not_found(what)
    if row["project_id"] is not None:
        project_for(req, row["project_id"])
    return row


def visible_project_ids(req):
    rows = req.app.db.all("SELECT p.id FROM projects p JOIN team_members m ON m.team_id = "
                          "p.team_id WHERE m.user_id = ?", (req.user["id"],))
    return [r["id"] for r in rows]


@routes.add("GET", "/api/v1/teams/")
def list_teams(req):
    skip, limit = req.skip_limit()
    rows = req.app.db.all("SELECT t.* FROM teams t JOIN team_members m ON m.team_id = t.id "
                          "WHERE m.user_id = ? ORDER BY t.id", (req.user["id"],))
    return page([decode(r) for r in rows[skip:skip + limit]], len(rows))


@routes.add("GET", "/api/v1/teams/{team_id}")
def get_team(req):
    return Response(200, decode(team_for(req, req.path_int("team_id"))))


@routes.add("GET", "/api/v1/projects/")
def list_projects(req):
    skip, limit = req.skip_limit()
    team_id = req.arg("team_id", "int", None)
    sql = ("SELECT p.* FROM projects p JOIN team_members m ON m.team_id = p.team_id "
           "WHERE m.user_id = ?")
    args = [req.user["id"]]
    if team_id is not None:
        sql += " AND p.team_id = ?"
        args.append(team_id)
    rows = req.app.db.all(sql + " ORDER BY p.id", args)
    return page([decode(r) for r in rows[skip:skip + limit]], len(rows))


@routes.add("GET", "/api/v1/projects/{project_id}")
def get_project(req):
    return Response(200, decode(project_for(req, req.path_int("project_id"))))


@routes.add("POST", "/api/v1/projects/")
def create_project(req):
    body = req.body([("name", "str", REQUIRED), ("description", "str", None),
                     ("team_id", "int", REQUIRED)])
    team_for(req, body["team_id"])
    now = utcnow()
    pid = req.app.db.insert("projects", name=body["name"], description=body["description"],
                            team_id=body["team_id"], created_at=now, updated_at=now)
    return Response(201, decode(req.app.db.one("SELECT * FROM projects WHERE id = ?", (pid,))))

"""Routes of API.md §6: pipelines (list, get, execute, their executions) and the [ext]
execution routes (get with stages and progress, logs with after/limit, cancel)."""

from xether_lib.sandbox.db import decode
from xether_lib.sandbox.routes_projects import owned_row, project_for
from xether_lib.sandbox.runner import new_stages, progress
from xether_lib.sandbox.web import (HttpError, Invalid, Response, Routes, not_found, page,
                                    problem, utcnow)

routes = Routes()


def pipeline_for(req, pipeline_id=None):
    if pipeline_id is None:
        pipeline_id = req.path_int("pipeline_id")
    return decode(owned_row(req, "pipelines", pipeline_id, "Pipeline"))


def execution_view(row, pipeline_name=None):
    out = decode(row)
    out["pipeline_name"] = pipeline_name
    out["stages"] = out.get("stages") or []
    out["progress"] = progress(out["stages"], out["status"])
    return out


def execution_for(req):
    row = req.app.db.one("SELECT * FROM executions WHERE id = ?",
                         (req.path_int("execution_id"),))
    if row is None:
        raise not_found("Execution")
    pipeline = pipeline_for(req, row["pipeline_id"])
    return row, pipeline


def _fresh(req, execution_id, pipeline):
    row = req.app.db.one("SELECT * FROM executions WHERE id = ?", (execution_id,))
    return execution_view(row, pipeline["name"])


@routes.add("GET", "/api/v1/pipelines/")
def list_pipelines(req):
    project_id = req.arg("project_id", "int")
    skip, limit = req.skip_limit()
    project_for(req, project_id)
    rows = req.app.db.all("SELECT * FROM pipelines WHERE project_id = ? ORDER BY id",
                          (project_id,))
    return page([decode(r) for r in rows[skip:skip + limit]], len(rows))


@routes.add("GET", "/api/v1/pipelines/{pipeline_id}")
def get_pipeline(req):
    return Response(200, pipeline_for(req))


@routes.add("POST", "/api/v1/pipelines/{pipeline_id}/execute")
def execute(req):
    pipeline = pipeline_for(req)
    params = req.json(required=False)
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise Invalid([problem("dict_type", ["body"], "Input should be a valid dictionary",
                               params)])
    if not pipeline["is_active"]:
        raise HttpError(400, "Pipeline is not active")
    now = utcnow()
    execution_id = req.app.db.insert(
        "executions", pipeline_id=pipeline["id"], status="pending", meta_data=params,
        stages=new_stages(pipeline["config"]), created_at=now)
    view = _fresh(req, execution_id, pipeline)
    req.app.runner.start(execution_id)
    return Response(201, view)


@routes.add("GET", "/api/v1/pipelines/{pipeline_id}/executions")
def list_executions(req):
    pipeline = pipeline_for(req)
    skip, limit = req.skip_limit()
    rows = req.app.db.all("SELECT * FROM executions WHERE pipeline_id = ? ORDER BY id DESC",
                          (pipeline["id"],))
    return page([execution_view(r, pipeline["name"]) for r in rows[skip:skip + limit]],
                len(rows))


@routes.add("GET", "/api/v1/executions/{execution_id}", ext=True)
def get_execution(req):
    row, pipeline = execution_for(req)
    return Response(200, execution_view(row, pipeline["name"]))


@routes.add("GET", "/api/v1/executions/{execution_id}/logs", ext=True)
def logs(req):
    row, _ = execution_for(req)
    after = req.arg("after", "int", 0)
    limit = req.arg("limit", "int", 1000)
    if limit < 1:
        raise Invalid([problem("greater_than_equal", ["query", "limit"],
                               "Input should be greater than or equal to 1", limit, {"ge": 1})])
    rows = req.app.db.all("SELECT seq, timestamp, level, stage, message FROM execution_logs "
                          "WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                          (row["id"], after, limit))
    return Response(200, rows)


@routes.add("POST", "/api/v1/executions/{execution_id}/cancel", ext=True)
def cancel(req):
    row, pipeline = execution_for(req)
    body = req.json(required=False) or {}
    reason = body.get("reason") if isinstance(body, dict) else None
    if not req.app.runner.cancel(row["id"], reason if isinstance(reason, str) else None):
        status = req.app.db.one("SELECT status FROM executions WHERE id = ?", (row["id"],))
        raise HttpError(409, "Execution already finished (status: %s)" % status["status"])
    return Response(200, _fresh(req, row["id"], pipeline))

"""Routes of API.md §7: list artifacts (by project, pipeline, execution), get one, hand out a
pre-signed download URL, delete one (its blob too)."""

from xether_lib.sandbox.db import decode
from xether_lib.sandbox.routes_projects import project_for, visible_project_ids
from xether_lib.sandbox.routes_uploads import artifact_for, store_call
from xether_lib.sandbox.web import HttpError, Response, Routes, page

routes = Routes()
FIELDS = ("id", "name", "bucket", "key", "size", "content_type", "checksum_sha256", "version_id",
          "pipeline_id", "execution_id", "project_id", "status", "created_at", "updated_at")


def view(row):
    return dict((k, v) for k, v in decode(row).items() if k in FIELDS)


@routes.add("GET", "/api/v1/artifacts/")
def list_artifacts(req):
    skip, limit = req.skip_limit()
    names = ("project_id", "pipeline_id") + (() if req.app.compat else ("execution_id",))
    filters = [(name, req.arg(name, "int", None)) for name in names]  # execution_id is [ext]
    if filters[0][1] is not None:
        projects = [project_for(req, filters[0][1])["id"]]
    else:
        projects = visible_project_ids(req)
    sql = "SELECT * FROM artifacts WHERE project_id IN (%s)" % ",".join("?" * len(projects))
    args = list(projects)
    for name, value in filters[1:]:
        if value is not None:
            sql += " AND %s = ?" % name
            args.append(value)
    if not projects:
        return page([], 0)
    rows = req.app.db.all(sql + " ORDER BY created_at, id", args)
    return page([view(r) for r in rows[skip:skip + limit]], len(rows))


@routes.add("GET", "/api/v1/artifacts/{artifact_id}")
def get_artifact(req):
    return Response(200, view(artifact_for(req, req.params["artifact_id"])))


@routes.add("GET", "/api/v1/artifacts/{artifact_id}/download")
def download(req):
    row = artifact_for(req, req.params["artifact_id"])
    expires = req.arg("expires_in_seconds", "int", 3600)
    if row["status"] != "completed" or not 1 <= expires <= 7 * 24 * 3600:
        raise HttpError(404, "Failed to generate download URL")
    try:
        url = store_call("generate download URL", req.app.store.presign_get, row["bucket"],
                         row["key"], expires)
    except HttpError:
        raise HttpError(404, "Failed to generate download URL")
    return Response(200, {"download_url": url})


@routes.add("DELETE", "/api/v1/artifacts/{artifact_id}")
def delete_artifact(req):
    row = artifact_for(req, req.params["artifact_id"])
    if row["upload_id"]:
        try:
            store_call("abort multipart upload", req.app.store.abort_multipart, row["bucket"],
                       row["key"], row["upload_id"])
        except HttpError:
            pass  # an upload the store no longer knows: nothing left to abort
    store_call("delete artifact", req.app.store.delete, row["bucket"], row["key"])
    req.app.db.run("DELETE FROM artifacts WHERE id = ?", (row["id"],))
    return Response(200, {"status": "deleted"})

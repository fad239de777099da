"""Routes of API.md §4: datasets (list with search and paging, create, get, patch, delete) and
their versions. A dataset only points at bytes (`storage_path`); deleting it leaves them."""

from xether_lib.sandbox.db import decode
from xether_lib.sandbox.routes_projects import owned_row, project_for
from xether_lib.sandbox.web import REQUIRED, Response, Routes, page, utcnow

routes = Routes()


def dataset_for(req, dataset_id=None):
    """The dataset named in the path (or `dataset_id`), if the caller may see it."""
    if dataset_id is None:
        dataset_id = req.path_int("dataset_id")
    return owned_row(req, "datasets", dataset_id, "Dataset")


def _get(db, dataset_id):
    return decode(db.one("SELECT * FROM datasets WHERE id = ?", (dataset_id,)))


def create_dataset(db, project_id, name, storage_path, description=None, meta_data=None):
    """Insert a dataset (also used by the dedupe pipeline's `output_name`); returns it."""
    now = utcnow()
    did = db.insert("datasets", name=name, description=description, project_id=project_id,
                    storage_path=storage_path, meta_data=meta_data, created_at=now,
                    updated_at=now)
    return _get(db, did)


@routes.add("GET", "/api/v1/datasets/")
def list_datasets(req):
    project_id = req.arg("project_id", "int")
    search = req.arg("search", "str", None)
    skip, limit = req.skip_limit()
    project_for(req, project_id)
    sql, args = "SELECT * FROM datasets WHERE project_id = ?", [project_id]
    if search:
        pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        sql += (" AND (lower(name) LIKE ? ESCAPE '\\' OR "
                "lower(coalesce(description, '')) LIKE ? ESCAPE '\\')")
        args += [pattern, pattern]
    total = req.app.db.one(sql.replace("*", "count(*) AS n", 1), args)["n"]
    rows = req.app.db.all(sql + " ORDER BY id LIMIT ? OFFSET ?", args + [limit, skip])
    return page([decode(r) for r in rows], total)


@routes.add("POST", "/api/v1/datasets/")
def post_dataset(req):
    body = req.body([("name", "str", REQUIRED), ("description", "str", None),
                     ("project_id", "int", REQUIRED), ("storage_path", "str", REQUIRED),
                     ("meta_data", "dict", None)])
    project_for(req, body["project_id"])
    return Response(201, create_dataset(req.app.db, **body))


@routes.add("GET", "/api/v1/datasets/{dataset_id}")
def get_dataset(req):
    return Response(200, decode(dataset_for(req)))


@routes.add("PATCH", "/api/v1/datasets/{dataset_id}")
def patch_dataset(req):
    row = dataset_for(req)
    body = req.body([("name", "str", None), ("description", "str", None),
                     ("meta_data", "dict", None)])
    changes = dict((k, v) for k, v in body.items() if v is not None)
    if changes:
        req.app.db.update("datasets", row["id"], updated_at=utcnow(), **changes)
    return Response(200, _get(req.app.db, row["id"]))


@routes.add("DELETE", "/api/v1/datasets/{dataset_id}")
def delete_dataset(req):
    row = dataset_for(req)
    with req.app.db.transaction() as db:
        db.run("DELETE FROM dataset_versions WHERE dataset_id = ?", (row["id"],))
        db.run("DELETE FROM datasets WHERE id = ?", (row["id"],))
    return Response(204)


@routes.add("POST", "/api/v1/datasets/{dataset_id}/versions")
def post_version(req):
    row = dataset_for(req)
    body = req.body([("version", "str", REQUIRED), ("storage_path", "str", REQUIRED),
                     ("meta_data", "dict", None)])
    vid = req.app.db.insert("dataset_versions", dataset_id=row["id"], created_at=utcnow(),
                            **body)
    return Response(201, decode(req.app.db.one("SELECT * FROM dataset_versions WHERE id = ?",
                                               (vid,))))


@routes.add("GET", "/api/v1/datasets/{dataset_id}/versions")
def list_versions(req):
    row = dataset_for(req)
    skip, limit = req.skip_limit()
    rows = req.app.db.all("SELECT * FROM dataset_versions WHERE dataset_id = ? ORDER BY id",
                          (row["id"],))
    return page([decode(r) for r in rows[skip:skip + limit]], len(rows))

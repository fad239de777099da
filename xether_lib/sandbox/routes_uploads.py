"""Routes of API.md §5: getting bytes into the store. Single uploads (`upload` hands out a
pre-signed PUT, `{id}/complete` checks size and SHA-256 against what the store holds) and
multipart ones (initiate, part-url, complete, and the [ext] abort and parts).

These routes must be registered before `routes_artifacts` so that `multipart/complete` is not
taken for `{artifact_id}/complete`. Store failures become API errors in `store_call`.
"""

import datetime
import uuid

from xether_lib.sandbox.routes_projects import owned_row, project_for
from xether_lib.sandbox.web import (HttpError, Invalid, REQUIRED, Response, Routes, problem,
                                    utcnow, value_error)

routes = Routes()
TARGET = [("name", "str", REQUIRED), ("bucket", "str", REQUIRED), ("key", "str", REQUIRED),
          ("content_type", "str", "application/octet-stream"), ("project_id", "int", REQUIRED),
          ("pipeline_id", "int", None), ("execution_id", "int", None)]
MAX_EXPIRY = 7 * 24 * 3600


def store_call(action, fn, *args):
    """Call the store; its errors become 404/400 with the store's words, or a 500."""
    from xether_lib.sandbox.store import StoreError

    try:
        return fn(*args)
    except StoreError as exc:
        if exc.status in (400, 404, 409):
            raise HttpError(exc.status, "%s: %s" % (exc.code, exc.message))
        raise HttpError(500, "Failed to %s: %s" % (action, exc.message))
    except (OSError, ValueError) as exc:
        raise HttpError(500, "Failed to %s: %s" % (action, exc))


def artifact_for(req, artifact_id):
    return owned_row(req, "artifacts", str(artifact_id), "Artifact")


def _expiry(value, field):
    if value < 1 or value > MAX_EXPIRY:
        raise Invalid([problem("less_than_equal" if value > 1 else "greater_than_equal",
                               ["body", field], "Input should be between 1 and %d" % MAX_EXPIRY,
                               value)])
    return value


def _new_artifact(req, body, upload_id=None):
    project_for(req, body["project_id"])
    if not body["key"] or not body["bucket"]:
        raise value_error(["body", "key" if body["bucket"] else "bucket"],
                          "must not be empty", "")
    artifact_id = uuid.uuid4().hex
    now = utcnow()
    req.app.db.insert("artifacts", id=artifact_id, status="pending", upload_id=upload_id,
                      created_at=now, updated_at=now, **body)
    return artifact_id


@routes.add("POST", "/api/v1/artifacts/upload")
def upload(req):
    body = req.body(TARGET + [("expires_in_seconds", "int", 3600)])
    expires = _expiry(body.pop("expires_in_seconds"), "expires_in_seconds")
    url = store_call("generate upload URL", req.app.store.presign_put, body["bucket"],
                     body["key"], expires, body["content_type"])
    artifact_id = _new_artifact(req, body)
    return Response(200, {"artifact_id": artifact_id, "upload_url": url})


def _norm_sha(value):
    value = value.strip().lower()
    return value[7:] if value.startswith("sha256:") else value


def finish(req, row, stored, size, checksum):
    """Check the client's size and checksum against the stored bytes; mark the artifact done."""
    if size is not None and size != stored["size"]:
        raise value_error(["body", "size"], "size %d does not match the stored object "
                          "(%d bytes)" % (size, stored["size"]), size)
    if checksum is not None and _norm_sha(checksum) != stored["sha256"]:
        raise value_error(["body", "checksum"], "checksum does not match the stored object "
                          "(sha256 %s)" % stored["sha256"], checksum)
    req.app.db.update("artifacts", row["id"], size=stored["size"], status="completed",
                      checksum_sha256=stored["sha256"], upload_id=None, updated_at=utcnow())


@routes.add("POST", "/api/v1/artifacts/multipart/initiate")
def initiate(req):
    body = req.body(TARGET)
    upload_id = store_call("initiate multipart upload", req.app.store.initiate_multipart,
                           body["bucket"], body["key"], body["content_type"])
    artifact_id = _new_artifact(req, body, upload_id)
    return Response(200, {"artifact_id": artifact_id, "upload_id": upload_id})


def _upload_for(req, artifact_id, upload_id):
    row = artifact_for(req, artifact_id)
    if not row["upload_id"] or row["upload_id"] != upload_id:
        raise HttpError(404, "Upload not found")
    return row


@routes.add("POST", "/api/v1/artifacts/multipart/part-url")
def part_url(req):
    body = req.body([("artifact_id", "str", REQUIRED), ("upload_id", "str", REQUIRED),
                     ("part_number", "int", REQUIRED), ("expires_in", "int", 3600)])
    row = _upload_for(req, body["artifact_id"], body["upload_id"])
    if not 1 <= body["part_number"] <= 10000:
        raise value_error(["body", "part_number"], "part_number must be between 1 and 10000",
                          body["part_number"])
    expires = _expiry(body["expires_in"], "expires_in")
    url = store_call("generate part URL", req.app.store.presign_part, row["bucket"],
                     row["key"], row["upload_id"], body["part_number"], expires)
    at = datetime.datetime.utcnow() + datetime.timedelta(seconds=expires)
    return Response(200, {"part_url": url, "expires_at": at.strftime("%Y-%m-%dT%H:%M:%S.%f")})


def _parts(value):
    if not isinstance(value, list):
        raise Invalid([problem("list_type", ["body", "parts"], "Input should be a valid list",
                               value)])
    out = []
    for i, part in enumerate(value):
        ok = isinstance(part, dict) and isinstance(part.get("part_number"), int) \
            and isinstance(part.get("etag"), str)
        if not ok:
            raise value_error(["body", "parts", i], "each part needs an integer part_number "
                              "and a string etag", part)
        out.append({"part_number": part["part_number"], "etag": part["etag"]})
    return out


@routes.add("POST", "/api/v1/artifacts/multipart/complete")
def complete_multipart(req):
    body = req.body([("artifact_id", "str", REQUIRED), ("upload_id", "str", REQUIRED),
                     ("parts", "any", REQUIRED), ("size", "int", None),
                     ("checksum", "str", None)])
    parts = _parts(body["parts"])
    row = _upload_for(req, body["artifact_id"], body["upload_id"])
    stored = store_call("complete multipart upload", req.app.store.complete_multipart,
                        row["bucket"], row["key"], row["upload_id"], parts)
    finish(req, row, stored, body["size"], body["checksum"])
    return Response(200, {"status": "completed", "artifact_id": row["id"],
                          "version_id": row["version_id"]})


@routes.add("POST", "/api/v1/artifacts/multipart/abort", ext=True)
def abort(req):
    body = req.body([("artifact_id", "str", REQUIRED), ("upload_id", "str", REQUIRED)])
    row = _upload_for(req, body["artifact_id"], body["upload_id"])
    store_call("abort multipart upload", req.app.store.abort_multipart, row["bucket"],
               row["key"], row["upload_id"])
    req.app.db.run("DELETE FROM artifacts WHERE id = ?", (row["id"],))
    return Response(204)


@routes.add("GET", "/api/v1/artifacts/multipart/parts", ext=True)
def list_parts(req):
    row = _upload_for(req, req.arg("artifact_id"), req.arg("upload_id"))
    parts = store_call("list parts", req.app.store.list_parts, row["bucket"], row["key"],
                       row["upload_id"])
    return Response(200, parts)


@routes.add("POST", "/api/v1/artifacts/{artifact_id}/complete")
def complete(req):
    row = artifact_for(req, req.params["artifact_id"])
    body = req.body([("size", "int", None), ("checksum", "str", None)], required=False)
    stored = store_call("read the uploaded object", req.app.store.stat, row["bucket"],
                        row["key"])
    if stored is None:
        raise value_error(["body"], "no object has been uploaded for this artifact yet", None)
    finish(req, row, stored, body["size"], body["checksum"])
    return Response(200, {"status": "completed", "artifact_id": row["id"]})

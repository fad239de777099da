"""Uploading one local file to object storage (API.md §5), for `dataset push`.

`upload_file(ctx, source, ...)` picks the way: a file up to the part size goes in one
pre-signed PUT (hashed inline); a larger one goes multipart (transfer/multipart.py), resuming
an interrupted upload of the same file when a resume state says so (transfer/resume_state.py).
When the server cannot initiate multipart (404, 405, 500) a file of at most 5 GiB goes as one
request instead. Returns what the dataset record needs: artifact id, bucket, key, storage
path, size, SHA-256, content type, file name.
"""

import os

from xether_lib.errors import (ApiError, IntegrityError, Interrupted, UnsupportedError,
                               XetherError)
from xether_lib.transfer.hashing import Body
from xether_lib.transfer.multipart import MultipartUpload, Plan
from xether_lib.transfer.resume_state import UploadState, stale_for
from xether_lib.transfer.storage_errors import is_expired, parse_storage_error

SINGLE_MAX = 5 << 30
FALLBACK_STATUSES = (404, 405, 500)


class Target(object):
    """Where the bytes go and how they are declared."""

    def __init__(self, project_id, bucket, name, content_type, key=None):
        self.project_id = project_id
        self.bucket = bucket
        self.name = name
        self.content_type = content_type
        self.key = key or "datasets/%d/%s/%s" % (project_id, os.urandom(8).hex(), name)

    def result(self, source, artifact_id, sha256):
        return {"artifact_id": artifact_id, "bucket": self.bucket, "key": self.key,
                "storage_path": "s3://%s/%s" % (self.bucket, self.key), "size": source.size,
                "sha256": sha256, "content_type": self.content_type, "filename": source.name}


def upload_file(ctx, source, content_type, part_size, concurrency, resume=True,
                resume_hint=None):
    target = Target(ctx.project_id(), ctx.settings.bucket, source.name, content_type)
    with ctx.out.progress(source.size, "Uploading %s" % source.name) as bar:
        if source.size <= part_size:
            return _single(ctx, source, target, bar)
        return _multipart(ctx, source, target, Plan(source.size, part_size), concurrency,
                          resume, resume_hint, bar)


# -- one request ----------------------------------------------------------------------------
def _single(ctx, source, target, bar):
    api = ctx.api
    body = Body(lambda: source.chunks(0, source.size), bar, hashed=True)
    headers = {"Content-Length": str(source.size), "Content-Type": target.content_type}
    try:
        for attempt in range(2):
            info = api.start_upload(target.name, target.bucket, target.key, target.content_type,
                                    target.project_id)
            resp = ctx.transport.request("PUT", info["upload_url"], headers=headers, body=body)
            if resp.status < 300:
                break
            err = parse_storage_error(resp, "uploading %s" % source.name)
            if not (is_expired(err) and attempt == 0):
                raise err
    except KeyboardInterrupt:
        raise Interrupted("upload of %s interrupted; nothing was kept (a file this size goes "
                          "in one request, so the push starts over)" % source.display)
    source.check_unchanged()
    try:
        api.complete_upload(info["artifact_id"], source.size, body.hexdigest())
    except ApiError as exc:
        if exc.status == 422:
            raise IntegrityError("the store does not hold what was sent: %s" % exc.message)
        raise
    return target.result(source, info["artifact_id"], body.hexdigest())


# -- multipart ------------------------------------------------------------------------------
def _multipart(ctx, source, target, plan, concurrency, resume, resume_hint, bar):
    upload = _resume(ctx, source, target, concurrency, resume, bar)
    if upload is None:
        try:
            init = ctx.api.initiate_multipart(target.name, target.bucket, target.key,
                                              target.content_type, target.project_id)
        except ApiError as exc:
            if exc.status not in FALLBACK_STATUSES:
                raise
            return _fallback(ctx, source, target, bar, exc)
        state = UploadState.for_file(ctx.settings.cache_dir, ctx.settings.api_url, source)
        state.start(api_url=ctx.settings.api_url, path=source.path, size=source.size,
                    mtime_ns=source.mtime_ns, project_id=target.project_id,
                    bucket=target.bucket, key=target.key, content_type=target.content_type,
                    artifact_id=init["artifact_id"], upload_id=init["upload_id"],
                    part_size=plan.part_size)
        upload = MultipartUpload(ctx, source, plan, init["artifact_id"], init["upload_id"],
                                 state, {}, concurrency, target.content_type, bar)
    sha256 = _send_parts(upload, resume_hint)
    _complete(upload, sha256)
    return target.result(source, upload.artifact_id, sha256)


def _fallback(ctx, source, target, bar, exc):
    why = "this server cannot do multipart uploads (initiate answered %d)" % exc.status
    if source.size > SINGLE_MAX:
        raise UnsupportedError("%s, and %s is larger than 5 GiB, the most one request can carry"
                               % (why, source.display))
    ctx.out.info("note: %s; sending %s in one request" % (why, source.name))
    return _single(ctx, source, target, bar)


def _send_parts(upload, resume_hint):
    try:
        return upload.run()
    except KeyboardInterrupt:
        upload.stop()
        raise Interrupted("upload interrupted with %d of %d parts stored; it can be resumed"
                          % (len(upload.etags), upload.plan.count),
                          hint="Resume it with: %s" % resume_hint if resume_hint else None)
    except IntegrityError:
        upload.stop()
        upload.abort()
        upload.state.remove()
        raise
    except XetherError as exc:
        upload.stop()
        if resume_hint and not exc.hint:
            exc.hint = "%d of %d parts are stored; resume with: %s" % (
                len(upload.etags), upload.plan.count, resume_hint)
        raise


def _complete(upload, sha256):
    try:
        upload.complete(sha256)
    except (IntegrityError, ApiError) as exc:
        if isinstance(exc, IntegrityError) or 400 <= exc.status < 500:
            upload.state.remove()  # the server will not take this upload any more
        raise
    upload.state.remove()


# -- resuming -------------------------------------------------------------------------------
def _resume(ctx, source, target, concurrency, resume, bar):
    """A MultipartUpload carrying on an interrupted one, or None to start afresh."""
    cache, api_url, out = ctx.settings.cache_dir, ctx.settings.api_url, ctx.out
    for old in stale_for(cache, api_url, source):
        out.info("note: %s changed since an interrupted upload of it; starting over"
                 % source.display)
        _abandon(ctx, old)
    state = UploadState.for_file(cache, api_url, source)
    if not state.exists:
        return None
    data = state.data
    if not resume:
        out.info("note: --no-resume: abandoning the interrupted upload of %s" % source.display)
        return _abandon(ctx, state)
    if (data.get("project_id"), data.get("bucket"), data.get("content_type")) != (
            target.project_id, target.bucket, target.content_type):
        out.info("note: project, bucket or content type differ from the interrupted upload of "
                 "%s; starting over" % source.display)
        return _abandon(ctx, state)
    plan = Plan(source.size, data["part_size"])
    stored = _stored_parts(ctx, state, plan)
    if stored is None:
        out.info("note: the interrupted upload of %s is gone from the server; starting over"
                 % source.display)
        state.remove()
        return None
    target.key = data["key"]
    out.info("Resuming the upload of %s: %d of %d parts already stored"
             % (source.display, len(stored), plan.count))
    return MultipartUpload(ctx, source, plan, data["artifact_id"], data["upload_id"], state,
                           stored, concurrency, target.content_type, bar)


def _abandon(ctx, state):
    try:
        ctx.api.abort_multipart(state.data["artifact_id"], state.data["upload_id"])
    except XetherError:
        pass  # best effort: the old upload may already be gone
    state.remove()
    return None


def _stored_parts(ctx, state, plan):
    """{part: etag} the server holds (None when the upload is gone); the local record when
    the server cannot list parts."""
    try:
        listed = ctx.api.list_multipart_parts(state.data["artifact_id"], state.data["upload_id"])
    except UnsupportedError:
        return dict((n, e) for n, e in state.parts().items() if 1 <= n <= plan.count)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    if isinstance(listed, dict):
        listed = listed.get("parts") or listed.get("data") or []
    stored = {}
    for part in listed if isinstance(listed, list) else []:
        try:
            number = int(part["part_number"])
        except (KeyError, TypeError, ValueError):
            continue
        size = part.get("size")
        if 1 <= number <= plan.count and part.get("etag") and (
                size is None or int(size) == plan.range(number)[1]):
            stored[number] = part["etag"]
    return stored

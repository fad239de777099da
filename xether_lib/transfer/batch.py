"""Every artifact of one run into one directory (`artifact download --execution`).

The run's artifacts are listed (and filtered here as well, since a server may ignore
`execution_id`), each gets a distinct safe file name in the directory, and every target is
checked before any byte moves: a file that is already there with the artifact's size and
SHA-256 is left alone (so a rerun after an interruption carries on), any other existing
file stops the whole batch unless `force` is given.
"""

import hashlib
import os

from xether_lib.errors import UsageError
from xether_lib.safe_names import safe_basename
from xether_lib.transfer.download import download_artifact, normalize_sha256


def run_artifacts(ctx, execution_id, project_id=None, pipeline_id=None, limit=None):
    """The artifacts of run `execution_id` (the first `limit`), filtered client side."""
    items = ctx.api.list_artifacts(project_id=project_id, pipeline_id=pipeline_id,
                                   execution_id=execution_id)
    mine = [a for a in items
            if isinstance(a, dict) and str(a.get("execution_id")) == str(execution_id)]
    return mine if limit is None else mine[:limit]


def plan_targets(artifacts, directory):
    """[(artifact, target path)] with one distinct file name per artifact."""
    taken, plan = set(), []
    for art in artifacts:
        ident = str(art.get("id"))
        name = safe_basename(art.get("name"), "artifact-%s" % ident)
        if name in taken:
            name = safe_basename("%s-%s" % (ident, name), "artifact-%s" % ident)
        while name in taken:
            name = "_" + name
        taken.add(name)
        plan.append((art, os.path.abspath(os.path.join(directory, name))))
    return plan


def file_sha256(path):
    h = hashlib.sha256()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                return h.hexdigest()
            h.update(view[:n])


def _already_there(path, art):
    """A result when `path` holds exactly this artifact's bytes, else None."""
    sha = normalize_sha256(art.get("checksum_sha256"))
    if sha is None or not os.path.isfile(path) or os.path.getsize(path) != art.get("size"):
        return None
    if file_sha256(path) != sha:
        return None
    return {"path": path, "size": art.get("size"), "sha256": sha, "verified": True,
            "skipped": True}


def _make_dir(directory):
    if os.path.isdir(directory):
        return
    if os.path.lexists(directory):
        raise UsageError("%s exists and is not a directory" % directory)
    try:
        os.makedirs(directory)
    except OSError as exc:
        raise UsageError("cannot create directory %s: %s" % (directory, exc.strerror or exc))


def download_run(ctx, execution_id, directory, force=False):
    """Download every artifact of a run into `directory`; a list of results."""
    directory = directory or "."
    plan = plan_targets(run_artifacts(ctx, execution_id), directory)
    if plan:
        _make_dir(directory)
    done, todo, clashes = {}, [], []
    for art, target in plan:
        present = None if force or not os.path.lexists(target) else _already_there(target, art)
        if present is not None:
            done[target] = present
        elif os.path.lexists(target) and not force:
            clashes.append(target)
        else:
            todo.append((art, target))
    if clashes:
        raise UsageError("%d file(s) already exist and differ from the run's artifacts: %s; "
                         "nothing was downloaded" % (len(clashes), ", ".join(clashes)),
                         hint="Pass --force to replace them (only after the new bytes are verified).")
    for art, target in todo:
        done[target] = download_artifact(ctx, art.get("id"), target, force=force, meta=art)
    return [done[target] for _, target in plan]

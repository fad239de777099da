"""`xether artifact ls|info|download`: the artifacts of runs, and fetching their bytes.

Listing and showing are thin views of API.md §7. Downloading goes through
`transfer.download.download_artifact` (resumable, verified, atomic), one artifact by id or
every artifact of a run (`--execution`).
"""

from xether_lib.term.table import Column

DEFAULT_LIMIT = 50
COLUMNS = [Column("id", "ID"), Column("name", "NAME"), Column("size", "SIZE", "size"),
           Column("checksum_sha256", "SHA256", "sha"),
           Column("execution_id", "EXECUTION", "int"), Column("created_at", "CREATED", "age")]
FIELDS = [Column("id", "ID"), Column("name", "Name"), Column("size", "Size", "int"),
          Column("content_type", "Content type"), Column("checksum_sha256", "SHA-256"),
          Column("bucket", "Bucket"), Column("key", "Key"), Column("version_id", "Version"),
          Column("project_id", "Project", "int"), Column("pipeline_id", "Pipeline", "int"),
          Column("execution_id", "Execution", "int"), Column("status", "Status", "status"),
          Column("created_at", "Created", "time"), Column("updated_at", "Updated", "time")]


def register(noun):
    p = noun.verb("ls", run_ls, "List artifacts (of the project, a pipeline or a run)",
                  aliases=("list",),
                  examples=["xether artifact ls", "xether artifact ls --execution 42",
                            "xether artifact ls --pipeline 3 --all -o json"])
    p.add_argument("--execution", metavar="ID", help="only artifacts of this run")
    p.add_argument("--pipeline", metavar="ID", help="only artifacts of this pipeline")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--limit", metavar="N", help="show at most N (default %d)" % DEFAULT_LIMIT)
    group.add_argument("--all", action="store_true", help="show every artifact")
    p = noun.verb("info", run_info, "Show every field of one artifact",
                  examples=["xether artifact info art_3f2a", "xether artifact info art_3f2a -o json"])
    p.add_argument("id", metavar="ID", help="artifact id")
    p = noun.verb(
        "download", run_download, "Download an artifact (or every artifact of a run), verified",
        description="Download an artifact to DEST (a directory, where the file takes the "
                    "artifact's name, or a file path; default: the current directory). The bytes "
                    "go to DEST.part first and are checked against the artifact's size and "
                    "SHA-256 before DEST is created; an interrupted download resumes when run "
                    "again. With --execution ID, every artifact of that run goes into the "
                    "directory given (default: the current directory).",
        examples=["xether artifact download art_3f2a", "xether artifact download art_3f2a out/",
                  "xether artifact download art_3f2a report.csv --force",
                  "xether artifact download --execution 42 results/"])
    p.add_argument("id", metavar="ID", nargs="?", help="artifact id (with --execution: the DIR)")
    p.add_argument("dest", metavar="DEST", nargs="?", help="directory or file path")
    p.add_argument("--execution", metavar="EXEC_ID", help="download every artifact of this run")
    p.add_argument("--force", action="store_true",
                   help="replace an existing file (only after the new bytes are verified)")


# -- ls / info ---------------------------------------------------------------------------
def _limit(args):
    from xether_lib.api import check_int_id

    if args.all:
        return None
    if args.limit is None:
        return DEFAULT_LIMIT
    limit = check_int_id(args.limit, "limit")
    if limit < 1:
        from xether_lib.errors import UsageError

        raise UsageError("invalid limit %r: expected a positive number" % args.limit)
    return limit


def run_ls(args, ctx):
    from xether_lib.api import check_int_id

    limit = _limit(args)
    execution = check_int_id(args.execution, "execution id") if args.execution else None
    pipeline = check_int_id(args.pipeline, "pipeline id") if args.pipeline else None
    project = None
    if args.project is not None or (execution is None and pipeline is None):
        project = ctx.project_id()
    if execution is not None:
        from xether_lib.transfer.batch import run_artifacts

        items = run_artifacts(ctx, execution, project, pipeline)
        more = limit is not None and len(items) > limit
        items = items if limit is None else items[:limit]
    else:
        items = ctx.api.list_artifacts(project_id=project, pipeline_id=pipeline, limit=limit)
        more = items.more
    footer = None
    if more:
        footer = "Showing the first %d; use --limit N or --all for more." % limit
    ctx.out.table(items, COLUMNS, footer=footer, empty="No artifacts found.")


def run_info(args, ctx):
    ctx.out.record(ctx.api.get_artifact(args.id), FIELDS)


# -- download ----------------------------------------------------------------------------
def _resume_command(args, target):
    import shlex

    words = ["xether", "artifact", "download", args.id, target]
    if args.force:
        words.append("--force")
    return " ".join(shlex.quote(str(w)) for w in words)


PUBLIC_KEYS = ("path", "size", "sha256", "verified")


def _public(result):
    return dict((k, result[k]) for k in PUBLIC_KEYS)


def _say(ctx, r):
    """The path on stdout (for scripts) and one line about it on stderr."""
    out = ctx.out
    out.value(r["path"])
    if r.get("skipped"):
        out.info("%s is already there with the expected size and sha256; left as it is"
                 % r["path"])
    elif r["verified"]:
        out.success("Downloaded %s (%d bytes), sha256 %s verified" % (r["path"], r["size"],
                                                                      r["sha256"]))
    else:
        out.success("Downloaded %s (%d bytes), sha256 %s (not verified: the server has no "
                    "checksum)" % (r["path"], r["size"], r["sha256"]))


def run_download(args, ctx):
    from xether_lib.errors import UsageError

    if args.execution is not None:
        return _download_run(args, ctx)
    if args.id is None:
        raise UsageError("give an artifact id (or --execution EXEC_ID)",
                         hint="Run 'xether artifact ls' to see artifact ids.")
    from xether_lib.api import check_artifact_id
    from xether_lib.transfer.download import download_artifact, target_path

    artifact_id = check_artifact_id(args.id)
    meta = ctx.api.get_artifact(artifact_id)
    target = target_path(args.dest, meta.get("name"), artifact_id)
    result = download_artifact(ctx, artifact_id, target, force=args.force, meta=meta,
                               resume_hint=_resume_command(args, target))
    if ctx.out.is_json:
        return ctx.out.data(_public(result))
    _say(ctx, result)


def _download_run(args, ctx):
    from xether_lib.api import check_int_id
    from xether_lib.errors import UsageError
    from xether_lib.transfer.batch import download_run

    if args.dest is not None:
        raise UsageError("with --execution, give at most one directory (got %r and %r)"
                         % (args.id, args.dest))
    execution = check_int_id(args.execution, "execution id")
    results = download_run(ctx, execution, args.id, args.force)
    if ctx.out.is_json:
        return ctx.out.data([_public(r) for r in results])
    for r in results:
        _say(ctx, r)
    if not results:
        ctx.out.info("Run %d has no artifacts." % execution)

"""`xether dataset push`: upload a file (transfer/upload.py), then record it as a new dataset
or as a new version of one (`--to`).

The record is created exactly once: a 5xx or a lost answer may come after the server saved
it (API.md §0), so instead of repeating the create the push looks the record up by its
storage path.
"""

from xether_lib.errors import ApiError, NetworkError, UsageError, XetherError


def register(noun):
    p = noun.verb(
        "push", run_push, "Upload a file as a new dataset (or a new version of one)",
        description="Upload FILE to object storage and record it as a dataset of the current "
                    "project. Files up to the part size go in one request; larger ones in "
                    "parallel parts, resumable: run the same command again after an "
                    "interruption and only the missing parts are sent. The SHA-256 is "
                    "computed while uploading and recorded with the dataset.",
        examples=["xether dataset push sales.csv",
                  "xether dataset push big.parquet --name sales-2024 --description 'Q1-Q4'",
                  "xether dataset push sales-v2.csv --to 17 --version v2",
                  "xether dataset push huge.bin --part-size 64MiB --concurrency 8"])
    p.add_argument("file", metavar="FILE", help="the file to upload")
    p.add_argument("--name", metavar="NAME", help="dataset name (default: the file name)")
    p.add_argument("--description", metavar="TEXT", help="dataset description")
    p.add_argument("--to", metavar="DATASET_ID",
                   help="add the file as a new version of this dataset instead")
    p.add_argument("--version", metavar="LABEL",
                   help="version label with --to (default: the next v<N>)")
    p.add_argument("--content-type", metavar="TYPE",
                   help="declared content type (default: guessed from the file name)")
    p.add_argument("--part-size", metavar="SIZE",
                   help="multipart part size, e.g. 16MiB, 64M (default: setting part_size, 16MiB)")
    p.add_argument("--concurrency", metavar="N",
                   help="parts sent at once (default: setting concurrency, 4)")
    p.add_argument("--no-resume", action="store_true",
                   help="abandon an interrupted upload of this file and start over")


def run_push(args, ctx):
    from xether_lib import settings as settings_mod
    from xether_lib.transfer.source import FileSource
    from xether_lib.transfer.upload import upload_file

    if args.version is not None and args.to is None:
        raise UsageError("--version needs --to DATASET_ID (the dataset to add a version to)")
    part_size = settings_mod.validate("part_size", args.part_size) if args.part_size \
        else ctx.settings.part_size
    concurrency = settings_mod.validate("concurrency", args.concurrency) if args.concurrency \
        else ctx.settings.concurrency
    with FileSource(args.file) as source:
        content_type = args.content_type or _guess_type(source.name)
        project_id = ctx.project_id()
        dataset, label = _version_target(ctx, args) if args.to is not None else (None, None)
        uploaded = upload_file(ctx, source, content_type, part_size, concurrency,
                               resume=not args.no_resume, resume_hint=resume_command())
    meta = {"artifact_id": uploaded["artifact_id"], "filename": uploaded["filename"],
            "size_bytes": uploaded["size"], "sha256": uploaded["sha256"],
            "content_type": uploaded["content_type"]}
    if dataset is None:
        record = _create_dataset(ctx, args, project_id, uploaded, meta)
        done = "dataset %s" % record.get("id")
    else:
        record = _create_version(ctx, dataset, label, uploaded, meta)
        done = "version %s of dataset %s" % (record.get("version", label), dataset["id"])
    from xether_lib.term.values import human_size

    ctx.out.success("Pushed %s (%s, sha256 %s) as %s"
                    % (source.display, human_size(uploaded["size"]), uploaded["sha256"], done))
    if ctx.out.is_json:
        ctx.out.data(record)
    else:
        ctx.out.value(record.get("id") if dataset is None else dataset["id"])


def _guess_type(name):
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def resume_command():
    """The command line that carries on this push (what the user typed, minus --no-resume)."""
    import shlex
    import sys

    words = [w for w in sys.argv[1:] if w != "--no-resume"]
    return " ".join(["xether"] + [shlex.quote(w) for w in words])


def _version_target(ctx, args):
    """The dataset to add a version to (checked before uploading) and the version label."""
    dataset = ctx.api.get_dataset(args.to)
    versions = ctx.api.list_dataset_versions(dataset["id"])
    labels = [str(v.get("version")) for v in versions]
    if args.version is not None:
        if args.version in labels:
            raise UsageError("dataset %s already has a version %r" % (dataset["id"], args.version),
                             hint="Choose another --version label, or leave it out for the next "
                                  "v<N>.")
        return dataset, args.version
    numbers = [int(x[1:]) for x in labels if x[:1] in ("v", "V") and x[1:].isdigit()]
    return dataset, "v%d" % (max(numbers + [len(labels)]) + 1)


def _create_dataset(ctx, args, project_id, uploaded, meta):
    body = {"name": args.name or uploaded["filename"], "project_id": project_id,
            "storage_path": uploaded["storage_path"], "meta_data": meta}
    if args.description is not None:
        body["description"] = args.description

    def lookup():
        return ctx.api.list_datasets(project_id)

    return _create_once(lambda: ctx.api.create_dataset(body), lookup, uploaded, "dataset")


def _create_version(ctx, dataset, label, uploaded, meta):
    body = {"version": label, "storage_path": uploaded["storage_path"], "meta_data": meta}

    def lookup():
        return ctx.api.list_dataset_versions(dataset["id"])

    return _create_once(lambda: ctx.api.create_dataset_version(dataset["id"], body), lookup,
                        uploaded, "dataset version")


def _create_once(create, lookup, uploaded, what):
    """Create a record once; after a 5xx or a lost answer find it by its storage path."""
    try:
        return create()
    except ApiError as exc:
        if exc.status < 500:
            raise _unrecorded(exc, uploaded, what)
        failure = exc
    except NetworkError as exc:
        failure = exc
    try:
        for row in lookup():
            if isinstance(row, dict) and row.get("storage_path") == uploaded["storage_path"]:
                return row
    except XetherError:
        pass
    raise _unrecorded(failure, uploaded, what)


def _unrecorded(exc, uploaded, what):
    hint = ("The bytes are stored (artifact %s, %s); check 'xether dataset ls' before pushing "
            "again." % (uploaded["artifact_id"], uploaded["storage_path"]))
    return XetherError("the upload finished but the %s record could not be created: %s"
                       % (what, exc.message), hint=hint, exit_code=exc.exit_code)

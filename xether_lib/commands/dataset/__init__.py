"""`xether dataset ls|info|push|rm|versions|pull`: datasets of the current project.

A dataset is a record pointing at bytes in object storage (API.md §4); `dataset push`
(commands/dataset_push.py, on top of transfer/upload.py) writes its `meta_data`
(`artifact_id`, `filename`, `size_bytes`, `sha256`, `content_type`), which `ls`, `info`,
`rm` and `pull` read back.
"""

import sys

from xether_lib.errors import ApiError, NetworkError, UsageError, XetherError
from xether_lib.term.table import Column

DEFAULT_LIMIT = 50


def meta(row):
    value = row.get("meta_data") if isinstance(row, dict) else None
    return value if isinstance(value, dict) else {}


def _meta_getter(key):
    return lambda row: meta(row).get(key)


def _version_labels(row):
    versions = row.get("versions")
    if not isinstance(versions, list):
        return None
    return ", ".join(str(v.get("version")) for v in versions if isinstance(v, dict)) or "none"


COLUMNS = [Column("id", "ID", "int"), Column("name", "NAME"),
           Column("size_bytes", "SIZE", "size", getter=_meta_getter("size_bytes")),
           Column("sha256", "SHA-256", "sha", getter=_meta_getter("sha256")),
           Column("updated_at", "UPDATED", "age")]
VERSION_COLUMNS = [Column("version", "VERSION"), Column("id", "ID", "int"),
                   Column("size_bytes", "SIZE", "size", getter=_meta_getter("size_bytes")),
                   Column("sha256", "SHA-256", "sha", getter=_meta_getter("sha256")),
                   Column("storage_path", "STORAGE PATH"), Column("created_at", "CREATED", "age")]
FIELDS = [Column("id", "ID", "int"), Column("name", "Name"), Column("description", "Description"),
          Column("project_id", "Project", "int"), Column("storage_path", "Storage path"),
          Column("size_bytes", "Size", "size", getter=_meta_getter("size_bytes")),
          Column("sha256", "SHA-256", getter=_meta_getter("sha256")),
          Column("artifact_id", "Artifact", getter=_meta_getter("artifact_id")),
          Column("filename", "File name", getter=_meta_getter("filename")),
          Column("content_type", "Content type", getter=_meta_getter("content_type")),
          Column("versions", "Versions", getter=_version_labels),
          Column("created_at", "Created", "time"), Column("updated_at", "Updated", "time")]


def _positive_int(text):
    import argparse

    if not str(text).isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("expected a whole number of at least 1, got %r" % text)
    return int(text)


def register(noun):
    p = noun.verb("ls", run_ls, "List the datasets of the project", aliases=("list",),
                  description="List the datasets of the current project: id, name, size, "
                              "short SHA-256 and age. At most 50 unless --limit or --all.",
                  examples=["xether dataset ls", "xether dataset ls --search sales --limit 10",
                            "xether dataset ls --all -o json"])
    p.add_argument("--search", metavar="TEXT", help="only datasets whose name or description "
                   "contains TEXT")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--limit", metavar="N", type=_positive_int, default=DEFAULT_LIMIT,
                       help="show at most N datasets (default %d)" % DEFAULT_LIMIT)
    group.add_argument("--all", action="store_true", help="show every dataset")

    p = noun.verb("info", run_info, "Show one dataset with its storage path, checksum, versions",
                  description="Show every field of a dataset: storage path, size, SHA-256, "
                              "artifact id, file name, content type and its versions.",
                  examples=["xether dataset info 17", "xether dataset info 17 -o json"])
    p.add_argument("id", metavar="ID", help="dataset id")

    from xether_lib.commands.dataset import push as dataset_push

    dataset_push.register(noun)

    p = noun.verb("rm", run_rm, "Delete a dataset and its stored bytes", aliases=("delete",),
                  description="Delete a dataset record, then the stored bytes of it and of its "
                              "versions. Asks first on a terminal; elsewhere needs --yes.",
                  examples=["xether dataset rm 17", "xether dataset rm 17 --yes"])
    p.add_argument("id", metavar="ID", help="dataset id")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    p = noun.verb("versions", run_versions, "List the versions of a dataset",
                  description="List the versions of a dataset (added with 'dataset push --to').",
                  examples=["xether dataset versions 17", "xether dataset versions 17 -o json"])
    p.add_argument("id", metavar="ID", help="dataset id")

    p = noun.verb("pull", run_pull, "Download a dataset's bytes and check their SHA-256",
                  description="Download the bytes of a dataset (or of one of its versions), "
                              "resuming an interrupted download, and check the size and SHA-256 "
                              "recorded when it was pushed. DEST is a file or a directory "
                              "(default: the pushed file name in the current directory).",
                  examples=["xether dataset pull 17", "xether dataset pull 17 data/",
                            "xether dataset pull 17 sales.csv --version v2 --force"])
    p.add_argument("id", metavar="ID", help="dataset id")
    p.add_argument("dest", metavar="DEST", nargs="?", help="file or directory to write to")
    p.add_argument("--version", metavar="LABEL", help="pull this version instead of the dataset")
    p.add_argument("--force", action="store_true", help="overwrite DEST if it exists")
    _intermixed(p)


def _intermixed(parser):
    """Let options sit between positionals (`pull 17 --version v2 out.csv`): argparse alone
    gives the optional DEST up as soon as an option follows ID."""
    base = type(parser)

    class Intermixed(base):
        _busy = False

        def parse_known_args(self, args=None, namespace=None):
            if self._busy:
                return base.parse_known_args(self, args, namespace)
            self._busy = True
            try:
                return self.parse_known_intermixed_args(args, namespace)
            finally:
                self._busy = False

    parser.__class__ = Intermixed


def run_ls(args, ctx):
    limit = None if args.all else args.limit
    items = ctx.api.list_datasets(ctx.project_id(), search=args.search, limit=limit)
    footer = None
    if items.more:
        of = " of %d" % items.total if items.total else ""
        footer = ("Showing the first %d%s datasets; see more with --limit N or --all"
                  % (len(items), of))
    ctx.out.table(items, COLUMNS, footer=footer, empty="No datasets found.")


def run_info(args, ctx):
    dataset = ctx.api.get_dataset(args.id)
    record = dict(dataset)
    if "versions" not in record:
        try:
            record["versions"] = list(ctx.api.list_dataset_versions(dataset["id"]))
        except (ApiError, NetworkError) as exc:
            ctx.out.warn("could not list the versions: %s" % exc.message)
    ctx.out.record(record, FIELDS)


def run_versions(args, ctx):
    versions = ctx.api.list_dataset_versions(args.id)
    ctx.out.table(versions, VERSION_COLUMNS, empty="Dataset %s has no versions." % args.id)


# -- rm -------------------------------------------------------------------------------------
def run_rm(args, ctx):
    dataset = ctx.api.get_dataset(args.id)
    try:
        versions = list(ctx.api.list_dataset_versions(dataset["id"]))
    except ApiError:
        versions = []
    artifacts = []
    for row in [dataset] + versions:
        artifact = meta(row).get("artifact_id")
        if artifact and artifact not in artifacts:
            artifacts.append(str(artifact))
    what = "dataset %s (%s)" % (dataset["id"], dataset.get("name"))
    _confirm(args, ctx, "Delete %s and its stored bytes?" % what)
    ctx.api.delete_dataset(dataset["id"])
    failed = _delete_artifacts(ctx, artifacts)
    if failed:
        raise XetherError(
            "deleted the record of %s, but not its stored bytes: artifact %s (%s)"
            % (what, ", ".join(a for a, _ in failed), "; ".join(m for _, m in failed)),
            hint="The bytes stay in storage under that artifact id; delete it once the server "
                 "allows (DELETE /api/v1/artifacts/ID).", exit_code=7)
    if ctx.out.is_json:
        ctx.out.data({"id": dataset["id"], "deleted": True, "artifacts_deleted": artifacts})
    else:
        ctx.out.success("Deleted %s%s" % (what, " and its stored bytes" if artifacts else
                                          " (it recorded no stored bytes of its own)"))


def _confirm(args, ctx, question):
    if args.yes:
        return
    if not (sys.stdin.isatty() and ctx.out.stderr_tty):
        raise UsageError("refusing to delete without confirmation",
                         hint="Pass --yes to delete without a prompt.")
    sys.stderr.write("%s [y/N] " % question)
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise UsageError("not deleted")


def _delete_artifacts(ctx, artifacts):
    failed = []
    for artifact in artifacts:
        try:
            ctx.api.delete_artifact(artifact)
        except ApiError as exc:
            if exc.status != 404:  # already gone is what we wanted
                failed.append((artifact, exc.message))
        except XetherError as exc:
            failed.append((artifact, exc.message))
    return failed


# -- pull -----------------------------------------------------------------------------------
def run_pull(args, ctx):
    from xether_lib.commands.dataset.push import resume_command
    from xether_lib.transfer.download import download_artifact

    dataset = ctx.api.get_dataset(args.id)
    source, what = dataset, "dataset %s" % dataset["id"]
    if args.version is not None:
        source = _find_version(ctx, dataset, args.version)
        what += " version %s" % args.version
    info = meta(source)
    artifact = info.get("artifact_id")
    if not artifact:
        raise XetherError("%s records no artifact id (it was not pushed with xether), so its "
                          "bytes cannot be fetched through the API" % what,
                          hint="Its storage path is %s." % source.get("storage_path"), exit_code=7)
    size = info.get("size_bytes")
    result = download_artifact(ctx, artifact, args.dest, force=args.force,
                               expected_sha256=info.get("sha256") or None,
                               expected_size=size if isinstance(size, int) else None,
                               resume_hint=resume_command())
    if ctx.out.is_json:
        ctx.out.data(result)
    else:
        ctx.out.value(result["path"])


def _find_version(ctx, dataset, label):
    versions = ctx.api.list_dataset_versions(dataset["id"])
    for version in versions:
        if str(version.get("version")) == label:
            return version
    known = ", ".join(str(v.get("version")) for v in versions) or "none"
    raise XetherError("dataset %s has no version %r (versions: %s)" % (dataset["id"], label, known),
                      hint="List them with 'xether dataset versions %s'." % dataset["id"],
                      exit_code=5)

"""The sandbox's built-in pipelines (seeded in the demo project) and what each one does.

- `profile-csv` (dataset_id): rows, columns and per-column nulls/distinct/min/max -> profile.json
- `dedupe-csv` (dataset_id, keys?, output_name?): the CSV without repeated rows -> deduped.csv,
  and optionally a new dataset pointing at it
- `sleep` (seconds=5): waits, logging each second
- `fail` (stage="process"): fails in the named stage
Any run also honours `timeout_seconds`. Pipelines see their execution through `runner.Run`.
"""

import csv
import io
import json
import math
import tempfile


class PipelineError(Exception):
    """A run failed for a reason its user can act on (the message is shown as is)."""


BUILTINS = (
    ("profile-csv", "Profile a CSV dataset: rows, columns, nulls, distinct values, min and max",
     {"type": "profile-csv", "stages": ["load", "profile", "write"],
      "parameters": {"dataset_id": "id of a CSV dataset (required)"}}),
    ("dedupe-csv", "Remove repeated rows from a CSV dataset (the first occurrence is kept)",
     {"type": "dedupe-csv", "stages": ["load", "dedupe", "write"],
      "parameters": {"dataset_id": "id of a CSV dataset (required)",
                     "keys": "columns that identify a row (default: all)",
                     "output_name": "also create a dataset of that name from the result"}}),
    ("sleep", "Wait for a while, logging each second (for trying status, logs and cancel)",
     {"type": "sleep", "stages": ["prepare", "sleep", "finish"],
      "parameters": {"seconds": "how long to sleep (default 5)"}}),
    ("fail", "Fail on purpose in one stage (for trying failure handling)",
     {"type": "fail", "stages": ["prepare", "process", "finish"],
      "parameters": {"stage": "the stage that fails, by name or number (default: process)"}}),
)
CHECK_EVERY = 500


def run(ctx):
    """Run the execution's pipeline, by the `type` in its config."""
    timeout = ctx.params.get("timeout_seconds")
    if timeout is not None:
        ctx.set_timeout(_number(timeout, "timeout_seconds"))
    kind = (ctx.pipeline.get("config") or {}).get("type")
    work = {"profile-csv": profile_csv, "dedupe-csv": dedupe_csv, "sleep": sleep,
            "fail": fail}.get(kind)
    if work is None:
        raise PipelineError("pipeline type %r cannot run in the sandbox" % kind)
    work(ctx)


def _number(value, name):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not math.isfinite(number) or number < 0:
        raise PipelineError("parameter %s must be a non-negative number, not %r" % (name, value))
    return number


# ---- reading datasets -----------------------------------------------------------------------

def _dataset(ctx):
    value = ctx.params.get("dataset_id")
    if value is None:
        raise PipelineError("parameter dataset_id is required")
    try:
        dataset_id = int(value)
    except (TypeError, ValueError):
        raise PipelineError("parameter dataset_id must be an integer, not %r" % (value,))
    row = ctx.db.one("SELECT * FROM datasets WHERE id = ?", (dataset_id,))
    if row is None:
        raise PipelineError("dataset %d not found" % dataset_id)
    return row


def _open(ctx, dataset):
    from xether_lib.sandbox.store import StoreError

    path = dataset["storage_path"] or ""
    bucket, _, key = path[5:].partition("/") if path.startswith("s3://") else ("", "", "")
    if not bucket or not key:
        raise PipelineError("dataset %d has storage_path %r, not s3://bucket/key"
                            % (dataset["id"], path))
    try:
        raw = ctx.store.open_read(bucket, key)
    except StoreError as exc:
        raise PipelineError("cannot read %s: %s %s" % (path, exc.code, exc.message))
    ctx.log("reading dataset %d (%s) from %s" % (dataset["id"], dataset["name"], path))
    return raw


def _rows(ctx, raw):
    """(header, row iterator) of a UTF-8 CSV; checks for cancel every few hundred rows."""
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)

    def rows():
        try:
            for n, row in enumerate(reader):
                if n % CHECK_EVERY == 0:
                    ctx.check()
                yield row
        except UnicodeDecodeError:
            raise PipelineError("the dataset is not a UTF-8 CSV file")
        except csv.Error as exc:
            raise PipelineError("the dataset is not valid CSV: %s" % exc)

    it = rows()
    return next(it, None) or [], it


# ---- profile-csv ----------------------------------------------------------------------------

class Column(object):
    def __init__(self):
        self.nulls = 0
        self.values = set()
        self.numeric = True
        self.ints = True
        self.low = self.high = None

    def add(self, text):
        if text == "":
            self.nulls += 1
            return
        self.values.add(text)
        if self.numeric:
            self._number(text)

    def _number(self, text):
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not math.isfinite(value):
            self.numeric = False
            return
        try:
            value = int(text)
        except ValueError:
            self.ints = False
        self.low = value if self.low is None else min(self.low, value)
        self.high = value if self.high is None else max(self.high, value)

    def stats(self):
        out = {"nulls": self.nulls, "distinct": len(self.values)}
        if self.numeric and self.low is not None:
            cast = int if self.ints else float
            out["min"], out["max"] = cast(self.low), cast(self.high)
        return out


def profile(ctx, raw):
    header, rows = _rows(ctx, raw)
    columns = [Column() for _ in header]
    count = 0
    for row in rows:
        count += 1
        for i, column in enumerate(columns):
            column.add(row[i] if i < len(row) else "")
    return {"rows": count, "columns": header,
            "column_stats": dict((name, col.stats()) for name, col in zip(header, columns))}


def profile_csv(ctx):
    with ctx.stage("load"):
        dataset = _dataset(ctx)
        raw = _open(ctx, dataset)
    try:
        with ctx.stage("profile"):
            result = profile(ctx, raw)
            ctx.log("%d rows, %d columns" % (result["rows"], len(result["columns"])))
    finally:
        raw.close()
    with ctx.stage("write"):
        data = json.dumps(result, indent=2, sort_keys=False).encode("utf-8") + b"\n"
        ctx.save_artifact("profile.json", data, "application/json")


# ---- dedupe-csv -----------------------------------------------------------------------------

def _keys(ctx, header):
    keys = ctx.params.get("keys")
    if keys in (None, "", []):
        return list(range(len(header)))
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise PipelineError("parameter keys must be a list of column names")
    missing = [k for k in keys if k not in header]
    if missing:
        raise PipelineError("no column named %s in the dataset (columns: %s)"
                            % (", ".join(missing), ", ".join(header)))
    return [header.index(k) for k in keys]


def dedupe(ctx, raw, out):
    """Copy the unique rows of `raw` to the text stream `out`; returns (kept, dropped)."""
    header, rows = _rows(ctx, raw)
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    index = _keys(ctx, header)
    seen, kept, dropped = set(), 0, 0
    for row in rows:
        key = tuple(row[i] if i < len(row) else "" for i in index)
        if key in seen:
            dropped += 1
            continue
        seen.add(key)
        writer.writerow(row)
        kept += 1
    return kept, dropped


def dedupe_csv(ctx):
    with ctx.stage("load"):
        dataset = _dataset(ctx)
        raw = _open(ctx, dataset)
    with tempfile.TemporaryFile() as spool:
        try:
            with ctx.stage("dedupe"):
                text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
                kept, dropped = dedupe(ctx, raw, text)
                text.flush()
                text.detach()
                ctx.log("kept %d rows, removed %d duplicates" % (kept, dropped))
        finally:
            raw.close()
        with ctx.stage("write"):
            spool.seek(0)
            artifact = ctx.save_artifact("deduped.csv", spool, "text/csv")
            _new_dataset(ctx, dataset, artifact)


def _new_dataset(ctx, source, artifact):
    from xether_lib.sandbox.routes_datasets import create_dataset

    name = ctx.params.get("output_name")
    if not name:
        return
    meta = {"artifact_id": artifact["id"], "filename": artifact["name"],
            "size_bytes": artifact["size"], "sha256": artifact["checksum_sha256"],
            "content_type": artifact["content_type"]}
    made = create_dataset(ctx.db, source["project_id"], str(name),
                          "s3://%s/%s" % (artifact["bucket"], artifact["key"]),
                          "%s without duplicate rows" % source["name"], meta)
    ctx.log("created dataset %d (%s)" % (made["id"], made["name"]))


# ---- sleep and fail -------------------------------------------------------------------------

def sleep(ctx):
    seconds = _number(ctx.params.get("seconds", 5), "seconds")
    with ctx.stage("prepare"):
        ctx.log("will sleep %g seconds" % seconds)
    with ctx.stage("sleep"):
        whole = int(seconds)
        for i in range(whole):
            ctx.sleep(1)
            ctx.log("slept %d of %g seconds" % (i + 1, seconds))
        ctx.sleep(seconds - whole)
    with ctx.stage("finish"):
        ctx.log("done sleeping")


def fail(ctx):
    names = [s["name"] for s in ctx.stages] or ["prepare", "process", "finish"]
    wanted = str(ctx.params.get("stage", names[1 if len(names) > 1 else 0]))
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        wanted = names[int(wanted) - 1]
    if wanted not in names:
        raise PipelineError("parameter stage must be one of %s" % ", ".join(names))
    for name in names:
        with ctx.stage(name):
            if name == wanted:
                ctx.log("failing on purpose", "ERROR")
                raise PipelineError("stage %s failed (on purpose: this is the fail pipeline)"
                                    % name)
            ctx.sleep(0.05)

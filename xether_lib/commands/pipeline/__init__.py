"""`xether pipeline ls|info|run|status|history|logs|cancel`: pipelines and their runs.

The verbs' parsers and run functions live here; parameters are parsed in `params.py`, run
data in `runs.py`, waiting in `pipeline_watch.py`, logs in `pipeline_logs.py`, the table and
record layouts in `pipeline_views.py`.
"""

from xether_lib.commands.pipeline import views
from xether_lib.commands.pipeline.logs import parse_level

POLL_HELP = "seconds between status checks at first (default 2; backs off to 10 on long runs)"
TIMEOUT_HELP = "give up waiting after this long (e.g. 90s, 10m) with exit 11; the run goes on"


def register(noun):
    _register_ls_info(noun)
    _register_run(noun)
    _register_status(noun)
    _register_history_logs(noun)
    _register_cancel(noun)


def _register_ls_info(noun):
    noun.verb("ls", run_ls, "List the pipelines of the project", aliases=("list",),
              description="List the pipelines of the current project (--project or "
                          "'xether project use').",
              examples=["xether pipeline ls", "xether pipeline ls -o json"])
    p = noun.verb("info", run_info, "Show a pipeline: description, stages, last runs",
                  description="Show one pipeline: its description, the stages of its config, "
                              "its parameters where the config lists them, and its last runs.",
                  examples=["xether pipeline info 3", "xether pipeline info profile-csv -o json"])
    _pipeline_arg(p)


def _pipeline_arg(p):
    p.add_argument("pipeline", metavar="PIPELINE",
                   help="pipeline id (or its exact name in the current project)")


def _run_arg(p):
    p.add_argument("execution", metavar="RUN_ID", help="execution (run) id")


def _wait_options(p):
    p.add_argument("--timeout", metavar="DURATION", help=TIMEOUT_HELP)
    p.add_argument("--poll", metavar="SECONDS", help=POLL_HELP)


def _register_run(noun):
    p = noun.verb(
        "run", run_run, "Start a run of a pipeline (and wait for it)",
        description="Start a run of a pipeline with parameters. A --param value is read as "
                    "JSON when it is valid JSON (n=5 is a number, flag=true a boolean, "
                    "tags='[\"a\",\"b\"]' a list), else as a string; a dotted key builds "
                    "nested objects (date_range.start=2024-01-01). --params-file gives a JSON "
                    "object whose keys --param overrides.\n\nPrints the run's id (the run "
                    "object with -o json). With --wait, shows the run live until it ends and "
                    "exits 0 when it completed, 10 when it failed, was cancelled or timed out. "
                    "A start request that may have reached the server is never repeated.",
        examples=["xether pipeline run 3 --param dataset_id=17 --wait",
                  "xether pipeline run profile-csv --param dataset_id=17 --follow",
                  "xether pipeline run 3 --params-file params.json --param n=5",
                  "echo '{\"seconds\": 3}' | xether pipeline run sleep --params-file - -q",
                  "xether pipeline run 3 --wait --timeout 10m"])
    _pipeline_arg(p)
    p.add_argument("--param", metavar="KEY=VALUE", action="append", default=[],
                   help="a run parameter (repeatable); VALUE is JSON or a string")
    p.add_argument("--params-file", metavar="FILE",
                   help="a JSON object of parameters ('-' reads stdin)")
    p.add_argument("--wait", action="store_true", help="wait until the run ends")
    p.add_argument("--follow", action="store_true",
                   help="wait and print the run's logs as they come (implies --wait)")
    _wait_options(p)


def _register_status(noun):
    p = noun.verb(
        "status", run_status, "Show a run: status, times, stages, error",
        description="Show one run: status, start, duration, stages and error. On a server "
                    "without GET /executions/{id}, pass --pipeline so that the run can be found "
                    "in its pipeline's history. --watch waits like 'run --wait'.",
        examples=["xether pipeline status 42", "xether pipeline status 42 --watch",
                  "xether pipeline status 42 --pipeline 3 -o json"])
    _run_arg(p)
    p.add_argument("--pipeline", metavar="PIPELINE_ID",
                   help="the run's pipeline (needed on servers without GET /executions/{id})")
    p.add_argument("--watch", action="store_true",
                   help="wait until the run ends (exit 0 completed, 10 otherwise)")
    _wait_options(p)


def _register_history_logs(noun):
    p = noun.verb("history", run_history, "List the runs of a pipeline, newest first",
                  description="List the runs of a pipeline, newest first: id, status, start, "
                              "duration and parameters.",
                  examples=["xether pipeline history 3", "xether pipeline history 3 --status failed",
                            "xether pipeline history 3 --limit 100 -o csv"])
    _pipeline_arg(p)
    p.add_argument("--limit", metavar="N", default="20", help="at most N runs (default 20)")
    p.add_argument("--status", metavar="STATUS",
                   help="only runs with this status (pending, running, completed, failed, "
                        "cancelled, timeout)")
    p = noun.verb("logs", run_logs, "Print the logs of a run",
                  description="Print a run's logs: time (UTC), level, stage, message. --follow "
                              "keeps printing new lines until the run ends. With -o json/csv "
                              "the entries come as one document.",
                  examples=["xether pipeline logs 42", "xether pipeline logs 42 --follow",
                            "xether pipeline logs 42 --level warning --stage load"])
    _run_arg(p)
    p.add_argument("--follow", "-f", action="store_true", help="keep printing until the run ends")
    p.add_argument("--stage", metavar="STAGE", help="only lines of this stage")
    p.add_argument("--level", metavar="LEVEL", type=parse_level,
                   help="only lines at this level or above (debug, info, warning, error)")
    p.add_argument("--poll", metavar="SECONDS", help=POLL_HELP)


def _register_cancel(noun):
    p = noun.verb("cancel", run_cancel, "Cancel a pending or running run",
                  description="Cancel a run. Asks first on a terminal; elsewhere --yes is "
                              "required. A run that has already finished gives exit 6.",
                  examples=["xether pipeline cancel 42", "xether pipeline cancel 42 --yes "
                                                         "--reason 'wrong dataset'"])
    _run_arg(p)
    p.add_argument("--reason", metavar="TEXT", help="why (kept with the run)")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")


# -- verbs ---------------------------------------------------------------------------------

def run_ls(args, ctx):
    ctx.out.table(ctx.api.list_pipelines(ctx.project_id()), views.PIPELINE_COLUMNS,
                  empty="No pipelines in this project.")


def run_info(args, ctx):
    pipeline = ctx.api.get_pipeline(views.resolve_pipeline(ctx, args.pipeline))
    runs = ctx.api.list_executions(pipeline["id"], limit=views.INFO_RUNS)
    ctx.out.record(dict(pipeline, recent_executions=list(runs)), views.pipeline_fields())


def run_run(args, ctx):
    from xether_lib.commands.pipeline import run as pipeline_run

    return pipeline_run.run(args, ctx)


def run_status(args, ctx):
    from xether_lib.commands.pipeline import run as pipeline_run

    return pipeline_run.status(args, ctx)


def run_history(args, ctx):
    from xether_lib.api import check_int_id
    from xether_lib.errors import UsageError

    pipeline_id = views.resolve_pipeline(ctx, args.pipeline)
    limit = check_int_id(args.limit, "--limit")
    if limit < 1:
        raise UsageError("invalid --limit 0: expected a positive number")
    wanted = args.status.strip().lower() if args.status else None
    runs = ctx.api.list_executions(pipeline_id, limit=None if wanted else limit)
    shown = [r for r in runs if not wanted or str(r.get("status", "")).lower() == wanted]
    shown.sort(key=views.newest_first)
    footer = None
    if len(shown) > limit or runs.more:
        footer = "Showing the newest %d runs; see more with --limit." % limit
    ctx.out.table(shown[:limit], views.history_columns(ctx.out.fmt), footer=footer,
                  empty="No runs%s." % (" with status %s" % wanted if wanted else ""))


def run_logs(args, ctx):
    from xether_lib.commands.pipeline import run as pipeline_run

    return pipeline_run.logs(args, ctx)


def run_cancel(args, ctx):
    from xether_lib.commands.pipeline import run as pipeline_run

    return pipeline_run.cancel(args, ctx)

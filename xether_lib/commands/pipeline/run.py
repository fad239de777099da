"""The verbs of `xether pipeline` that act on one run: run (start, then maybe wait or follow),
status (maybe --watch), logs (maybe --follow) and cancel.

Starting a run is the one call that is never repeated: when the POST may have reached the
server (timeout, dropped connection, 5xx, Ctrl-C) the user is told that the run may have
started and how to check, instead of a second run being started behind their back.
"""

from xether_lib.api import check_int_id
from xether_lib.commands.pipeline import views
from xether_lib.errors import (ApiError, Interrupted, NetworkError, UsageError, WaitTimeout,
                               XetherError)
from xether_lib.runs import RunLookup


def _wait_settings(args):
    from xether_lib.units import parse_duration, parse_positive_float

    timeout = getattr(args, "timeout", None)
    timeout = parse_duration(timeout, "--timeout") if timeout is not None else None
    if timeout is not None and timeout <= 0:
        raise UsageError("invalid --timeout %r: expected a positive duration (e.g. 90s, 10m)"
                         % args.timeout)
    poll = parse_positive_float(args.poll, "--poll") if args.poll is not None else None
    return timeout, poll


# -- run ------------------------------------------------------------------------------------

def run(args, ctx):
    from xether_lib.params import build_params

    params = build_params(args.param, args.params_file)
    wait = args.wait or args.follow
    timeout, poll = _wait_settings(args)
    pipeline_id = views.resolve_pipeline(ctx, args.pipeline)
    execution = start(ctx, pipeline_id, params)
    run_id = execution.get("id")
    if not ctx.out.is_json:
        ctx.out.value(run_id)
    ctx.out.info("Started run %s of pipeline %s%s." % (
        run_id, pipeline_id, " (%s)" % execution["pipeline_name"]
        if execution.get("pipeline_name") else ""))
    if not wait:
        if ctx.out.is_json:
            ctx.out.record(execution, views.execution_fields())
        ctx.out.info("Watch it: xether pipeline status %s --watch" % run_id)
        return None
    lookup = RunLookup(ctx.api, check_int_id(run_id, "execution id"), pipeline_id,
                       notice=ctx.out.info)
    return _watch_and_conclude(ctx, lookup, execution, timeout, poll, follow=args.follow)


def start(ctx, pipeline_id, params):
    """POST /pipelines/{id}/execute once; an uncertain failure says how to check."""
    check = "Check with 'xether pipeline history %d' before starting it again." % pipeline_id
    try:
        execution = ctx.api.execute_pipeline(pipeline_id, params)
    except NetworkError as exc:
        if not _may_have_reached(exc):
            raise
        raise _maybe_started(pipeline_id, exc.message, exc.exit_code, check)
    except ApiError as exc:
        if exc.status < 500:
            raise
        raise _maybe_started(pipeline_id, exc.message, exc.exit_code, check)
    except KeyboardInterrupt:
        raise Interrupted("interrupted while starting a run of pipeline %d: the run may have "
                          "started" % pipeline_id, hint=check)
    if not isinstance(execution, dict) or execution.get("id") is None:
        raise XetherError("the server started a run of pipeline %d but did not say its id"
                          % pipeline_id, hint=check, exit_code=7)
    return execution


NEVER_SENT = ("connection refused", "lookup failed", "certificate", "unsupported url",
              "refusing a redirect")


def _may_have_reached(exc):
    """False only when the request provably never left (refused connection, DNS, TLS)."""
    text = exc.message.lower()
    return not any(marker in text for marker in NEVER_SENT)


def _maybe_started(pipeline_id, why, exit_code, check):
    return XetherError("the run of pipeline %d may have started: %s" % (pipeline_id, why),
                       hint="xether did not repeat the request (a run is not idempotent). "
                            + check, exit_code=exit_code)


def _watch_and_conclude(ctx, lookup, execution, timeout, poll, follow=False):
    from xether_lib.commands.pipeline.logs import LogPrinter, LogReader
    from xether_lib.commands.pipeline.watch import Watch, conclude

    reader = printer = None
    if follow:
        reader = LogReader(ctx.api, lookup.execution_id)
        printer = LogPrinter(ctx.out, to_stderr=ctx.out.fmt != "table")
    again = "xether pipeline logs %d --follow" % lookup.execution_id if follow else None
    watch = Watch(ctx, lookup, poll=poll, timeout=timeout, logs=reader, printer=printer,
                  again=again)
    try:
        final = watch.wait(execution)
    except (WaitTimeout, Interrupted):
        if ctx.out.is_json and watch.last is not None:  # the run as last seen: still a document
            ctx.out.record(watch.last, views.execution_fields())
        raise
    if ctx.out.is_json:
        ctx.out.record(final, views.execution_fields())
    return conclude(ctx.out, final)


# -- status ---------------------------------------------------------------------------------

def status(args, ctx):
    timeout, poll = _wait_settings(args)
    run_id = check_int_id(args.execution, "execution id")
    pipeline_id = check_int_id(args.pipeline, "pipeline id") if args.pipeline else None
    lookup = RunLookup(ctx.api, run_id, pipeline_id, notice=ctx.out.info)
    execution = lookup.get()
    if args.watch:
        return _watch_and_conclude(ctx, lookup, execution, timeout, poll)
    ctx.out.record(execution, views.execution_fields())
    return None


# -- logs -----------------------------------------------------------------------------------

def logs(args, ctx):
    from xether_lib.commands.pipeline.logs import LogFilter, LogPrinter, LogReader
    from xether_lib.commands.pipeline.watch import Watch

    _, poll = _wait_settings(args)
    run_id = check_int_id(args.execution, "execution id")
    reader = LogReader(ctx.api, run_id)
    printer = LogPrinter(ctx.out, keep=LogFilter(args.stage, args.level))
    if not args.follow:
        printer.emit(reader.read())
        printer.finish()
        return None
    try:
        final = Watch(ctx, RunLookup(ctx.api, run_id), poll=poll, logs=reader, printer=printer,
                      live=False, logs_required=True,
                      again="xether pipeline logs %d --follow" % run_id).wait()
    finally:
        printer.finish()
    ctx.out.info("run %s ended: %s" % (run_id, final.get("status")))
    return None


# -- cancel ---------------------------------------------------------------------------------

def cancel(args, ctx):
    run_id = check_int_id(args.execution, "execution id")
    if not args.yes and not _confirm(ctx, "Cancel run %d? [y/N] " % run_id, run_id):
        ctx.out.info("Not cancelled: run %d goes on." % run_id)
        return None
    try:
        execution = ctx.api.cancel_execution(run_id, args.reason)
    except ApiError as exc:
        if exc.status != 409:
            raise
        raise XetherError("run %d has already finished: %s"
                          % (run_id, exc.server_message or exc.message),
                          hint="See it: xether pipeline status %d" % run_id,
                          exit_code=exc.exit_code)
    if ctx.out.is_json:
        ctx.out.record(execution or {"id": run_id}, views.execution_fields())
    else:
        ctx.out.success("cancelled run %d" % run_id)
    return None


def _confirm(ctx, prompt, run_id):
    """True when the user says yes; a usage error when there is no terminal to ask on."""
    import sys

    if not (sys.stdin.isatty() and ctx.out.stderr_tty):
        raise UsageError("not cancelling run %d without confirmation (no terminal to ask on)"
                         % run_id, hint="Pass --yes to cancel without asking.")
    ctx.out.stderr.write(prompt)
    ctx.out.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        ctx.out.stderr.write("\n")
        raise Interrupted("not cancelled: run %d goes on" % run_id)
    return answer.strip().lower() in ("y", "yes")

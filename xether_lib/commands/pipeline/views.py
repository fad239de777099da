"""How pipelines and runs look: table columns and record fields for `pipeline ls|info|
history|status`, text for stages and parameters, and finding a pipeline by id or name."""

from xether_lib.term.table import Column

INFO_RUNS = 5
PARAMS_WIDTH = 48


def _yes_no(value):
    if value is None:
        return None
    return "yes" if value else "no"


PIPELINE_COLUMNS = [
    Column("id", "ID", "int"), Column("name", "NAME"),
    Column("is_active", "ACTIVE", getter=lambda p: _yes_no(p.get("is_active"))),
    Column("updated_at", "UPDATED", "age"),
]


def resolve_pipeline(ctx, ref):
    """A pipeline id from `ref`: digits are an id, anything else an exact name in the project."""
    from xether_lib.errors import NOT_FOUND, UsageError, XetherError

    text = str(ref).strip()
    if text.isdigit():
        return int(text)
    matches = [p for p in ctx.api.list_pipelines(ctx.project_id())
               if isinstance(p, dict) and p.get("name") == text]
    if not matches:
        raise XetherError("no pipeline named %r in project %s" % (text, ctx.project_id()),
                          hint="List them: xether pipeline ls", exit_code=NOT_FOUND)
    if len(matches) > 1:
        raise UsageError("%d pipelines are named %r: use the id (%s)"
                         % (len(matches), text, ", ".join(str(p.get("id")) for p in matches)))
    return int(matches[0]["id"])


def stage_names(config):
    """Stage names from a pipeline config: `stages` as names or objects with a name."""
    stages = config.get("stages") if isinstance(config, dict) else config
    if not isinstance(stages, list):
        return []
    names = []
    for stage in stages:
        if isinstance(stage, dict):
            stage = stage.get("name") or stage.get("type") or stage.get("id")
        if stage not in (None, ""):
            names.append(str(stage))
    return names


def _config_stages(pipeline):
    names = stage_names(pipeline.get("config"))
    return " -> ".join(names) if names else None


def _config_parameters(pipeline):
    config = pipeline.get("config")
    params = config.get("parameters") if isinstance(config, dict) else None
    if isinstance(params, dict) and params:
        from xether_lib.term.values import plain

        return "\n".join("%s: %s" % (k, plain(v)) for k, v in params.items())
    return params or None


def _run_line(run, id_width):
    from xether_lib.commands.pipeline.watch import human_seconds
    from xether_lib.runs import duration, status_of
    from xether_lib.term.values import format_time

    started = format_time(run["started_at"]) if run.get("started_at") else "not started"
    return "%*s  %-9s  %s  %s" % (id_width, run.get("id"), status_of(run), started,
                                  human_seconds(duration(run)))


def _recent_runs(pipeline):
    runs = [r for r in pipeline.get("recent_executions") or [] if isinstance(r, dict)]
    if not runs:
        return "none yet"
    width = max(len(str(r.get("id"))) for r in runs)
    return "\n".join(_run_line(r, width) for r in runs)


def pipeline_fields():
    return [Column("id", "ID", "int"), Column("name", "Name"),
            Column("description", "Description"),
            Column("is_active", "Active", getter=lambda p: _yes_no(p.get("is_active"))),
            Column("project_id", "Project", "int"),
            Column("stages", "Stages", getter=_config_stages),
            Column("parameters", "Parameters", getter=_config_parameters),
            Column("created_at", "Created", "time"), Column("updated_at", "Updated", "time"),
            Column("recent_executions", "Last runs", getter=_recent_runs)]


# -- runs -----------------------------------------------------------------------------------

def newest_first(run):
    value = run.get("id")
    return -value if isinstance(value, int) else 0


def _duration(run):
    from xether_lib.commands.pipeline.watch import human_seconds
    from xether_lib.runs import duration, is_finished

    took = duration(run)
    if took is None:
        return None
    return human_seconds(took) + ("" if is_finished(run) else " so far")


def _short_params(run):
    from xether_lib.term.style import truncate
    from xether_lib.term.values import compact_json

    params = run.get("meta_data")
    if params in (None, {}, []):
        return None
    return truncate(compact_json(params), PARAMS_WIDTH, "...")


def history_columns(fmt):
    params = Column("meta_data", "PARAMETERS", "json",
                    getter=_short_params if fmt == "table" else None)
    return [Column("id", "ID", "int"), Column("status", "STATUS", "status"),
            Column("started_at", "STARTED", "age" if fmt == "table" else "time"),
            Column("duration", "DURATION", getter=_duration), params]


def _stages_text(run):
    from xether_lib.commands.pipeline.watch import human_seconds, stage_text
    from xether_lib.runs import stages_of
    from xether_lib.term.values import parse_time

    lines = [stage_text(run)] if stage_text(run) else []
    for stage in stages_of(run):
        start, end = parse_time(stage.get("started_at")), parse_time(stage.get("completed_at"))
        took = human_seconds((end - start).total_seconds()) if start and end else ""
        lines.append(("%-12s %-10s %s" % (stage.get("name"), stage.get("status"), took)).rstrip())
    return "\n".join(lines) or None


def _pipeline_ref(run):
    if run.get("pipeline_name"):
        return "%s (%s)" % (run.get("pipeline_id"), run["pipeline_name"])
    return run.get("pipeline_id")


def execution_fields():
    return [Column("id", "ID", "int"), Column("pipeline_id", "Pipeline", getter=_pipeline_ref),
            Column("status", "Status", "status"), Column("started_at", "Started", "time"),
            Column("completed_at", "Completed", "time"),
            Column("duration", "Duration", getter=_duration),
            Column("stages", "Stages", getter=_stages_text),
            Column("meta_data", "Parameters", "json"),
            Column("error_message", "Error")]

"""`xether project ls|info|use`: the projects you can see, and the profile's default one."""

from xether_lib.term.table import Column

COLUMNS = [Column("id", "ID", "int"), Column("name", "NAME"), Column("team_id", "TEAM", "int"),
           Column("description", "DESCRIPTION"), Column("updated_at", "UPDATED", "age")]
FIELDS = [Column("id", "ID", "int"), Column("name", "Name"), Column("description", "Description"),
          Column("team_id", "Team", "int"), Column("created_at", "Created", "time"),
          Column("updated_at", "Updated", "time")]


def register(noun):
    p = noun.verb("ls", run_ls, "List the projects you can see",
                  aliases=("list",), examples=["xether project ls", "xether project ls --team 2 -o json"])
    p.add_argument("--team", metavar="ID", help="only projects of this team")
    p = noun.verb("info", run_info, "Show one project", examples=["xether project info 4"])
    p.add_argument("id", metavar="ID", help="project id")
    p = noun.verb("use", run_use, "Make a project the profile's default",
                  description="Make a project the default for this profile, so that dataset and "
                              "pipeline commands work in it without --project.",
                  examples=["xether project use 4", "xether --profile staging project use 7"])
    p.add_argument("id", metavar="ID", help="project id")


def run_ls(args, ctx):
    from xether_lib.api import check_int_id

    team = check_int_id(args.team, "team id") if args.team is not None else None
    projects = ctx.api.list_projects(team_id=team)
    current = ctx.settings.project
    ctx.out.table(projects, COLUMNS)
    if current is not None and not ctx.out.is_json:
        ctx.out.info("Current project: %s (change it with 'xether project use ID')" % current)


def run_info(args, ctx):
    ctx.out.record(ctx.api.get_project(args.id), FIELDS)


def run_use(args, ctx):
    project = ctx.api.get_project(args.id)
    ctx.settings.set_config("project", project["id"])
    if ctx.out.is_json:
        ctx.out.data(project)
    ctx.out.success("Now using project %s (%s) in profile %s"
                    % (project.get("name"), project["id"], ctx.settings.profile))

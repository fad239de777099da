"""`xether config set|get|unset|view|profiles`: the profile's settings and where each comes from."""

from xether_lib.errors import UsageError
from xether_lib.term.table import Column

VIEW_COLUMNS = [Column("key", "KEY"), Column("value", "VALUE"), Column("source", "SOURCE")]


def register(noun):
    import xether_lib.settings as s

    keys = ", ".join(s.KEYS)
    p = noun.verb("set", run_set, "Set a setting in the profile",
                  description="Set a setting in the profile's config file. Keys: %s." % keys,
                  examples=["xether config set api_url local", "xether config set project 4",
                            "xether --profile staging config set api_url https://staging.xether.ai"])
    p.add_argument("key", metavar="KEY")
    p.add_argument("value", metavar="VALUE")
    p = noun.verb("get", run_get, "Print a setting's effective value",
                  description="Print a setting's effective value (flag > env > profile > default). "
                              "Keys: %s." % keys,
                  examples=["xether config get api_url"])
    p.add_argument("key", metavar="KEY")
    p = noun.verb("unset", run_unset, "Remove a setting from the profile",
                  examples=["xether config unset project"])
    p.add_argument("key", metavar="KEY")
    noun.verb("view", run_view, "Show every effective setting and where it comes from",
              aliases=("list",), examples=["xether config view", "xether config view -o json"])
    noun.verb("profiles", run_profiles, "List the profiles in the config files",
              examples=["xether config profiles"])


def _display(value):
    return "" if value is None else str(value)


def run_set(args, ctx):
    ctx.settings.set_config(args.key, args.value)
    ctx.out.success("Set %s in profile %s" % (args.key, ctx.settings.profile))


def run_get(args, ctx):
    from xether_lib.settings import validate_key

    validate_key(args.key)
    value = ctx.settings.get(args.key)
    if ctx.out.is_json:
        ctx.out.data({"key": args.key, "value": value, "source": ctx.settings.source(args.key)})
    elif value is not None:
        ctx.out.value(_display(value))


def run_unset(args, ctx):
    ctx.settings.unset_config(args.key)
    ctx.out.success("Unset %s in profile %s" % (args.key, ctx.settings.profile))


def _auth_line(settings):
    from xether_lib.redact import describe_credentials

    creds = settings.credentials
    method, label = describe_credentials(creds)
    if method is None:
        return "not logged in"
    who = creds.get("email")
    return "logged in as %s (%s)" % (who, label) if who else label


def run_view(args, ctx):
    import xether_lib.settings as s

    settings = ctx.settings
    rows = [{"key": key, "value": _display(settings.get(key)), "source": settings.source(key)}
            for key in s.KEYS]
    rows.insert(0, {"key": "profile", "value": settings.profile,
                    "source": "flag --profile" if ctx.args.profile else (
                        "env XETHER_PROFILE" if settings.env.get("XETHER_PROFILE") else "default")})
    rows.append({"key": "auth", "value": _auth_line(settings),
                 "source": settings.credentials.get("source") or "-"})
    rows.append({"key": "config_dir", "value": settings.config_dir or "(none: HOME is not set)",
                 "source": "env XETHER_CONFIG_DIR" if settings.env.get("XETHER_CONFIG_DIR") else "default"})
    if ctx.out.is_json:
        ctx.out.data({"profile": settings.profile, "config_dir": settings.config_dir,
                      "auth": rows[-2]["value"],
                      "settings": {key: {"value": settings.get(key), "source": settings.source(key)}
                                   for key in s.KEYS}})
        return
    ctx.out.table(rows, VIEW_COLUMNS)


def run_profiles(args, ctx):
    settings = ctx.settings
    names = set(settings.config_file.profile_names()) | set(settings.credentials_file.profile_names())
    names.add(settings.profile)
    rows = [{"name": n, "current": "*" if n == settings.profile else ""} for n in sorted(names)]
    if not rows:
        raise UsageError("no profiles")
    ctx.out.table(rows, [Column("current", " "), Column("name", "PROFILE")])

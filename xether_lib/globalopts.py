"""The global options as plain data, shared by the argparse tree (parser.py) and the
top-level help that cli.py prints without importing argparse at all."""

# (flags, dest, kind, choices/const, metavar, help); kind: "value", "flag" or "const"
GLOBAL_OPTIONS = (
    (("--api-url",), "api_url", "value", None, "URL",
     "API origin: prod, local or a URL (env XETHER_API_URL)"),
    (("--profile",), "profile", "value", None, "NAME",
     "config profile to use (env XETHER_PROFILE; default 'default')"),
    (("--project",), "project", "value", None, "ID", "project to work in (env XETHER_PROJECT)"),
    (("-o", "--output"), "output", "value", ("table", "json", "csv"), "FORMAT",
     "output format: table (default), json or csv"),
    (("--json",), "output", "const", "json", None, "short for -o json"),
    (("--color",), "color", "value", ("auto", "always", "never"), "WHEN",
     "colour: auto (default: on a terminal, unless NO_COLOR), always, never"),
    (("--no-color",), "color", "const", "never", None, "short for --color never"),
    (("-q", "--quiet"), "quiet", "flag", None, None, "print only what scripts need (ids, paths)"),
    (("--no-progress",), "no_progress", "flag", None, None, "no progress bars or spinners"),
    (("--debug",), "debug", "flag", None, None,
     "show HTTP traffic (secrets redacted) and tracebacks"),
    (("--ca-bundle",), "ca_bundle", "value", None, "FILE",
     "CA certificates to trust (env XETHER_CA_BUNDLE)"),
    (("--insecure",), "insecure", "flag", None, None, "do not verify TLS certificates (unsafe)"),
    (("--request-timeout",), "request_timeout", "value", None, "SECONDS",
     "connect/read timeout of each HTTP request (default 30)"),
)

VALUE_OPTIONS = tuple(flag for flags, _, kind, _, _, _ in GLOBAL_OPTIONS if kind == "value"
                      for flag in flags)

EXAMPLES = (
    "xether login",
    "xether dataset push sales.csv",
    "xether pipeline run 3 --param dataset_id=17 --wait",
    "xether artifact download --execution 42 results/",
)
DESCRIPTION = "xether: the command-line client of the Xether AI data platform."
EPILOG_HINT = "Run 'xether <command> --help' for a command's options and examples."


def _label(flags, metavar):
    return ", ".join(flags) + (" " + metavar if metavar else "")


def top_level_help(commands):
    """The text of `xether --help`, built from the command table and the options above."""
    lines = ["usage: xether [global options] <command> [<verb>] [options]", "", DESCRIPTION, "",
             "commands:"]
    width = max(len(c[0]) for c in commands) + 2
    lines += ["  %-*s%s" % (width, name, help) for name, _, help, _ in commands]
    lines += ["", "global options (before or after the command):"]
    labels = [_label(o[0], o[4]) for o in GLOBAL_OPTIONS] + ["-h, --help", "--version"]
    helps = [o[5] for o in GLOBAL_OPTIONS] + ["show help and exit", "print the version and exit"]
    width = max(len(label) for label in labels) + 2
    lines += ["  %-*s%s" % (width, label, text) for label, text in zip(labels, helps)]
    lines += ["", "examples:"] + ["  " + e for e in EXAMPLES] + ["", EPILOG_HINT]
    return "\n".join(lines) + "\n"

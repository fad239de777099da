"""The command line's front door: global options, the lazy table of commands,
dispatch, and the one place that turns errors into exit codes.

`xether --version` is answered before argparse is even imported. For any other
run only the module of the command named on the line is imported, so
`xether --help` imports no command module at all (and so no ssl, json, http).
"""

import os
import sys

from xether_lib.about import version_line

# name -> (module under xether_lib.commands, one-line help, verb for a top-level shortcut)
COMMANDS = (
    ("login", "auth", "Log in and store credentials for a profile", "login"),
    ("logout", "auth", "Revoke and forget the profile's credentials", "logout"),
    ("whoami", "auth", "Show who you are logged in as, and where", "status"),
    ("auth", "auth", "Log in, log out and inspect credentials", None),
    ("config", "config", "Read and write settings and profiles", None),
    ("project", "project", "List projects and choose the default one", None),
    ("dataset", "dataset", "Push, list, inspect, version and pull datasets", None),
    ("pipeline", "pipeline", "Run pipelines, watch runs, read their logs", None),
    ("artifact", "artifact", "List and download the artifacts of runs", None),
    ("completion", "completion", "Print a shell completion script (bash, zsh, fish)", None),
    ("sandbox", "sandbox", "Run a local Xether backend for trying and testing", "serve"),
)

HELP_FLAGS = ("-h", "--help")


def find_command(argv):
    """Return (index, word) of the first word that is not a global option or its value."""
    from xether_lib.globalopts import VALUE_OPTIONS

    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return (i + 1, argv[i + 1]) if i + 1 < len(argv) else (None, None)
        if word.startswith("-") and word != "-":
            if word in VALUE_OPTIONS:
                i += 1
            i += 1
            continue
        return i, word
    return None, None


def main(argv=None):
    """Run xether with `argv` (default: sys.argv[1:]) and return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    index, word = find_command(argv)
    if "--version" in (argv if index is None else argv[:index]):
        sys.stdout.write(version_line() + "\n")
        return 0
    if index is None and all(a in HELP_FLAGS for a in argv):
        from xether_lib.globalopts import top_level_help

        sys.stdout.write(top_level_help(COMMANDS))
        return 0
    _make_streams_safe()
    debug = "--debug" in argv
    run_state = {}  # holds the Context once there is one, so errors go through its output kit
    try:
        return _run(argv, word, run_state)
    except KeyboardInterrupt:
        _print_error(run_state, "interrupted", None)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as exc:  # the edge: every error becomes one line and an exit code
        return _report(run_state, exc, debug)


def _run(argv, word, run_state):
    from xether_lib import parser as parser_mod

    names = [c[0] for c in COMMANDS]
    if word is not None and word not in names:
        parser_mod.unknown_command(word, names)
    parser = parser_mod.build(COMMANDS, word)
    args = parser.parse_args(argv)
    parser_mod.fill_global_defaults(args)
    run = getattr(args, "_run", None)
    if run is None:
        (getattr(args, "_parser", None) or parser).print_help()
        return 0
    from xether_lib.context import Context

    ctx = run_state["ctx"] = Context(args)
    status = run(args, ctx)
    return 0 if status is None else status


def _report(run_state, exc, debug):
    from xether_lib.errors import XetherError

    if debug:
        import traceback

        traceback.print_exc()
    if isinstance(exc, XetherError):
        _print_error(run_state, exc.message, exc.hint)
        return exc.exit_code
    _print_error(run_state, "unexpected error: %s: %s" % (type(exc).__name__, exc),
                 "This is a bug in xether. Rerun with --debug and report the output.")
    return 1


def _print_error(run_state, message, hint):
    """One error line (and a hint line); through the output kit when the command built one,
    so that a progress line being drawn is cleared first and --color is honoured."""
    out = getattr(run_state.get("ctx"), "_out", None)
    if out is not None:
        out.error(message, hint)
        return
    from xether_lib.term.style import error_prefix, escape

    stream = sys.stderr
    stream.write("%s %s\n" % (error_prefix(stream), escape(message)))
    if hint:
        stream.write("  %s\n" % escape(hint))
    stream.flush()


def _make_streams_safe():
    """Never raise UnicodeEncodeError on an ASCII terminal or pipe."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


def _silence_stdout():
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass

"""Builds the argparse tree: global options, nouns, verbs, help with examples.

Only the command named on the line has its module imported and its verbs
registered; the other nouns appear in `xether --help` from the table in
`cli.py` alone. A command module exposes `register(noun)` and calls
`noun.verb(name, run, help, examples=[...])` for each verb, which returns the
verb's argparse parser for the module to add its own arguments to.
"""

import argparse
import importlib
import sys

GLOBAL_DEFAULTS = {
    "api_url": None, "profile": None, "project": None, "output": None, "color": None,
    "quiet": False, "no_progress": False, "debug": False, "ca_bundle": None,
    "insecure": False, "request_timeout": None,
}

EPILOG_HINT = "Run 'xether <command> --help' for a command's options and examples."


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors, a pointer to --help and 'did you mean'."""

    def error(self, message):
        if "invalid choice" in message and "argument " in message:
            message = _suggest_choice(message)
        sys.stderr.write("xether: error: %s\n  Run '%s --help' for usage.\n" % (message, self.prog))
        sys.exit(2)


def _suggest_choice(message):
    import difflib
    import re

    match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if not match:
        return message
    word = match.group(1)
    choices = [c.strip().strip("'") for c in match.group(2).split(",")]
    close = difflib.get_close_matches(word, choices, n=1)
    text = "unknown command '%s'" % word
    if close:
        text += "; did you mean '%s'?" % close[0]
    return text


def unknown_command(word, names):
    """Exit 2 for an unknown top-level command, suggesting the closest one."""
    import difflib

    close = difflib.get_close_matches(word, names, n=1)
    text = "xether: error: unknown command '%s'" % word
    if close:
        text += "; did you mean '%s'?" % close[0]
    sys.stderr.write(text + "\n  Run 'xether --help' for the list of commands.\n")
    sys.exit(2)


def global_options():
    """The global options, as a parent parser usable before and after the command."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("global options")
    S = argparse.SUPPRESS
    g.add_argument("--api-url", metavar="URL", default=S,
                   help="API origin: prod, local or a URL (env XETHER_API_URL)")
    g.add_argument("--profile", metavar="NAME", default=S,
                   help="config profile to use (env XETHER_PROFILE; default 'default')")
    g.add_argument("--project", metavar="ID", default=S,
                   help="project to work in (env XETHER_PROJECT)")
    g.add_argument("-o", "--output", choices=("table", "json", "csv"), default=S,
                   help="output format (default table)")
    g.add_argument("--json", dest="output", action="store_const", const="json", default=S,
                   help="short for -o json")
    g.add_argument("--color", choices=("auto", "always", "never"), default=S,
                   help="colour output (default auto: only on a terminal, honours NO_COLOR)")
    g.add_argument("--no-color", dest="color", action="store_const", const="never", default=S,
                   help="short for --color never")
    g.add_argument("-q", "--quiet", action="store_true", default=S,
                   help="print only what scripts need (ids, paths)")
    g.add_argument("--no-progress", action="store_true", default=S,
                   help="no progress bars or spinners")
    g.add_argument("--debug", action="store_true", default=S,
                   help="show HTTP traffic (secrets redacted) and tracebacks")
    g.add_argument("--ca-bundle", metavar="FILE", default=S,
                   help="CA certificates to trust (env XETHER_CA_BUNDLE)")
    g.add_argument("--insecure", action="store_true", default=S,
                   help="do not verify TLS certificates (unsafe)")
    g.add_argument("--request-timeout", metavar="SECONDS", default=S,
                   help="connect/read timeout of each HTTP request (default 30)")
    return p


def fill_global_defaults(args):
    for key, value in GLOBAL_DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)


def _examples_epilog(examples):
    if not examples:
        return None
    return "examples:\n" + "\n".join("  " + e for e in examples)


class Noun(object):
    """What a command module sees: a factory of verb parsers."""

    def __init__(self, subparsers, parents, prog):
        self._subparsers = subparsers
        self._parents = parents
        self.prog = prog

    def verb(self, name, run, help, description=None, examples=(), aliases=()):
        p = self._subparsers.add_parser(
            name, help=help, description=description or help, aliases=list(aliases),
            epilog=_examples_epilog(examples), parents=self._parents,
            formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(_run=run, _parser=p)
        return p


class Leaf(object):
    """A top-level shortcut (`xether login`): only the wanted verb is real."""

    def __init__(self, parser, wanted):
        self._parser = parser
        self._wanted = wanted

    def verb(self, name, run, help, description=None, examples=(), aliases=()):
        if name != self._wanted:
            return Parser(add_help=False)
        p = self._parser
        p.description = description or help
        p.epilog = _examples_epilog(examples)
        p.set_defaults(_run=run, _parser=p)
        return p


def build(commands, selected=None, load_all=False):
    """The parser; registers the verbs of `selected` (or of every command with load_all)."""
    parents = [global_options()]
    top = Parser(
        prog="xether", parents=parents,
        description="xether: the command-line client of the Xether AI data platform.",
        epilog="examples:\n  xether login\n  xether dataset push sales.csv\n"
               "  xether pipeline run 3 --param dataset_id=17 --wait\n\n" + EPILOG_HINT,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="store_true", help="print the version and exit")
    sub = top.add_subparsers(title="commands", metavar="<command>", parser_class=Parser)
    for name, module, help, shortcut in commands:
        if not (load_all or name == selected):
            sub.add_parser(name, help=help)
            continue
        p = sub.add_parser(name, help=help, description=help, parents=parents,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(_parser=p)
        mod = importlib.import_module("xether_lib.commands." + module)
        if shortcut:
            mod.register(Leaf(p, shortcut))
        else:
            verbs = p.add_subparsers(title="commands", metavar="<command>", parser_class=Parser)
            mod.register(Noun(verbs, parents, "xether " + name))
    return top

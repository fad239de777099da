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

from xether_lib.globalopts import DESCRIPTION, EPILOG_HINT, EXAMPLES, GLOBAL_OPTIONS

# The CLI speaks English only: skip gettext's catalogue look-ups (hundreds of stat calls).
argparse._ = lambda text: text
argparse.ngettext = lambda singular, plural, n: singular if n == 1 else plural

GLOBAL_DEFAULTS = {
    "api_url": None, "profile": None, "project": None, "output": None, "color": None,
    "quiet": False, "no_progress": False, "debug": False, "ca_bundle": None,
    "insecure": False, "request_timeout": None,
}


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


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wraps prose paragraphs but keeps indented lines (examples) as written, and keeps the
    usage line short: global options appear there as one `[global options]`."""

    def _fill_text(self, text, width, indent):
        import textwrap

        out = []
        for line in text.splitlines():
            if line.startswith(" ") or len(line) <= width:
                out.append(indent + line)
            else:
                out.extend(textwrap.wrap(line, width, initial_indent=indent,
                                         subsequent_indent=indent))
        return "\n".join(out)

    def add_usage(self, usage, actions, groups, prefix=None):
        mine = [a for a in actions if not getattr(a, "xether_global", False)]
        if len(mine) != len(actions):
            mine.append(argparse.Action(["[global options]"], dest=argparse.SUPPRESS,
                                        nargs=0, required=True))
        return argparse.RawDescriptionHelpFormatter.add_usage(self, usage, mine, groups, prefix)


def global_options():
    """The global options, as a parent parser usable before and after the command."""
    p = argparse.ArgumentParser(add_help=False)
    add_global_options(p)
    return p


def add_global_options(parser):
    g = parser.add_argument_group("global options")
    for flags, dest, kind, extra, metavar, help in GLOBAL_OPTIONS:
        kw = {"dest": dest, "default": argparse.SUPPRESS, "help": help}
        if kind == "value":
            kw.update(metavar=metavar, choices=extra)
        elif kind == "flag":
            kw["action"] = "store_true"
        else:
            kw.update(action="store_const", const=extra)
        g.add_argument(*flags, **kw).xether_global = True


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
            formatter_class=HelpFormatter)
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
        description=DESCRIPTION,
        epilog="examples:\n" + "".join("  %s\n" % e for e in EXAMPLES) + "\n" + EPILOG_HINT,
        formatter_class=HelpFormatter)
    top.add_argument("--version", action="store_true", help="print the version and exit")
    sub = top.add_subparsers(title="commands", metavar="<command>", parser_class=Parser)
    for name, module, help, shortcut in commands:
        if not (load_all or name == selected):
            sub.add_parser(name, help=help)
            continue
        p = sub.add_parser(name, help=help, description=help, parents=parents if shortcut else [],
                           formatter_class=HelpFormatter)
        p.set_defaults(_parser=p)
        mod = importlib.import_module("xether_lib.commands." + module)
        if shortcut:
            mod.register(Leaf(p, shortcut))
        else:
            verbs = p.add_subparsers(title="commands", metavar="<command>", parser_class=Parser)
            mod.register(Noun(verbs, parents, "xether " + name))
            add_global_options(p)
    return top

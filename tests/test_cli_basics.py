"""The CLI's front door, run as a user would, from the checkout (xether.py) and from the pyz.

Covers --version, help for the bare command and each noun, help with a description and
examples for every verb of the tree, global options before and after the command, the
'did you mean' for unknown commands, and that --version/--help stay free of heavy imports.
Nouns whose modules are not written yet are skipped; once a module exists it is checked.
"""

import argparse
import importlib
import os
import re
import subprocess
import sys

import pytest

from conftest import PYZ, ROOT, XETHER_PY, Runner

sys.path.insert(0, ROOT)

from xether_lib import __version__, cli, parser as parser_mod  # noqa: E402

HEAVY = ("ssl", "urllib.request", "http.client", "json", "email")


def missing_module(module):
    """True when xether_lib.commands.<module> does not exist yet (nothing else counts)."""
    name = "xether_lib.commands." + module
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return True
        raise
    return False


def loaded_commands():
    return [c for c in cli.COMMANDS if not missing_module(c[1])]


def verb_paths():
    """[(noun, verb, description)] of every verb in the tree, read from the real parser."""
    top = parser_mod.build(loaded_commands(), load_all=True)
    found = []
    for noun_name, noun in _subparsers(top):
        subs = _subparsers(noun)
        if not subs:  # a top-level shortcut such as `login`
            found.append(((noun_name,), noun.description))
        for verb_name, verb in subs:
            found.append(((noun_name, verb_name), verb.description))
    return found


def _subparsers(p):
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            visible = set(a.dest for a in action._choices_actions)
            return [(n, s) for n, s in action.choices.items() if n in visible]
    return []


PROGS = ["xether.py", "pyz"]


@pytest.fixture(params=PROGS)
def run(request, tmp_path):
    """A Runner for the checkout launcher or for the built pyz, with an isolated HOME."""
    home = tmp_path / "home"
    home.mkdir()
    if request.param == "pyz":
        pyz = request.getfixturevalue("pyz")
        return Runner(str(home), [sys.executable, pyz])
    return Runner(str(home), [sys.executable, XETHER_PY])


def test_version_line(run):
    r = run("--version")
    assert r.code == 0, r
    assert r.err == ""
    version = "%d.%d.%d" % sys.version_info[:3]
    assert re.match(r"^xether %s \(Python %s, %s-[a-z0-9_]+\)\n$" % (
        re.escape(__version__), re.escape(version), re.escape(sys.platform)), r.out), r.out
    assert re.match(r"^\d+\.\d+\.\d+$", __version__)


def test_bare_command_prints_help(run):
    r = run()
    assert r.code == 0, r
    assert r.out.startswith("usage: xether")
    for name, _module, _help, _shortcut in cli.COMMANDS:
        assert name in r.out
    assert "examples:" in r.out


@pytest.mark.parametrize("noun", [c[0] for c in cli.COMMANDS if c[3] is None])
def test_noun_alone_prints_help(run, noun):
    module = dict((c[0], c[1]) for c in cli.COMMANDS)[noun]
    if missing_module(module):
        pytest.skip("xether_lib/commands/%s.py is not written yet" % module)
    r = run(noun)
    assert r.code == 0, r
    assert r.out.startswith("usage: xether %s" % noun), r.out
    assert "<command>" in r.out


def test_every_verb_has_description_and_examples(run):
    from concurrent.futures import ThreadPoolExecutor

    paths = verb_paths()
    assert any(p[0] == "completion" for p, _ in paths)
    with ThreadPoolExecutor(4) as pool:  # one process per verb: run them side by side
        results = list(pool.map(lambda path: run(*(list(path[0]) + ["--help"])), paths))
    for (path, description), r in zip(paths, results):
        assert r.code == 0, (path, r)
        assert r.out.startswith("usage: xether " + " ".join(path)), (path, r.out)
        assert description and description.strip(), path
        # help wraps prose to the terminal width: compare with whitespace folded
        assert " ".join(description.split()) in " ".join(r.out.split()), (path, r.out)
        examples = r.out.split("\nexamples:\n", 1)
        assert len(examples) == 2, "no examples: section in `xether %s --help`" % " ".join(path)
        lines = [l.strip() for l in examples[1].splitlines()]
        assert any(l.startswith("xether ") for l in lines), (path, r.out)


def global_option_command():
    """A command that needs no server: `config view` once it exists, else `completion bash`."""
    if not missing_module("config"):
        return ["config", "view"]
    return ["completion", "bash"]


def test_global_options_before_and_after_the_command(run):
    cmd = global_option_command()
    before = run("-o", "json", *cmd)
    after = run(*(cmd + ["-o", "json"]))
    assert before.code == 0, before
    assert after.code == 0, after
    assert before.out == after.out
    assert before.out.strip()
    mixed = run("--color", "never", *(cmd + ["--output", "json"]))
    flipped = run("--output", "json", *(cmd + ["--color", "never"]))
    assert mixed.code == 0, mixed
    assert flipped.code == 0, flipped
    assert mixed.out == flipped.out


def test_unknown_command_suggests_the_closest(run):
    r = run("datset")
    assert r.code == 2, r
    assert r.out == ""
    assert "datset" in r.err and "'dataset'" in r.err
    assert "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) <= 2


def test_unknown_verb_suggests_the_closest(run):
    r = run("completion", "bsh")
    assert r.code == 2, r
    assert "'bash'" in r.err, r
    assert "Traceback" not in r.err
    r = run("dataset", "psh")
    assert r.code == 2 and r.out == "", r
    assert "unknown command 'psh'; did you mean 'push'?" in r.err, r


# A real SIGINT, delivered while the launcher imports the CLI (before cli.main's own handler).
INTERRUPT_DURING_IMPORT = """
import builtins, os, runpy, signal, sys
real_import = builtins.__import__
def interrupting_import(name, *args, **kw):
    if name == "xether_lib.cli":
        os.kill(os.getpid(), signal.SIGINT)
    return real_import(name, *args, **kw)
builtins.__import__ = interrupting_import
sys.argv = [sys.argv[1], "pipeline", "ls"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_ctrl_c_while_starting_exits_130_with_one_line(run):
    proc = subprocess.run([sys.executable, "-c", INTERRUPT_DURING_IMPORT, run.prog[-1]],
                          env=run.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "xether: error: interrupted\n")


def test_unknown_option_is_a_usage_error(run):
    r = run("completion", "bash", "--no-such-option")
    assert r.code == 2, r
    assert "--no-such-option" in r.err
    assert "Traceback" not in r.err


def imported_modules(argv, env):
    proc = subprocess.run([sys.executable, "-X", "importtime"] + argv, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.append(name)
    assert any(n.startswith("xether_lib.") for n in names), proc.stderr[-2000:]  # our code ran
    return names


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_import_nothing_heavy(run, flag):
    names = imported_modules(run.prog[1:] + [flag], run.env)
    heavy = [n for n in names if any(n == h or n.startswith(h + ".") for h in HEAVY)]
    assert heavy == [], "%s imports %s" % (flag, heavy)
    if flag == "--version":
        assert "argparse" not in names


# A bug inside a command (a verb that raises RuntimeError), reached through the real CLI.
BUG_IN_A_COMMAND = """
import sys
sys.path.insert(0, sys.argv[1])
from xether_lib.commands import completion
def broken_runner(render):
    def run(args, ctx):
        raise RuntimeError("boom \\x1b[2J")
    return run
completion._runner = broken_runner
from xether_lib.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_an_unexpected_error_exits_1_and_debug_shows_the_traceback(tmp_path):
    def run_bug(*extra):
        return subprocess.run([sys.executable, "-c", BUG_IN_A_COMMAND, ROOT, "completion",
                               "bash"] + list(extra), env=Runner(str(tmp_path)).env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=60)

    r = run_bug()
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ("xether: error: unexpected error: RuntimeError: boom \\x1b[2J\n"
                        "  This is a bug in xether. Rerun with --debug and report the output.\n")
    r = run_bug("--debug")
    assert r.returncode == 1
    assert "Traceback (most recent call last)" in r.stderr and ", in run\n" in r.stderr
    assert "RuntimeError: boom" in r.stderr and "Rerun with --debug" in r.stderr

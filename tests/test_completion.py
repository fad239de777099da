"""`xether completion bash|zsh|fish`: the scripts are driven in real shells.

bash: the script is sourced in a real `bash` and its function is called with
COMP_WORDS/COMP_CWORD set as readline would; COMPREPLY is checked against the
command tree read from the parser. zsh and fish (when installed): a syntax check,
then a real completion (zsh through a pseudo-terminal, fish with `complete -C`).
"""

import os
import shlex
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, XETHER_PY, clean_env

sys.path.insert(0, ROOT)

from xether_lib.commands import completion  # noqa: E402

GLOBAL_OPTIONS = ("--api-url", "--output", "-o", "--profile", "--project", "--quiet", "--help")


@pytest.fixture(scope="module")
def tree():
    return completion.build_tree()


def script(shell, tmp_path, prog=None):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    proc = subprocess.run((prog or [sys.executable, XETHER_PY]) + ["completion", shell],
                          env=clean_env(str(home)), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    path = tmp_path / ("xether." + shell)
    path.write_text(proc.stdout)
    return str(path), proc.stdout


def bash_complete(script_path, lines):
    """COMPREPLY for each command line (the last word is the one being completed)."""
    driver = ["source %s" % shlex.quote(script_path),
              'comp() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1));'
              ' COMPREPLY=(); _xether; echo "${COMPREPLY[*]}"; }']
    for words in lines:
        driver.append("comp " + " ".join(shlex.quote(w) for w in words))
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(driver)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    out = proc.stdout.split("\n")
    assert len(out) == len(lines) + 1, proc.stdout
    return [o.split() for o in out[:-1]]


def node(tree, *path):
    for n in tree.walk():
        if n.path == path:
            return n
    raise AssertionError("no command %r in the tree" % (path,))


def test_bash_script_is_registered_with_complete_F(tmp_path):
    path, text = script("bash", tmp_path)
    assert "complete -o default -F _xether xether" in text
    proc = subprocess.run(["bash", "--norc", "-c", "source %s && complete -p xether" %
                           shlex.quote(path)], stdout=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0
    assert "-F _xether" in proc.stdout


def test_bash_completes_nouns_verbs_options_and_choices(tmp_path, tree):
    path, _ = script("bash", tmp_path)
    got = bash_complete(path, [
        ["xether", "da"],
        ["xether", ""],
        ["xether", "completion", ""],
        ["xether", "completion", "f"],
        ["xether", "-o", "json", "completion", "z"],
        ["xether", "--api-url", "http://127.0.0.1:1", "completion", "b"],
        ["xether", "completion", "bash", "--out"],
        ["xether", "completion", "bash", "-o", ""],
        ["xether", "--color", "a"],
        ["xether", "--vers"],
        ["xether", "completion", "bash", "--vers"],
    ])
    assert got[0] == ["dataset"]
    assert got[1] == [n[0] for n in completion_names()]
    assert got[2] == ["bash", "zsh", "fish"]
    assert got[3] == ["fish"]
    assert got[4] == ["zsh"]
    assert got[5] == ["bash"]
    assert got[6] == ["--output"]
    assert got[7] == ["table", "json", "csv"]
    assert got[8] == ["auto", "always"]
    assert got[9] == ["--version"]
    assert got[10] == []  # --version belongs to the top level only


def completion_names():
    from xether_lib import cli

    return cli.COMMANDS


def test_bash_offers_every_verb_and_its_options(tmp_path, tree):
    """For each noun in the tree: its verbs; for each verb: its own options and the global ones."""
    path, _ = script("bash", tmp_path)
    nouns = [n for n in tree.children if n.children]
    verbs = [v for n in nouns for v in n.children]
    lines = [["xether", n.path[0], ""] for n in nouns]
    lines += [["xether"] + list(v.path) + ["-"] for v in verbs]
    got = bash_complete(path, lines)
    for n, words in zip(nouns, got[:len(nouns)]):
        assert words == [c.path[-1] for c in n.children], n.path
    for v, words in zip(verbs, got[len(nouns):]):
        want = set(s for o in v.options for s in o.strings)
        assert set(words) == want, v.path
        assert set(GLOBAL_OPTIONS) <= set(words), v.path


def test_bash_dataset_push_when_dataset_exists(tmp_path, tree):
    dataset = node(tree, "dataset")
    if not dataset.children:
        pytest.skip("xether_lib/commands/dataset.py is not written yet")
    path, _ = script("bash", tmp_path)
    got = bash_complete(path, [["xether", "dataset", ""], ["xether", "-q", "dataset", "pus"]])
    assert "push" in got[0]
    assert got[1] == ["push"]


def test_a_value_option_with_no_choices_falls_back_to_files(tmp_path):
    path, _ = script("bash", tmp_path)
    got = bash_complete(path, [["xether", "--ca-bundle", ""], ["xether", "completion", "bash", ""]])
    assert got == [[], []]  # empty COMPREPLY: `complete -o default` completes file names


def test_pyz_prints_the_same_scripts(tmp_path, pyz):
    for shell in ("bash", "zsh", "fish"):
        _, from_checkout = script(shell, tmp_path)
        _, from_pyz = script(shell, tmp_path, [sys.executable, pyz])
        assert from_pyz == from_checkout


def checked_script(shell, tmp_path, marker):
    """(path, home) of the script for `shell` (skipped when absent), which holds `marker`
    and passes the shell's own syntax check; `home` is an empty HOME for the shell."""
    if not shutil.which(shell):
        pytest.skip("%s is not installed" % shell)
    path, text = script(shell, tmp_path)
    assert marker in text
    subprocess.run([shell, "-n", path], check=True, timeout=30)
    home = tmp_path / (shell + "-home")
    home.mkdir()
    return path, home


def test_zsh_script(tmp_path):
    path, home = checked_script("zsh", tmp_path, "bashcompinit")
    # A real interactive zsh in a pseudo-terminal: type a partial word, TAB, Enter.
    env = dict(os.environ, HOME=str(home), ZDOTDIR=str(home), TERM="dumb", PS1="ZP> ")
    setup = ("autoload -U compinit && compinit -u -D; source %s; "
             "xether() { print -r -- \"RAN[$*]\"; }\n" % shlex.quote(path))
    out = in_terminal(["zsh", "-f", "-i"], env, [
        ("ZP> ", setup), ("ZP> ", "xether --api-url x completion z\t\n"),
        ("ZP> ", "xether -q -o j\t\n"), ("ZP> ", "exit\n")])
    ran = [l for l in out.splitlines() if l.startswith("RAN[")]
    assert ran == ["RAN[--api-url x completion zsh]", "RAN[-q -o json]"], out[-3000:]


def in_terminal(argv, env, steps, timeout=20):
    """Run argv on a pseudo-terminal; for each (prompt, text): wait for one more prompt, type."""
    import pty
    import select
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.time() + timeout
    try:
        for count, (prompt, text) in enumerate(steps, 1):
            while out.count(prompt.encode()) < count and time.time() < deadline:
                if select.select([master], [], [], 0.2)[0]:
                    out += os.read(master, 65536)
            os.write(master, text.encode())
        proc.wait(max(1, deadline - time.time()))
        while select.select([master], [], [], 0.1)[0]:
            out += os.read(master, 65536)
    except OSError:  # the terminal closed: the shell is gone
        pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return out.decode("utf-8", "replace").replace("\r", "")


def test_fish_script(tmp_path):
    path, home = checked_script("fish", tmp_path, "complete -c xether")
    cases = ["xether da", "xether completion ", "xether -o json completion b",
             "xether completion bash --col", "xether --color "]
    cmds = ["source %s" % path] + ["complete -C %s; echo ---" % shlex.quote(c) for c in cases]
    proc = subprocess.run(["fish", "--no-config", "-c", "; ".join(cmds)],
                          env=dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home)),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    blocks = [[l.split("\t")[0] for l in b.strip().splitlines()]
              for b in proc.stdout.split("---")[:-1]]
    assert blocks[0] == ["dataset"]
    assert sorted(blocks[1]) == ["bash", "fish", "zsh"]
    assert blocks[2] == ["bash"]
    assert blocks[3] == ["--color"]
    assert sorted(blocks[4]) == ["always", "auto", "never"]

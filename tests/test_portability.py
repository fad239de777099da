"""The built pyz on every Python found here and in hostile environments.

Interpreters: every `$(pyenv root)/versions/*/bin/python` and /usr/bin/python3, found
at collection time (absent ones are simply not there: nothing fails on absence).
3.8+ must run; 2.7, 3.6 and 3.7 must print exactly the refusal line and exit 1.
Environments (system Python): read-only HOME, unset HOME whose passwd home does not
exist, a UID with no passwd entry, LANG=C with PYTHONIOENCODING=ascii, and `-I`.
Each must exit 0 and write nothing at all (no ~/.shiv, no __pycache__).
"""

import glob
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

from conftest import ROOT, XETHER_PY

sys.path.insert(0, ROOT)

from xether_lib import __version__  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"
UNKNOWN_UID = 54321
VERSION_OF = "import sys; sys.stdout.write('%d.%d.%d' % tuple(sys.version_info[:3]))"


def pyenv_root():
    if shutil.which("pyenv"):
        proc = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, universal_newlines=True)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    return os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")


def interpreters():
    found = sorted(glob.glob(os.path.join(pyenv_root(), "versions", "*", "bin", "python")))
    if os.path.exists(SYSTEM_PYTHON):
        found.append(SYSTEM_PYTHON)
    return found


def interpreter_id(path):
    if path == SYSTEM_PYTHON:
        return "system"
    return os.path.basename(os.path.dirname(os.path.dirname(path)))


def has_config_view():
    return os.path.exists(os.path.join(ROOT, "xether_lib", "commands", "config.py"))


def no_server_commands():
    cmds = [["--version"], ["--help"], ["completion", "bash"]]
    if has_config_view():
        cmds.append(["config", "view"])
    return cmds


def run(argv, env, cwd=None, user=None):
    if user is not None:
        argv = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups",
                "--"] + argv
    return subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


@pytest.fixture
def world(pyz):
    """A world-readable folder holding a copy of the pyz and a `home` in it."""
    top = tempfile.mkdtemp(prefix="xether-portability-")
    os.chmod(top, 0o755)
    copy = os.path.join(top, "xether.pyz")
    shutil.copyfile(pyz, copy)
    os.chmod(copy, 0o755)
    os.mkdir(os.path.join(top, "home"), 0o755)
    yield top
    for path, dirs, _files in os.walk(top):
        for d in dirs:
            os.chmod(os.path.join(path, d), 0o755)
    shutil.rmtree(top)


def snapshot(top):
    return sorted(os.path.relpath(os.path.join(p, n), top)
                  for p, dirs, files in os.walk(top) for n in dirs + files)


def base_env(**extra):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    env.update(extra)
    return dict((k, v) for k, v in env.items() if v is not None)


@pytest.mark.parametrize("python", interpreters(), ids=interpreter_id)
def test_pyz_under_each_interpreter(python, pyz, tmp_path):
    proc = run([python, "-c", VERSION_OF], base_env())
    if proc.returncode != 0:
        pytest.skip("%s does not run here" % python)
    version = proc.stdout.decode()
    info = tuple(int(x) for x in version.split("."))
    home = tmp_path / "home"
    home.mkdir()
    env = base_env(HOME=str(home), XETHER_CONFIG_DIR=str(home / "config"))
    if info < (3, 8):
        refusal = "xether needs Python 3.8 or newer (this is Python %s)\n" % version
        for argv in ([python, pyz, "--version"], [python, pyz, "--help"],
                     [python, XETHER_PY, "--version"]):
            r = run(argv, env)
            assert (r.returncode, r.stdout, r.stderr.decode()) == (1, b"", refusal), argv
        return
    r = run([python, pyz, "--version"], env)
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    assert re.match(r"^xether %s \(Python %s, [^)]+\)\n$" % (
        re.escape(__version__), re.escape(version)), r.stdout.decode())
    for cmd in no_server_commands()[1:]:
        r = run([python, pyz] + cmd, env)
        assert r.returncode == 0, (cmd, r.stderr.decode()[-2000:])
        assert r.stdout.strip(), cmd
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def need_root_and_setpriv():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to switch users")


def system_python():
    return SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else sys.executable


def check_writes_nothing(world, env, user=None, flags=()):
    before = snapshot(world)
    pyz = os.path.join(world, "xether.pyz")
    for cmd in no_server_commands():
        r = run([system_python()] + list(flags) + [pyz] + cmd, env, cwd=world, user=user)
        assert r.returncode == 0, (cmd, r.stderr.decode()[-2000:])
        assert b"Traceback" not in r.stderr, cmd
        assert r.stdout.strip(), cmd
    after = snapshot(world)
    assert after == before
    assert not [p for p in after if ".shiv" in p or "__pycache__" in p]


def test_read_only_home(world):
    home = os.path.join(world, "home")
    os.chmod(home, 0o555)
    user = None
    if os.geteuid() == 0:  # root writes anywhere: be someone else so 0555 really binds
        need_root_and_setpriv()
        user = UNKNOWN_UID
    check_writes_nothing(world, base_env(HOME=home), user=user)


def test_unset_home_and_missing_passwd_home(world):
    need_root_and_setpriv()
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user")
    if os.path.exists(nobody.pw_dir):
        pytest.skip("nobody's home %s exists" % nobody.pw_dir)
    check_writes_nothing(world, base_env(), user=nobody.pw_uid)


def test_unknown_uid(world):
    need_root_and_setpriv()
    with pytest.raises(KeyError):
        pwd.getpwuid(UNKNOWN_UID)
    check_writes_nothing(world, base_env(), user=UNKNOWN_UID)
    check_writes_nothing(world, base_env(HOME=os.path.join(world, "home")), user=UNKNOWN_UID)


def test_c_locale_and_ascii_output(world):
    env = base_env(HOME=os.path.join(world, "home"), LANG="C", LC_ALL="C",
                   PYTHONIOENCODING="ascii")
    check_writes_nothing(world, env)
    pyz = os.path.join(world, "xether.pyz")
    for cmd in no_server_commands():
        r = run([system_python(), pyz] + cmd, env, cwd=world)
        r.stdout.decode("ascii")
        r.stderr.decode("ascii")


def test_isolated_mode(world):
    env = base_env(HOME=os.path.join(world, "home"), PYTHONPATH="/nonexistent")
    check_writes_nothing(world, env, flags=["-I"])


def test_exit_status_passes_through(world):
    pyz = os.path.join(world, "xether.pyz")
    env = base_env(HOME=os.path.join(world, "home"))
    assert os.stat(pyz).st_mode & stat.S_IXUSR
    for argv in ([system_python(), pyz, "datset"], [pyz, "datset"],
                 [system_python(), pyz, "completion", "nosuch"], [pyz, "--no-such-flag"]):
        r = run(argv, env, cwd=world)
        assert r.returncode == 2, (argv, r.stderr)
        assert b"Traceback" not in r.stderr
    r = run([pyz, "--version"], env, cwd=world)
    assert r.returncode == 0

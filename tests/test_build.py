"""build.sh and the package: reproducible pyz from committed code, its contents, pip install.

The builds run in fresh `git clone`s of the committed HEAD, in two different
folders, with one SOURCE_DATE_EPOCH: the two pyz files must be byte-identical.
"""

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT, XETHER_PY, clean_env

EPOCH = "1700000000"


def git(*args, **kw):
    return subprocess.run(["git"] + list(args), check=True, stdout=subprocess.PIPE,
                          universal_newlines=True, timeout=120, **kw).stdout


@pytest.fixture(scope="module")
def clones(tmp_path_factory):
    if not shutil.which("git") or not os.path.isdir(os.path.join(ROOT, ".git")):
        pytest.skip("not a git checkout")
    dirs = []
    for name in ("first", "second/nested"):
        dest = str(tmp_path_factory.mktemp("clone") / name)
        git("clone", "-q", "--no-hardlinks", ROOT, dest)
        dirs.append(dest)
    return dirs


@pytest.fixture(scope="module")
def builds(clones):
    """Build in each clone; returns [(clone, pyz bytes, SHA256SUMS text)]."""
    out = []
    for clone in clones:
        env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH, PYTHON=sys.executable)
        proc = subprocess.run(["bash", "build.sh"], cwd=clone, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        with open(os.path.join(clone, "dist", "xether.pyz"), "rb") as f:
            data = f.read()
        with open(os.path.join(clone, "dist", "SHA256SUMS")) as f:
            sums = f.read()
        out.append((clone, data, sums))
    return out


def test_two_clones_build_identical_bytes(builds):
    (_, first, sums1), (_, second, sums2) = builds
    assert first == second
    assert sums1 == sums2


def test_sha256sums_is_correct_and_checkable(builds):
    clone, data, sums = builds[0]
    assert sums == "%s  xether.pyz\n" % hashlib.sha256(data).hexdigest()
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], check=True,
                       cwd=os.path.join(clone, "dist"))


def test_pyz_has_shebang_and_is_executable(builds):
    clone, data, _ = builds[0]
    assert data.startswith(b"#!/usr/bin/env python3\n")
    mode = os.stat(os.path.join(clone, "dist", "xether.pyz")).st_mode
    assert mode & stat.S_IXUSR and mode & stat.S_IXGRP and mode & stat.S_IXOTH


def test_pyz_contents(builds):
    clone, _, _ = builds[0]
    with zipfile.ZipFile(os.path.join(clone, "dist", "xether.pyz")) as z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        main = z.read("__main__.py")
    with open(os.path.join(clone, "xether.py"), "rb") as f:
        assert main == f.read()
    assert names == sorted(names)
    assert "site-packages/xether_lib/cli.py" in names
    assert "site-packages/xether_lib/commands/completion.py" in names
    committed = git("ls-files", "xether_lib", cwd=clone).split()
    assert sorted("site-packages/" + p for p in committed) == sorted(
        n for n in names if n != "__main__.py")
    for bad in ("tests/", "__pycache__", ".pyc", "_bootstrap/", "environment.json"):
        assert not [n for n in names if bad in n], bad
    assert set(i.date_time for i in infos) == {(2023, 11, 14, 22, 13, 20)}
    assert set(i.external_attr >> 16 for i in infos) == {0o100644}


def test_running_the_pyz_writes_nothing(builds, tmp_path):
    clone, _, _ = builds[0]
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(str(home))
    env.pop("PYTHONDONTWRITEBYTECODE")
    pyz = os.path.join(clone, "dist", "xether.pyz")
    for args in (["--version"], ["--help"], ["completion", "bash"]):
        proc = subprocess.run([pyz] + args, env=env, cwd=str(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)
        assert proc.returncode == 0, proc.stderr
    assert list(home.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    assert sorted(os.listdir(os.path.join(clone, "dist"))) == ["SHA256SUMS", "xether.pyz"]


def test_version_comes_from_one_place(clones):
    with open(os.path.join(clones[0], "pyproject.toml")) as f:
        text = f.read()
    assert 'version = {attr = "xether_lib.__version__"}' in text
    assert 'dynamic = ["version"]' in text
    assert "\nversion =" not in text.split("[tool.setuptools.dynamic]")[0]


WHEEL_CHECK = """
import importlib.util, sys
sys.exit(0 if importlib.util.find_spec("setuptools") and (
    importlib.util.find_spec("wheel") or importlib.util.find_spec("setuptools.command.bdist_wheel"))
    else 1)
"""


def test_wheel_installs_a_working_console_script(clones, tmp_path):
    """pip builds a wheel from the clone (no network: the installed setuptools) and installs it."""
    clone = clones[1]
    need_wheel = subprocess.run([sys.executable, "-c", WHEEL_CHECK]).returncode
    if need_wheel:
        pytest.skip("no bdist_wheel here: pip install -r .ci/requirements.txt")
    wheels = tmp_path / "wheels"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                           "--no-build-isolation", "-w", str(wheels), clone],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel = [str(p) for p in wheels.iterdir()]
    assert len(wheel) == 1 and os.path.basename(wheel[0]).startswith("xether_cli-")
    with zipfile.ZipFile(wheel[0]) as z:
        names = z.namelist()
        meta = z.read([n for n in names if n.endswith(".dist-info/METADATA")][0]).decode()
        entry = z.read([n for n in names if n.endswith(".dist-info/entry_points.txt")][0])
    assert "xether_lib/commands/completion.py" in names
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]
    assert "Requires-Python: >=3.8" in meta
    assert [l for l in meta.splitlines() if l.startswith("Requires-Dist:")] == [
        'Requires-Dist: pytest; extra == "test"']
    assert b"xether = xether_lib.cli:main" in entry
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "-q", "--no-deps", "--no-index", wheel[0]], check=True,
                   stdout=subprocess.PIPE, timeout=300)
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.run([str(venv / "bin" / "xether"), "--version"], env=clean_env(str(home)),
                          stdout=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert proc.returncode == 0
    expected = subprocess.run([sys.executable, XETHER_PY, "--version"], stdout=subprocess.PIPE,
                              universal_newlines=True).stdout
    assert proc.stdout == expected

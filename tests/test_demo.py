"""The README's first set-up command runs the main job end to end: `.ci/demo` against the pyz,
under the current interpreter and under CPython 3.8 (the floor) when pyenv has it."""

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, clean_env


def _floor_python():
    """CPython 3.8 (the floor) from pyenv, when this machine has it."""
    root = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          universal_newlines=True).stdout.strip() if shutil.which("pyenv") else ""
    found = sorted(glob.glob(os.path.join(root or "/nonexistent", "versions", "3.8*", "bin", "python")))
    return found[-1] if found else None


@pytest.mark.parametrize("python", ["current", "floor"])
def test_demo_runs_the_main_job_end_to_end(pyz, tmp_path, python):
    interpreter = sys.executable if python == "current" else _floor_python()
    if interpreter is None:
        pytest.skip("no CPython 3.8 under pyenv on this machine")
    env = clean_env(str(tmp_path))
    env["PYTHON"] = interpreter
    proc = subprocess.run(["bash", os.path.join(ROOT, ".ci", "demo")], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=180)
    assert proc.returncode == 0, proc.stdout
    assert "the main job ran end to end" in proc.stdout
    assert "verified" in proc.stdout
    profile = json.loads(_profile_block(proc.stdout))
    assert profile["rows"] == 5
    assert profile["column_stats"]["units"] == {"nulls": 1, "distinct": 3, "min": 3, "max": 10}
    assert profile["column_stats"]["price"]["min"] == 2.25


def _profile_block(text):
    start = text.index("\n{", text.index("== download and verify")) + 1
    end = text.index("\n}\n", start) + 2
    return text[start:end]

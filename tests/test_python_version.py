"""Python >= 3.11: one minimum (``xladdin.MIN_PYTHON``) that the wheel's Requires-Python, the pinned xlwings' own
Requires-Python and scripts/setup.sh agree on, and a clear message where an older Python meets the code: pip
refuses the wheel (its message, not ours), ``python -m xladdin`` from a checkout says it in one line, an import
(xlwings in Excel, a script) raises an ImportError saying it, scripts/setup.sh refuses before making a venv."""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import xladdin

ROOT = Path(__file__).resolve().parents[1]
FAKE_310 = "import sys; sys.version_info = (3, 10, 13, 'final', 0); "


def _run(args, cwd=ROOT, env=None, **kw):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, **kw)


def test_one_minimum_everywhere():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    major, minor = xladdin.MIN_PYTHON
    assert project["requires-python"] == f">={major}.{minor}"
    assert importlib.metadata.metadata("xlwings")["Requires-Python"] == f">={major}.{minor}"
    assert f"sys.version_info < ({major}, {minor})" in (ROOT / "scripts" / "setup.sh").read_text()
    assert "tomli" not in str(project["dependencies"])


def test_an_import_on_an_older_python_says_what_to_install(tmp_path):
    r = _run([sys.executable, "-c", FAKE_310 + "import xladdin"], cwd=tmp_path, env={"PYTHONPATH": str(ROOT)})
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: xladdin needs Python 3.11 or newer (its xlwings 0.37.8 does too); "
                           "this is Python 3.10.13 at ")
    assert "docs/install.md" in last


def test_python_m_on_an_older_python_is_one_line(tmp_path):
    """``python -m xladdin``: while runpy looks the module up, argv[0] is "-m" (Python's documented behaviour);
    the message is then the whole of stderr, exit 1."""
    code = FAKE_310 + "sys.argv = ['-m']; import xladdin"
    r = _run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(ROOT)})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("xladdin needs Python 3.11 or newer") and len(r.stderr.strip().splitlines()) == 1


def test_a_real_older_python_gets_the_message_from_a_checkout(older_python):
    old = older_python
    if old is None:
        pytest.skip("no Python < 3.11 on this machine (the faked-version tests above cover the message)")
    r = _run([old, "-m", "xladdin", "doctor"], cwd=ROOT)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("xladdin needs Python 3.11 or newer"), r.stderr


def test_setup_refuses_an_older_python_before_making_a_venv(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    fake = tmp_path / "python3.10"  # answers -V like Python 3.10 and fails any other call, as 3.10 fails the check
    fake.write_text('#!/bin/sh\nif [ "$1" = "-V" ]; then echo "Python 3.10.13"; exit 0; fi\nexit 1\n')
    fake.chmod(0o755)
    r = _run(["bash", str(tmp_path / "scripts" / "setup.sh")], cwd=tmp_path, env={"PYTHON": str(fake)})
    assert r.returncode == 1
    assert f"setup: xladdin needs Python >= 3.11 (its xlwings 0.37.8 does too); '{fake}' is Python 3.10.13." \
        in r.stderr
    assert not (tmp_path / ".venv").exists()

#!/usr/bin/env bash
# Create .venv and install xladdin with its test extras (idempotent).
# Works on a fresh Debian machine with only Python 3 (>= 3.11): installs python3-venv via apt-get
# when the interpreter cannot create a virtual environment. Uses uv (installed into the venv from
# PyPI) for a fast install, pip otherwise.
# Byte-code is compiled at install time (uv --compile-bytecode; compileall for xladdin's own packages):
# with PYTHONDONTWRITEBYTECODE set (common in containers and CI) Python would otherwise recompile pandas,
# scipy and xladdin from source on every start -- 1.5 s more per command on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export UV_PYTHON_DOWNLOADS=never PIP_DISABLE_PIP_VERSION_CHECK=1
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: xladdin needs Python >= 3.11 (its xlwings 0.37.8 does too); '$PY' is $("$PY" -V 2>/dev/null || echo 'not found')." \
       "Run with PYTHON=python3.11 (or newer) bash scripts/setup.sh" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    echo "setup: '$PY -m venv' failed; installing python3-venv with apt-get" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv python3-pip
    "$PY" -m venv .venv
  fi
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet uv || true
fi
if [ -x .venv/bin/uv ]; then
  .venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python -e ".[test${XLADDIN_EXTRAS:+,$XLADDIN_EXTRAS}]"
else
  .venv/bin/python -m pip install --quiet -e ".[test${XLADDIN_EXTRAS:+,$XLADDIN_EXTRAS}]"
fi
.venv/bin/python -m compileall -q -j 0 xladdin udfs macros >/dev/null

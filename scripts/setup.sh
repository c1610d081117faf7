#!/usr/bin/env bash
# Create .venv and install xladdin with its test extras. Idempotent; safe on a fresh Debian machine
# with only Python 3 (>= 3.10). Set XLADDIN_NO_APT=1 to skip the Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export UV_PYTHON_DOWNLOADS=never
if [ ! -x .venv/bin/python ]; then
  if ! command -v uv >/dev/null 2>&1 && ! "$PY" -m uv --version >/dev/null 2>&1; then
    "$PY" -m pip install --quiet --user uv 2>/dev/null || "$PY" -m pip install --quiet uv
  fi
  if command -v uv >/dev/null 2>&1; then uv venv --quiet --python "$PY" .venv; else "$PY" -m uv venv --quiet --python "$PY" .venv; fi
fi
UV="uv"; command -v uv >/dev/null 2>&1 || UV="$PY -m uv"
$UV pip install --quiet --python .venv/bin/python -e ".[test${XLADDIN_EXTRAS:+,$XLADDIN_EXTRAS}]"

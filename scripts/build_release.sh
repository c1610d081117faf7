#!/usr/bin/env bash
# Build the release artefacts and check them: the wheel an analyst installs (pip install <path or URL of the
# wheel>) and the sdist it is built from.
#   bash scripts/build_release.sh [OUTDIR]       (default dist/)
# 1. python -m build: the sdist, then the wheel built from that sdist (so the sdist is proven complete), each in
#    a fresh isolated build environment (setuptools from the package index);
# 2. twine check --strict: the metadata and the README as PyPI-style indexes render it;
# 3. scripts/check_dist.py: the wheel installs only xladdin* names and holds every module and the layout, the
#    metadata matches pyproject.toml, no member holds a path of this machine.
# Uses .venv (scripts/setup.sh installs build and twine with the test extra); PYTHON=... to use another.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${1:-dist}
mkdir -p "$OUT"
rm -f "$OUT"/xladdin-*.whl "$OUT"/xladdin-*.tar.gz
"$PY" -m build --outdir "$OUT" . >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log" >&2; exit 1; }
rm -f "$OUT/build.log"
"$PY" -m twine check --strict "$OUT"/xladdin-*.whl "$OUT"/xladdin-*.tar.gz
"$PY" scripts/check_dist.py "$OUT"
ls -l "$OUT"/xladdin-*

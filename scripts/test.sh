#!/usr/bin/env bash
# Set up (venv, Python packages, LibreOffice and libfuse via apt-get when absent) and run the whole test suite
# on both cores (pytest-xdist; XLADDIN_TEST_WORKERS=0 runs it serially, a later -n in the args wins).
# Usage: bash scripts/test.sh [pytest args...]     e.g. -x -q, or -m "not slow" for the fast subset
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/ensure_libreoffice.sh
bash scripts/ensure_fuse.sh || echo "test: without libfuse the case-insensitive file system tests are skipped" >&2
set +e
# PYTHONDONTWRITEBYTECODE (set in many containers) also stops pytest from caching its assertion-rewritten
# test modules: every worker would rewrite all of them on every run (4 s more per worker to collect)
PYTHONDONTWRITEBYTECODE= .venv/bin/python -m pytest -n "${XLADDIN_TEST_WORKERS:-2}" --dist loadfile "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit "$rc"

#!/usr/bin/env bash
# Set up (venv + packages) and run the main job on the embedded sample market:
#   out/xladdin_weekly.xlsm  the weekly tracking workbook (macro template, refreshable in Excel or headless)
#   out/xladdin_weekly_<asof>.xlsx  the values-only weekly report (what `xladdin send` mails)
# Extra arguments go to `xladdin weekly` (e.g. --data DIR --asof 2026-06-30).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
.venv/bin/xladdin weekly --out out "$@"
.venv/bin/xladdin template out/xladdin_weekly.xlsm
ls -l out

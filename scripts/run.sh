#!/usr/bin/env bash
# Set up (venv + packages) and run the main job on the embedded sample market (or on --data DIR):
#   out/xladdin_weekly_<asof>.xlsx  the values-only weekly report (what `xladdin send` mails)
#   out/xladdin_weekly.xlsm (+ .py)  the weekly tracking workbook, built by `xladdin excel-setup out`: on the same
#                                    data (its data_dir set to DIR with --data), refreshable in Excel or headless
# Extra arguments go to `xladdin weekly` (e.g. --data DIR --asof 2026-06-30); --data also goes to excel-setup.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
data=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --data) data=(--data "${args[i + 1]:-}") ;;
    --data=*) data=(--data "${args[i]#--data=}") ;;
  esac
done
mkdir -p out
.venv/bin/python -m xladdin weekly --out out "$@"
.venv/bin/python -m xladdin excel-setup out --force ${data[@]+"${data[@]}"}  # (bash 3.2: no empty "${a[@]}")
ls -l out

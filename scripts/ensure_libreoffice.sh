#!/usr/bin/env bash
# Ensure LibreOffice Calc (headless), poppler-utils and a CJK font are installed.
#
# Used by the workbook tests to convert built workbooks to PDF (soffice) and to
# read/render them (pdftotext, pdftoppm).  The sheets carry Chinese headers, so a
# CJK font (WenQuanYi Micro Hei, 5 MB) is needed for LibreOffice to render and
# export them as text.  Idempotent: does nothing when `soffice`, `pdftotext`,
# `pdftoppm` and a Chinese font (fc-list :lang=zh) are already present.
#
# Usage:  bash scripts/ensure_libreoffice.sh
# Needs root (or sudo) and apt (Debian/Ubuntu).  Exit code 0 when everything is
# available afterwards, non-zero otherwise.
set -euo pipefail

have_all() {
    command -v soffice >/dev/null 2>&1 &&
    command -v pdftotext >/dev/null 2>&1 &&
    command -v pdftoppm >/dev/null 2>&1 &&
    [ -n "$(fc-list :lang=zh 2>/dev/null | head -1)" ]
}

if have_all; then
    exit 0
fi

source "$(dirname "$0")/_apt.sh"
apt_install ensure_libreoffice libreoffice-calc-nogui poppler-utils fonts-wqy-microhei

if ! have_all; then
    echo "ensure_libreoffice: installation finished but soffice/pdftotext/pdftoppm or the CJK font still missing" >&2
    exit 1
fi
echo "ensure_libreoffice: $(soffice --version 2>/dev/null | head -1)"

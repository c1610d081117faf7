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

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_libreoffice: apt-get not found; install LibreOffice Calc and poppler-utils by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "ensure_libreoffice: not root and no sudo; run: apt-get install -y --no-install-recommends libreoffice-calc-nogui poppler-utils fonts-wqy-microhei" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui poppler-utils fonts-wqy-microhei

if ! have_all; then
    echo "ensure_libreoffice: installation finished but soffice/pdftotext/pdftoppm or the CJK font still missing" >&2
    exit 1
fi
echo "ensure_libreoffice: $(soffice --version 2>/dev/null | head -1)"

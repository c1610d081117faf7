#!/usr/bin/env bash
# Ensure libfuse and fusermount are installed (Debian package fuse3).
#
# Used by tests/test_case_insensitive_names.py, which mounts a case-insensitive file system of its own
# (tests/_cifs.py, a FUSE passthrough run by mfusepy from the test extra) to check that outputs named like an
# input but for case are refused. Idempotent: does nothing when fusermount3 (or fusermount) and libfuse3 are
# present. The tests still skip, saying why, where the system offers no /dev/fuse or refuses the mount.
#
# Usage:  bash scripts/ensure_fuse.sh
# Needs root (or sudo) and apt (Debian/Ubuntu) to install. Exit code 0 when fuse3 is available afterwards.
set -euo pipefail

have_all() {
    { command -v fusermount3 >/dev/null 2>&1 || command -v fusermount >/dev/null 2>&1; } &&
    [ -n "$(ldconfig -p 2>/dev/null | grep -E 'libfuse3?\.so\.[23]' | head -1)" ]
}

if have_all; then
    exit 0
fi

source "$(dirname "$0")/_apt.sh"
apt_install ensure_fuse fuse3

if ! have_all; then
    echo "ensure_fuse: installation finished but fusermount or libfuse is still missing" >&2
    exit 1
fi
echo "ensure_fuse: $(fusermount3 --version 2>&1 | head -1)"

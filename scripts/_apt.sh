# Sourced by scripts/ensure_*.sh: install Debian packages with apt-get, as root or through `sudo -n`.
# apt_install NAME PACKAGE...   (NAME prefixes the messages; returns non-zero when nothing could be installed)
apt_install() {
    local name=$1
    shift
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$name: apt-get not found; install by hand: $*" >&2
        return 1
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo -n"
        else
            echo "$name: not root and no sudo; run: apt-get install -y --no-install-recommends $*" >&2
            return 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "$@"
}

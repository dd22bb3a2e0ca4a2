#!/usr/bin/env bash
# The two commands of the README, and the benchmark: each installs what is missing first.
#   ./run.sh demo    run the real pipeline on sample scans, delivering to a local TLS mail server
#   ./run.sh test    run the whole test suite
#   ./run.sh bench   measure pages per minute, per-stage times and peak memory
set -euo pipefail
cd "$(dirname "$0")"

# chromium and chromium-driver: the desk's end-to-end tests (Selenium drives Debian's browser).
# voikko-fi, libvoikko1, wswedish: the Finnish and Swedish word lists free text is decoded with
# (intake/routing/icr/lexicon.py).
APT_PACKAGES=(tesseract-ocr tesseract-ocr-fin tesseract-ocr-swe tesseract-ocr-eng
              poppler-utils openssl fonts-dejavu-core voikko-fi libvoikko1 wswedish python3 python3-venv make chromium chromium-driver)
VENV=.venv

install_system() {
    local missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "run.sh: missing Debian packages: ${missing[*]}" >&2
        echo "run.sh: run as root, or: sudo apt-get install ${missing[*]}" >&2
        exit 4
    fi
    echo "run.sh: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python() {
    local python=${PYTHON:-python3}
    [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV"
    # Reinstall only when pyproject.toml changed since the last install.
    local stamp="$VENV/.intake-installed"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e '.[dev]'
        touch "$stamp"
    fi
}

install_system
install_python
export OMP_THREAD_LIMIT=1

case "${1:-}" in
    demo)  shift; exec "$VENV/bin/python" -m intake.demo "$@" ;;
    test)  shift; exec "$VENV/bin/python" -m pytest "$@" ;;
    bench) shift; exec "$VENV/bin/python" -m intake.bench "$@" ;;
    setup) ;;
    *) echo "usage: ./run.sh demo|test|bench|setup" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Make sure Debian's Chromium is installed at /usr/bin/chromium, for tests/test_browser.py
# (Playwright drives it; no browser is downloaded from anywhere but Debian's archive).
#
#   tools/ensure_chromium.sh      exit 0: Chromium is there (installed now if needed)
#                                 exit 1: it is missing and could not be installed here
#
# Installs with apt-get only when running as root (as CI does); otherwise prints the
# command to run.
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "chromium: found $CHROMIUM"
    exit 0
fi

if [ "$(id -u)" != "0" ]; then
    echo "chromium is not installed at $CHROMIUM, and installing it needs root. Run:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y chromium" >&2
    echo "(Debian's package; on other systems install Chromium and link it to $CHROMIUM)" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium is not installed at $CHROMIUM and this system has no apt-get:" >&2
    echo "install Chromium with your package manager and link it to $CHROMIUM" >&2
    exit 1
fi

echo "chromium: installing Debian's chromium package with apt-get…"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium

if [ ! -x "$CHROMIUM" ]; then
    echo "apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "chromium: installed $CHROMIUM"

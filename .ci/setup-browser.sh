#!/usr/bin/env bash
# What the dashboard's browser test (tests/e2e/test_dashboard_browser.py) needs beyond pip: Debian's
# chromium, which Playwright drives through executable_path (Playwright's own browser download is not
# used), and the playwright package in the active Python environment. Run as root on Debian.
# Idempotent: when both are present it only checks, quietly, in well under a second.
set -euo pipefail
PYTHON="${PYTHON:-python}"

if ! command -v chromium >/dev/null 2>&1; then
    echo "setup-browser: installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq chromium >/dev/null
fi

if ! "${PYTHON}" -c "import playwright" >/dev/null 2>&1; then
    echo "setup-browser: installing playwright (Python package)"
    "${PYTHON}" -m pip install --quiet "playwright>=1.40"
fi

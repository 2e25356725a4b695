#!/bin/sh
# Chromium for the portal's browser tests (tests/e2e/test_portal*.py), from the distribution's packages.
# Installs only when /usr/bin/chromium is missing; never downloads a Playwright browser build.
set -eu
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "Chromium is missing ($CHROMIUM) and this is not root: run 'sudo apt-get install -y chromium'" >&2
    echo "(the portal's browser tests in tests/e2e/test_portal*.py need it)." >&2
    exit 1
fi
echo "Installing Chromium for the portal's browser tests (apt-get install -y chromium)..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
test -x "$CHROMIUM" || { echo "apt-get did not install $CHROMIUM" >&2; exit 1; }
echo "Chromium installed: $($CHROMIUM --version)"

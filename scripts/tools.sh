#!/usr/bin/env bash
# Fetches the outside tools the tests drive into .tools/bin (gitignored):
# promtool and prometheus from Debian's prometheus package, unpacked, not
# installed (no root, no service). Idempotent; prints the bin directory.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.tools/bin
if [ -x "$bin/promtool" ]; then echo "$bin"; exit 0; fi
mkdir -p .tools/deb "$bin"
(
  cd .tools/deb
  apt-get download prometheus >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get download prometheus >/dev/null 2>&1; }
  dpkg-deb -x prometheus_*.deb root
)
cp .tools/deb/root/usr/bin/promtool .tools/deb/root/usr/bin/prometheus "$bin/"
echo "$bin"

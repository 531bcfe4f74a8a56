#!/usr/bin/env bash
# Install, with apt, the Debian packages the tests need and the machine lacks.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# npm installs axe-core for the browser tests (package-lock.json; `make node-deps`).
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
ldconfig -p | grep -q 'libmagic\.so\.1' || missing+=(libmagic1)
ldconfig -p | grep -q 'libpango-1\.0\.so\.0' || missing+=(libpango-1.0-0)
ldconfig -p | grep -q 'libpangoft2-1\.0\.so\.0' || missing+=(libpangoft2-1.0-0)
ldconfig -p | grep -q 'libharfbuzz-subset\.so\.0' || missing+=(libharfbuzz-subset0)
fc-list 2>/dev/null | grep -qi 'dejavu' || missing+=(fonts-dejavu-core)
# The antivirus daemon (tests start their own, with the signatures in tests/data/clamav)
# and the reverse proxy of the production shape (tests/security start it on loopback).
command -v clamd >/dev/null 2>&1 || [[ -x /usr/sbin/clamd ]] || missing+=(clamav-daemon)
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
# The seal's tests: pdfsig trusting the demonstration CA (certutil) and a PKCS#11 token.
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
# The journal's tests check a published timestamp token as anyone would: openssl ts.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "Installing missing system packages: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends "${missing[@]}" \
  || { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${missing[@]}"; }

#!/usr/bin/env bash
# Install, with apt, the Debian packages the tests need and the machine lacks.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
ldconfig -p | grep -q 'libmagic\.so\.1' || missing+=(libmagic1)
ldconfig -p | grep -q 'libpango-1\.0\.so\.0' || missing+=(libpango-1.0-0)
ldconfig -p | grep -q 'libpangoft2-1\.0\.so\.0' || missing+=(libpangoft2-1.0-0)
ldconfig -p | grep -q 'libharfbuzz-subset\.so\.0' || missing+=(libharfbuzz-subset0)
fc-list 2>/dev/null | grep -qi 'dejavu' || missing+=(fonts-dejavu-core)

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

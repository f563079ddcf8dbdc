#!/usr/bin/env bash
# Installs what the browser tests need, if it is missing: Debian's
# Chromium, and a colour emoji font so screenshots show the UI's icons as
# phones do. Idempotent; prints the path of the browser on stdout.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || need+=(fonts-noto-color-emoji)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "chromium.sh: need root (or sudo) to install ${need[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "chromium.sh: installing ${need[*]} from Debian's packages" >&2
  # The package lists may be stale on a fresh machine: refresh them once
  # if the first try fails.
  $sudo apt-get install -y -q "${need[@]}" >&2 ||
    { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q "${need[@]}" >&2; }
fi
command -v chromium

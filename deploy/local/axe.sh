#!/usr/bin/env bash
# Installs axe-core (the accessibility rules engine, from npm) for the
# browser quality test, which injects its axe.min.js into each screen.
# Idempotent and quiet when it is already there; prints one line on
# stdout:
#   ZONER_AXE=<path to axe.min.js>
#
# Usage: deploy/local/axe.sh [DIR]
#   DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/zoner/axe-core; the package
#   goes to DIR/<version> with npm install --prefix.
#
# Environment:
#   AXE_VERSION  release to install (default below)
#
# All output but the ZONER_AXE= line goes to stderr.
set -euo pipefail

AXE_VERSION=${AXE_VERSION:-4.14.1}

log() { echo "axe.sh: $*" >&2; }
die() { log "$*"; exit 1; }

base=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/zoner/axe-core}
mkdir -p "$base"
base=$(cd "$base" && pwd)
prefix=$base/$AXE_VERSION
js=$prefix/node_modules/axe-core/axe.min.js

# One install at a time per DIR.
exec 9>"$base/.lock"
flock -w 600 9 || die "timed out waiting for another axe.sh on $base"
if [ ! -f "$prefix/.complete" ] || [ ! -s "$js" ]; then
  command -v npm >/dev/null || die "npm not found: install Node.js (Debian: apt-get install npm)"
  rm -rf "$prefix"
  mkdir -p "$prefix"
  log "installing axe-core@$AXE_VERSION into $prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error "axe-core@$AXE_VERSION" >&2 ||
    { rm -rf "$prefix"; die "could not install axe-core@$AXE_VERSION"; }
  [ -s "$js" ] || { rm -rf "$prefix"; die "axe-core@$AXE_VERSION installed but $js is missing"; }
  echo "axe-core@$AXE_VERSION" >"$prefix/.complete"
fi
exec 9>&-
echo "ZONER_AXE=$js"

#!/usr/bin/env bash
# Lighthouse's accessibility and best-practices scores of the web UI, for
# a family of five with a trip (the fixture of the browser quality test):
# installs Lighthouse from npm (pinned) if it is missing, then runs
# TestLighthouseReport, which starts a hub with that family and runs the
# Lighthouse CLI in Chromium at mobile form factor on Today, the trip page
# and the baby's log. The reports and a scores.txt go to
# .artifacts/lighthouse/; the scores are printed. Slow, so not part of
# the test command: `go tool task lighthouse`.
#
# Usage: deploy/local/lighthouse.sh [install]
#   install   only install Lighthouse and print ZONER_LIGHTHOUSE_CLI=<path>
#
# Environment:
#   LIGHTHOUSE_VERSION  release to install (default below; 12.x runs on
#                       Node 18+, 13.x needs Node 22.19+)
#   ZONER_CHROMIUM      the Chromium to drive (default: deploy/local/chromium.sh)
set -euo pipefail

LIGHTHOUSE_VERSION=${LIGHTHOUSE_VERSION:-12.8.2}

log() { echo "lighthouse.sh: $*" >&2; }
die() { log "$*"; exit 1; }

root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
base=${XDG_CACHE_HOME:-$HOME/.cache}/zoner/lighthouse
prefix=$base/$LIGHTHOUSE_VERSION
cli=$prefix/node_modules/.bin/lighthouse

install() {
  mkdir -p "$base"
  exec 9>"$base/.lock"
  flock -w 600 9 || die "timed out waiting for another lighthouse.sh on $base"
  if [ ! -f "$prefix/.complete" ] || [ ! -x "$cli" ]; then
    command -v npm >/dev/null || die "npm not found: install Node.js (Debian: apt-get install npm)"
    rm -rf "$prefix"
    mkdir -p "$prefix"
    log "installing lighthouse@$LIGHTHOUSE_VERSION into $prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error "lighthouse@$LIGHTHOUSE_VERSION" >&2 ||
      { rm -rf "$prefix"; die "could not install lighthouse@$LIGHTHOUSE_VERSION"; }
    "$cli" --version >/dev/null || { rm -rf "$prefix"; die "lighthouse@$LIGHTHOUSE_VERSION installed but does not run"; }
    echo "lighthouse@$LIGHTHOUSE_VERSION" >"$prefix/.complete"
  fi
  exec 9>&-
}

install
if [ "${1:-}" = install ]; then
  echo "ZONER_LIGHTHOUSE_CLI=$cli"
  exit 0
fi

chromium=${ZONER_CHROMIUM:-$("$root/deploy/local/chromium.sh")}
out=$root/.artifacts/lighthouse
rm -rf "$out" && mkdir -p "$out"
cd "$root"
status=0
ZONER_LIGHTHOUSE=1 ZONER_LIGHTHOUSE_CLI="$cli" ZONER_LIGHTHOUSE_OUT="$out" ZONER_CHROMIUM="$chromium" \
  go test -count=1 -tags integration -run '^TestLighthouseReport$' -timeout 15m ./hub/cmd/zoner-hub/ >"$out/test.log" 2>&1 || status=$?
if [ -f "$out/scores.txt" ]; then
  cat "$out/scores.txt"
else
  tail -40 "$out/test.log" >&2
fi
echo "Reports: $out" >&2
exit $status

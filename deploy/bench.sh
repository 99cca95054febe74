#!/usr/bin/env bash
# make bench: load benchmarks of a real edge agent driven by chargesim, on
# loopback only. For each scenario the edge is started on a fresh store, the
# simulated chargers run for BENCH_SECONDS, and the run is repeated
# BENCH_RUNS times; the table shows the median run (by answered frames/s)
# with its ACK latency p50/p99. The edge publishes to the local MQTT broker
# (BENCH_MQTT, default tcp://127.0.0.1:1883) under its own topic root.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-20}
MQTT=${BENCH_MQTT:-tcp://127.0.0.1:1883}
DIR=$(mktemp -d)
trap 'pkill -f "chargeplane-edge.*$DIR" 2>/dev/null || true; rm -rf "$DIR"' EXIT

# name | chargers | heartbeat interval | durable
SCENARIOS=(
  "1k conns 15k/s durable|1000|66ms|true"
  "1k conns 15k/s no fsync|1000|66ms|false"
  "1k conns 20k/s durable|1000|50ms|true"
  "1k conns 20k/s no fsync|1000|50ms|false"
  "1k conns 40k/s durable|1000|25ms|true"
  "1k conns 40k/s no fsync|1000|25ms|false"
)

run_one() { # run_one chargers heartbeat durable → prints the summary line
  local store="$DIR/store-$RANDOM"
  bin/chargeplane-edge -config deploy/chargeplane-edge.yaml -store "$store" \
    -listen 127.0.0.1:18600 -admin 127.0.0.1:18601 \
    -set "uplink.mqtt_url=$MQTT" -set "uplink.topic_root=bench-$$/cp/v1" -set "uplink.client_id=bench-$$" \
    -set "store.durable=$3" -set gateway.accept_rate=5000 -set log.level=error >"$DIR/edge.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do
    timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/18600' 2>/dev/null && break
    sleep 0.1
  done
  bin/chargesim --chargers "$1" --addr 127.0.0.1:18600 --heartbeat "$2" --ramp 2s \
    --duration "${SECONDS_PER_RUN}s" --report 0 --id-base $((RANDOM * 1000)) | grep 'summary'
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$store"
}

field() { grep -o "$1=[^ ]*" <<<"$2" | cut -d= -f2; }

printf '%-26s %14s %10s %10s %8s\n' scenario "frames/s" "ACK p50" "ACK p99" errors
for sc in "${SCENARIOS[@]}"; do
  IFS='|' read -r name chargers hb durable <<<"$sc"
  results=()
  for _ in $(seq 1 "$RUNS"); do
    line=$(run_one "$chargers" "$hb" "$durable")
    results+=("$(field rate "$line" | tr -d '/s') $line")
  done
  median=$(printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  line=${median#* }
  printf '%-26s %14s %10s %10s %8s\n' "$name" "$(field rate "$line")" "$(field p50 "$line")" "$(field p99 "$line")" "$(field errors "$line")"
done

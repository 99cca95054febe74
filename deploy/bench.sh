#!/usr/bin/env bash
# make bench: load benchmarks of a real edge agent driven by chargesim, on
# loopback only. For each scenario the edge is started on a fresh store, the
# simulated chargers run for BENCH_SECONDS, and the run is repeated
# BENCH_RUNS times; the table shows the median of each column over the runs
# and every run's p99. The edge publishes to the local MQTT broker
# (BENCH_MQTT, default tcp://127.0.0.1:1883) under its own topic root.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-20}
MQTT=${BENCH_MQTT:-tcp://127.0.0.1:1883}
ONLY=${BENCH_ONLY:-} # run only the scenarios whose name contains this
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

# ms turns a Go duration (1.5ms, 2.1s, 850µs) into milliseconds.
ms() {
  awk -v d="$1" 'BEGIN {
    if (d ~ /ms$/) { sub(/ms$/, "", d); v = d }
    else if (d ~ /(µs|us)$/) { sub(/(µs|us)$/, "", d); v = d / 1000 }
    else if (d ~ /ns$/) { sub(/ns$/, "", d); v = d / 1e6 }
    else if (d ~ /s$/) { sub(/s$/, "", d); v = d * 1000 }
    else v = d
    printf "%.1f", v }'
}

# median of numbers, one per argument.
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }

# Each column is the median over the runs on its own (a run's latency does
# not follow its rate), and the last column lists every run's p99, so the
# spread is visible next to the median.
printf '%-26s %10s %9s %9s %7s  %s\n' scenario "frames/s" "p50 ms" "p99 ms" errors "p99 ms per run"
for sc in "${SCENARIOS[@]}"; do
  IFS='|' read -r name chargers hb durable <<<"$sc"
  [[ "$name" == *"$ONLY"* ]] || continue
  rates=() p50s=() p99s=() errs=()
  for _ in $(seq 1 "$RUNS"); do
    line=$(run_one "$chargers" "$hb" "$durable")
    rates+=("$(field rate "$line" | tr -d '/s')")
    p50s+=("$(ms "$(field p50 "$line")")")
    p99s+=("$(ms "$(field p99 "$line")")")
    errs+=("$(field errors "$line")")
  done
  printf '%-26s %10s %9s %9s %7s  %s\n' "$name" "$(median "${rates[@]}")" "$(median "${p50s[@]}")" \
    "$(median "${p99s[@]}")" "$(median "${errs[@]}")" "${p99s[*]}"
done

#!/usr/bin/env bash
# make chaos: an offline day and kill -9 of the edge, end to end with the real
# binaries on loopback, against the local Postgres (127.0.0.1:5432) and Redis
# (6379). The cloud runs its embedded MQTT broker on a free port, so stopping
# it takes the edge fully offline; Mosquitto is not used.
#
# The last line printed is
#   chaos: sessions=N in_cloud=N lost=N duplicated=N amount_mismatch=N
# and the exit status is 0 only if lost, duplicated and amount_mismatch are 0.
# Arguments are passed to the harness (edge/cmd/chargechaos), e.g.
#   bash deploy/chaos.sh -kills 10 -seed 42 -keep
set -Eeuo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# Built, not `go run`: go run would print "exit status 1" after the harness's
# last line.
go build -o "$dir/chargechaos" ./edge/cmd/chargechaos
"$dir/chargechaos" "$@"

#!/usr/bin/env bash
# make demo: the cloud, one edge agent and 20 simulated BKV chargers on this
# machine, against the local Postgres and Redis (and Mosquitto when it answers;
# otherwise the cloud embeds a broker). Ctrl-C stops everything cleanly.
#
# Override addresses with DEMO_PG_URL, DEMO_REDIS_URL, DEMO_MQTT_ADDR and
# DEMO_CHARGERS.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

PG_URL=${DEMO_PG_URL:-postgres://postgres@127.0.0.1:5432/chargeplane_demo?sslmode=disable}
REDIS_URL=${DEMO_REDIS_URL:-redis://127.0.0.1:6379/0}
MQTT_ADDR=${DEMO_MQTT_ADDR:-127.0.0.1:1883}
CHARGERS=${DEMO_CHARGERS:-20}
HTTP=127.0.0.1:8080
DIR=.demo
mkdir -p "$DIR"

answers() { # answers host:port
  timeout 2 bash -c "exec 3<>/dev/tcp/${1%:*}/${1##*:}" 2>/dev/null
}
hostport() { # the host:port inside a URL
  local rest=${1#*://}; rest=${rest#*@}; echo "${rest%%/*}"
}

missing=0
if ! answers "$(hostport "$PG_URL")"; then
  missing=1
  echo "PostgreSQL is not answering at $(hostport "$PG_URL")."
  echo "  start it:  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
  echo "  or install: apt-get install postgresql   (or: docker compose -f deploy/docker-compose.yml up -d postgres)"
fi
if ! answers "$(hostport "$REDIS_URL")"; then
  missing=1
  echo "Redis is not answering at $(hostport "$REDIS_URL")."
  echo "  start it:  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"
  echo "  or install: apt-get install redis-server   (or: docker compose -f deploy/docker-compose.yml up -d redis)"
fi
[ "$missing" = 0 ] || { echo "make demo needs the services above."; exit 1; }

EMBED=()
if answers "$MQTT_ADDR"; then
  echo "MQTT broker: $MQTT_ADDR"
else
  echo "MQTT broker: nothing answers at $MQTT_ADDR; the cloud will embed one there"
  EMBED=(-set "broker.embedded_addr=$MQTT_ADDR")
fi

pids=()
stop_all() { # stop_all <exit code>
  trap - INT TERM EXIT
  echo
  echo "stopping…"
  for (( i=${#pids[@]}-1; i>=0; i-- )); do kill -TERM "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; done
  echo "stopped. Logs are in $DIR/."
  exit "$1"
}
trap 'stop_all 0' INT TERM
trap 'stop_all $?' EXIT

ready() { # ready url: /readyz answers 200 (curl), or the port is open (no curl)
  if command -v curl >/dev/null; then curl -fsS -o /dev/null "$1" 2>/dev/null; return; fi
  local hp=${1#http://}; answers "${hp%%/*}"
}
wait_ready() { # wait_ready url name pid
  for _ in $(seq 1 120); do
    if ready "$1"; then return 0; fi
    kill -0 "$3" 2>/dev/null || { echo "$2 exited; see $DIR/$2.log"; tail -20 "$DIR/$2.log"; return 1; }
    sleep 0.5
  done
  echo "$2 not ready after 60 s; see $DIR/$2.log"; return 1
}

bin/chargeplane-cloud migrate -create-db -config deploy/chargeplane-cloud.yaml -postgres-url "$PG_URL"

bin/chargeplane-cloud serve -config deploy/chargeplane-cloud.yaml -postgres-url "$PG_URL" \
  -set "redis.url=$REDIS_URL" -set "mqtt.url=tcp://$MQTT_ADDR" -set "http.addr=$HTTP" \
  -set presence.timeout=30s "${EMBED[@]}" >"$DIR/cloud.log" 2>&1 &
pids+=($!)
wait_ready "http://$HTTP/readyz" cloud "${pids[-1]}"

# Provision the demo edge (a fresh credential each run: rotate when it
# exists), two cards with balances and a flat tariff, as an operator would.
CLOUD_ARGS=(-config deploy/chargeplane-cloud.yaml -postgres-url "$PG_URL" -set "mqtt.url=tcp://$MQTT_ADDR")
CRED=$( { bin/chargeplane-cloud edge create -tenant demo -edge edge-1 -name "Demo site" "${CLOUD_ARGS[@]}" 2>/dev/null \
          || bin/chargeplane-cloud edge rotate -edge edge-1 "${CLOUD_ARGS[@]}"; } | sed -n 's/^credential: //p')
[ -n "$CRED" ] || { echo "could not provision the demo edge"; exit 1; }
bin/chargeplane-cloud card put -tenant demo -card 000000000001 -balance-fen 10000 -offline-limit-fen 2000 "${CLOUD_ARGS[@]}" >/dev/null
bin/chargeplane-cloud card put -tenant demo -card 000000000002 -balance-fen 500 -offline-limit-fen 0 "${CLOUD_ARGS[@]}" >/dev/null
bin/chargeplane-cloud tariff set -edge edge-1 -electricity 0.6523 -service 0.40 "${CLOUD_ARGS[@]}" >/dev/null

# The operator API needs a login: a demo platform admin (created once; the
# demo database keeps it) and a session token for chargesim and curl.
ADMIN_EMAIL=admin@demo.example
ADMIN_PASSWORD=${DEMO_ADMIN_PASSWORD:-demo-admin-password}
printf '%s\n' "$ADMIN_PASSWORD" | bin/chargeplane-cloud admin create-admin -email "$ADMIN_EMAIL" -password-stdin \
  "${CLOUD_ARGS[@]}" >/dev/null 2>&1 || true
TOKEN_FILE=$DIR/token
CLOUD_REPORT=()
if command -v curl >/dev/null; then
  (umask 077; curl -fsS -H 'Content-Type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" \
    "http://$HTTP/chargeplane.v1.AuthService/Login" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p' >"$TOKEN_FILE") || true
fi
if [ -s "$TOKEN_FILE" ]; then
  CLOUD_REPORT=(--cloud "http://$HTTP" --cloud-token-file "$TOKEN_FILE" --tenant demo --report 3s)
else
  echo "note: no API session (curl missing or login failed): chargesim will not report the cloud's view"
fi

CHARGEPLANE_EDGE_UPLINK_CREDENTIAL=$CRED bin/chargeplane-edge -config deploy/chargeplane-edge.yaml -store "$DIR/edge-store" \
  -set "uplink.mqtt_url=tcp://$MQTT_ADDR" -set "uplink.cloud_url=http://$HTTP" >"$DIR/edge.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:8601/readyz" edge "${pids[-1]}"

cat <<INFO

ChargePlane demo is running.
  cloud API      http://$HTTP   (Connect-RPC, JSON over POST; login $ADMIN_EMAIL, session token in $TOKEN_FILE), e.g.
                 curl -H 'Content-Type: application/json' -H "Authorization: Bearer \$(cat $TOKEN_FILE)" -d '{"tenant_id":"demo"}' http://$HTTP/chargeplane.v1.ChargerService/ListChargers
  cloud health   http://$HTTP/readyz   metrics http://$HTTP/metrics
  edge admin     http://127.0.0.1:8601/   (installer page)   /status   /metrics
  sessions       curl -H 'Content-Type: application/json' -H "Authorization: Bearer \$(cat $TOKEN_FILE)" -d '{"tenant_id":"demo","page_size":5}' http://$HTTP/chargeplane.v1.SessionService/ListSessions
  chargers       $CHARGERS simulated BKV gateways → edge 127.0.0.1:8600, charging with cards
                 000000000001 and 000000000002 (tariff 0.6523 + 0.40 yuan/kWh)
  logs           $DIR/{cloud,edge}.log
Press Ctrl-C to stop.

INFO

# chargesim runs the fleet and, every 3 s, asks the cloud how many of its
# chargers it sees online ("online: 20/20").
bin/chargesim --protocol bkv --chargers "$CHARGERS" --addr 127.0.0.1:8600 --heartbeat 10s \
  --sessions --paired --card-every 20s --cards 000000000001,000000000002 --speed 60 --unplug-chance 0.2 \
  "${CLOUD_REPORT[@]}" &
pids+=($!)
wait "${pids[-1]}"

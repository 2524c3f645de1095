#!/usr/bin/env bash
# Runs the whole stack locally on loopback: Mosquitto (deploy/mosquitto's
# config, ACL, persistence), influxd 1.8, envpipe and stationsim with the
# sample Zhuzhou network, and prints a status line every few seconds.
# Ctrl-C stops everything this script started. Data lives in data/demo/.
#
#   make demo            (installs missing servers, builds, runs this)
#   DEMO_SPEED=60 ...    simulated seconds per wall second (default 60)
#   DEMO_START_AGO='24 hours'  where simulated time starts
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export PATH="$repo/.tools/bin:$PATH"

MQTT_PORT=${DEMO_MQTT_PORT:-18831}
INFLUX_PORT=${DEMO_INFLUX_PORT:-18087}
INFLUX_RPC_PORT=${DEMO_INFLUX_RPC_PORT:-18089}
HTTP_PORT=${DEMO_HTTP_PORT:-9274}
AM_PORT=${DEMO_ALERTMANAGER_PORT:-19093}
HJ212_PORT=${DEMO_HJ212_PORT:-19212}
SPEED=${DEMO_SPEED:-60}
# Simulated time starts this long ago and runs at 60x, so that dashboards
# fill with a day of data in 24 minutes; then it goes on in real time
# (stationsim -live: envpipe refuses readings from the future).
START_AGO=${DEMO_START_AGO:-24 hours}
DEMO_PASSWORD=demo-only-password # demo users only; never use in production
dir="$repo/data/demo"

die() { echo "demo: $*" >&2; exit 1; }
for p in "$MQTT_PORT" "$INFLUX_PORT" "$INFLUX_RPC_PORT" "$HTTP_PORT" "$AM_PORT" "$HJ212_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		die "port $p is taken; set DEMO_MQTT_PORT, DEMO_INFLUX_PORT, DEMO_INFLUX_RPC_PORT, DEMO_HTTP_PORT, DEMO_ALERTMANAGER_PORT or DEMO_HJ212_PORT"
	fi
done
mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$mosquitto" ] || die "mosquitto is missing: run scripts/install-servers.sh"
command -v influxd >/dev/null || die "influxd is missing: run scripts/install-servers.sh"
[ -x bin/envpipe ] && [ -x bin/stationsim ] || die "run 'make build' first"

mkdir -p "$dir/envpipe"
pids=()
# shellcheck source=lib.sh
. "$repo/scripts/lib.sh"
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "demo: stopping"
	stop_all # stations, envpipe, then the servers
	echo "demo: stopped; logs and data in $dir"
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM # Ctrl-C is the normal way to stop

# --- servers -------------------------------------------------------------------
# Demo users: envpipe and one per station (username = station id), all with
# the demo password; the shipped ACL lets each station write only its topics.
passwd="$dir/passwd"
: >"$passwd"
chmod 600 "$passwd"
mosquitto_passwd -b "$passwd" envpipe "$DEMO_PASSWORD"
for id in $(awk -F'id: ' '/- \{id:/ {split($2, a, ","); print a[1]}' configs/stations.yaml); do
	mosquitto_passwd -b "$passwd" "$id" "$DEMO_PASSWORD"
done
start_mosquitto "$dir/mosquitto" "$MQTT_PORT" "$passwd" || exit 1
start_influxd "$dir/influxdb" "$INFLUX_PORT" "$INFLUX_RPC_PORT" || exit 1
start_alertmanager "$dir/alertmanager" "$AM_PORT" || exit 1

# --- envpipe -----------------------------------------------------------------
sed -e "s|^stations: .*|stations: $repo/configs/stations.yaml|" \
	-e "s|broker: tcp://127.0.0.1:1883|broker: tcp://127.0.0.1:$MQTT_PORT|" \
	-e "s|url: http://127.0.0.1:8086|url: http://127.0.0.1:$INFLUX_PORT|" \
	-e "s|listen: 127.0.0.1:9274|listen: 127.0.0.1:$HTTP_PORT|" \
	-e "s|listen: 127.0.0.1:9212|listen: 127.0.0.1:$HJ212_PORT|" \
	-e "s|urls: \[http://127.0.0.1:9093\]|urls: [http://127.0.0.1:$AM_PORT]|" \
	-e "s|rules: rules.yaml|rules: $repo/configs/rules.yaml|" \
	-e "s|\.\./data/|$dir/envpipe/|" \
	configs/envpipe.yaml >"$dir/envpipe/envpipe.yaml"
ENVPIPE_MQTT_PASSWORD=$DEMO_PASSWORD setsid bin/envpipe run -config "$dir/envpipe/envpipe.yaml" >"$dir/envpipe/envpipe.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null || die "envpipe is not ready; see $dir/envpipe/envpipe.log"

# --- stationsim ----------------------------------------------------------------
STATIONSIM_MQTT_PASSWORD=$DEMO_PASSWORD setsid bin/stationsim -stations configs/stations.yaml \
	-broker "tcp://127.0.0.1:$MQTT_PORT" -per-station-auth -station-password "$DEMO_PASSWORD" \
	-speed "$SPEED" -live -start "$(date -u -d "-$START_AGO" +%Y-%m-%dT%H:%M:%SZ)" >"$dir/stationsim.log" 2>&1 &
pids+=($!)

cat <<MSG
demo: running (speed ${SPEED}x). Ctrl-C stops everything.
  MQTT      tcp://127.0.0.1:$MQTT_PORT   (users: envpipe and each station id, password '$DEMO_PASSWORD')
  InfluxDB  http://127.0.0.1:$INFLUX_PORT  database env  (try: curl -G http://127.0.0.1:$INFLUX_PORT/query --data-urlencode db=env --data-urlencode 'q=SELECT * FROM air ORDER BY time DESC LIMIT 5')
  envpipe   http://127.0.0.1:$HTTP_PORT/metrics  /readyz   HJ 212 over TCP on 127.0.0.1:$HJ212_PORT
  alerts    http://127.0.0.1:$AM_PORT  (Alertmanager; try: curl -s http://127.0.0.1:$AM_PORT/api/v2/alerts)
  logs      $dir
MSG

metric() { # sum of the samples of one metric name
	curl -fs "http://127.0.0.1:$HTTP_PORT/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 {s += $2} END {printf "%.0f", s}'
}
influx_count() {
	curl -fsG "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode db=env --data-urlencode "q=SELECT count($2) FROM $1" |
		sed -n 's/.*"values":\[\["[^"]*",\([0-9]*\)\]\].*/\1/p'
}
prev=$(metric envpipe_readings_accepted_total)
prev_t=$(date +%s.%N)
while sleep 5; do
	for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || die "process $pid exited; see the logs in $dir"; done
	now=$(metric envpipe_readings_accepted_total)
	now_t=$(date +%s.%N)
	rate=$(awk -v a="$prev" -v b="$now" -v s="$prev_t" -v e="$now_t" 'BEGIN {printf "%.1f", (b - a) / (e - s)}')
	prev=$now prev_t=$now_t
	reporting=$(curl -fs "http://127.0.0.1:$HTTP_PORT/metrics" |
		awk '/^envpipe_station_last_reading_timestamp_seconds\{/ {n++} END {print n + 0}')
	air=$(influx_count air pm25)
	water=$(influx_count water ph)
	printf '%s  readings/s %6s  stations reporting %3s  points in InfluxDB: air %s water %s  WAL backlog %s bytes  rejected %s\n' \
		"$(date +%H:%M:%S)" "$rate" "$reporting" "${air:-0}" "${water:-0}" "$(metric envpipe_wal_bytes)" "$(metric envpipe_readings_rejected_total)"
done

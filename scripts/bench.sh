#!/usr/bin/env bash
# make bench: the standard envbench scenarios on loopback servers this script
# starts (Mosquitto with the shipped limits, influxd 1.8, envpipe from bin/):
#   1. 200 000 readings from 1 000 stations, as fast as possible
#   2. the same from 10 000 stations
#   3., 4. both again with the stations primed (envbench -primed: one reading
#      each before the run, so that their state in envpipe and their series
#      in InfluxDB exist, as in operation, instead of being made in the run)
#   5. a steady 10 000 readings/s for 60 s: publish→queryable p50/p99, RSS
#   6. (steady-10k, not in the default set) the same rate from 10 000
#      stations each reporting every second with event time at the clock's
#      pace (envbench -step 1/rate), as a real network; the steady run's
#      1 000 stations and 1 ms steps run event time ten times as fast, so
#      that ten minutes of it hold 100 minutes of hours opening and closing
#   7. (steady-rt, not in the default set) the steady run's 1 000 stations
#      with event time at the clock's pace, as steady-10k, each station
#      reporting ten times a second: memory without event time's hours
# After each scenario it prints the CPU seconds of mosquitto, influxd and
# envpipe, to show where a change in throughput comes from, and after the
# throughput scenarios the 10 000 against 1 000 stations comparison (also
# in summary.txt).
# Results go to data/bench/<stamp>/ and are printed. BENCH_N, BENCH_RATE and
# BENCH_DURATION change the sizes; BENCH_SCENARIOS picks some of
# "throughput-1k throughput-10k throughput-1k-primed throughput-10k-primed
# steady steady-10k steady-rt influx-batches". The steady scenarios sample RSS
# every 10 s: `BENCH_SCENARIOS=steady BENCH_DURATION=600s make bench` is the
# 10-minute flat-memory run. BENCH_TEMPLATE replaces configs/bench.yaml.tmpl.
# BENCH_ROUNDS=K repeats the four throughput scenarios K times, each round
# in the opposite order to the one before (1 000 stations first, then
# 10 000 first), and prints the median of the rounds' comparisons: single
# pairs of runs 20 s apart move by ±15 % on a shared machine, so one pair
# says little about the 10 000 against 1 000 stations drop.
# influx-batches (not in the default set) measures InfluxDB alone
# (envbench -direct, a fresh influxd each time): its CPU per 100 000
# points with 1 000 and 10 000 stations at each batch size of
# BENCH_BATCHES (bytes), the sizes envpipe's influxdb.batch_max_bytes sets.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export PATH="$repo/.tools/bin:$PATH"
N=${BENCH_N:-200000}
RATE=${BENCH_RATE:-10000}
DURATION=${BENCH_DURATION:-60s}
MQTT_PORT=${BENCH_MQTT_PORT:-18841}
INFLUX_PORT=${BENCH_INFLUX_PORT:-18097}
INFLUX_RPC_PORT=${BENCH_INFLUX_RPC_PORT:-18099}
HTTP_PORT=${BENCH_HTTP_PORT:-19274}
out="$repo/data/bench/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
pids=()
. "$repo/scripts/lib.sh"
trap 'stop_all' EXIT INT TERM

SCENARIOS=${BENCH_SCENARIOS:-throughput-1k throughput-10k throughput-1k-primed throughput-10k-primed steady}
scenario() { # name stations-file envbench-args...
	local name=$1 stations=$2
	shift 2
	case " $SCENARIOS " in *" $name "*) ;; *) return 0 ;; esac
	rm -rf "$out/servers"
	start_mosquitto "$out/servers/mosquitto" "$MQTT_PORT" ""
	start_influxd "$out/servers/influxdb" "$INFLUX_PORT" "$INFLUX_RPC_PORT"
	sed -e "s|@MQTT_URL@|tcp://127.0.0.1:$MQTT_PORT|" -e "s|@INFLUX_URL@|http://127.0.0.1:$INFLUX_PORT|" \
		-e "s|@CLIENT_ID@|envpipe-bench|" -e "s|@WORK@|$out/servers/envpipe|" \
		-e "s|127.0.0.1:0|127.0.0.1:$HTTP_PORT|" "${BENCH_TEMPLATE:-configs/bench.yaml.tmpl}" >"$out/envpipe.yaml"
	bin/envpipe run -config "$out/envpipe.yaml" -stations "$stations" -rules configs/rules.yaml >"$out/$name$round.envpipe.log" 2>&1 &
	local epid=$!
	pids+=($epid)
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null && break; sleep 0.1; done
	echo "=== $name$round"
	bin/envbench -broker "tcp://127.0.0.1:$MQTT_PORT" -influx "http://127.0.0.1:$INFLUX_PORT" -pid "$epid" -timeout 20m "$@" | tee "$out/$name$round.txt"
	# Where the machine's CPU went, servers included (envbench's own CPU
	# is the publisher's): the whole lives of the processes, start-up too.
	printf 'CPU seconds: mosquitto %s, influxd %s, envpipe %s\n' \
		"$(cpu_seconds "${pids[0]}")" "$(cpu_seconds "${pids[1]}")" "$(cpu_seconds "$epid")" | tee -a "$out/$name$round.txt"
	stop_all
}

cpu_seconds() { # PID: user+system CPU seconds so far
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}
# The throughput runs' readings start ten minutes past the hour two hours
# ago, so that 200 000 of them (200 s of event time, 1 ms apart) do not cross
# the top of an hour. There every station closes an hour in envpipe (at
# midnight CST, also a day) and derived points for all of them are written:
# in a 10 000-station run across midnight influxd spent about twice the CPU
# of a run that crossed nothing, so a run that happened to cross it was not
# comparable with the others. Each scenario has a fresh influxd, so
# the same times can be used again. The steady run keeps envbench's default.
BASE=$(date -u -d '-2 hours' +%Y-%m-%dT%H:10:00Z)
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
throughput() { # 1k | 10k, then "" or -primed
	local primed=()
	[ -z "$2" ] || primed=(-primed)
	case $1 in
	1k) scenario "throughput-1k$2" configs/bench-stations.yaml -n "$N" -stations 1000 "${primed[@]}" -base "$BASE" ;;
	10k) scenario "throughput-10k$2" configs/bench-stations-10k.yaml -n "$N" -stations 10000 -prefix zz-bench- -digits 5 "${primed[@]}" -base "$BASE" ;;
	esac
}
# The 10 000 against 1 000 stations comparison in one line per pair, with
# where the CPU went (whole lives of the processes, as printed above).
compare() { # name-1k name-10k label
	local a="$out/$1$round.txt" b="$out/$2$round.txt"
	[ -f "$a" ] && [ -f "$b" ] || return 0
	awk -v label="$3" -v round="$round" -v drops="$out/drops-${3// /-}.txt" '
		/^end-to-end/ { for (i = 1; i <= NF; i++) if ($i == "→") r[FILENAME] = $(i + 1) }
		/^CPU seconds:/ { gsub(",", ""); m[FILENAME] = $4; x[FILENAME] = $6; e[FILENAME] = $8 }
		END {
			if (r[ARGV[1]] == "" || r[ARGV[2]] == "") exit
			d = 100 * (r[ARGV[2]] / r[ARGV[1]] - 1)
			printf "%s10 000 vs 1 000 stations, %s: %d → %d readings/s (%+.1f %%); CPU s: mosquitto %s → %s, influxd %s → %s, envpipe %s → %s\n",
				(round == "" ? "" : substr(round, 2) " "), label, r[ARGV[1]], r[ARGV[2]], d,
				m[ARGV[1]], m[ARGV[2]], x[ARGV[1]], x[ARGV[2]], e[ARGV[1]], e[ARGV[2]]
			printf "%.2f\n", d >> drops
		}' "$a" "$b" | tee -a "$out/summary.txt"
}
ROUNDS=${BENCH_ROUNDS:-1}
for ((k = 1; k <= ROUNDS; k++)); do
	round=""
	[ "$ROUNDS" -eq 1 ] || round=".r$k"
	order="1k 10k"
	[ $((k % 2)) -eq 1 ] || order="10k 1k"
	for s in $order; do throughput "$s" ""; done
	for s in $order; do throughput "$s" -primed; done
	compare throughput-1k throughput-10k "new stations"
	compare throughput-1k-primed throughput-10k-primed "primed stations"
done
round=""
scenario steady configs/bench-stations.yaml -rate "$RATE" -duration "$DURATION" -stations 1000
scenario steady-10k configs/bench-stations-10k.yaml -rate "$RATE" -duration "$DURATION" -stations 10000 -prefix zz-bench- -digits 5 -step "$((1000000 / RATE))us"
scenario steady-rt configs/bench-stations.yaml -rate "$RATE" -duration "$DURATION" -stations 1000 -step "$((1000000 / RATE))us"
case " $SCENARIOS " in *" influx-batches "*)
	echo "=== influx-batches (InfluxDB alone: CPU-s per 100 000 points)"
	for batch in ${BENCH_BATCHES:-1048576 4194304 16777216}; do
		for st in 1000 10000; do
			rm -rf "$out/servers"
			start_influxd "$out/servers/influxdb" "$INFLUX_PORT" "$INFLUX_RPC_PORT"
			bin/envbench -influx "http://127.0.0.1:$INFLUX_PORT" -direct "$batch" -n "$N" -stations "$st" \
				-prefix zz-bench- -digits 5 -pid "${pids[0]}" -base "$BASE" >"$out/influx-batch-$batch-$st.txt"
			printf 'batch %8d bytes, %5d stations: %s s per 100k, %s\n' "$batch" "$st" \
				"$(awk '/^InfluxDB CPU/ {print $3}' "$out/influx-batch-$batch-$st.txt")" \
				"$(awk '/^batches/ {print $2 " writes"}' "$out/influx-batch-$batch-$st.txt")" | tee -a "$out/summary.txt"
			stop_all
		done
	done
	;;
esac
if [ "$ROUNDS" -gt 1 ]; then
	for label in "new stations" "primed stations"; do
		f="$out/drops-${label// /-}.txt"
		[ -s "$f" ] || continue
		sort -g "$f" | awk -v label="$label" '{ d[NR] = $1 }
			END { m = NR % 2 ? d[(NR + 1) / 2] : (d[NR / 2] + d[NR / 2 + 1]) / 2
				printf "10 000 vs 1 000 stations, %s: median %+.2f %% over %d rounds (%+.1f to %+.1f %%)\n", label, m, NR, d[1], d[NR] }' |
			tee -a "$out/summary.txt"
	done
fi
echo "results in $out"

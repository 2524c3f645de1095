# Shared by demo.sh and bench.sh: start Mosquitto (the shipped config with
# local paths and ports) and influxd 1.8 on loopback. Source it; each
# function appends the PID it started to the array `pids`. Children run in
# their own session (setsid), so a Ctrl-C reaches only the script, which
# stops them in order.

# start_mosquitto DIR PORT PASSWD_FILE|"" : the shipped deploy/mosquitto
# config with local persistence, log, user and listener; without a password
# file the broker is anonymous and has no ACL (benchmarks).
start_mosquitto() {
	local dir=$1 port=$2 passwd=$3
	mkdir -p "$dir"
	grep -vE '^(listener|protocol|persistence_location|log_dest|user|password_file|acl_file|allow_anonymous)\b' \
		"$repo/deploy/mosquitto/mosquitto.conf" >"$dir/mosquitto.conf"
	{
		echo "persistence_location $dir/"
		echo "log_dest file $dir/mosquitto.log"
		echo "user $(id -un)"
		if [ -n "$passwd" ]; then
			echo "allow_anonymous false"
			echo "password_file $passwd"
			echo "acl_file $repo/deploy/mosquitto/acl"
		else
			echo "allow_anonymous true"
		fi
		echo "listener $port 127.0.0.1"
	} >>"$dir/mosquitto.conf"
	setsid "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$dir/mosquitto.conf" >"$dir/stdout.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.1; done
	echo "mosquitto did not start; see $dir/mosquitto.log" >&2
	return 1
}

# start_influxd DIR HTTP_PORT RPC_PORT : influxd 1.8 with database "env".
start_influxd() {
	local dir=$1 port=$2 rpc=$3
	mkdir -p "$dir"
	cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false
[monitor]
  store-enabled = false
[logging]
  level = "warn"
CONF
	setsid influxd run -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
	curl -fs -XPOST "http://127.0.0.1:$port/query" --data-urlencode "q=CREATE DATABASE env" >/dev/null || {
		echo "influxd did not start; see $dir/influxd.log" >&2
		return 1
	}
}

# start_alertmanager DIR PORT : Alertmanager (Debian's prometheus-alertmanager)
# with a receiver that keeps alerts for its UI and API only.
start_alertmanager() {
	local dir=$1 port=$2
	mkdir -p "$dir"
	cat >"$dir/alertmanager.yml" <<CONF
route: {receiver: demo, group_by: [alertname, station], group_wait: 10s}
receivers: [{name: demo}]
CONF
	setsid "$(command -v prometheus-alertmanager || command -v alertmanager)" --config.file="$dir/alertmanager.yml" \
		--storage.path="$dir/data" --web.listen-address="127.0.0.1:$port" --cluster.listen-address= >"$dir/alertmanager.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null && return 0; sleep 0.1; done
	echo "alertmanager did not start; see $dir/alertmanager.log" >&2
	return 1
}

# stop_all: SIGTERM in reverse order of start, SIGKILL after 5 s.
stop_all() {
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	pids=()
}

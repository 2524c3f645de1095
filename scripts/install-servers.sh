#!/usr/bin/env bash
# Installs the servers the integration tests start (see internal/testenv):
#   - Mosquitto and its command-line clients   (Debian: mosquitto, mosquitto-clients)
#   - Alertmanager                             (Debian: prometheus-alertmanager)
#   - promtool, for checking deploy/prometheus (Debian: prometheus)
#   - InfluxDB OSS 1.8.10, built with Go into <repo>/.tools/bin/influxd
#
# Idempotent: installs only what is missing, and says what it did. Debian
# packages need root (or password-less sudo). The packaged services are NOT
# started: the tests start their own servers on free ports, and a system
# broker on 1883 or an Alertmanager on 9093 is of no use to them.
#
# Environment:
#   INFLUXDB_VERSION  module version to build (default v1.8.10)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_bin="$repo/.tools/bin"
influxdb_version="${INFLUXDB_VERSION:-v1.8.10}"
packages=(mosquitto mosquitto-clients prometheus-alertmanager prometheus)

log() { printf 'install-servers: %s\n' "$*"; }
die() { printf 'install-servers: ERROR: %s\n' "$*" >&2; exit 1; }

did=()

# --- Debian packages ---------------------------------------------------------

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
	for p in "${packages[@]}"; do
		installed "$p" || missing+=("$p")
	done
else
	# Not Debian: accept the servers if they are on the machine anyway.
	command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]] || missing+=(mosquitto)
	command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 ||
		missing+=(prometheus-alertmanager)
	if ((${#missing[@]})); then
		die "no dpkg here; install ${missing[*]} yourself (the tests look in PATH, /usr/sbin, \$MOSQUITTO, \$ALERTMANAGER)"
	fi
fi

if ((${#missing[@]})); then
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
		else
			die "missing Debian packages: ${missing[*]}. Installing them needs root: run this script as root, or
    sudo apt-get update && sudo apt-get install -y ${missing[*]}"
		fi
	fi

	# Keep the packages' services from starting: invoke-rc.d and
	# deb-systemd-invoke ask /usr/sbin/policy-rc.d, and 101 means "forbidden".
	# An existing policy (Docker images ship one) is left alone.
	policy=/usr/sbin/policy-rc.d
	if [[ ! -e $policy ]]; then
		"${sudo[@]}" sh -c "printf '#!/bin/sh\n# temporary, from envpipe scripts/install-servers.sh\nexit 101\n' > $policy && chmod 755 $policy"
		trap '"${sudo[@]}" rm -f '"$policy" EXIT
	fi

	log "installing Debian packages: ${missing[*]}"
	t0=$SECONDS
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq "${missing[@]}"
	did+=("installed ${missing[*]} ($((SECONDS - t0)) s)")
	log "installed ${missing[*]} in $((SECONDS - t0)) s; their services were not started"
	if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
		log "note: the services are enabled for the next boot (systemctl disable mosquitto prometheus-alertmanager if unwanted)"
	fi
else
	log "Debian packages already installed: ${packages[*]}"
fi

# --- InfluxDB OSS 1.8 (built from source with Go) -----------------------------

influxd="$tools_bin/influxd"

# The module version a Go binary was built from ("" if unknown).
built_version() {
	command -v go >/dev/null 2>&1 || return 0
	go version -m "$1" 2>/dev/null |
		awk '$1 == "mod" && $2 == "github.com/influxdata/influxdb" { print $3 }'
}

have=""
if [[ -x $influxd ]]; then
	have="$(built_version "$influxd")"
fi
if [[ -x $influxd && ( $have == "$influxdb_version" || -z $have ) ]]; then
	log "influxd ${have:-(version unknown)} already at $influxd"
else
	command -v go >/dev/null 2>&1 || die "Go is needed to build influxd $influxdb_version (go install); it is not in PATH"
	if [[ -n $have ]]; then
		log "replacing influxd $have with $influxdb_version"
	fi
	log "building influxd $influxdb_version into $tools_bin (go install; the long pole: minutes on 2 cores, seconds with a warm build cache)"
	mkdir -p "$tools_bin"
	t0=$SECONDS
	# GOFLAGS is cleared so that a caller's -race or -mod does not leak in.
	# The -X flags give the binary a version (a plain go install reports
	# "unknown" in /ping's X-Influxdb-Version and in /health).
	GOBIN="$tools_bin" GOFLAGS="" go install \
		-ldflags "-X main.version=${influxdb_version#v} -X main.branch=${influxdb_version#v} -X main.commit=${influxdb_version}" \
		"github.com/influxdata/influxdb/cmd/influxd@${influxdb_version}"
	did+=("built influxd $influxdb_version ($((SECONDS - t0)) s)")
	log "built $influxd in $((SECONDS - t0)) s: $("$influxd" version)"
fi

if ((${#did[@]})); then
	log "done: $(printf '%s; ' "${did[@]}" | sed 's/; $//')"
else
	log "done: nothing to install"
fi

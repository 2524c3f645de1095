#!/usr/bin/env bash
# Creates deploy/mosquitto/passwd, the Mosquitto password file: one user for
# envpipe and one per station (username = station id).
#
#   deploy/mosquitto/gen-passwd.sh [--demo] [--force] [-o FILE] [USER...]
#
# Users: the arguments, or else "envpipe" plus every station id in
# configs/stations.yaml.
#
# Passwords:
#   default  a random password per user, printed ONCE on stdout as
#            user:password; hand them to the stations and to envpipe's
#            configuration, the file keeps only salted hashes.
#   --demo   every user gets the password "envpipe-demo". DEMO ONLY: for the
#            local docker-compose stack and the station simulator, never on a
#            broker reachable from a network you do not control.
#
# Hashing is done by mosquitto_passwd -U (PBKDF2-SHA512), from the local
# mosquitto package or, if it is not installed, from the eclipse-mosquitto
# container image. The plaintext never appears on a command line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$here/passwd"
demo=false
force=false
users=()
readonly DEMO_PASSWORD="envpipe-demo"

while (($#)); do
	case $1 in
	--demo) demo=true ;;
	--force) force=true ;;
	-o) out="$2"; shift ;;
	-h | --help) sed -n '2,22p' "$0"; exit 0 ;;
	-*) echo "unknown option $1" >&2; exit 2 ;;
	*) users+=("$1") ;;
	esac
	shift
done

if ((${#users[@]} == 0)); then
	users=(envpipe)
	stations="$repo/configs/stations.yaml"
	if [[ -f $stations ]]; then
		# "- {id: zz-air-0101, ...}", "- id: zz-air-0101" or "  id: ..." (quotes allowed)
		while IFS= read -r id; do users+=("$id"); done < <(
			sed -nE 's/^[[:space:]]*(-[[:space:]]+)?(\{[[:space:]]*)?id:[[:space:]]*["'\'']?([A-Za-z0-9._-]+).*$/\3/p' "$stations"
		)
	else
		echo "note: $stations not found; creating only the envpipe user" >&2
	fi
fi

if [[ -e $out && $force != true ]]; then
	echo "$out exists; use --force to replace it" >&2
	exit 1
fi

umask 077
tmp="$(mktemp "$(dirname "$out")/.passwd.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
for u in "${users[@]}"; do
	if [[ $u == *:* ]]; then
		echo "invalid username $u" >&2
		exit 1
	fi
	if $demo; then
		pw="$DEMO_PASSWORD"
	else
		pw="$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
		printf '%s:%s\n' "$u" "$pw"
	fi
	printf '%s:%s\n' "$u" "$pw" >>"$tmp"
done

if command -v mosquitto_passwd >/dev/null 2>&1; then
	mosquitto_passwd -U "$tmp"
elif command -v docker >/dev/null 2>&1; then
	chmod 644 "$tmp" # readable by the container's user while it hashes
	docker run --rm -v "$(dirname "$tmp"):/w" eclipse-mosquitto:2 mosquitto_passwd -U "/w/$(basename "$tmp")"
	chmod 600 "$tmp"
else
	echo "need mosquitto_passwd (apt-get install mosquitto) or docker" >&2
	exit 1
fi
mv "$tmp" "$out"
trap - EXIT
# Mosquitto reads the password file AFTER dropping root for its own user
# (uid 1883 in the eclipse-mosquitto image): a file only root can read makes
# the broker exit with "Unable to open pwfile".
if [[ $(id -u) -eq 0 ]]; then
	chown 1883:1883 "$out"
	chmod 600 "$out"
else
	chmod 644 "$out"
	echo "note: $out is world-readable so that the container's mosquitto user can read it;" \
		"on a shared host run this as root (chown 1883:1883, mode 600) instead" >&2
fi
if $demo; then
	echo "wrote $out: ${#users[@]} users, all with the DEMO password \"$DEMO_PASSWORD\"" >&2
else
	echo "wrote $out: ${#users[@]} users (the passwords above are not stored anywhere else)" >&2
fi

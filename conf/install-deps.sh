#!/bin/sh
# Installs the Debian packages Hypersend builds, runs and tests with.
# Idempotent: asks dpkg first and only calls apt-get for what is missing.
set -eu

PKGS="build-essential pkg-config git ca-certificates clang-format
libfcgi-dev libmongoc-dev libbson-dev libjwt-dev libcjson-dev libssl-dev
libhiredis-dev libwebsockets-dev libsqlite3-dev libargon2-dev libmagic-dev
libcmocka-dev lighttpd redis-server wrk
python3 python3-pytest python3-requests python3-websockets curl procps
libuv1-dev chromium"

# Node runs the tus-js-client tests; any node+npm already on PATH will do.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	PKGS="$PKGS nodejs npm"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# Debian starts these daemons on install; Hypersend runs its own instances.
for svc in lighttpd redis-server; do
	if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
	if [ -x "/etc/init.d/$svc" ]; then "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; fi
done

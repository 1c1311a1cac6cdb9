#!/bin/sh
# Installs what bench/ws.sh and bench/run.sh compare against, idempotently:
#   - the Debian package libnginx-mod-nchan (nginx's nchan module; nginx
#     itself comes with it), asked of dpkg first, apt-get only when missing;
#   - the seed's kind of stack for bench/run.sh's FastAPI baseline
#     (bench/fastapi_app.py): python3-fastapi, uvicorn with uvloop (the
#     event loop uvicorn picks when present), python3-jwt,
#     python3-redis, from Debian likewise;
#   - the npm packages of bench/node-relay (ws, ioredis), with npm ci from
#     the committed lock file when node_modules is missing or older than it.
#
#   bench/deps.sh
set -eu

dir=$(cd "$(dirname "$0")" && pwd)

PKGS="libnginx-mod-nchan nginx nodejs npm python3-fastapi uvicorn python3-uvloop python3-jwt
python3-redis"
missing=""
for p in $PKGS; do
	# nginx-light, nginx-core etc. provide nginx; node may come from elsewhere.
	case $p in
	nginx) command -v nginx >/dev/null 2>&1 && continue ;;
	nodejs) command -v node >/dev/null 2>&1 && continue ;;
	npm) command -v npm >/dev/null 2>&1 && continue ;;
	esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench deps: missing packages:$missing" >&2
		echo "bench deps: run as root (or: sudo apt-get install$missing)" >&2
		exit 1
	fi
	echo "bench deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >&2
	# Debian starts nginx on install; the benchmark runs its own instance.
	if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
	if [ -x /etc/init.d/nginx ]; then /etc/init.d/nginx stop >/dev/null 2>&1 || true; fi
fi

cd "$dir/node-relay"
stamp=node_modules/.package-lock.json
if [ ! -f package-lock.json ]; then
	npm install --no-audit --no-fund --loglevel=error --omit-lockfile-registry-resolved >&2
elif [ ! -d node_modules ] || [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] ||
	[ package.json -nt "$stamp" ]; then
	npm ci --no-audit --no-fund --loglevel=error >&2
fi

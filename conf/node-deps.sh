#!/bin/sh
# Installs the Node packages of tests/node (tus-js-client for the tus
# integration tests) when they are missing or older than the lock file.
# Idempotent: does nothing when node_modules is up to date.
#
#   conf/node-deps.sh
set -eu

dir=$(cd "$(dirname "$0")/../tests/node" && pwd)
cd "$dir"

command -v npm >/dev/null 2>&1 || { echo "node-deps: npm is not installed" >&2; exit 1; }

stamp=node_modules/.package-lock.json
if [ ! -f package-lock.json ]; then
	# First run: resolve the versions and write the lock file.
	npm install --no-audit --no-fund --loglevel=error
elif [ ! -d node_modules ] || [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] ||
	[ package.json -nt "$stamp" ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi

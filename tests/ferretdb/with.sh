#!/bin/bash
# Runs a command with a MongoDB-protocol server and MONGODB_URI naming it:
# the server given in MONGODB_URI if set (a real MongoDB, say), else a
# PostgreSQL + FerretDB pair started in a temporary folder (server.sh) and
# stopped when the command ends, whatever way it ends. Exit status: the
# command's.
#
#   tests/ferretdb/with.sh make unit T=test_store   (HS_TEST_STORE=mongo ...)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: with.sh COMMAND [ARG...]" >&2; exit 2; }
if [ -n "${MONGODB_URI:-}" ]; then
    exec "$@"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/hs-ferretdb.XXXXXX")
cleanup() {
    "$here/server.sh" stop "$dir" || true
    [ -n "${HS_KEEP_FERRETDB_DIR:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
MONGODB_URI=$("$here/server.sh" start "$dir")
export MONGODB_URI
rc=0
"$@" || rc=$?
exit $rc

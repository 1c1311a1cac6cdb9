#!/bin/sh
# Installs the Debian packages Hypersend needs, in two sets:
#   run   what building and serving need (`make run`): compiler, libraries
#         (libmongoc-dev and libbson-dev for the mongo store backend),
#         lighttpd, redis-server, curl;
#   test  run plus what the tests need (`make test`): clang (libFuzzer) and
#         llvm, clang-format, cmocka, Python with pytest, Node with npm,
#         chromium for the browser tests, wrk, nginx and spawn-fcgi (the
#         tests and benchmarks of the nginx front), apache2 with mod_fcgid
#         and mod_xsendfile (the tests of the Apache front), postgresql and
#         python3-pymongo (FerretDB, the MongoDB-protocol server of the mongo
#         backend's tests, runs on a PostgreSQL cluster the tests create;
#         tests/ferretdb/build.sh builds FerretDB with the machine's Go
#         toolchain, 1.24 or later: Debian 12's golang-go, 1.19, is too old).
# Idempotent: asks dpkg first and only calls apt-get for what is missing.
#
#   conf/install-deps.sh run|test
#
# HS_INITD_DIR (default /etc/init.d) is for the tests of this script.
set -eu

set_name=${1:-test}
RUN_PKGS="build-essential pkg-config ca-certificates curl procps
libfcgi-dev libbson-dev libmongoc-dev libjwt-dev libcjson-dev libssl-dev libhiredis-dev
libwebsockets-dev libsqlite3-dev libargon2-dev libmagic-dev libuv1-dev
lighttpd-mod-deflate lighttpd-modules-lua brotli
lighttpd redis-server"
TEST_PKGS="clang-format clang libclang-rt-14-dev llvm libcmocka-dev
python3 python3-pytest python3-requests python3-websockets chromium wrk
nginx spawn-fcgi apache2 libapache2-mod-fcgid libapache2-mod-xsendfile
postgresql python3-pymongo"

case $set_name in
run)
	PKGS=$RUN_PKGS
	# make run on the MongoDB backend with no server named runs the test
	# server (conf/stack.sh): PostgreSQL under FerretDB.
	if [ "${HS_STORE:-}" = mongo ] && [ -z "${HS_MONGO_URI:-}" ]; then PKGS="$PKGS postgresql"; fi
	;;
test)
	PKGS="$RUN_PKGS $TEST_PKGS"
	# Node runs the tus-js-client and browser tests; any node (18 or later)
	# and npm already on PATH will do, else Debian's.
	if command -v node >/dev/null 2>&1; then
		major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
		[ "$major" -ge 18 ] 2>/dev/null ||
			echo "install-deps: the node on PATH is version $major; the tests need 18 or later" >&2
	else
		PKGS="$PKGS nodejs"
	fi
	command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
	;;
*)
	echo "usage: $0 run|test" >&2
	exit 2
	;;
esac

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
echo "install-deps ($set_name): installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# Debian starts these daemons when it installs them; Hypersend runs its own
# instances (the tests' PostgreSQL clusters live in temporary folders). Only
# a package installed just now is stopped and disabled: a lighttpd,
# redis-server, nginx, apache2 or postgresql the machine already had is left
# as it was.
for svc in lighttpd redis-server nginx apache2 postgresql; do
	case " $(echo $missing) " in
	*" $svc "*) ;;
	*) continue ;;
	esac
	units=$svc
	# apache2 brings its cache cleaner's unit along; it is Debian's too.
	[ "$svc" = apache2 ] && units="apache2 apache-htcacheclean"
	for u in $units; do
		if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$u" >/dev/null 2>&1 || true; fi
		initd=${HS_INITD_DIR:-/etc/init.d}
		if [ -x "$initd/$u" ]; then "$initd/$u" stop >/dev/null 2>&1 || true; fi
	done
done

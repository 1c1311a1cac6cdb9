#!/bin/bash
# Message search on the mongo backend (docs/mongo-status.md, "Search"): seeds
# N messages (default 1,000,000, three words each) with their search words
# straight into a FerretDB started for the run (tests/ferretdb/server.sh; or
# the server MONGODB_URI names, whose database hs_bench_search is dropped
# first), then times hs_store_message_search from C (bench/mongo_search.c)
# over a searcher's chats: a rare word, a middling one, the commonest, a
# prefix and two words, each QUERIES times (default 50), 50 hits a page.
#
#   bench/mongo_search.sh [N] [QUERIES]      (after make all)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000000}
queries=${2:-50}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hs-mgsearch.XXXXXX")
started=
cleanup() {
    [ -n "$started" ] && "$top/tests/ferretdb/server.sh" stop "$tmp/srv" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$top"
[ -f build/libhypersend.a ] || { echo "mongo_search.sh: make all first" >&2; exit 1; }
# shellcheck disable=SC2046
cc -O2 -std=c11 -D_GNU_SOURCE -Ilib/include $(pkg-config --cflags libmongoc-1.0) \
    -o "$tmp/mongo_search" bench/mongo_search.c build/libhypersend.a \
    $(pkg-config --libs fcgi libjwt libcjson openssl hiredis sqlite3 libargon2 libbson-1.0 \
      libmongoc-1.0 libmagic) -lpthread
if [ -z "${MONGODB_URI:-}" ]; then
    MONGODB_URI=$(tests/ferretdb/server.sh start "$tmp/srv")
    started=1
fi
hosts=${MONGODB_URI#mongodb://}
hosts=${hosts%%/*}
uri="mongodb://$hosts/hs_bench_search"
/usr/bin/python3 -c "import pymongo,sys; pymongo.MongoClient(sys.argv[1]).drop_database('hs_bench_search')" "$uri"
searcher=$(/usr/bin/python3 bench/mongo_search_seed.py "$uri" "$n" 200 40)
echo "$n messages in 200 chats, the searcher in 40 of them:"
"$tmp/mongo_search" "$uri" "$searcher" "$queries"

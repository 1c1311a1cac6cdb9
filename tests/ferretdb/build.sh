#!/bin/sh
# Builds hs-ferretdb (FerretDB 1.24, pinned by go.mod/go.sum here) into a cache
# folder outside the tree and prints the binary's path. Idempotent: a binary whose
# stamp matches this folder's go.mod, go.sum and main.go is reused without Go.
# The Go toolchain fetches the modules through its configured module proxy.
# Env: HS_CACHE_DIR (default ~/.cache/hypersend), GO (default: go on PATH).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${HS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hypersend}
ver=$(sed -n 's/^require github.com\/FerretDB\/FerretDB \(v[0-9.]*\)$/\1/p' "$here/go.mod")
[ -n "$ver" ] || { echo "build.sh: no FerretDB version in $here/go.mod" >&2; exit 1; }
out="$cache/ferretdb-$ver"
bin="$out/hs-ferretdb"
stamp=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-16)

if [ -x "$bin" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$bin"
    exit 0
fi

GO=${GO:-go}
if ! command -v "$GO" >/dev/null 2>&1; then
    [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go ||
        { echo "build.sh: the Go toolchain (>= 1.24) is needed to build FerretDB" >&2; exit 1; }
fi
mkdir -p "$out"
echo "build.sh: building FerretDB $ver into $out (a few minutes, once)" >&2
# -mod=readonly: go.sum is the pin, nothing is resolved anew. CGO off: a static
# binary that does not depend on the host's C libraries. nice: the build is heavy.
(cd "$here" && GOFLAGS=-mod=readonly CGO_ENABLED=0 GOTOOLCHAIN=local \
    nice -n 10 "$GO" build -trimpath -o "$bin.tmp" .)
mv "$bin.tmp" "$bin"
echo "$stamp" > "$out/stamp"
"$bin" --version >/dev/null
echo "$bin"

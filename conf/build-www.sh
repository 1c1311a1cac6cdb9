#!/bin/sh
# Builds the document root the fronts serve (HS_WWW_DIR) from www/:
#
#   conf/build-www.sh SRC DST        (the Makefile: www build/www)
#
# - Versioned asset URLs: every page and script refers to the static files
#   under /v/<hash>/, where <hash> is a hash of the whole source tree (and of
#   this script). DST/v/<hash> is a symbolic link to DST itself, so the files
#   exist once and an ES module's relative imports stay under the same
#   prefix. The fronts send /v/ with a year of immutable caching; a change
#   anywhere makes a new prefix. The plain paths (/js/app.js) still work,
#   without the long caching. `make install` copies over the previous tree,
#   so an open page of the last version still finds its prefix.
# - Precompressed copies: each text file (html, js, mjs, css, json, map,
#   svg, txt) of at least MIN_SIZE bytes gets file.gz (gzip -9) and file.br
#   (brotli -q 11) beside it, kept only when smaller than the file. The
#   fronts send them to clients that accept them (conf/lighttpd-static.lua,
#   nginx gzip_static/brotli_static, Apache's rewrite rules).
# The tree is made in DST.new and then replaces DST.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 SRC DST" >&2; exit 2; }
src=$1
dst=$2
MIN_SIZE=256

command -v gzip >/dev/null 2>&1 || { echo "build-www: gzip is missing" >&2; exit 1; }
have_br=1
if ! command -v brotli >/dev/null 2>&1; then
	have_br=0
	echo "build-www: brotli is missing (conf/install-deps.sh run): no .br copies" >&2
fi

# One hash of every source file (name and bytes) and of this script.
hash=$( (cd "$src" && find . -type f | LC_ALL=C sort | xargs -d '\n' sha256sum) |
	cat - "$0" | sha256sum | cut -c1-12)

tmp="$dst.new"
rm -rf "$tmp"
mkdir -p "$(dirname "$dst")"
cp -R "$src" "$tmp"
find "$tmp" \( -name '*.gz' -o -name '*.br' \) -type f -delete

# Pages: src/href of the static files (not of other pages) get the prefix.
find "$tmp" -type f -name '*.html' -exec sed -E -i \
	"s#((src|href)=\")/((css|js|vendor|docs)/[^\"]*\\.(js|mjs|css|png|svg|ico|woff2)\")#\\1/v/$hash/\\3#g" {} +
# Scripts: absolute paths of static files at the start of a string or
# template literal (the stylesheets loaded on demand, the vendored tus
# client, the API document for Swagger UI).
q="['\"\`]"
find "$tmp" -type f \( -name '*.js' -o -name '*.mjs' \) ! -path "$tmp/vendor/*" -exec sed -E -i \
	"s#($q)/((css|js|vendor)/|openapi\\.json$q)#\\1/v/$hash/\\2#g" {} +

mkdir -p "$tmp/v"
ln -s .. "$tmp/v/$hash"

# Precompressed copies, in parallel (one gzip and one brotli per file).
find "$tmp" -type f -size +$((MIN_SIZE - 1))c \( -name '*.html' -o -name '*.js' -o -name '*.mjs' \
	-o -name '*.css' -o -name '*.json' -o -name '*.map' -o -name '*.svg' -o -name '*.txt' \) \
	-print0 | HAVE_BR=$have_br xargs -0 -r -P "$(nproc 2>/dev/null || echo 2)" -n 8 sh -c '
	for f; do
		gzip -9 -n -c "$f" >"$f.gz"
		[ "$(stat -c %s "$f.gz")" -lt "$(stat -c %s "$f")" ] || rm -f "$f.gz"
		if [ "$HAVE_BR" = 1 ]; then
			brotli -q 11 -f -o "$f.br" "$f"
			[ "$(stat -c %s "$f.br")" -lt "$(stat -c %s "$f")" ] || rm -f "$f.br"
		fi
	done' sh

rm -rf "$dst"
mv "$tmp" "$dst"

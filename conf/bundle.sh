#!/bin/sh
# Assembles the shared-hosting bundle (make bundle; docs/deploy.md, "Shared
# hosting") from programs linked for it and the built web client:
#
#   conf/bundle.sh BIN_DIR WWW_DIR STAGE_DIR OUT.tar.gz
#
# BIN_DIR holds hs-<app>.fcgi, linked with RUNPATH $ORIGIN/lib and the
# libraries Debian ships as .a linked in statically (the Makefile). Every
# other library they load, except glibc's, is copied into app/lib, so the
# bundle runs on a host that has none of them; libmagic's database goes
# there too (the apps find it beside themselves). The tree:
#
#   .htaccess                  routes /api/v1/..., /health and /s/... to app/
#   index.html, js/, css/ ...  the web client (conf/build-www.sh)
#   app/.htaccess              runs *.fcgi (mod_fcgid, else mod_cgi); serves nothing else
#   app/hs-<app>.fcgi          the FastCGI / CGI programs
#   app/lib/                   shared libraries, magic.mgc
#   app/hypersend.conf.example the configuration template; the programs use
#                              it as it is until an app/hypersend.conf exists
#   setup.html                 shown by .htaccess when Apache lacks a module
#
# No data folder: the programs make theirs outside the document root on
# their first request (../hypersend-data by default; lib/http/setup.c).
set -eu

[ $# -eq 4 ] || { echo "usage: $0 BIN_DIR WWW_DIR STAGE_DIR OUT.tar.gz" >&2; exit 2; }
bin=$1
www=$2
stage=$3
out=$4
conf=$(dirname "$0")/bundle

# Always on the host: the C library and the loader. The rest travels.
base='^(linux-vdso\.so|ld-linux-x86-64\.so|libc\.so|libm\.so|libpthread\.so|libdl\.so|librt\.so|libresolv\.so)'

rm -rf "$stage"
mkdir -p "$stage/app/lib"
cp -R "$www/." "$stage/"
find "$stage" -name '.htaccess' -delete
for p in "$bin"/*.fcgi; do
	install -m 0755 "$p" "$stage/app/"
	# (no debug information: a third of the size)
	strip --strip-debug "$stage/app/$(basename "$p")"
	ldd "$p" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | while read -r name path; do
		if echo "$name" | grep -Eq "$base"; then continue; fi
		[ -f "$stage/app/lib/$name" ] || install -m 0644 "$path" "$stage/app/lib/$name"
	done
	if ldd "$p" | grep -q 'not found'; then
		echo "bundle: $p: a library is not found:" >&2
		ldd "$p" >&2
		exit 1
	fi
done
mgc=$(for f in /usr/lib/file/magic.mgc /usr/share/misc/magic.mgc /usr/share/file/magic.mgc; do
	[ -f "$f" ] && echo "$f" && break; done || true)
if [ -n "$mgc" ]; then
	install -m 0644 "$mgc" "$stage/app/lib/magic.mgc"
else
	echo "bundle: libmagic's magic.mgc not found: uploads will be typed application/octet-stream" >&2
fi
install -m 0644 "$conf/htaccess" "$stage/.htaccess"
install -m 0644 "$conf/app.htaccess" "$stage/app/.htaccess"
install -m 0644 "$conf/setup.html" "$stage/setup.html"
install -m 0644 "$conf/hypersend.conf" "$stage/app/hypersend.conf.example"

top=$(basename "$stage")
tar -C "$(dirname "$stage")" --owner=0 --group=0 --numeric-owner --sort=name \
	-czf "$out.tmp" "$top"
mv "$out.tmp" "$out"
echo "  BUNDLE  $out"

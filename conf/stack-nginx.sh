# The nginx front of conf/stack.sh (HS_FRONT=nginx), sourced by it: the
# apps under spawn-fcgi and nginx with conf/nginx.conf, its install paths
# and port turned into this run's. Uses stack.sh's top, rundir, port,
# ws_port and ws_n; sets front_pid.
#
# HS_NGINX_WORKERS (2) worker processes; HS_NGINX_KEEPALIVE=0 drops the
# keepalive and fastcgi_keep_conn lines, for a new FastCGI connection per
# request (as lighttpd does). The generated files are RUNDIR/nginx/*.conf.

# One app's processes on one socket, as conf/nginx.conf's comment starts
# them. spawn-fcgi forks them into sessions of their own and exits; their
# pids go to sockets/NAME.pid for stop().
spawn_app() { # name binary procs
	spawn-fcgi -s "$rundir/sockets/$1.sock" -M 0600 -b 1024 -F "$3" \
		-P "$rundir/sockets/$1.pid" -- "$HS_BIN_DIR/hs-$2" >>"$rundir/logs/spawn-fcgi.log" 2>&1 ||
		{ echo "stack: spawn-fcgi failed for hs-$2 (see $rundir/logs/spawn-fcgi.log)" >&2; return 1; }
}

# conf/nginx.conf with this run's paths and port: the sockets in
# RUNDIR/sockets, the web client of HS_WWW_DIR, the blobs of RUNDIR/data and
# the bridges this stack started.
nginx_site() {
	ws=""
	i=0
	while [ $i -lt "$ws_n" ]; do
		ws="$ws    server 127.0.0.1:$((ws_port + 2 * i));\\n"
		i=$((i + 1))
	done
	keep='^#never$'
	[ "${HS_NGINX_KEEPALIVE:-1}" = 0 ] && keep='^ *(keepalive|fastcgi_keep_conn) '
	sed -E -e "s|^( *listen) 80 default_server;|\\1 127.0.0.1:$port default_server;|" \
		-e '/^ *listen \[::\]:80/d' \
		-e "s|/run/hypersend/|$rundir/sockets/|g" \
		-e "s|/usr/local/share/hypersend/www|$HS_WWW_DIR|g" \
		-e "s|/var/lib/hypersend/files/|$rundir/data/files/|g" \
		-e "s|/var/log/nginx/hypersend-access.log|$rundir/logs/nginx-access.log|" \
		-e "s|^ *server 127\\.0\\.0\\.1:8091;|$ws|" \
		-e "/$keep/d" \
		-e "s|include( +)fastcgi_params;|include\\1/etc/nginx/fastcgi_params;|" \
		"$top/conf/nginx.conf"
}

start_nginx_front() {
	d=$rundir/nginx
	mkdir -p "$d/tmp" "$rundir/data/files"
	rm -f "$rundir"/sockets/*.pid
	spawn_app auth auth "$HS_PROCS" &&
		spawn_app users users "$HS_PROCS" &&
		spawn_app files files "$HS_PROCS" &&
		spawn_app files-upload files "$HS_UPLOAD_PROCS" &&
		spawn_app chats chats "$HS_PROCS" &&
		spawn_app p2p p2p "$HS_PROCS" &&
		spawn_app updates updates "$HS_UPDATES_PROCS" || { stop; exit 1; }
	nginx_site >"$d/site.conf"
	user=""
	[ "$(id -u)" = 0 ] && user="user root;" # the sockets and rundir are root's
	cat >"$d/nginx.conf" <<EOF
# Made by conf/stack-nginx.sh for this run; the site is conf/nginx.conf.
$user
worker_processes ${HS_NGINX_WORKERS:-2};
worker_rlimit_nofile $HS_MAX_FDS;
daemon off;
pid $d/nginx.pid;
error_log $rundir/logs/nginx-error.log;
events { worker_connections $((HS_MAX_CONNS / ${HS_NGINX_WORKERS:-2})); }
http {
    access_log $rundir/logs/nginx-access.log;
    sendfile on;
    client_body_temp_path $d/tmp/body;
    fastcgi_temp_path $d/tmp/fastcgi;
    proxy_temp_path $d/tmp/proxy;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    include $d/site.conf;
}
EOF
	nginx -e "$rundir/logs/nginx-error.log" -p "$d" -c "$d/nginx.conf" &
	front_pid=$!
}

# The nginx front of conf/stack.sh (HS_FRONT=nginx), sourced by it: the
# apps under spawn-fcgi and nginx with conf/nginx.conf, its install paths
# and port turned into this run's. Uses stack.sh's top, rundir, port,
# ws_port and ws_n; sets front_pid and watch_pid (the loop that starts
# killed apps again).
#
# HS_NGINX_WORKERS (2) worker processes; HS_NGINX_KEEPALIVE=0 drops the
# keepalive and fastcgi_keep_conn lines, for a new FastCGI connection per
# request (as lighttpd does). The generated files are RUNDIR/nginx/*.conf.

# One app's processes on one socket, as conf/nginx.conf's comment starts
# them. spawn-fcgi forks them into sessions of their own and exits; their
# pids go to sockets/NAME.pid for stop(). spawn-fcgi runs in a session of
# its own too (setsid -w), so that a signal to the stack's process group
# (Ctrl-C, the tests' SIGTERM) cannot stop it between two forks, with
# processes started that its pid file does not name yet.
spawn_app() { # name binary procs
	setsid -w spawn-fcgi -s "$rundir/sockets/$1.sock" -M 0600 -b 1024 -F "$3" \
		-P "$rundir/sockets/$1.pid" -- "$HS_BIN_DIR/hs-$2" >>"$rundir/logs/spawn-fcgi.log" 2>&1 ||
		{ echo "stack: spawn-fcgi failed for hs-$2 (see $rundir/logs/spawn-fcgi.log)" >&2; return 1; }
}

# spawn-fcgi never starts an app again: once every process of an app has
# died (killed, crashed), nginx would answer 502 for good. lighttpd and
# mod_fcgid start new ones; here this loop does, twice a second, on the same
# socket (as a service manager's restart would: conf/nginx.conf). Runs in
# the background; stop() ends it first, and waits: SIGTERM ends it only
# between two commands, so no spawn-fcgi is left half done (its processes
# not yet in the pid file).
watch_apps() { # name:binary:procs ...
	trap 'exit 0' TERM
	while :; do
		sleep 0.5
		for a in "$@"; do
			name=${a%%:*}
			rest=${a#*:}
			alive=0
			while read -r p || [ -n "$p" ]; do
				# (a process whose parent does not reap it is a zombie: dead)
				read -r st 2>/dev/null <"/proc/$p/stat" || continue
				st=${st##*) }
				[ "${st%% *}" = Z ] || alive=1
			done <"$rundir/sockets/$name.pid"
			[ $alive = 1 ] || spawn_app "$name" "${rest%%:*}" "${rest#*:}" || true
		done
	done
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
	watch_apps auth:auth:"$HS_PROCS" users:users:"$HS_PROCS" files:files:"$HS_PROCS" \
		files-upload:files:"$HS_UPLOAD_PROCS" chats:chats:"$HS_PROCS" p2p:p2p:"$HS_PROCS" \
		updates:updates:"$HS_UPDATES_PROCS" &
	watch_pid=$!
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

# The Apache front of conf/stack.sh (HS_FRONT=apache), sourced by it:
# Debian's apache2 as a foreground instance of its own (no /etc/apache2, no
# system service) with conf/apache.conf, its install paths and port turned
# into this run's; mod_fcgid starts the apps. Uses stack.sh's top, rundir,
# port, ws_port, ws_n and apps_user; sets front_pid. The generated files are
# RUNDIR/apache/*.conf.
#
# Apache refuses to serve as root: started as root, its workers and the
# apps run as apps_user (HS_APACHE_USER, www-data), which is given the
# run's data, logs and key (stack.sh points the apps at Redis over TCP).

apache_modules=/usr/lib/apache2/modules

# conf/apache.conf with this run's paths and port: the programs of
# HS_BIN_DIR, the web client of HS_WWW_DIR, the blobs of RUNDIR/data, this
# stack's environment for the apps and the bridges it started.
apache_site() {
	d=$rundir/apache
	# The apps' environment: mod_fcgid passes them none of Apache's, so
	# every HS_* of this run (HS_CONFIG and the overrides) and the
	# sanitizers' options go through FcgidInitialEnv.
	env | grep -E '^(HS_[A-Z0-9_]*|ASAN_OPTIONS|UBSAN_OPTIONS)=' | grep -v '^HS_EXIT_WITH_PARENT=' |
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^\([^=]*\)=\(.*\)$/    FcgidInitialEnv \1 "\2"/' >"$d/env.conf"
	if [ "$ws_n" -gt 1 ]; then
		ws="balancer://hypersend-ws"
		{
			echo "    <Proxy balancer://hypersend-ws>"
			i=0
			while [ $i -lt "$ws_n" ]; do
				echo "        BalancerMember ws://127.0.0.1:$((ws_port + 2 * i)) timeout=120"
				i=$((i + 1))
			done
			echo "    </Proxy>"
		} >"$d/ws.conf"
	else
		ws="ws://127.0.0.1:$ws_port"
		: >"$d/ws.conf"
	fi
	sed -E -e "s|^<VirtualHost \\*:80>|<VirtualHost 127.0.0.1:$port>|" \
		-e "s|/usr/local/libexec/hypersend|$HS_BIN_DIR|g" \
		-e "s|/usr/local/share/hypersend/www|$HS_WWW_DIR|g" \
		-e "s|/var/lib/hypersend/files|$rundir/data/files|g" \
		-e "s|\\\$\\{APACHE_LOG_DIR\\}/hypersend-access.log|$rundir/logs/apache-access.log|" \
		-e "/^ *FcgidInitialEnv HS_CONFIG /{r $d/env.conf" -e "d}" \
		-e "/^ *ProxyPassMatch +\"\\^\\/\\(ws/{r $d/ws.conf" -e "}" \
		-e "s|ws://127\\.0\\.0\\.1:8091|$ws|" \
		"$top/conf/apache.conf"
}

start_apache_front() {
	d=$rundir/apache
	mkdir -p "$d" "$rundir/data/files"
	rm -f "$d/apache.pid"
	user=""
	if [ -n "$apps_user" ]; then
		group=$(id -gn "$apps_user")
		user="User $apps_user
Group $group"
		chmod 0711 "$rundir"
		chown -R "$apps_user:$group" "$rundir/data" "$rundir/logs" "$rundir/secret.key"
		# Every folder above these must be searchable by that account too
		# (a mktemp -d folder, 0700, is not; nor is /root).
		for need in "-w $rundir/data" "-r $HS_WWW_DIR/index.html" "-x $HS_BIN_DIR/hs-auth"; do
			# shellcheck disable=SC2086
			runuser -u "$apps_user" -- test $need || {
				echo "stack: $apps_user (Apache's account under root) cannot reach ${need#-? }:" \
					"make the folders above it searchable (chmod o+x) or run as another user" >&2
				return 1
			}
		done
	fi
	mods=""
	for m in mpm_event authz_core mime dir alias headers rewrite filter deflate brotli \
		reqtimeout proxy proxy_http proxy_wstunnel fcgid xsendfile; do
		mods="${mods}LoadModule ${m}_module $apache_modules/mod_$m.so
"
	done
	[ "$ws_n" -gt 1 ] && mods="${mods}LoadModule slotmem_shm_module $apache_modules/mod_slotmem_shm.so
LoadModule proxy_balancer_module $apache_modules/mod_proxy_balancer.so
LoadModule lbmethod_byrequests_module $apache_modules/mod_lbmethod_byrequests.so
"
	types=/etc/mime.types
	[ -f "$types" ] || types=/dev/null
	apache_site >"$d/site.conf"
	cat >"$d/apache.conf" <<EOF
# Made by conf/stack-apache.sh for this run; the site is conf/apache.conf.
ServerRoot $d
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $d/apache.pid
DefaultRuntimeDir $d
ErrorLog $rundir/logs/apache-error.log
LogLevel warn
$user
${mods}TypesConfig $types
FcgidIPCDir $rundir/sockets/fcgid
FcgidProcessTableFile $d/fcgid_shm
StartServers 1
ServerLimit 4
ThreadsPerChild 64
MaxRequestWorkers 256
Include $d/site.conf
EOF
	# (in /usr/sbin, which an unprivileged user's PATH may lack)
	httpd=$(command -v apache2 || echo /usr/sbin/apache2)
	"$httpd" -d "$d" -f "$d/apache.conf" -DFOREGROUND &
	front_pid=$!
}

# Stops Apache for stop(): SIGTERM, and what is left after 3 s is killed.
# A worker that holds a WebSocket tunnel (whose client has not closed)
# ignores SIGTERM, and Apache itself would wait 8 s for it before its own
# SIGKILL. Its fcgid process manager takes the apps along (they exit with
# it: HS_EXIT_WITH_PARENT).
stop_apache_front() {
	kill "$front_pid" 2>/dev/null || return 0
	i=0
	while [ $i -lt 30 ]; do
		state=$(sed -e 's/^.*) //' -e 's/ .*//' "/proc/$front_pid/stat" 2>/dev/null || echo Z)
		[ "$state" = Z ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL $(ps -o pid= --ppid "$front_pid") "$front_pid" 2>/dev/null || true
}

#include "hs/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(field) HS_CONF_STR, offsetof(hs_config_t, field)
#define I(field) HS_CONF_INT, offsetof(hs_config_t, field)

const hs_conf_key_t hs_config_keys[] = {
    {"data_dir", S(data_dir), "/var/lib/hypersend", 0, 0,
     "Folder for the SQLite file and uploaded blobs"},
    {"store", S(store), "sqlite", 0, 0,
     "Metadata store backend: sqlite (one machine), or mongo (mongo_uri; several hosts: "
     "docs/scaling.md)"},
    {"sqlite_path", S(sqlite_path), "", 0, 0,
     "SQLite database file; empty means <data_dir>/hypersend.db"},
    {"mongo_uri", S(mongo_uri), "mongodb://127.0.0.1:27017/hypersend", 0, 0,
     "MongoDB connection string for store = mongo; the database is the URI's path "
     "(default hypersend); serverSelectionTimeoutMS, connectTimeoutMS and socketTimeoutMS "
     "default to 2000, 2000 and 10000 when the URI does not set them"},
    {"redis_host", S(redis_host), "127.0.0.1", 0, 0,
     "Redis host name or address, or the path of its Unix socket (starting with /)"},
    {"events", S(events), "", 0, 0,
     "Where events, rate limits and revocations live: redis or store (no Redis, long-poll only); "
     "empty: store when redis_host is empty, else redis"},
    {"revocation_cache", S(revocation_cache), "auto", 0, 0,
     "Where each request's token revocation check looks first: auto (the store itself when "
     "it is embedded, SQLite; Redis in front of a remote store) or redis (always Redis, "
     "the store when Redis is cold or down)"},
    {"redis_port", I(redis_port), "6379", 1, 65535, "Redis TCP port (unused with a socket path)"},
    {"redis_timeout_ms", I(redis_timeout_ms), "500", 10, 60000,
     "Connect and command timeout for Redis, in milliseconds"},
    {"secret_key_file", S(secret_key_file), "/etc/hypersend/secret.key", 0, 0,
     "File holding the token signing key (at least 32 bytes); keep it private"},
    {"jwt_issuer", S(jwt_issuer), "hypersend", 0, 0, "The iss claim of access tokens"},
    {"access_token_ttl", I(access_token_ttl), "900", 30, 86400,
     "Access token lifetime in seconds (15 min)"},
    {"refresh_token_ttl", I(refresh_token_ttl), "1728000", 300, 31536000,
     "Refresh token lifetime in seconds (480 h)"},
    {"max_json_body", I(max_json_body), "65536", 1024, 16777216,
     "Largest accepted JSON request body in bytes"},
    {"body_timeout", I(body_timeout), "30", 1, 3600,
     "Seconds an upload body may send nothing before the app gives up on it"},
    {"upload_direct_io", I(upload_direct_io), "1", 0, 1,
     "1: uploads write whole blocks straight to the disk (O_DIRECT: less CPU per byte); "
     "0: through the page cache, so a file downloaded right after its upload is read "
     "from memory"},
    {"fcgi_max_conns", I(fcgi_max_conns), "64", 1, 4096,
     "FastCGI connections one app process holds open at most (fronts that keep them, "
     "e.g. nginx's fastcgi_keep_conn); past it the longest idle one is closed"},
    {"cors_origins", S(cors_origins), "", 0, 0,
     "Comma-separated origins allowed to call the API from a browser"},
    {"access_log", S(access_log), "-", 0, 0, "Access log file; - means standard error"},
    {"argon2_memory_kib", I(argon2_memory_kib), "19456", 19456, 4194304,
     "argon2id memory cost in KiB (OWASP minimum 19456)"},
    {"argon2_iterations", I(argon2_iterations), "2", 2, 100, "argon2id time cost"},
    {"argon2_parallelism", I(argon2_parallelism), "1", 1, 16, "argon2id lanes"},
    {"login_account_burst", I(login_account_burst), "5", 1, 100000,
     "Failed logins allowed per account before 429"},
    {"login_account_period", I(login_account_period), "60", 1, 86400,
     "Seconds for one more failed login per account to be allowed"},
    {"login_ip_burst", I(login_ip_burst), "20", 1, 100000,
     "Failed logins allowed per client address before 429"},
    {"login_ip_period", I(login_ip_period), "10", 1, 86400,
     "Seconds for one more failed login per address to be allowed"},
    {"register_ip_burst", I(register_ip_burst), "10", 1, 100000,
     "Registrations allowed per client address before 429"},
    {"register_ip_period", I(register_ip_period), "60", 1, 86400,
     "Seconds for one more registration per address to be allowed"},
    {"trust_proxy", I(trust_proxy), "0", 0, 1,
     "1: take the client address from the rightmost X-Forwarded-For entry (the one the "
     "trusted proxy appended; behind another proxy only)"},
    {"max_file_size", I(max_file_size), "42949672960", 1, 1L << 50,
     "Largest file accepted, in bytes (40 GiB)"},
    {"user_quota", I(user_quota), "0", 0, 1L << 60,
     "Bytes of files and open uploads per user; 0 means no quota"},
    {"upload_ttl", I(upload_ttl), "86400", 1, 31536000,
     "Seconds an unfinished upload is kept before cleanup removes it"},
    {"chunk_size", I(chunk_size), "8388608", 65536, 1L << 30,
     "Chunk size of the chunked upload API in bytes (8 MiB)"},
    {"max_chunks", I(max_chunks), "4096", 1, 1000000,
     "Most chunks per upload; larger files get proportionally larger chunks"},
    {"denied_types", S(denied_types), "", 0, 0,
     "Comma-separated MIME types refused with 415 (declared or sniffed)"},
    {"download_origin", S(download_origin), "", 0, 0,
     "Separate origin for file downloads (e.g. https://dl.example.com): browser navigations "
     "to a download on any other host are redirected there; empty: none"},
    {"sendfile_header", S(sendfile_header), "X-Sendfile", 0, 0,
     "How downloads are handed to the web server: X-Sendfile (lighttpd, Apache), "
     "X-Accel-Redirect (nginx), or none (the app sends the bytes itself, with Range and "
     "conditional requests, for a host without either)"},
    {"max_message_length", I(max_message_length), "16384", 1, 1048576,
     "Largest message content in characters (Unicode code points; 413 beyond)"},
    {"chat_member_limit", I(chat_member_limit), "10000", 2, 10000000, "Most members in one chat"},
    {"message_burst", I(message_burst), "30", 1, 100000,
     "Messages a user may send at once before the rate applies"},
    {"message_rate", I(message_rate), "10", 1, 1000,
     "Messages per second a user may send after the burst (429 beyond)"},
    {"search_burst", I(search_burst), "50", 1, 100000,
     "Message searches a user may run at once before the period applies"},
    {"search_period", I(search_period), "1", 1, 3600,
     "Seconds for one more message search per user to be allowed after the burst (429 beyond)"},
    {"receipts_max_members", I(receipts_max_members), "100", 2, 100000,
     "Largest group whose per-message read receipts can be listed"},
    {"events_retention", I(events_retention), "600", 10, 86400,
     "Seconds an event is kept for replay after a reconnect (resync_required beyond)"},
    {"ws_bind", S(ws_bind), "127.0.0.1", 0, 0, "IPv4 address the WebSocket bridge listens on"},
    {"ws_port", I(ws_port), "8091", 1, 65535, "WebSocket bridge port (the web server proxies /ws)"},
    {"ws_metrics_port", I(ws_metrics_port), "0", 0, 65535,
     "Loopback port of the bridge's Prometheus /metrics; 0: ws_port + 1"},
    {"ws_log", S(ws_log), "-", 0, 0,
     "The bridge's log file (reopened on SIGHUP); - means standard error"},
    {"ws_max_message", I(ws_max_message), "65536", 1024, 16777216,
     "Largest client frame in bytes (closed with 1009 beyond)"},
    {"ws_queue_max", I(ws_queue_max), "4096", 16, 1000000,
     "Events queued for one connection before it is closed as a slow reader (4429)"},
    {"ws_heartbeat", I(ws_heartbeat), "25", 1, 3600, "Seconds between the bridge's pings"},
    {"ws_idle_timeout", I(ws_idle_timeout), "75", 2, 86400,
     "Seconds without any frame (pongs count) before a connection is closed (4408)"},
    {"ws_token_warning", I(ws_token_warning), "60", 1, 3600,
     "Seconds before a connection's token expires that token.expiring is sent"},
    {"presence_max_members", I(presence_max_members), "100", 2, 1000000,
     "Largest group whose members are told when one comes online or goes offline"},
    {"p2p_offer_ttl", I(p2p_offer_ttl), "600", 10, 604800,
     "Seconds a P2P offer waits to be accepted before it expires"},
    {"p2p_stun_urls", S(p2p_stun_urls), "", 0, 0,
     "Comma-separated STUN URLs for WebRTC (stun:host:3478)"},
    {"p2p_turn_urls", S(p2p_turn_urls), "", 0, 0,
     "Comma-separated TURN URLs (turn:host:3478?transport=udp); empty: no TURN"},
    {"p2p_turn_secret", S(p2p_turn_secret), "", 0, 0,
     "coturn's static-auth-secret, for time-limited TURN credentials"},
    {"p2p_turn_ttl", I(p2p_turn_ttl), "86400", 60, 604800, "Seconds a TURN credential is valid"},
    {"typing_throttle_ms", I(typing_throttle_ms), "2000", 0, 60000,
     "Least time between two typing starts a connection relays for one chat"},
    {"p2p_offer_burst", I(p2p_offer_burst), "10", 1, 100000,
     "P2P offers a user may make at once before 429 rate_limited"},
    {"p2p_offer_period", I(p2p_offer_period), "6", 1, 86400,
     "Seconds for one more P2P offer per sender to be allowed"},
    {"invite_burst", I(invite_burst), "200", 1, 10000000,
     "People a user may add to groups and channels at once before 429 rate_limited"},
    {"invite_period", I(invite_period), "3", 1, 86400,
     "Seconds for one more addition to a group or channel per user to be allowed"},
    {"chat_create_per_hour", I(chat_create_per_hour), "60", 1, 1000000,
     "Chats (direct, group, channel) a user may create per hour before 429 rate_limited"},
    {"updates_per_user", I(updates_per_user), "2", 1, 10000,
     "Long-polls (GET /api/v1/updates) one user may hold at once; more get 429 too_many_polls"},
    {"updates_max_waiting", I(updates_max_waiting), "0", 0, 1000000,
     "Long-polls waiting at once on the host (all users); past it a poll answers at once with "
     "retry_ms (a short poll); 0: no cap"},
    {"updates_short_poll_ms", I(updates_short_poll_ms), "1000", 100, 60000,
     "retry_ms of a poll over updates_max_waiting: milliseconds its client waits before the next"},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

static const hs_conf_key_t *find_key(const char *name)
{
    for (const hs_conf_key_t *k = hs_config_keys; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

int hs_config_set(hs_config_t *cfg, const char *key, const char *value, hs_err_t *err)
{
    const hs_conf_key_t *k = find_key(key);
    if (!k)
        return hs_err_set(err, HS_EINVAL, "config_unknown_key", "unknown config key '%s'", key);
    char *base = (char *)cfg;
    if (k->type == HS_CONF_STR) {
        char **slot = (char **)(base + k->offset);
        char *copy = strdup(value);
        if (!copy)
            return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
        free(*slot);
        *slot = copy;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0')
        return hs_err_set(err, HS_EINVAL, "config_bad_value",
                          "config key '%s': '%s' is not an integer", key, value);
    if (v < k->min || v > k->max)
        return hs_err_set(err, HS_EINVAL, "config_bad_value",
                          "config key '%s': %ld is outside %ld..%ld", key, v, k->min, k->max);
    *(long *)(base + k->offset) = v;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int load_file(hs_config_t *cfg, const char *path, int must_exist, hs_err_t *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (!must_exist && errno == ENOENT)
            return 0;
        return hs_err_set(err, HS_EINVAL, "config_unreadable", "cannot read config file %s: %s",
                          path, strerror(errno));
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = hs_err_set(err, HS_EINVAL, "config_syntax", "%s:%d: expected key = value", path,
                            lineno);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        size_t n = strlen(val);
        if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
            val[n - 1] = '\0';
            val++;
        }
        rc = hs_config_set(cfg, key, val, err);
        if (rc && err) {
            char msg[1024];
            int w = snprintf(msg, sizeof msg, "%s:%d: %s", path, lineno, err->message);
            size_t len = w < 0 ? 0 : (size_t)w;
            if (len >= sizeof err->message)
                len = sizeof err->message - 1;
            memcpy(err->message, msg, len);
            err->message[len] = '\0';
        }
    }
    fclose(f);
    return rc;
}

int hs_config_origin_ok(const char *o)
{
    const char *host = strncmp(o, "https://", 8) == 0  ? o + 8
                       : strncmp(o, "http://", 7) == 0 ? o + 7
                                                       : NULL;
    size_t n = host ? strlen(host) : 0;
    /* a host name or address and a port: it goes into Location headers */
    return n > 0 && n <= 253 &&
           strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == n;
}

/* The keys that name files or folders. A relative path in a config file is
 * taken from the file's own folder, so a relocatable install (the bundle's
 * app/hypersend.conf) names its data folder without knowing where it was
 * unpacked; the programs' working directory never matters. */
static const size_t path_keys[] = {
    offsetof(hs_config_t, data_dir),        offsetof(hs_config_t, sqlite_path),
    offsetof(hs_config_t, secret_key_file), offsetof(hs_config_t, access_log),
    offsetof(hs_config_t, ws_log),
};

static int resolve_paths(hs_config_t *cfg, const char *path, hs_err_t *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return 0; /* a file in the working directory: paths stay as they are */
    int dirlen = (int)(slash - path);
    for (size_t i = 0; i < sizeof path_keys / sizeof path_keys[0]; i++) {
        char **slot = (char **)((char *)cfg + path_keys[i]);
        if (!*slot || !**slot || **slot == '/' || strcmp(*slot, "-") == 0)
            continue;
        char *abs;
        if (asprintf(&abs, "%.*s/%s", dirlen, path, *slot) < 0)
            return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
        free(*slot);
        *slot = abs;
    }
    return 0;
}

int hs_config_load(hs_config_t *cfg, const char *path, int must_exist, hs_err_t *err)
{
    memset(cfg, 0, sizeof *cfg);
    int rc;
    for (const hs_conf_key_t *k = hs_config_keys; k->name; k++)
        if ((rc = hs_config_set(cfg, k->name, k->def, err)))
            return rc;
    if (path &&
        ((rc = load_file(cfg, path, must_exist, err)) || (rc = resolve_paths(cfg, path, err))))
        return rc;
    for (const hs_conf_key_t *k = hs_config_keys; k->name; k++) {
        char env[96] = "HS_";
        size_t i = 3;
        for (const char *p = k->name; *p && i < sizeof env - 1; p++)
            env[i++] = (char)toupper((unsigned char)*p);
        env[i] = '\0';
        const char *v = getenv(env);
        if (v && (rc = hs_config_set(cfg, k->name, v, err))) {
            hs_err_hint(err, "set by the environment variable %s", env);
            return rc;
        }
    }
    if (strcmp(cfg->store, "mongo") == 0) {
        if (strncmp(cfg->mongo_uri, "mongodb://", 10) != 0 &&
            strncmp(cfg->mongo_uri, "mongodb+srv://", 14) != 0)
            return hs_err_set(err, HS_EINVAL, "config_bad_value",
                              "config key 'mongo_uri': '%.200s' is not a mongodb:// URI",
                              cfg->mongo_uri);
    } else if (strcmp(cfg->store, "sqlite") != 0)
        return hs_err_set(err, HS_EINVAL, "config_bad_value",
                          "config key 'store': '%s' is not a supported backend (sqlite)",
                          cfg->store);
    if (cfg->events[0] == '\0') {
        free(cfg->events);
        cfg->events = strdup(cfg->redis_host[0] ? "redis" : "store");
        if (!cfg->events)
            return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
    }
    if (strcmp(cfg->events, "redis") != 0 && strcmp(cfg->events, "store") != 0)
        return hs_err_set(err, HS_EINVAL, "config_bad_value",
                          "config key 'events': '%s' is not redis or store", cfg->events);
    if (strcmp(cfg->revocation_cache, "auto") != 0 && strcmp(cfg->revocation_cache, "redis") != 0)
        return hs_err_set(err, HS_EINVAL, "config_bad_value",
                          "config key 'revocation_cache': '%.200s' is not auto or redis",
                          cfg->revocation_cache);
    if (strcmp(cfg->sendfile_header, "X-Sendfile") != 0 &&
        strcmp(cfg->sendfile_header, "X-Accel-Redirect") != 0 &&
        strcmp(cfg->sendfile_header, "none") != 0)
        return hs_err_set(
            err, HS_EINVAL, "config_bad_value",
            "config key 'sendfile_header': '%s' is not X-Sendfile, X-Accel-Redirect or none",
            cfg->sendfile_header);
    if (cfg->download_origin[0] && !hs_config_origin_ok(cfg->download_origin))
        return hs_err_set(err, HS_EINVAL, "config_bad_value",
                          "config key 'download_origin': '%.200s' is not an origin like "
                          "https://dl.example.com (scheme, host, optional port, no path)",
                          cfg->download_origin);
    if (cfg->sqlite_path[0] == '\0') {
        char *p;
        if (asprintf(&p, "%s/hypersend.db", cfg->data_dir) < 0)
            return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
        free(cfg->sqlite_path);
        cfg->sqlite_path = p;
    }
    return 0;
}

void hs_config_free(hs_config_t *cfg)
{
    for (const hs_conf_key_t *k = hs_config_keys; k->name; k++)
        if (k->type == HS_CONF_STR) {
            char **slot = (char **)((char *)cfg + k->offset);
            free(*slot);
            *slot = NULL;
        }
}

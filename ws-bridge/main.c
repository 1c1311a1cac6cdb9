/* hs-ws-bridge: the process. Opens the same context as the apps (config,
 * store, Redis, signing key), then runs one libuv loop shared by
 * libwebsockets and the hiredis subscriber until SIGTERM, which closes every
 * connection with 1001 before exiting. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bridge.h"
#include "hs/auth.h"
#include "hs/log.h"

#define SWEEP_MS 1000
#define ALIVE_MS 10000
#define DRAIN_MS 2000 /* how long SIGTERM waits for close frames to go out */

static int open_log(hs_bridge_t *b)
{
    const char *path = b->ctx.cfg.ws_log;
    if (!path[0] || strcmp(path, "-") == 0)
        return 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        fprintf(stderr, "hs-ws-bridge: %s: %s\n", path, strerror(errno));
        return -1;
    }
    dup2(fd, STDERR_FILENO);
    close(fd);
    return 0;
}

static void lws_log(int level, const char *line)
{
    (void)level;
    fprintf(stderr, "hs-ws-bridge lws: %s", line);
}

/* Ten thousand connections need ten thousand descriptors. */
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return 1024;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur > (1 << 20) ? (1 << 20) : rl.rlim_cur;
}

/* A logout, a password change or a disabled account ends live connections
 * too: each connection's session is checked once per heartbeat period, a
 * slice of them each second in one Redis round trip (when Redis can tell;
 * the token's expiry bounds it otherwise). */
static void check_revoked(hs_bridge_t *b, int64_t now_s)
{
    enum { SLICE = 2048 };
    hs_conn_t *cs[SLICE];
    const char *users[SLICE], *sids[SLICE];
    unsigned char revoked[SLICE];
    size_t n = 0;
    if (!hs_sub_connected(b))
        return;
    hs_queue_t *q;
    HS_QUEUE_FOREACH (q, &b->all) {
        hs_conn_t *c = HS_CONN_OF(q, in_all);
        if (n == SLICE)
            break;
        if (c->state == HS_CONN_CLOSING || !c->user || c->check_at_s > now_s)
            continue;
        c->check_at_s = now_s + b->ctx.cfg.ws_heartbeat;
        cs[n] = c;
        users[n] = c->user->id;
        sids[n++] = c->sid;
    }
    if (hs_auth_revoked_many(&b->ctx, users, sids, n, revoked))
        return;
    for (size_t i = 0; i < n; i++)
        if (revoked[i])
            hs_conn_close(b, cs[i], 4401, "token_revoked");
}

static void sweep_cb(uv_timer_t *t)
{
    hs_bridge_t *b = t->data;
    const hs_config_t *cfg = &b->ctx.cfg;
    int64_t now = hs_now_ms(), now_s = now / 1000;
    hs_accept_sweep(b, 0);
    hs_hub_reap(b, 0);
    hs_hub_reap_owed(b, 0);
    check_revoked(b, now_s);
    int beat = now - b->last_heartbeat_ms >= cfg->ws_heartbeat * 1000;
    if (beat)
        b->last_heartbeat_ms = now;
    hs_queue_t *q;
    HS_QUEUE_FOREACH (q, &b->all) {
        hs_conn_t *c = HS_CONN_OF(q, in_all);
        if (c->state == HS_CONN_CLOSING)
            continue;
        if (now - c->last_rx_ms > cfg->ws_idle_timeout * 1000) {
            hs_conn_close(b, c, 4408, "idle timeout");
            continue;
        }
        if (c->exp_s && now_s >= c->exp_s) {
            hs_conn_close(b, c, 4401, "token_expired");
            continue;
        }
        if (c->exp_s && !c->warned && c->exp_s - now_s <= cfg->ws_token_warning) {
            char buf[128];
            int n = snprintf(buf, sizeof buf,
                             "{\"type\":\"token.expiring\",\"data\":{\"exp\":%lld,\"in\":%lld}}",
                             (long long)c->exp_s, (long long)(c->exp_s - now_s));
            c->warned = 1;
            hs_conn_reply(b, c, buf, (size_t)n);
        }
        if (beat && c->wsi) {
            c->ping_due = 1;
            lws_callback_on_writable(c->wsi);
        }
    }
}

static void alive_cb(uv_timer_t *t)
{
    hs_presence_alive(t->data);
}

/* Once per loop turn, after all I/O callbacks: replays for connections
 * whose subscriptions are ready, then one write per connection. */
static void flush_cb(uv_check_t *h)
{
    hs_bridge_t *b = h->data;
    hs_hub_sync_ready(b);
    hs_conn_flush_all(b);
}

/* The connection layer's callbacks: conn.c calls up only through these. */
static void conn_closed(hs_bridge_t *b, hs_conn_t *c)
{
    hs_work_detach(c); /* no work item may point at c */
    if (c->user)
        hs_hub_detach(b, c);
}

static const hs_conn_cb_t conn_cb = {
    .open = hs_hub_attach,
    .text = hs_client_event,
    .close = conn_closed,
};

/* The subscriber's: sub.c hears Redis, the hub acts on it. */
static const hs_sub_cb_t sub_cb = {
    .message = hs_hub_message,
    .subscribed = hs_hub_subscribed,
    .up = hs_presence_alive,
    .lost = hs_hub_redis_lost,
};

static void close_handles(hs_bridge_t *b)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&b->flush,   (uv_handle_t *)&b->sweep,
                         (uv_handle_t *)&b->alive,   (uv_handle_t *)&b->sigterm,
                         (uv_handle_t *)&b->sigint,  (uv_handle_t *)&b->sighup,
                         (uv_handle_t *)&b->metrics, (uv_handle_t *)&b->sub_retry};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], NULL);
}

static void drain_cb(uv_timer_t *t)
{
    hs_bridge_t *b = t->data;
    if (b->nconns && hs_now_ms() - b->last_heartbeat_ms < DRAIN_MS)
        return; /* close frames still going out */
    uv_timer_stop(t);
    /* drops what is left (CLOSED runs for each); libuv handles close on
     * the next turns, and main() finishes the destroy after the loop */
    lws_context_destroy(b->lws);
    hs_sub_stop(b);
    char key[48];
    snprintf(key, sizeof key, "hs:bridge:%s", b->bridge_id);
    hs_err_t err = {0};
    hs_redis_del(b->ctx.redis, key, &err);
    close_handles(b);
}

static void on_signal(uv_signal_t *s, int signum)
{
    hs_bridge_t *b = s->data;
    if (signum == SIGHUP) {
        open_log(b);
        return;
    }
    if (b->stopping)
        return;
    b->stopping = 1;
    hs_accept_stop(b);
    hs_queue_t *q;
    HS_QUEUE_FOREACH (q, &b->all)
        hs_conn_close(b, HS_CONN_OF(q, in_all), 1001, "bridge shutting down");
    b->last_heartbeat_ms = hs_now_ms(); /* the drain clock */
    uv_timer_stop(&b->sweep);
    uv_timer_start(&b->sweep, drain_cb, 20, 20);
}

static int usage(int status)
{
    fprintf(status ? stderr : stdout,
            "usage: hs-ws-bridge [-c CONFIG] [--check] [--routes]\n"
            "  Serves WebSocket connections on ws_bind:ws_port (docs/ws.md) and Prometheus\n"
            "  /metrics on 127.0.0.1:ws_metrics_port. Configuration as for the apps\n"
            "  (HS_CONFIG, HS_* variables). --check validates it and exits.\n");
    return status;
}

/* Every handle exists from here on, so shutdown can close them all. */
static void init_handles(hs_bridge_t *b)
{
    uv_loop_init(&b->loop);
    uv_check_init(&b->loop, &b->flush);
    uv_timer_init(&b->loop, &b->sweep);
    uv_timer_init(&b->loop, &b->alive);
    uv_timer_init(&b->loop, &b->sub_retry);
    uv_tcp_init(&b->loop, &b->metrics);
    uv_signal_t *sig[] = {&b->sigterm, &b->sigint, &b->sighup};
    for (int i = 0; i < 3; i++)
        uv_signal_init(&b->loop, sig[i]);
    b->listen_fd = -1;
    hs_queue_init(&b->all);
    hs_queue_init(&b->dirty);
    hs_queue_init(&b->syncing);
    hs_queue_init(&b->pending);
    b->flush.data = b->sweep.data = b->alive.data = b->sub_retry.data = b->metrics.data = b;
    b->sigterm.data = b->sigint.data = b->sighup.data = b;
}

static int start(hs_bridge_t *b)
{
    const hs_config_t *cfg = &b->ctx.cfg;
    lws_set_log_level(LLL_ERR, lws_log); /* its warnings include per-connection chatter */
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {&b->loop};
    info.port = CONTEXT_PORT_NO_LISTEN; /* accept.c listens */
    info.protocols = hs_conn_protocols;
    info.user = b;
    b->conn_cb = conn_cb;
    info.foreign_loops = loops;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.fd_limit_per_thread = (unsigned)raise_nofile();
    info.timeout_secs = 10;
    info.count_threads = 1;
    if (!(b->lws = lws_create_context(&info))) {
        fprintf(stderr, "hs-ws-bridge: libwebsockets did not start\n");
        return -1;
    }
    if (hs_accept_start(b, cfg->ws_bind, (int)cfg->ws_port)) {
        fprintf(stderr, "hs-ws-bridge: cannot listen on %s:%ld: %s\n", cfg->ws_bind, cfg->ws_port,
                strerror(errno));
        return -1;
    }
    int mport = (int)(cfg->ws_metrics_port ? cfg->ws_metrics_port : cfg->ws_port + 1);
    b->last_heartbeat_ms = hs_now_ms();
    hs_presence_alive(b);
    hs_sub_start(b, &sub_cb);
    uv_check_start(&b->flush, flush_cb);
    uv_timer_start(&b->sweep, sweep_cb, SWEEP_MS, SWEEP_MS);
    uv_timer_start(&b->alive, alive_cb, ALIVE_MS, ALIVE_MS);
    uv_signal_start(&b->sigterm, on_signal, SIGTERM);
    uv_signal_start(&b->sigint, on_signal, SIGINT);
    uv_signal_start(&b->sighup, on_signal, SIGHUP);
    if (hs_metrics_start(b, "127.0.0.1", mport)) {
        fprintf(stderr, "hs-ws-bridge: cannot listen on 127.0.0.1:%d for /metrics\n", mport);
        return -1;
    }
    fprintf(stderr, "hs-ws-bridge %s: listening on %s:%ld, metrics on 127.0.0.1:%d\n", b->bridge_id,
            cfg->ws_bind, cfg->ws_port, mport);
    return 0;
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--check") == 0)
            check = 1;
        else if (strcmp(argv[i], "--routes") == 0) {
            /* for the API document's test: the bridge serves these */
            printf("GET /ws public\nGET /ws/{user_id} public\n"); /* the token is checked after the
                                                                     upgrade */
            return 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return usage(0);
        else
            return usage(2);
    }
    hs_bridge_t *b = calloc(1, sizeof *b);
    if (!b)
        return 1;
    hs_err_t err = {0};
    int status = 1;
    if (hs_ctx_open(&b->ctx, "ws-bridge", config, &err)) {
        fprintf(stderr, "hs-ws-bridge: %s\n", err.message);
        goto out;
    }
    if (hs_config_events_store(&b->ctx.cfg)) {
        /* its events come from Redis, which this config does not use */
        fprintf(stderr, "hs-ws-bridge: config key 'events' is store: there is no Redis to carry "
                        "events, so no bridge runs (clients long-poll /api/v1/updates)\n");
        goto out;
    }
    if (check) {
        status = 0;
        goto out;
    }
    if (open_log(b))
        goto out;
    signal(SIGPIPE, SIG_IGN);
    hs_random_hex(b->bridge_id, 8);
    hs_work_init(b);
    init_handles(b);
    if (start(b) == 0) {
        status = 0;
    } else {
        b->stopping = 1;
        hs_accept_stop(b);
        if (b->lws)
            lws_context_destroy(b->lws);
        hs_sub_stop(b);
        close_handles(b);
    }
    uv_run(&b->loop, UV_RUN_DEFAULT);
    if (b->lws)
        lws_context_destroy(b->lws); /* the second half, with the loop stopped */
    hs_hub_reap(b, 1);
    hs_hub_reap_owed(b, 1);
    uv_loop_close(&b->loop);
    hs_work_shutdown(b); /* the loop ended: no work item is left */
    hs_map_free(&b->users);
    hs_map_free(&b->chans);
    hs_map_free(&b->owed);
    hs_vec_free(&b->wbuf);
out:
    hs_ctx_close(&b->ctx);
    free(b);
    return status;
}

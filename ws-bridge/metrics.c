/* GET /metrics in Prometheus text format on a loopback port: a tiny libuv
 * TCP server that answers every connection with the counters and closes.
 * Kept off the public port so counters never reach clients. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

typedef struct scrape {
    uv_tcp_t tcp;
    uv_write_t wr;
    hs_bridge_t *b;
    char in[1024];
    size_t inlen;
    char *out;
} scrape_t;

static void scrape_closed(uv_handle_t *h)
{
    scrape_t *s = h->data;
    free(s->out);
    free(s);
}

static void written(uv_write_t *wr, int status)
{
    (void)status;
    scrape_t *s = wr->data;
    uv_close((uv_handle_t *)&s->tcp, scrape_closed);
}

static size_t render(const hs_bridge_t *b, char *buf, size_t cap)
{
    const hs_metrics_counters_t *m = &b->m;
    size_t queued = 0;
    const hs_queue_t *q;
    HS_QUEUE_FOREACH (q, &b->all)
        queued += HS_CONN_OF(q, in_all)->qlen;
    int n = snprintf(
        buf, cap,
        "# HELP hs_ws_connections Open WebSocket connections.\n"
        "# TYPE hs_ws_connections gauge\nhs_ws_connections %zu\n"
        "# HELP hs_ws_users Users with at least one connection here.\n"
        "# TYPE hs_ws_users gauge\nhs_ws_users %zu\n"
        "# HELP hs_ws_subscriptions Redis channels subscribed.\n"
        "# TYPE hs_ws_subscriptions gauge\nhs_ws_subscriptions %zu\n"
        "# HELP hs_ws_queued_events Events waiting in connection queues.\n"
        "# TYPE hs_ws_queued_events gauge\nhs_ws_queued_events %zu\n"
        "# HELP hs_ws_connections_total Connections accepted.\n"
        "# TYPE hs_ws_connections_total counter\nhs_ws_connections_total %llu\n"
        "# HELP hs_ws_disconnections_total Connections closed.\n"
        "# TYPE hs_ws_disconnections_total counter\nhs_ws_disconnections_total %llu\n"
        "# HELP hs_ws_events_in_total Publications received from Redis.\n"
        "# TYPE hs_ws_events_in_total counter\nhs_ws_events_in_total %llu\n"
        "# HELP hs_ws_events_out_total Events and replies written to connections.\n"
        "# TYPE hs_ws_events_out_total counter\nhs_ws_events_out_total %llu\n"
        "# HELP hs_ws_frames_out_total WebSocket frames written.\n"
        "# TYPE hs_ws_frames_out_total counter\nhs_ws_frames_out_total %llu\n"
        "# HELP hs_ws_replayed_total Events replayed from streams after a (re)connect.\n"
        "# TYPE hs_ws_replayed_total counter\nhs_ws_replayed_total %llu\n"
        "# HELP hs_ws_slow_drops_total Connections closed as slow readers (4429).\n"
        "# TYPE hs_ws_slow_drops_total counter\nhs_ws_slow_drops_total %llu\n"
        "# HELP hs_ws_redis_reconnects_total Times the Redis subscriber connection was lost.\n"
        "# TYPE hs_ws_redis_reconnects_total counter\nhs_ws_redis_reconnects_total %llu\n"
        "# HELP hs_ws_client_events_total Events received from clients.\n"
        "# TYPE hs_ws_client_events_total counter\nhs_ws_client_events_total %llu\n"
        "# HELP hs_ws_client_errors_total Client events refused.\n"
        "# TYPE hs_ws_client_errors_total counter\nhs_ws_client_errors_total %llu\n"
        "# HELP hs_ws_ephemeral_drops_total Ephemeral events (typing, presence) not queued for "
        "slow readers.\n"
        "# TYPE hs_ws_ephemeral_drops_total counter\nhs_ws_ephemeral_drops_total %llu\n"
        "# HELP hs_ws_client_rate_limited_total Client events refused by the per-user rate limit.\n"
        "# TYPE hs_ws_client_rate_limited_total counter\nhs_ws_client_rate_limited_total %llu\n"
        "# HELP hs_ws_work_in_flight Client events being handled on the thread pool.\n"
        "# TYPE hs_ws_work_in_flight gauge\nhs_ws_work_in_flight %llu\n"
        "# HELP hs_ws_redis_up Whether the subscriber connection is up.\n"
        "# TYPE hs_ws_redis_up gauge\nhs_ws_redis_up %d\n",
        b->nconns, b->users.n, b->chans.n, queued, (unsigned long long)m->accepted,
        (unsigned long long)m->closed, (unsigned long long)m->events_in,
        (unsigned long long)m->deliveries, (unsigned long long)m->frames,
        (unsigned long long)m->replayed, (unsigned long long)m->drops_slow,
        (unsigned long long)m->redis_reconnects, (unsigned long long)m->client_events,
        (unsigned long long)m->client_errors, (unsigned long long)m->drops_ephemeral,
        (unsigned long long)m->client_rate_limited, (unsigned long long)b->work_in_flight,
        hs_sub_connected(b));
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static void respond(scrape_t *s)
{
    uv_read_stop((uv_stream_t *)&s->tcp);
    enum { CAP = 12288 };
    char body[8192];
    size_t blen = render(s->b, body, sizeof body);
    int found = strncmp(s->in, "GET /metrics ", 13) == 0;
    if (!(s->out = malloc(CAP))) {
        uv_close((uv_handle_t *)&s->tcp, scrape_closed);
        return;
    }
    int n = found ? snprintf(s->out, CAP,
                             "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                             "Content-Length: %zu\r\nConnection: close\r\n\r\n%.*s",
                             blen, (int)blen, body)
                  : snprintf(s->out, CAP,
                             "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n"
                             "Connection: close\r\n\r\nnot found\n");
    uv_buf_t buf = uv_buf_init(s->out, (unsigned)n);
    s->wr.data = s;
    if (uv_write(&s->wr, (uv_stream_t *)&s->tcp, &buf, 1, written))
        uv_close((uv_handle_t *)&s->tcp, scrape_closed);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    scrape_t *s = h->data;
    *buf = uv_buf_init(s->in + s->inlen, (unsigned)(sizeof s->in - 1 - s->inlen));
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    scrape_t *s = st->data;
    if (n < 0) {
        uv_close((uv_handle_t *)st, scrape_closed);
        return;
    }
    s->inlen += (size_t)n;
    s->in[s->inlen] = 0;
    if (strstr(s->in, "\r\n\r\n") || s->inlen >= sizeof s->in - 1)
        respond(s);
}

static void on_conn(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    hs_bridge_t *b = server->data;
    scrape_t *s = calloc(1, sizeof *s);
    if (!s)
        return;
    s->b = b;
    uv_tcp_init(&b->loop, &s->tcp);
    s->tcp.data = s;
    if (uv_accept(server, (uv_stream_t *)&s->tcp) ||
        uv_read_start((uv_stream_t *)&s->tcp, alloc_cb, read_cb))
        uv_close((uv_handle_t *)&s->tcp, scrape_closed);
}

int hs_metrics_start(hs_bridge_t *b, const char *host, int port)
{
    struct sockaddr_in addr;
    if (uv_ip4_addr(host, port, &addr))
        return -1;
    if (uv_tcp_bind(&b->metrics, (const struct sockaddr *)&addr, 0) ||
        uv_listen((uv_stream_t *)&b->metrics, 64, on_conn))
        return -1;
    return 0;
}

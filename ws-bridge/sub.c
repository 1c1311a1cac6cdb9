/* The subscriber: one hiredis async connection on the bridge's libuv loop,
 * subscribed to the channels local users need. Losing it keeps every
 * WebSocket open: the hub marks connections for replay, and this file
 * reconnects with backoff (100 ms doubling to 2 s) and subscribes again. */
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <string.h>

#include "bridge.h"
#include "hs/log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
/* hiredis 0.14's libuv adapter drops a failed connect on the floor (the
 * connect callback never runs), so a connection not up by then is freed
 * and tried again. */
#define CONNECT_TIMEOUT_MS 250

static void connect_now(hs_bridge_t *b);
static void schedule_retry(hs_bridge_t *b);

static void on_reply(redisAsyncContext *ac, void *r, void *priv)
{
    (void)priv;
    hs_bridge_t *b = ac->data;
    redisReply *reply = r;
    if (!b || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
        return;
    const redisReply *kind = reply->element[0], *chan = reply->element[1];
    if (kind->type != REDIS_REPLY_STRING || chan->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(kind->str, "message") == 0 && reply->element[2]->type == REDIS_REPLY_STRING)
        b->sub_cb.message(b, chan->str, chan->len, reply->element[2]->str, reply->element[2]->len);
    else if (strcmp(kind->str, "subscribe") == 0)
        b->sub_cb.subscribed(b, chan->str, chan->len);
}

static void retry_cb(uv_timer_t *t)
{
    hs_bridge_t *b = t->data;
    if (b->sub && !b->sub_up) { /* the watchdog fired */
        redisAsyncContext *ac = b->sub;
        b->sub = NULL;
        redisAsyncFree(ac);
        schedule_retry(b);
        return;
    }
    connect_now(b);
}

static void schedule_retry(hs_bridge_t *b)
{
    if (b->stopping)
        return;
    b->sub_backoff_ms = b->sub_backoff_ms ? b->sub_backoff_ms * 2 : BACKOFF_MIN_MS;
    if (b->sub_backoff_ms > BACKOFF_MAX_MS)
        b->sub_backoff_ms = BACKOFF_MAX_MS;
    uv_timer_start(&b->sub_retry, retry_cb, (uint64_t)b->sub_backoff_ms, 0);
}

/* Redis restarted without its data when its run_id changed: the events of
 * the outage are gone, so connections are told to resync. */
static void check_run_id(hs_bridge_t *b)
{
    const char *argv[] = {"INFO", "server"};
    hs_err_t err = {0};
    redisReply *r = hs_redis_argv(b->ctx.redis, 2, argv, &err);
    if (!r)
        return;
    const char *p = r->type == REDIS_REPLY_STRING ? strstr(r->str, "run_id:") : NULL;
    if (p) {
        char id[48];
        size_t n = strcspn(p + 7, "\r\n");
        if (n >= sizeof id)
            n = sizeof id - 1;
        memcpy(id, p + 7, n);
        id[n] = 0;
        if (b->run_id[0] && strcmp(b->run_id, id) != 0) {
            b->epoch++;
            hs_log_error(&b->ctx, "Redis restarted (run_id changed): clients will resync");
        }
        memcpy(b->run_id, id, n + 1);
    }
    hs_redis_reply_free(r);
}

static void subscribe_all(void *val, void *ud)
{
    hs_sub_subscribe(ud, val);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    hs_bridge_t *b = ac->data;
    if (status != REDIS_OK) {
        b->sub = NULL; /* hiredis frees it */
        b->sub_up = 0;
        schedule_retry(b);
        return;
    }
    b->sub_up = 1;
    b->sub_backoff_ms = 0;
    uv_timer_stop(&b->sub_retry);
    check_run_id(b);
    b->sub_cb.up(b);
    hs_map_each(&b->chans, subscribe_all, b);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    hs_bridge_t *b = ac->data;
    b->sub = NULL;
    b->sub_up = 0;
    if (b->stopping)
        return;
    b->m.redis_reconnects++;
    hs_log_error(&b->ctx, "Redis subscriber connection lost; reconnecting");
    b->sub_cb.lost(b);
    schedule_retry(b);
}

static void connect_now(hs_bridge_t *b)
{
    if (b->sub || b->stopping)
        return;
    const char *host = b->ctx.cfg.redis_host;
    redisAsyncContext *ac = host[0] == '/' ? redisAsyncConnectUnix(host)
                                           : redisAsyncConnect(host, (int)b->ctx.cfg.redis_port);
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(b);
        return;
    }
    ac->data = b;
    if (redisLibuvAttach(ac, &b->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        schedule_retry(b);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    b->sub = ac;
    /* the watchdog; on_connect stops it */
    uv_timer_start(&b->sub_retry, retry_cb, CONNECT_TIMEOUT_MS, 0);
}

void hs_sub_start(hs_bridge_t *b, const hs_sub_cb_t *cb)
{
    b->sub_cb = *cb;
    connect_now(b);
}

void hs_sub_stop(hs_bridge_t *b)
{
    uv_timer_stop(&b->sub_retry);
    if (b->sub) {
        redisAsyncContext *ac = b->sub;
        b->sub = NULL;
        b->sub_up = 0;
        redisAsyncDisconnect(ac);
    }
}

int hs_sub_connected(const hs_bridge_t *b)
{
    return b->sub && b->sub_up;
}

void hs_sub_subscribe(hs_bridge_t *b, hs_chan_t *ch)
{
    if (!hs_sub_connected(b) || ch->sent)
        return;
    ch->sent = 1;
    redisAsyncCommand(b->sub, on_reply, NULL, "SUBSCRIBE %s", ch->name);
}

void hs_sub_unsubscribe(hs_bridge_t *b, const char *name)
{
    if (hs_sub_connected(b))
        redisAsyncCommand(b->sub, on_reply, NULL, "UNSUBSCRIBE %s", name);
}

/* One WebSocket connection: the handshake (token, path, since), the bounded
 * queue of events waiting for the socket, writes, and closing with a code.
 *
 * Writes do not wait for a writable callback: once per loop turn every
 * connection with queued events gets one frame holding all of them (one
 * line each) written straight away, and only a socket that did not take it
 * all waits for POLLOUT. Under load that is one send() per connection per
 * turn however many events arrived, and no epoll changes at all. */
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "hs/auth.h"
#include "hs/log.h"

#define FRAME_MAX     (64 * 1024)
#define RING_MIN      8
#define RING_KEEP     64 /* an idle connection keeps a ring at most this large */
#define CLOSE_GRACE_S 5
/* Ephemeral events (typing, presence, signals of others) wait behind at
 * most this many queued objects (or ws_queue_max if smaller); beyond that
 * the reader is slow and they are dropped for it, never counted towards its
 * 4429 close: what others send must not be able to close a reader. */
#define EPHEMERAL_BACKLOG 64
/* lws keeps the close opcode out of its public enum (lws_close_reason()
 * feeds it); 4 is its value in lws' ABI-frozen enum lws_write_protocol. */
#define WRITE_CLOSE ((enum lws_write_protocol)4)

hs_ev_t *hs_ev_new(size_t len)
{
    hs_ev_t *ev = malloc(sizeof *ev + len + 1);
    if (!ev)
        return NULL;
    ev->refs = 1;
    ev->stored = 0;
    ev->droppable = 0;
    ev->id.ms = ev->id.seq = 0;
    ev->len = len;
    return ev;
}

void hs_ev_unref(hs_ev_t *ev)
{
    if (ev && --ev->refs == 0)
        free(ev);
}

static void dirty_add(hs_bridge_t *b, hs_conn_t *c)
{
    if (!hs_queue_linked(&c->in_dirty))
        hs_queue_insert_head(&b->dirty, &c->in_dirty);
}

static void queue_clear(hs_conn_t *c)
{
    c->qdurable = 0;
    for (uint32_t i = 0; i < c->qlen; i++)
        hs_ev_unref(c->q[(c->qhead + i) & (c->qcap - 1)]);
    free(c->q);
    c->q = NULL;
    c->qhead = c->qlen = c->qcap = 0;
}

/* Doubles the ring (a power of two), unwrapping it. */
static int queue_grow(hs_conn_t *c)
{
    uint32_t cap = c->qcap ? c->qcap * 2 : RING_MIN;
    hs_ev_t **q = malloc(cap * sizeof *q);
    if (!q)
        return -1;
    for (uint32_t i = 0; i < c->qlen; i++)
        q[i] = c->q[(c->qhead + i) & (c->qcap - 1)];
    free(c->q);
    c->q = q;
    c->qhead = 0;
    c->qcap = cap;
    return 0;
}

void hs_conn_push(hs_bridge_t *b, hs_conn_t *c, hs_ev_t *ev)
{
    if (c->state == HS_CONN_CLOSING)
        return;
    uint32_t max = (uint32_t)b->ctx.cfg.ws_queue_max;
    if (ev->droppable) {
        if (c->qlen >= (max < EPHEMERAL_BACKLOG ? max : EPHEMERAL_BACKLOG)) {
            b->m.drops_ephemeral++;
            return;
        }
    } else if (c->qdurable >= max) {
        b->m.drops_slow++;
        hs_conn_close(b, c, 4429, "slow reader: too many events waiting");
        return;
    }
    if (c->qlen == c->qcap && queue_grow(c)) {
        hs_conn_close(b, c, 1011, "out of memory");
        return;
    }
    ev->refs++;
    c->q[(c->qhead + c->qlen) & (c->qcap - 1)] = ev;
    c->qlen++;
    c->qdurable += !ev->droppable;
    if (ev->stored && hs_event_id_cmp(ev->id, c->last_sent) > 0)
        c->last_sent = ev->id;
    dirty_add(b, c);
}

void hs_conn_reply(hs_bridge_t *b, hs_conn_t *c, const char *json, size_t len)
{
    hs_ev_t *ev = hs_ev_new(len);
    if (!ev)
        return;
    memcpy(ev->json, json, len);
    hs_conn_push(b, c, ev);
    hs_ev_unref(ev);
}

static unsigned char *wbuf(hs_bridge_t *b, size_t need)
{
    return hs_vec_reserve(&b->wbuf, need) ? NULL : b->wbuf.items;
}

void hs_conn_flush(hs_bridge_t *b, hs_conn_t *c)
{
    if (c->choked || !c->qlen || c->state == HS_CONN_CLOSING)
        return;
    size_t len = 0;
    uint32_t k = 0;
    while (k < c->qlen) {
        hs_ev_t *ev = c->q[(c->qhead + k) & (c->qcap - 1)];
        size_t need = ev->len + (len ? 1 : 0);
        if (len && len + need > FRAME_MAX)
            break;
        unsigned char *buf = wbuf(b, LWS_PRE + len + need);
        if (!buf)
            break;
        if (len)
            buf[LWS_PRE + len++] = '\n';
        memcpy(buf + LWS_PRE + len, ev->json, ev->len);
        len += ev->len;
        k++;
    }
    if (!k)
        return;
    int n = lws_write(c->wsi, b->wbuf.items + LWS_PRE, len, LWS_WRITE_TEXT);
    for (uint32_t i = 0; i < k; i++) {
        hs_ev_t *ev = c->q[(c->qhead + i) & (c->qcap - 1)];
        c->qdurable -= !ev->droppable;
        hs_ev_unref(ev);
    }
    c->qhead = (c->qhead + k) & (c->qcap - 1);
    c->qlen -= k;
    b->m.frames++;
    b->m.deliveries += k;
    if (c->qlen == 0 && c->qcap > RING_KEEP)
        queue_clear(c);
    if (n < 0) {
        /* the socket failed: lws closes it; say so from its own callback */
        c->state = HS_CONN_CLOSING;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    if (lws_partial_buffered(c->wsi) || c->qlen) {
        c->choked = 1;
        lws_callback_on_writable(c->wsi);
    }
}

void hs_conn_flush_all(hs_bridge_t *b)
{
    while (!hs_queue_empty(&b->dirty)) {
        hs_conn_t *c = HS_CONN_OF(b->dirty.next, in_dirty);
        hs_queue_remove(&c->in_dirty);
        hs_conn_flush(b, c);
    }
}

void hs_conn_close(hs_bridge_t *b, hs_conn_t *c, int code, const char *reason)
{
    (void)b;
    if (c->state == HS_CONN_CLOSING)
        return;
    c->state = HS_CONN_CLOSING;
    c->close_code = code;
    c->close_reason = reason;
    hs_queue_remove(&c->in_dirty);
    queue_clear(c);
    lws_callback_on_writable(c->wsi);
    /* a peer that reads nothing never makes us writable */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CLOSE_GRACE_S);
}

/* Writes the close frame, then lets lws drop the socket. (lws 4.1 drops a
 * connection whose writable callback returns -1 without sending the reason
 * lws_close_reason() set, so the frame is written here.) */
static int send_close(hs_conn_t *c, struct lws *wsi)
{
    unsigned char buf[LWS_PRE + 125];
    unsigned char *p = buf + LWS_PRE;
    size_t n = strlen(c->close_reason);
    if (n > 123)
        n = 123;
    p[0] = (unsigned char)(c->close_code >> 8);
    p[1] = (unsigned char)(c->close_code & 0xff);
    memcpy(p + 2, c->close_reason, n);
    lws_write(wsi, p, n + 2, WRITE_CLOSE);
    return -1;
}

/* Copies the token, the path's user id and since out of the handshake,
 * while its headers are still there. 0 accepts the upgrade. */
static int handshake(hs_conn_t *c, struct lws *wsi)
{
    char buf[4096];
    int n = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_GET_URI);
    if (n <= 0)
        return -1;
    if (strcmp(buf, "/ws") != 0 && strcmp(buf, "/ws/") != 0) {
        if (strncmp(buf, "/ws/", 4) != 0 || !hs_id_valid(buf + 4))
            return -1;
        memcpy(c->path_user, buf + 4, HS_ID_LEN + 1);
    }
    const char *v = lws_get_urlarg_by_name(wsi, "since=", buf, sizeof buf);
    if (v && *v) {
        if (hs_event_id_parse(v, strlen(v), &c->since) == 0)
            c->has_since = 1;
        else
            c->bad_since = 1; /* said once ESTABLISHED */
    }
    const char *tok = NULL;
    if ((v = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf)) && *v) {
        tok = v;
    } else if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
               strncasecmp(buf, "Bearer ", 7) == 0) {
        tok = buf + 7;
    } else if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_PROTOCOL) > 0) {
        /* "hypersend, token.<jwt>" */
        for (char *save = NULL, *p = strtok_r(buf, ", ", &save); p; p = strtok_r(NULL, ", ", &save))
            if (strncmp(p, "token.", 6) == 0) {
                tok = p + 6;
                break;
            }
    }
    if (tok && !(c->token = strdup(tok)))
        return -1;
    return 0;
}

static void established(hs_bridge_t *b, hs_conn_t *c, struct lws *wsi)
{
    c->wsi = wsi;
    c->last_rx_ms = hs_now_ms();
    hs_queue_init(&c->in_user);
    hs_queue_init(&c->in_dirty);
    hs_queue_init(&c->in_sync);
    hs_queue_init(&c->wq);
    hs_queue_insert_head(&b->all, &c->in_all);
    b->nconns++;
    b->m.accepted++;
    if (b->stopping) {
        hs_conn_close(b, c, 1001, "bridge shutting down");
        return;
    }
    if (c->bad_since) {
        hs_conn_close(b, c, 4400, "since is not an event id");
        return;
    }
    if (!c->token) {
        hs_conn_close(b, c, 4401, "missing_token");
        return;
    }
    hs_claims_t claims;
    hs_err_t err = {0};
    int rc = hs_auth_verify(&b->ctx, c->token, &claims, &err);
    free(c->token);
    c->token = NULL;
    if (rc) {
        /* err.code is a static string: safe to keep as the reason */
        hs_conn_close(b, c, rc == HS_EUNAVAIL ? 1013 : 4401, err.code ? err.code : "invalid_token");
        return;
    }
    if (c->path_user[0] && strcmp(c->path_user, claims.sub) != 0) {
        hs_conn_close(b, c, 4403, "not_your_user_id");
        return;
    }
    c->exp_s = claims.exp;
    memcpy(c->sid, claims.sid, sizeof c->sid);
    /* spread the revocation checks over the heartbeat period */
    c->check_at_s =
        hs_now_ms() / 1000 + 1 + (int64_t)(b->m.accepted % (uint64_t)b->ctx.cfg.ws_heartbeat);
    if (b->conn_cb.open(b, c, claims.sub))
        hs_conn_close(b, c, 1011, "internal_error");
}

static void closed(hs_bridge_t *b, hs_conn_t *c)
{
    if (!c->wsi)
        return; /* never established */
    /* lws frees c after this callback: nothing above may keep it */
    b->conn_cb.close(b, c);
    hs_queue_remove(&c->in_dirty);
    hs_queue_remove(&c->in_all);
    b->nconns--;
    b->m.closed++;
    queue_clear(c);
    hs_vec_free(&c->rx);
    free(c->token);
    c->token = NULL;
    c->wsi = NULL;
}

static int writeable(hs_bridge_t *b, hs_conn_t *c, struct lws *wsi)
{
    if (c->state == HS_CONN_CLOSING)
        return c->close_code ? send_close(c, wsi) : -1;
    if (c->ping_due) {
        /* lws 4.1 reports pongs to us only when they carry a payload */
        unsigned char ping[LWS_PRE + 4] = {0};
        memcpy(ping + LWS_PRE, "beat", 4);
        c->ping_due = 0;
        if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 0)
            return -1;
        if (c->qlen)
            lws_callback_on_writable(wsi);
        return 0;
    }
    c->choked = 0;
    hs_conn_flush(b, c);
    return 0;
}

/* A data frame (or part of one) from the client. */
static int receive(hs_bridge_t *b, hs_conn_t *c, struct lws *wsi, const char *in, size_t len)
{
    c->last_rx_ms = hs_now_ms();
    if (c->state == HS_CONN_CLOSING)
        return 0;
    if (lws_frame_is_binary(wsi)) {
        hs_conn_close(b, c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "binary frames are not accepted");
        return 0;
    }
    if (c->rx.n + len > (size_t)b->ctx.cfg.ws_max_message) {
        hs_conn_close(b, c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
        return 0;
    }
    int last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
    if (last && !c->rx.n) { /* the usual case: a whole message at once */
        b->conn_cb.text(b, c, in, len);
        return 0;
    }
    if (hs_vec_reserve(&c->rx, c->rx.n + len))
        return -1;
    memcpy(c->rx.items + c->rx.n, in, len);
    c->rx.n += len;
    if (last) {
        b->conn_cb.text(b, c, c->rx.items, c->rx.n);
        hs_vec_free(&c->rx);
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    hs_bridge_t *b = lws_context_user(lws_get_context(wsi));
    hs_conn_t *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return handshake(c, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        established(b, c, wsi);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c->wsi ? writeable(b, c, wsi) : 0;
    case LWS_CALLBACK_RECEIVE:
        return c->wsi ? receive(b, c, wsi, in, len) : -1;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (c->wsi)
            c->last_rx_ms = hs_now_ms();
        return 0;
    case LWS_CALLBACK_CLOSED:
        closed(b, c);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        /* a handshake that never became a connection */
        if (c && !c->wsi) {
            free(c->token);
            c->token = NULL;
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

const struct lws_protocols hs_conn_protocols[] = {
    {"hypersend", callback, sizeof(hs_conn_t), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Events a client sends (docs/ws.md, "Events from the client"). Each is
 * validated before anything happens; a refusal is an error event, and 20
 * refusals in a row close the connection with 4400. Storing goes through
 * the same lib calls as the REST routes (same checks, same rate limits).
 *
 * Bounded work: every event first takes a token from its user's bucket on
 * this bridge (EVENT_BURST at once, then one per EVENT_PERIOD_MS; beyond:
 * rate_limited); events about a chat also from the user's budget for that
 * chat (CHAT_EVENTS per CHAT_WINDOW_MS), and typing is relayed only when
 * it says something new (a start after typing_throttle_ms or after a stop,
 * a stop after a start). All of this state lives with the user's
 * membership of the chat, so it holds for any number of chats in memory
 * the membership already takes.
 *
 * The loop validates and throttles (chat_message excepted: its fields are
 * checked on the worker by lib's one message rule, hs_message_post, as POST
 * /messages checks them); what needs the store or Redis runs on the thread
 * pool (work.c): the run_* functions below execute on a worker
 * thread with its own context and see only their work item. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "hs/auth.h"
#include "hs/chats.h"
#include "hs/messages.h"
#include "hs/p2p.h"

#define REF_MAX         64
#define TYPING_TTL_S    6
#define SIGNAL_MAX      (16 * 1024)
#define EVENT_BURST     100 /* client events a user may send at once */
#define EVENT_PERIOD_MS 20  /* then one more every 20 ms (50 a second) */
#define CHAT_EVENTS     10  /* typing relays, reads and presence queries per chat */
#define CHAT_WINDOW_MS  2000

static void send_obj(hs_bridge_t *b, hs_conn_t *c, cJSON *o)
{
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (json)
        hs_conn_reply(b, c, json, strlen(json));
    free(json);
}

static cJSON *reply_obj(const char *type, const char *ref)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    if (ref)
        cJSON_AddItemToObject(o, "ref", cJSON_Parse(ref));
    return o;
}

void hs_client_error(hs_bridge_t *b, hs_conn_t *c, const char *ref, const char *code,
                     const char *message)
{
    cJSON *o = reply_obj("error", ref);
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    send_obj(b, c, o);
    hs_work_refused(b, c);
}

/* Takes one event from the user's bucket (GCRA); 0 when over the limit. */
static int user_rate_ok(hs_buser_t *u, int64_t now)
{
    int64_t tat = u->rate_tat > now ? u->rate_tat : now;
    if (tat - now > (int64_t)(EVENT_BURST - 1) * EVENT_PERIOD_MS)
        return 0;
    u->rate_tat = tat + EVENT_PERIOD_MS;
    return 1;
}

/* Takes one event from the user's budget for the chat; 0 when spent. */
static int chat_rate_ok(hs_bmember_t *m, int64_t now)
{
    if (now - m->typing_win >= CHAT_WINDOW_MS) {
        m->typing_win = now;
        m->typing_n = 0;
    }
    if (m->typing_n >= CHAT_EVENTS)
        return 0;
    m->typing_n++;
    return 1;
}

/* Refuses an event over a limit. Not counted towards the 4400 close: a
 * client that sends too fast is told so and slowed down, not cut off (one
 * that also stops reading is closed by its own replies, 4429). */
static void rate_limited(hs_bridge_t *b, hs_conn_t *c, const char *ref, const char *message)
{
    b->m.client_rate_limited++;
    b->m.client_errors++;
    cJSON *o = reply_obj("error", ref);
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", "rate_limited");
    cJSON_AddStringToObject(e, "message", message);
    send_obj(b, c, o);
}

/* Queues the event o (taken) for the thread pool; an error when c already
 * has too many waiting. */
static int submit(hs_bridge_t *b, hs_conn_t *c, cJSON *o, const char *ref, hs_work_fn run,
                  hs_work_done_fn done, const char *chat_id)
{
    hs_work_t *w = hs_work_new(c, run, done, o, ref);
    if (!w) {
        cJSON_Delete(o);
        hs_client_error(b, c, ref, "internal_error", "out of memory");
        return 1;
    }
    if (chat_id)
        snprintf(w->chat_id, sizeof w->chat_id, "%s", chat_id);
    if (hs_work_submit(b, c, w))
        rate_limited(b, c, ref, "Too many events are waiting for an answer; slow down");
    return 1;
}

/* A string field, or NULL (absent). *bad is set when present but not a string. */
static const char *str_field(const cJSON *o, const char *name, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v)) {
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}

static const char *chat_field(hs_bridge_t *b, hs_conn_t *c, const cJSON *o, const char *ref)
{
    int bad = 0;
    const char *id = str_field(o, "chat_id", &bad);
    if (!id || bad) {
        hs_client_error(b, c, ref, "invalid_event", "chat_id must be a string");
        return NULL;
    }
    if (!hs_id_valid(id) || !hs_hub_user_chat(c->user, id)) {
        hs_client_error(b, c, ref, "chat_not_found", "No such chat");
        return NULL;
    }
    return id;
}

/* Worker: makes the publication prepared on the loop. */
static void run_publish(hs_ctx_t *ctx, hs_work_t *w)
{
    const char *argv[] = {"PUBLISH", w->chan, w->payload};
    hs_err_t err = {0};
    struct redisReply *r = hs_redis_argv(ctx->redis, 3, argv, &err);
    if (!r)
        hs_work_fail(w, &err);
    hs_redis_reply_free(r);
}

static void on_typing(hs_bridge_t *b, hs_conn_t *c, const cJSON *o, const char *ref)
{
    int bad = 0;
    const char *state = str_field(o, "state", &bad);
    if (!state || (strcmp(state, "start") && strcmp(state, "stop"))) {
        hs_client_error(b, c, ref, "invalid_event", "state must be \"start\" or \"stop\"");
        return;
    }
    const char *chat_id = chat_field(b, c, o, ref);
    if (!chat_id)
        return;
    hs_bmember_t *m = hs_hub_member(c->user, chat_id);
    int64_t now = hs_now_ms();
    int start = state[2] == 'a';
    /* only news is relayed: a start after a stop or once the last start is
     * typing_throttle_ms old, a stop after a start; the rest is dropped
     * silently, and so is what exceeds the chat's budget */
    if (start ? m->typing_at && now - m->typing_at < b->ctx.cfg.typing_throttle_ms : !m->typing_at)
        return;
    if (!chat_rate_ok(m, now))
        return;
    m->typing_at = start ? now : 0;
    hs_work_t *w = hs_work_new(c, run_publish, NULL, NULL, ref);
    char data[160];
    snprintf(data, sizeof data,
             "{\"chat_id\":\"%s\",\"user_id\":\"%s\",\"state\":\"%s\",\"expires_in\":%d}", chat_id,
             c->user->id, state, TYPING_TTL_S);
    if (!w || !(w->payload = hs_event_pub_ephemeral(c->user->id, HS_EV_TYPING, data))) {
        free(w);
        return;
    }
    snprintf(w->chan, sizeof w->chan, "%s", m->chan->name);
    if (hs_work_submit(b, c, w))
        rate_limited(b, c, ref, "Too many events are waiting for an answer; slow down");
}

static void run_read(hs_ctx_t *ctx, hs_work_t *w)
{
    const char *mid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w->ev, "message_id"));
    hs_arena_t a = {0};
    hs_err_t err = {0};
    if (hs_chat_read(ctx, &a, w->user_id, w->chat_id, mid, &err)) {
        hs_work_fail(w, &err);
    } else {
        cJSON *r = hs_work_obj(w, "ack");
        cJSON *d = cJSON_AddObjectToObject(r, "data");
        cJSON_AddStringToObject(d, "chat_id", w->chat_id);
        cJSON_AddStringToObject(d, "message_id", mid);
        hs_work_reply(w, r);
    }
    hs_arena_free(&a);
}

/* The event's chat_id when it is one of the user's chats and the chat's
 * event budget allows one more; NULL after an error event. */
static const char *budgeted_chat(hs_bridge_t *b, hs_conn_t *c, const cJSON *o, const char *ref)
{
    const char *chat_id = chat_field(b, c, o, ref);
    if (chat_id && !chat_rate_ok(hs_hub_member(c->user, chat_id), hs_now_ms())) {
        rate_limited(b, c, ref, "Too many events for this chat; slow down");
        return NULL;
    }
    return chat_id;
}

static int on_read(hs_bridge_t *b, hs_conn_t *c, cJSON *o, const char *ref)
{
    int bad = 0;
    const char *mid = str_field(o, "message_id", &bad);
    if (!mid || bad) {
        hs_client_error(b, c, ref, "invalid_event", "message_id must be a string");
        return 0;
    }
    const char *chat_id = budgeted_chat(b, c, o, ref);
    if (!chat_id)
        return 0;
    return submit(b, c, o, ref, run_read, NULL, chat_id);
}

static int on_presence(hs_bridge_t *b, hs_conn_t *c, cJSON *o, const char *ref)
{
    const char *chat_id = budgeted_chat(b, c, o, ref);
    if (!chat_id)
        return 0;
    return submit(b, c, o, ref, hs_presence_query, NULL, chat_id);
}

/* Worker: reads, checks and stores the message with the one rule POST
 * /messages uses too (hs_message_post: same checks, same codes, same rate
 * limit, membership). */
static void run_chat_message(hs_ctx_t *ctx, hs_work_t *w)
{
    hs_arena_t a = {0};
    hs_err_t err = {0};
    hs_message_t m;
    int existed = 0;
    if (hs_message_post(ctx, &a, w->user_id, w->ev, &m, &existed, &err)) {
        hs_work_fail(w, &err);
    } else {
        cJSON *r = hs_work_obj(w, "ack");
        cJSON *d = cJSON_AddObjectToObject(r, "data");
        cJSON_AddStringToObject(d, "message_id", m.id);
        cJSON_AddItemToObject(d, "message", hs_message_json(&m));
        cJSON_AddBoolToObject(d, "existed", existed);
        hs_work_reply(w, r);
    }
    hs_arena_free(&a);
}

static int on_chat_message(hs_bridge_t *b, hs_conn_t *c, cJSON *o, const char *ref)
{
    return submit(b, c, o, ref, run_chat_message, NULL, NULL);
}

/* Worker: checks the new token (signature, claims, denylist). */
static void run_auth(hs_ctx_t *ctx, hs_work_t *w)
{
    const char *tok = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w->ev, "token"));
    hs_claims_t claims;
    hs_err_t err = {0};
    if (hs_auth_verify(ctx, tok, &claims, &err)) {
        hs_work_fail(w, &err);
        return;
    }
    if (strcmp(claims.sub, w->user_id) != 0) {
        hs_work_error(w, "invalid_token", "The token is another user's");
        return;
    }
    w->exp = claims.exp;
    memcpy(w->sid, claims.sid, sizeof w->sid);
    cJSON *r = hs_work_obj(w, "ack");
    cJSON *d = cJSON_AddObjectToObject(r, "data");
    cJSON_AddNumberToObject(d, "exp", (double)claims.exp);
    hs_work_reply(w, r);
}

static void done_auth(hs_bridge_t *b, hs_conn_t *c, hs_work_t *w)
{
    (void)b;
    if (w->refused)
        return;
    c->exp_s = w->exp;
    memcpy(c->sid, w->sid, sizeof c->sid);
    c->warned = 0;
}

static int on_auth(hs_bridge_t *b, hs_conn_t *c, cJSON *o, const char *ref)
{
    int bad = 0;
    if (!str_field(o, "token", &bad)) {
        hs_client_error(b, c, ref, "invalid_event", "token must be a string");
        return 0;
    }
    return submit(b, c, o, ref, run_auth, done_auth, NULL);
}

/* Worker: WebRTC signaling, forwarded to the other party's devices only
 * while the transfer is accepted or transferring; nothing is stored. */
static void run_signal(hs_ctx_t *ctx, hs_work_t *w)
{
    const char *tid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w->ev, "transfer_id"));
    hs_arena_t a = {0};
    hs_err_t err = {0};
    char peer[HS_ID_LEN + 1];
    if (hs_p2p_peer(ctx, &a, w->user_id, tid, peer, &err)) {
        hs_work_fail(w, &err);
    } else {
        hs_event_key(w->chan, HS_EV_USER, peer);
        const char *data =
            hs_arena_printf(&a, "{\"transfer_id\":\"%s\",\"from\":\"%s\",\"data\":%s}", tid,
                            w->user_id, w->payload);
        free(w->payload);
        w->payload = hs_event_pub_ephemeral(w->user_id, HS_EV_P2P_SIGNAL, data);
        if (w->payload)
            run_publish(ctx, w);
    }
    hs_arena_free(&a);
}

static int on_p2p_signal(hs_bridge_t *b, hs_conn_t *c, cJSON *o, const char *ref)
{
    int bad = 0;
    const char *tid = str_field(o, "transfer_id", &bad);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
    if (!tid || bad || !cJSON_IsObject(data)) {
        hs_client_error(b, c, ref, "invalid_event",
                        "p2p.signal needs transfer_id (a string) and data (an object)");
        return 0;
    }
    char *json = cJSON_PrintUnformatted(data);
    if (!json || strlen(json) > SIGNAL_MAX) {
        hs_client_error(b, c, ref, "invalid_value", "data holds at most 16 KiB");
        free(json);
        return 0;
    }
    hs_work_t *w = hs_work_new(c, run_signal, NULL, o, ref);
    if (!w) {
        free(json);
        return 0;
    }
    w->payload = json;
    if (hs_work_submit(b, c, w))
        rate_limited(b, c, ref, "Too many events are waiting for an answer; slow down");
    return 1;
}

static void run_progress(hs_ctx_t *ctx, hs_work_t *w)
{
    const char *tid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w->ev, "transfer_id"));
    const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(w->ev, "bytes");
    hs_arena_t a = {0};
    hs_err_t err = {0};
    hs_transfer_t t;
    if (hs_p2p_progress(ctx, &a, w->user_id, tid, (int64_t)bytes->valuedouble, &t, &err))
        hs_work_fail(w, &err);
    hs_arena_free(&a);
}

static int on_p2p_progress(hs_bridge_t *b, hs_conn_t *c, cJSON *o, const char *ref)
{
    int bad = 0;
    const char *tid = str_field(o, "transfer_id", &bad);
    const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(o, "bytes");
    /* Range first: casting a double beyond int64 is undefined (1e300). */
    if (!tid || bad || !cJSON_IsNumber(bytes) ||
        !(bytes->valuedouble >= -9223372036854775808.0 &&
          bytes->valuedouble < 9223372036854775808.0) ||
        bytes->valuedouble != (double)(int64_t)bytes->valuedouble) {
        hs_client_error(b, c, ref, "invalid_event",
                        "p2p.progress needs transfer_id (a string) and bytes (an integer)");
        return 0;
    }
    return submit(b, c, o, ref, run_progress, NULL, NULL);
}

static void run_pong(hs_ctx_t *ctx, hs_work_t *w)
{
    (void)ctx;
    hs_work_reply(w, hs_work_obj(w, "pong"));
}

/* The ref to echo, as JSON text (a string of at most 64 characters or a
 * number), into buf; NULL when absent, "" when invalid. */
static const char *ref_of(const cJSON *o, char *buf, size_t cap)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "ref");
    if (!r)
        return NULL;
    if (cJSON_IsNumber(r)) {
        snprintf(buf, cap, "%.17g", r->valuedouble);
        return buf;
    }
    if (!cJSON_IsString(r) || strlen(r->valuestring) > REF_MAX)
        return "";
    char *s = cJSON_PrintUnformatted(r);
    if (!s)
        return "";
    snprintf(buf, cap, "%s", s);
    free(s);
    return buf;
}

void hs_client_event(hs_bridge_t *b, hs_conn_t *c, const char *text, size_t len)
{
    b->m.client_events++;
    if (c->state == HS_CONN_CLOSING || !c->user)
        return;
    /* before parsing: an event over the limit costs a static reply (without
     * its ref, as it was not read), so a flood costs the loop little */
    if (!user_rate_ok(c->user, hs_now_ms())) {
        static const char limited[] = "{\"type\":\"error\",\"error\":{\"code\":\"rate_limited\","
                                      "\"message\":\"Too many events; slow down\"}}";
        b->m.client_rate_limited++;
        b->m.client_errors++;
        hs_conn_reply(b, c, limited, sizeof limited - 1);
        return;
    }
    cJSON *o = cJSON_ParseWithLength(text, len);
    char refbuf[8 * REF_MAX];
    const char *ref;
    if (!o) {
        hs_client_error(b, c, NULL, "invalid_json", "The frame is not valid JSON");
        return;
    }
    ref = ref_of(o, refbuf, sizeof refbuf);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    int before = c->refused, taken = 0; /* taken: o belongs to a work item */
    if (ref && !*ref) {
        hs_client_error(b, c, NULL, "invalid_event", "ref must be a number or a short string");
    } else if (!cJSON_IsObject(o) || !cJSON_IsString(type)) {
        hs_client_error(b, c, ref, "invalid_event", "An event is an object with a string type");
    } else {
        const char *t = type->valuestring;
        if (strcmp(t, "ping") == 0) {
            /* behind the connection's other events, so replies keep their order */
            if (c->wbusy)
                taken = submit(b, c, o, ref, run_pong, NULL, NULL);
            else
                send_obj(b, c, reply_obj("pong", ref));
        } else if (strcmp(t, "typing") == 0) {
            on_typing(b, c, o, ref);
        } else if (strcmp(t, "read") == 0) {
            taken = on_read(b, c, o, ref);
        } else if (strcmp(t, "presence") == 0) {
            taken = on_presence(b, c, o, ref);
        } else if (strcmp(t, "chat_message") == 0) {
            taken = on_chat_message(b, c, o, ref);
        } else if (strcmp(t, "auth") == 0) {
            taken = on_auth(b, c, o, ref);
        } else if (strcmp(t, "p2p.signal") == 0) {
            taken = on_p2p_signal(b, c, o, ref);
        } else if (strcmp(t, "p2p.progress") == 0) {
            taken = on_p2p_progress(b, c, o, ref);
        } else {
            hs_client_error(b, c, ref, "unknown_type", "Unknown event type");
        }
    }
    /* an event answered at once (not refused) ends a run of refusals; one
     * handed to the pool does when its answer comes */
    if (c->refused == before && !c->wbusy)
        c->refused = 0;
    if (!taken)
        cJSON_Delete(o);
}

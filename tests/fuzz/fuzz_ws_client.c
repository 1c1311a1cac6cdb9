/* WebSocket client events (ws-bridge/client.c and work.c, docs/ws.md
 * "Events from the client" and "Limits"): the bridge's real parser,
 * validation, budgets and per-connection work queue run on one
 * connection. Replaced here: the socket (hs_conn_reply, hs_conn_close),
 * the hub's membership lookups, the store and Redis (the lib calls,
 * through the linker's --wrap, see the Makefile), the presence query, and
 * libuv's thread pool: work.c is compiled into this harness with
 * uv_queue_work redirected to a queue the harness runs itself, work
 * function then after-work, as the loop would (never inside
 * uv_queue_work: start() marks the item running after queueing it).
 *
 * Input: frames, each ended by 0xff (then the loop runs: the connection's
 * work items are handled) or 0xfe (the next frame arrives before any of
 * them is: the queue fills up). Checks: every reply is a JSON object with
 * a known type, attributed to one frame (each frame gets at most one, and
 * exactly one unless it is typing or p2p); it echoes the frame's valid ref,
 * or has none (the static rate_limited reply to an event not read is the
 * only reply of a frame with a ref that has none); an error carries a
 * code; answers that are not errors come in the order sent; what is
 * published is "-<user id> <type> <JSON>" on a channel of the user's chats
 * or the peer's; the connection is closed only with 4400, once 20 events
 * in a row were refused (rate_limited not counting); and for a frame
 * handled alone, the refusal count follows its answer: +1 for an error,
 * unchanged (or 0) for rate_limited, 0 otherwise. */
#include <hiredis/hiredis.h>
#include <math.h>

#include "bridge.h"
#include "hs/auth.h"
#include "hs/chats.h"
#include "hs/messages.h"
#include "hs/p2p.h"

#include "fuzz.h"

/* The thread pool: one item of the connection runs at a time (c->wbusy),
 * so one slot is enough. */
static uv_work_t *pool_req;
static uv_work_cb pool_work;
static uv_after_work_cb pool_after;

static int fuzz_queue_work(uv_loop_t *loop, uv_work_t *req, uv_work_cb work_cb,
                           uv_after_work_cb after_work_cb)
{
    (void)loop;
    FUZZ_CHECK(pool_req == NULL, "two work items of one connection at once");
    pool_req = req;
    pool_work = work_cb;
    pool_after = after_work_cb;
    return 0;
}

#define uv_queue_work fuzz_queue_work
#define hs_work_new   work_new_real
#include "../../ws-bridge/work.c"
#undef uv_queue_work
#undef hs_work_new

#define USER  "0123456789abcdef01234567"
#define CHAT1 "aaaaaaaaaaaaaaaaaaaaaaaa"
#define CHAT2 "bbbbbbbbbbbbbbbbbbbbbbbb"
#define PEER  "cccccccccccccccccccccccc"

static const char limited[] = "{\"type\":\"error\",\"error\":{\"code\":\"rate_limited\","
                              "\"message\":\"Too many events; slow down\"}}";

static hs_chan_t chans[2]; /* named by hs_event_key() at each run */
static hs_bmember_t members[2];
static hs_ctx_t worker; /* the worker threads' context: every call on it is a stub */

/* What the harness knows of each frame. */
typedef struct frame {
    cJSON *ref;        /* the ref a reply must echo (a number or a string of <= 64), or NULL */
    int may_be_silent; /* typing, p2p.signal, p2p.progress: answered only when refused */
    int replies;
    int error; /* its reply was an error (not rate_limited) */
    int rate_limited;
} frame_t;

static frame_t *frames;
static size_t nframes, cur; /* cur: the frame replies are attributed to */
static size_t last_answer;  /* the newest frame answered other than by an error */
static int answered;        /* some frame was */
static int model;           /* refusals in a row as the replies tell (rate_limited not counting) */
static int closed_code;

/* Work items and their frames, newest last (addresses are reused). */
typedef struct {
    hs_work_t *w;
    size_t frame;
} item_t;
static HS_VEC(item_t) items;

hs_work_t *hs_work_new(hs_conn_t *c, hs_work_fn run, hs_work_done_fn done, cJSON *ev,
                       const char *ref)
{
    hs_work_t *w = work_new_real(c, run, done, ev, ref);
    if (w) {
        FUZZ_CHECK(hs_vec_push(&items, ((item_t){w, cur})) == 0, "out of memory");
    }
    return w;
}

static size_t frame_of(const hs_work_t *w)
{
    for (size_t i = items.n; i-- > 0;)
        if (items.items[i].w == w)
            return items.items[i].frame;
    FUZZ_CHECK(0, "a work item the harness did not see made");
    return 0;
}

/* Runs the pool until the connection has nothing left, as the loop would. */
static void run_pool(void)
{
    while (pool_req) {
        uv_work_t *req = pool_req;
        pool_req = NULL;
        hs_work_t *w = req->data;
        cur = frame_of(w);
        pool_work(req);
        pool_after(req, 0);
    }
}

/* ---- the bridge's other files ---- */

hs_chan_t *hs_hub_user_chat(hs_buser_t *u, const char *chat_id)
{
    (void)u;
    return strcmp(chat_id, CHAT1) == 0 ? &chans[0] : strcmp(chat_id, CHAT2) == 0 ? &chans[1] : NULL;
}

hs_bmember_t *hs_hub_member(hs_buser_t *u, const char *chat_id)
{
    (void)u;
    return strcmp(chat_id, CHAT1) == 0   ? &members[0]
           : strcmp(chat_id, CHAT2) == 0 ? &members[1]
                                         : NULL;
}

void hs_conn_reply(hs_bridge_t *b, hs_conn_t *c, const char *json, size_t len)
{
    (void)b;
    FUZZ_CHECK(c->state != HS_CONN_CLOSING, "reply on a closing connection");
    FUZZ_CHECK(cur < nframes, "a reply without a frame");
    frame_t *f = &frames[cur];
    f->replies++;
    FUZZ_CHECK(f->replies == 1, "%d replies to frame %zu", f->replies, cur);
    cJSON *o = cJSON_ParseWithLength(json, len);
    FUZZ_CHECK(cJSON_IsObject(o), "reply is not a JSON object: %.*s", (int)len, json);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    FUZZ_CHECK(cJSON_IsString(type), "reply without a type");
    const char *t = type->valuestring;
    FUZZ_CHECK(!strcmp(t, "pong") || !strcmp(t, "ack") || !strcmp(t, "error") ||
                   !strcmp(t, "presence.state"),
               "reply type %s", t);
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(o, "ref");
    if (!strcmp(t, "error")) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        FUZZ_CHECK(cJSON_IsString(code) && *code->valuestring, "error without a code");
        f->rate_limited = strcmp(code->valuestring, "rate_limited") == 0;
        f->error = !f->rate_limited;
        model = f->error ? model + 1 : model;
    } else {
        /* answers come in the order sent (an error may overtake them) */
        FUZZ_CHECK(!answered || cur > last_answer, "frame %zu answered after %zu", cur,
                   last_answer);
        answered = 1;
        last_answer = cur;
        model = 0;
    }
    const cJSON *want = f->ref;
    if (want && !ref)
        /* the event was not read: the only reply without its ref */
        FUZZ_CHECK(len == sizeof limited - 1 && !memcmp(json, limited, len), "ref not echoed: %.*s",
                   (int)len, json);
    else if (want)
        FUZZ_CHECK(cJSON_Compare(ref, want, 1) || (cJSON_IsNumber(ref) && cJSON_IsNumber(want) &&
                                                   ref->valuedouble == want->valuedouble),
                   "ref not echoed: %.*s", (int)len, json);
    else
        FUZZ_CHECK(!ref, "a ref the frame did not have: %.*s", (int)len, json);
    cJSON_Delete(o);
}

void hs_conn_close(hs_bridge_t *b, hs_conn_t *c, int code, const char *reason)
{
    (void)b;
    (void)reason;
    FUZZ_CHECK(code == 4400 && c->refused >= 20 && model >= 20,
               "closed %d after %d refusals (%d by the replies)", code, c->refused, model);
    FUZZ_CHECK(c->state != HS_CONN_CLOSING, "closed twice");
    closed_code = code;
    c->state = HS_CONN_CLOSING;
}

/* Worker side: the user's own chats only. */
void hs_presence_query(hs_ctx_t *ctx, hs_work_t *w)
{
    FUZZ_CHECK(ctx == &worker, "presence query off the worker's context");
    FUZZ_CHECK(strcmp(w->user_id, USER) == 0 && hs_hub_user_chat(NULL, w->chat_id),
               "presence for chat %s", w->chat_id);
    cJSON *o = hs_work_obj(w, "presence.state");
    cJSON *d = cJSON_AddObjectToObject(o, "data");
    cJSON_AddStringToObject(d, "chat_id", w->chat_id);
    cJSON_AddArrayToObject(d, "users");
    hs_work_reply(w, o);
}

/* ---- lib calls, wrapped (all on the worker's context) ---- */

redisReply *__wrap_hs_redis_argv(hs_redis_t *r, int argc, const char **argv, hs_err_t *err);
redisReply *__wrap_hs_redis_argv(hs_redis_t *r, int argc, const char **argv, hs_err_t *err)
{
    (void)r;
    FUZZ_CHECK(argc == 3 && strcmp(argv[0], "PUBLISH") == 0, "Redis command %s", argv[0]);
    char peer[HS_EV_KEY_MAX];
    hs_event_key(peer, HS_EV_USER, PEER);
    FUZZ_CHECK(!strcmp(argv[1], chans[0].name) || !strcmp(argv[1], chans[1].name) ||
                   !strcmp(argv[1], peer),
               "publication on %s", argv[1]);
    const char *p = argv[2];
    FUZZ_CHECK(p[0] == '-' && strncmp(p + 1, USER, HS_ID_LEN) == 0 && p[1 + HS_ID_LEN] == ' ',
               "publication origin: %s", p);
    const char *json = strchr(p + 2 + HS_ID_LEN, ' ');
    FUZZ_CHECK(json, "publication without data");
    cJSON *o = cJSON_ParseWithOpts(json + 1, NULL, 1);
    FUZZ_CHECK(cJSON_IsObject(o), "publication data is not JSON: %s", json + 1);
    cJSON_Delete(o);
    /* Redis is down for a publication of some lengths: the error path */
    if (strlen(p) % 7 == 0) {
        hs_err_set(err, HS_EUNAVAIL, "redis_unavailable", "Redis is unavailable");
        return NULL;
    }
    return calloc(1, sizeof(redisReply));
}

void __wrap_hs_redis_reply_free(redisReply *r);
void __wrap_hs_redis_reply_free(redisReply *r)
{
    free(r);
}

int __wrap_hs_chat_read(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                        const char *message_id, hs_err_t *err);
int __wrap_hs_chat_read(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                        const char *message_id, hs_err_t *err)
{
    (void)a;
    FUZZ_CHECK(ctx == &worker, "store call off the worker's context");
    FUZZ_CHECK(strcmp(viewer, USER) == 0 && hs_hub_user_chat(NULL, id), "read for %s", id);
    FUZZ_CHECK(message_id != NULL, "read without a message id");
    if (!hs_id_valid(message_id))
        return hs_err_set(err, HS_ENOTFOUND, "message_not_found", "No such message");
    return 0;
}

/* The real rule (hs_message_read, no store) reads the event; only what
 * needs the store is stubbed. */
int __wrap_hs_message_post(hs_ctx_t *ctx, hs_arena_t *a, const char *sender, const cJSON *o,
                           hs_message_t *out, int *existed, hs_err_t *err);
int __wrap_hs_message_post(hs_ctx_t *ctx, hs_arena_t *a, const char *sender, const cJSON *o,
                           hs_message_t *out, int *existed, hs_err_t *err)
{
    FUZZ_CHECK(ctx == &worker, "store call off the worker's context");
    hs_message_in_t in;
    int rc = hs_message_read(ctx, o, &in, err);
    if (rc)
        return rc;
    FUZZ_CHECK(strcmp(sender, USER) == 0 && in.chat_id && in.content && *in.content,
               "message_post arguments");
    FUZZ_CHECK(in.nfiles <= HS_MAX_ATTACHMENTS, "%zu files", in.nfiles);
    for (size_t i = 0; i < in.nfiles; i++)
        FUZZ_CHECK(hs_id_valid(in.file_ids[i]), "file id %zu", i);
    /* the store knows the user's first chat, without files */
    if (strcmp(in.chat_id, CHAT1) || in.nfiles)
        return hs_err_set(err, HS_ENOTFOUND, "chat_not_found", "No such chat");
    memset(out, 0, sizeof *out);
    strcpy(out->id, PEER);
    strcpy(out->chat_id, in.chat_id);
    strcpy(out->sender_id, sender);
    out->content = hs_arena_strdup(a, in.content);
    out->reply_to = in.reply_to ? hs_arena_strdup(a, in.reply_to) : NULL;
    out->client_id = in.client_id ? hs_arena_strdup(a, in.client_id) : NULL;
    out->created_at = 1700000000000;
    *existed = in.client_id != NULL;
    return 0;
}

int __wrap_hs_auth_verify(hs_ctx_t *ctx, const char *token, hs_claims_t *out, hs_err_t *err);
int __wrap_hs_auth_verify(hs_ctx_t *ctx, const char *token, hs_claims_t *out, hs_err_t *err)
{
    FUZZ_CHECK(ctx == &worker, "auth off the worker's context");
    memset(out, 0, sizeof *out);
    if (strcmp(token, "good") && strcmp(token, "other"))
        return hs_err_set(err, HS_EAUTH, "invalid_token", "The access token is not valid");
    strcpy(out->sub, token[0] == 'g' ? USER : PEER);
    strcpy(out->sid, PEER);
    out->exp = 1900000000;
    return 0;
}

int __wrap_hs_p2p_peer(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                       char peer[HS_ID_LEN + 1], hs_err_t *err);
int __wrap_hs_p2p_peer(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                       char peer[HS_ID_LEN + 1], hs_err_t *err)
{
    (void)a;
    FUZZ_CHECK(ctx == &worker && strcmp(viewer, USER) == 0, "p2p_peer arguments");
    /* Transfers are found by id: only a well-formed one can exist. */
    if (!hs_id_valid(id))
        return hs_err_set(err, HS_ENOTFOUND, "transfer_not_found", "No such transfer");
    strcpy(peer, PEER);
    return 0;
}

int __wrap_hs_p2p_progress(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                           int64_t bytes, hs_transfer_t *out, hs_err_t *err);
int __wrap_hs_p2p_progress(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                           int64_t bytes, hs_transfer_t *out, hs_err_t *err)
{
    (void)a, (void)bytes, (void)out;
    FUZZ_CHECK(ctx == &worker && strcmp(viewer, USER) == 0, "p2p_progress arguments");
    if (!hs_id_valid(id))
        return hs_err_set(err, HS_ENOTFOUND, "transfer_not_found", "No such transfer");
    return 0;
}

/* ---- the harness ---- */

/* Notes what the harness expects of the frame text[0..len). */
static void frame_expect(frame_t *f, const char *text, size_t len)
{
    memset(f, 0, sizeof *f);
    cJSON *o = cJSON_ParseWithLength(text, len);
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(o, "ref");
    /* (A number too large for a double, 1e999, is not echoed: the bridge
     * prints it as "inf", which is not JSON; harmless.) */
    if ((cJSON_IsNumber(ref) && isfinite(ref->valuedouble)) ||
        (cJSON_IsString(ref) && strlen(ref->valuestring) <= 64))
        f->ref = cJSON_Duplicate(ref, 1);
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "type"));
    f->may_be_silent =
        cJSON_IsObject(o) && t &&
        (!strcmp(t, "typing") || !strcmp(t, "p2p.signal") || !strcmp(t, "p2p.progress"));
    cJSON_Delete(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hs_bridge_t b;
    static hs_buser_t u;
    static hs_conn_t c;
    memset(&b, 0, sizeof b);
    memset(&u, 0, sizeof u);
    memset(&c, 0, sizeof c);
    memset(members, 0, sizeof members);
    memset(chans, 0, sizeof chans);
    hs_event_key(chans[0].name, HS_EV_CHAT, CHAT1);
    hs_event_key(chans[1].name, HS_EV_CHAT, CHAT2);
    members[0].chan = &chans[0];
    members[1].chan = &chans[1];
    b.ctx.cfg.typing_throttle_ms = 3000;
    thread_ctx = &worker;                  /* work.c's per-thread context: never opened here */
    worker.cfg.max_message_length = 16384; /* the message rule reads it */
    strcpy(u.id, USER);
    c.user = &u;
    c.state = HS_CONN_READY;
    hs_queue_init(&c.wq); /* as conn.c's established() does */
    closed_code = 0;
    model = 0;
    answered = 0;
    items.n = 0;
    nframes = 0;
    frames = calloc(size + 1, sizeof *frames);

    const uint8_t *p = data, *end = data + size;
    while (p < end && c.state != HS_CONN_CLOSING) {
        const uint8_t *e = p;
        while (e < end && *e != 0xff && *e != 0xfe)
            e++;
        int run = e == end || *e == 0xff;
        size_t len = (size_t)(e - p);
        char *text = malloc(len + 1);
        memcpy(text, p, len);
        text[len] = '\0';
        p = e < end ? e + 1 : e;

        cur = nframes++;
        frame_t *f = &frames[cur];
        frame_expect(f, text, len);
        int alone = !c.wbusy && hs_queue_empty(&c.wq), before = c.refused;
        hs_client_event(&b, &c, text, len);
        free(text);
        if (!run)
            continue;
        run_pool();
        if (!alone || c.state == HS_CONN_CLOSING)
            continue;
        /* handled alone: its answer says what became of the refusals */
        if (f->error)
            FUZZ_CHECK(c.refused == before + 1, "an error, refusals %d after %d", c.refused,
                       before);
        else if (f->rate_limited)
            /* not counted; over a chat's budget it also ends the run, as
             * any event answered at once does (client.c) */
            FUZZ_CHECK(c.refused == before || c.refused == 0, "rate_limited, refusals %d after %d",
                       c.refused, before);
        else
            FUZZ_CHECK(c.refused == 0, "no refusal, refusals %d after %d", c.refused, before);
    }
    if (c.state == HS_CONN_CLOSING) {
        /* lws's CLOSED: waiting items are dropped, the running one orphaned
         * (its result dropped on arrival) */
        hs_work_detach(&c);
        run_pool();
        FUZZ_CHECK(closed_code == 4400 && c.refused >= 20, "closed early");
    } else {
        run_pool();
        FUZZ_CHECK(!c.wbusy && hs_queue_empty(&c.wq) && c.nwq == 0,
                   "work left with nothing running");
        FUZZ_CHECK(b.work_in_flight == 0, "%llu items in flight",
                   (unsigned long long)b.work_in_flight);
        for (size_t i = 0; i < nframes; i++)
            FUZZ_CHECK(frames[i].replies == 1 || (frames[i].may_be_silent && !frames[i].replies),
                       "frame %zu got %d replies", i, frames[i].replies);
    }
    for (size_t i = 0; i < nframes; i++)
        cJSON_Delete(frames[i].ref);
    free(frames);
    return 0;
}

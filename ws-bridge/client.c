/* Events a client sends (docs/ws.md, "Events from the client"). Each is
 * validated before anything happens; a refusal is an error event, and 20
 * refusals in a row close the connection with 4400. Storing goes through
 * the same lib calls as the REST routes (same checks, same rate limits). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "hs/auth.h"
#include "hs/chats.h"
#include "hs/messages.h"
#include "hs/p2p.h"

#define REF_MAX      64
#define ABUSE_LIMIT  20
#define TYPING_TTL_S 6
#define SIGNAL_MAX   (16 * 1024)

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
    b->m.client_errors++;
    cJSON *o = reply_obj("error", ref);
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    send_obj(b, c, o);
    if (++c->refused >= ABUSE_LIMIT)
        hs_conn_close(b, c, 4400, "too many refused events");
}

static void err_reply(hs_bridge_t *b, hs_conn_t *c, const char *ref, const hs_err_t *err)
{
    hs_client_error(b, c, ref, err->code ? err->code : "error", err->message);
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
    hs_chan_t *ch = hs_hub_user_chat(c->user, chat_id);
    int64_t now = hs_now_ms();
    /* throttle starts per chat; a stop always goes (and resets it) */
    int slot = 0;
    for (int i = 0; i < 4; i++) {
        if (c->typing[i].chan == ch) {
            slot = i;
            break;
        }
        if (c->typing[i].at < c->typing[slot].at)
            slot = i;
    }
    int start = state[2] == 'a';
    if (start && c->typing[slot].chan == ch &&
        now - c->typing[slot].at < b->ctx.cfg.typing_throttle_ms)
        return;
    c->typing[slot].chan = ch;
    c->typing[slot].at = start ? now : 0;
    char payload[256];
    snprintf(
        payload, sizeof payload,
        "-%s typing {\"chat_id\":\"%s\",\"user_id\":\"%s\",\"state\":\"%s\",\"expires_in\":%d}",
        c->user->id, chat_id, c->user->id, state, TYPING_TTL_S);
    const char *argv[] = {"PUBLISH", ch->name, payload};
    hs_err_t err = {0};
    struct redisReply *r = hs_redis_argv(b->ctx.redis, 3, argv, &err);
    if (!r)
        err_reply(b, c, ref, &err);
    hs_redis_reply_free(r);
}

static void on_read(hs_bridge_t *b, hs_conn_t *c, const cJSON *o, const char *ref)
{
    int bad = 0;
    const char *mid = str_field(o, "message_id", &bad);
    if (!mid || bad) {
        hs_client_error(b, c, ref, "invalid_event", "message_id must be a string");
        return;
    }
    const char *chat_id = chat_field(b, c, o, ref);
    if (!chat_id)
        return;
    hs_arena_t a = {0};
    hs_err_t err = {0};
    if (hs_chat_read(&b->ctx, &a, c->user->id, chat_id, mid, &err)) {
        err_reply(b, c, ref, &err);
    } else {
        cJSON *r = reply_obj("ack", ref);
        cJSON *d = cJSON_AddObjectToObject(r, "data");
        cJSON_AddStringToObject(d, "chat_id", chat_id);
        cJSON_AddStringToObject(d, "message_id", mid);
        send_obj(b, c, r);
    }
    hs_arena_free(&a);
}

/* The string field name of a chat_message, checked with the codes POST
 * /messages answers (missing_field, wrong_type, invalid_value); 0 or -1
 * after an error event. */
static int message_field(hs_bridge_t *b, hs_conn_t *c, const cJSON *o, const char *ref,
                         const char *name, int required, const char **out)
{
    char msg[96];
    int bad = 0;
    *out = str_field(o, name, &bad);
    if (bad) {
        snprintf(msg, sizeof msg, "The field '%s' must be a string", name);
        hs_client_error(b, c, ref, "wrong_type", msg);
        return -1;
    }
    if (required && !*out) {
        snprintf(msg, sizeof msg, "The field '%s' is required", name);
        hs_client_error(b, c, ref, "missing_field", msg);
        return -1;
    }
    if (*out && (!**out || strlen(*out) > (strcmp(name, "content") ? 64 : 1u << 24))) {
        snprintf(msg, sizeof msg, "The field '%s' is empty or too long", name);
        hs_client_error(b, c, ref, "invalid_value", msg);
        return -1;
    }
    return 0;
}

static void on_chat_message(hs_bridge_t *b, hs_conn_t *c, const cJSON *o, const char *ref)
{
    const char *chat_id, *content, *client_id, *reply_to;
    if (message_field(b, c, o, ref, "chat_id", 1, &chat_id) ||
        message_field(b, c, o, ref, "content", 1, &content) ||
        message_field(b, c, o, ref, "client_id", 0, &client_id) ||
        message_field(b, c, o, ref, "reply_to", 0, &reply_to))
        return;
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(o, "file_ids");
    const char *files[HS_MAX_ATTACHMENTS];
    size_t nfiles = 0;
    if (att && !cJSON_IsNull(att)) {
        const cJSON *f;
        int strings = cJSON_IsArray(att);
        cJSON_ArrayForEach(f, att) strings = strings && cJSON_IsString(f);
        if (!strings) {
            hs_client_error(b, c, ref, "wrong_type", "file_ids must be an array of file ids");
            return;
        }
        if (cJSON_GetArraySize(att) > HS_MAX_ATTACHMENTS) {
            hs_client_error(b, c, ref, "invalid_value", "A message holds at most 10 files");
            return;
        }
        cJSON_ArrayForEach(f, att) files[nfiles++] = f->valuestring;
    }
    hs_err_t cerr = {0};
    if (hs_message_content_check(content, &cerr)) {
        err_reply(b, c, ref, &cerr);
        return;
    }
    hs_arena_t a = {0};
    hs_err_t err = {0};
    hs_message_t m;
    int existed = 0;
    /* membership is checked by lib, as for POST /messages */
    if (hs_message_send(&b->ctx, &a, c->user->id, chat_id, content, reply_to, files, nfiles,
                        client_id, &m, &existed, &err)) {
        err_reply(b, c, ref, &err);
    } else {
        cJSON *r = reply_obj("ack", ref);
        cJSON *d = cJSON_AddObjectToObject(r, "data");
        cJSON_AddStringToObject(d, "message_id", m.id);
        cJSON_AddItemToObject(d, "message", hs_message_json(&m));
        cJSON_AddBoolToObject(d, "existed", existed);
        send_obj(b, c, r);
    }
    hs_arena_free(&a);
}

static void on_auth(hs_bridge_t *b, hs_conn_t *c, const cJSON *o, const char *ref)
{
    int bad = 0;
    const char *tok = str_field(o, "token", &bad);
    if (!tok) {
        hs_client_error(b, c, ref, "invalid_event", "token must be a string");
        return;
    }
    hs_claims_t claims;
    hs_err_t err = {0};
    if (hs_auth_verify(&b->ctx, tok, &claims, &err)) {
        err_reply(b, c, ref, &err);
        return;
    }
    if (strcmp(claims.sub, c->user->id) != 0) {
        hs_client_error(b, c, ref, "invalid_token", "The token is another user's");
        return;
    }
    c->exp_s = claims.exp;
    memcpy(c->sid, claims.sid, sizeof c->sid);
    c->warned = 0;
    cJSON *r = reply_obj("ack", ref);
    cJSON *d = cJSON_AddObjectToObject(r, "data");
    cJSON_AddNumberToObject(d, "exp", (double)claims.exp);
    send_obj(b, c, r);
}

/* WebRTC signaling, forwarded to the other party's devices only while the
 * transfer is accepted or transferring; nothing is stored. */
static void on_p2p_signal(hs_bridge_t *b, hs_conn_t *c, const cJSON *o, const char *ref)
{
    int bad = 0;
    const char *tid = str_field(o, "transfer_id", &bad);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
    if (!tid || bad || !cJSON_IsObject(data)) {
        hs_client_error(b, c, ref, "invalid_event",
                        "p2p.signal needs transfer_id (a string) and data (an object)");
        return;
    }
    char *json = cJSON_PrintUnformatted(data);
    if (!json || strlen(json) > SIGNAL_MAX) {
        hs_client_error(b, c, ref, "invalid_value", "data holds at most 16 KiB");
        free(json);
        return;
    }
    hs_arena_t a = {0};
    hs_err_t err = {0};
    char peer[HS_ID_LEN + 1];
    if (hs_p2p_peer(&b->ctx, &a, c->user->id, tid, peer, &err)) {
        err_reply(b, c, ref, &err);
    } else {
        char chan[64];
        snprintf(chan, sizeof chan, HS_EV_PREFIX "user:%s", peer);
        char *payload = hs_arena_printf(
            &a, "-%s p2p.signal {\"transfer_id\":\"%s\",\"from\":\"%s\",\"data\":%s}", c->user->id,
            tid, c->user->id, json);
        const char *argv[] = {"PUBLISH", chan, payload};
        struct redisReply *r = hs_redis_argv(b->ctx.redis, 3, argv, &err);
        if (!r)
            err_reply(b, c, ref, &err);
        hs_redis_reply_free(r);
    }
    free(json);
    hs_arena_free(&a);
}

static void on_p2p_progress(hs_bridge_t *b, hs_conn_t *c, const cJSON *o, const char *ref)
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
        return;
    }
    hs_arena_t a = {0};
    hs_err_t err = {0};
    hs_transfer_t t;
    if (hs_p2p_progress(&b->ctx, &a, c->user->id, tid, (int64_t)bytes->valuedouble, &t, &err))
        err_reply(b, c, ref, &err);
    hs_arena_free(&a);
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
    cJSON *o = cJSON_ParseWithLength(text, len);
    if (!o) {
        hs_client_error(b, c, NULL, "invalid_json", "The frame is not valid JSON");
        return;
    }
    char refbuf[8 * REF_MAX];
    const char *ref = ref_of(o, refbuf, sizeof refbuf);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (ref && !*ref) {
        hs_client_error(b, c, NULL, "invalid_event", "ref must be a number or a short string");
    } else if (!cJSON_IsObject(o) || !cJSON_IsString(type)) {
        hs_client_error(b, c, ref, "invalid_event", "An event is an object with a string type");
    } else {
        int before = c->refused;
        const char *t = type->valuestring;
        if (strcmp(t, "ping") == 0)
            send_obj(b, c, reply_obj("pong", ref));
        else if (strcmp(t, "typing") == 0)
            on_typing(b, c, o, ref);
        else if (strcmp(t, "read") == 0)
            on_read(b, c, o, ref);
        else if (strcmp(t, "presence") == 0) {
            const char *chat_id = chat_field(b, c, o, ref);
            if (chat_id)
                hs_presence_query(b, c, ref, chat_id);
        } else if (strcmp(t, "chat_message") == 0)
            on_chat_message(b, c, o, ref);
        else if (strcmp(t, "auth") == 0)
            on_auth(b, c, o, ref);
        else if (strcmp(t, "p2p.signal") == 0)
            on_p2p_signal(b, c, o, ref);
        else if (strcmp(t, "p2p.progress") == 0)
            on_p2p_progress(b, c, o, ref);
        else
            hs_client_error(b, c, ref, "unknown_type", "Unknown event type");
        if (c->refused == before)
            c->refused = 0;
    }
    cJSON_Delete(o);
}

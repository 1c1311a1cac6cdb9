/* WebSocket client events (ws-bridge/client.c, docs/ws.md "Events from the
 * client"): the bridge's real parser and validation run on one connection;
 * what would reach the store, Redis or the socket is replaced here (the
 * lib calls through the linker's --wrap, see the Makefile). Input: frames
 * separated by 0xff, sent in order on the same connection. Checks: every
 * reply is a JSON object with a known type, echoing the frame's ref when it
 * had a valid one, and an error carries a code; what is published to Redis
 * is "-<user id> <type> <JSON>"; the connection is closed (4400) only after
 * 20 refusals in a row. */
#include <hiredis/hiredis.h>
#include <math.h>

#include "bridge.h"
#include "hs/auth.h"
#include "hs/chats.h"
#include "hs/messages.h"
#include "hs/p2p.h"

#include "fuzz.h"

#define USER  "0123456789abcdef01234567"
#define CHAT1 "aaaaaaaaaaaaaaaaaaaaaaaa"
#define CHAT2 "bbbbbbbbbbbbbbbbbbbbbbbb"
#define PEER  "cccccccccccccccccccccccc"

static hs_chan_t chans[2] = {{.name = "hs:ev:chat:" CHAT1}, {.name = "hs:ev:chat:" CHAT2}};
static int replies, closed_code, refused_before;
static const cJSON *frame_ref; /* the frame's ref when valid, for the echo check */

/* ---- the bridge's other files ---- */

hs_chan_t *hs_hub_user_chat(hs_buser_t *u, const char *chat_id)
{
    (void)u;
    return strcmp(chat_id, CHAT1) == 0 ? &chans[0] : strcmp(chat_id, CHAT2) == 0 ? &chans[1] : NULL;
}

void hs_conn_reply(hs_bridge_t *b, hs_conn_t *c, const char *json, size_t len)
{
    (void)b;
    (void)c;
    replies++;
    cJSON *o = cJSON_ParseWithLength(json, len);
    FUZZ_CHECK(cJSON_IsObject(o), "reply is not a JSON object: %.*s", (int)len, json);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    FUZZ_CHECK(cJSON_IsString(type), "reply without a type");
    const char *t = type->valuestring;
    FUZZ_CHECK(!strcmp(t, "pong") || !strcmp(t, "ack") || !strcmp(t, "error") ||
                   !strcmp(t, "presence.state"),
               "reply type %s", t);
    if (!strcmp(t, "error")) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        FUZZ_CHECK(cJSON_IsString(code) && *code->valuestring, "error without a code");
    }
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(o, "ref");
    if (frame_ref)
        FUZZ_CHECK(ref && (cJSON_Compare(ref, frame_ref, 1) ||
                           (cJSON_IsNumber(ref) && cJSON_IsNumber(frame_ref) &&
                            (ref->valuedouble == frame_ref->valuedouble ||
                             (ref->valuedouble != ref->valuedouble &&
                              frame_ref->valuedouble != frame_ref->valuedouble)))),
                   "ref not echoed: %.*s", (int)len, json);
    cJSON_Delete(o);
}

void hs_conn_close(hs_bridge_t *b, hs_conn_t *c, int code, const char *reason)
{
    (void)b;
    (void)reason;
    FUZZ_CHECK(code == 4400 && c->refused >= 20, "closed %d after %d refusals", code, c->refused);
    closed_code = code;
    c->state = HS_CONN_CLOSING;
}

void hs_presence_query(hs_bridge_t *b, hs_conn_t *c, const char *ref, const char *chat_id)
{
    FUZZ_CHECK(hs_hub_user_chat(c->user, chat_id), "presence for chat %s", chat_id);
    /* As ws-bridge/presence.c builds it (an unparsable ref is left out). */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "presence.state");
    if (ref)
        cJSON_AddItemToObject(o, "ref", cJSON_Parse(ref));
    cJSON_AddObjectToObject(o, "data");
    char *json = cJSON_PrintUnformatted(o);
    hs_conn_reply(b, c, json, strlen(json));
    free(json);
    cJSON_Delete(o);
}

/* ---- lib calls, wrapped ---- */

redisReply *__wrap_hs_redis_argv(hs_redis_t *r, int argc, const char **argv, hs_err_t *err);
redisReply *__wrap_hs_redis_argv(hs_redis_t *r, int argc, const char **argv, hs_err_t *err)
{
    (void)r;
    (void)err;
    FUZZ_CHECK(argc == 3 && strcmp(argv[0], "PUBLISH") == 0, "Redis command %s", argv[0]);
    const char *p = argv[2];
    FUZZ_CHECK(p[0] == '-' && strncmp(p + 1, USER, HS_ID_LEN) == 0 && p[1 + HS_ID_LEN] == ' ',
               "publication origin: %s", p);
    const char *json = strchr(p + 2 + HS_ID_LEN, ' ');
    FUZZ_CHECK(json, "publication without data");
    cJSON *o = cJSON_ParseWithOpts(json + 1, NULL, 1);
    FUZZ_CHECK(cJSON_IsObject(o), "publication data is not JSON: %s", json + 1);
    cJSON_Delete(o);
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
    (void)ctx;
    (void)a;
    FUZZ_CHECK(strcmp(viewer, USER) == 0 && hs_hub_user_chat(NULL, id), "read for %s", id);
    if (!hs_id_valid(message_id))
        return hs_err_set(err, HS_ENOTFOUND, "message_not_found", "No such message");
    return 0;
}

int __wrap_hs_message_send(hs_ctx_t *ctx, hs_arena_t *a, const char *sender, const char *chat_id,
                           const char *content, const char *reply_to, const char **file_ids,
                           size_t nfiles, const char *client_id, hs_message_t *out, int *existed,
                           hs_err_t *err);
int __wrap_hs_message_send(hs_ctx_t *ctx, hs_arena_t *a, const char *sender, const char *chat_id,
                           const char *content, const char *reply_to, const char **file_ids,
                           size_t nfiles, const char *client_id, hs_message_t *out, int *existed,
                           hs_err_t *err)
{
    (void)ctx, (void)a, (void)reply_to, (void)client_id, (void)out, (void)existed;
    FUZZ_CHECK(strcmp(sender, USER) == 0 && chat_id && *chat_id && content && *content,
               "message_send arguments");
    FUZZ_CHECK(nfiles <= HS_MAX_ATTACHMENTS, "%zu files", nfiles);
    for (size_t i = 0; i < nfiles; i++)
        FUZZ_CHECK(file_ids[i] != NULL, "file id %zu", i);
    return hs_err_set(err, HS_ENOTFOUND, "chat_not_found", "No such chat");
}

int __wrap_hs_auth_verify(hs_ctx_t *ctx, const char *token, hs_claims_t *out, hs_err_t *err);
int __wrap_hs_auth_verify(hs_ctx_t *ctx, const char *token, hs_claims_t *out, hs_err_t *err)
{
    (void)ctx;
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
    (void)ctx, (void)a, (void)viewer;
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
    (void)ctx, (void)a, (void)viewer, (void)bytes, (void)out;
    if (!hs_id_valid(id))
        return hs_err_set(err, HS_ENOTFOUND, "transfer_not_found", "No such transfer");
    return 0;
}

/* ---- the harness ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hs_bridge_t b;
    static hs_buser_t u;
    static hs_conn_t c;
    memset(&b, 0, sizeof b);
    memset(&u, 0, sizeof u);
    memset(&c, 0, sizeof c);
    b.ctx.cfg.typing_throttle_ms = 3000;
    strcpy(u.id, USER);
    c.user = &u;
    c.state = HS_CONN_READY;
    closed_code = 0;
    fuzz_in_t in = {data, size};
    while (in.n && c.state != HS_CONN_CLOSING) {
        size_t len;
        char *frame = fuzz_str(&in, 0xff, 0, &len);
        /* The ref the replies must echo: a number or a string of <= 64. */
        cJSON *o = cJSON_ParseWithLength(frame, len);
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(o, "ref");
        /* (A number too large for a double, 1e999, is not echoed: the
         * bridge prints it as "inf", which is not JSON; harmless.) */
        frame_ref = (cJSON_IsNumber(ref) && isfinite(ref->valuedouble)) ||
                            (cJSON_IsString(ref) && strlen(ref->valuestring) <= 64)
                        ? ref
                        : NULL;
        replies = 0;
        refused_before = c.refused;
        hs_client_event(&b, &c, frame, len);
        FUZZ_CHECK(replies <= 1, "%d replies to one frame", replies);
        FUZZ_CHECK(c.refused == 0 || c.refused == refused_before + 1, "refusals %d after %d",
                   c.refused, refused_before);
        frame_ref = NULL;
        cJSON_Delete(o);
        free(frame);
    }
    FUZZ_CHECK(!closed_code || c.refused >= 20, "closed early");
    return 0;
}

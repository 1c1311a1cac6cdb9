#include "hs/p2p.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs/events.h"
#include "hs/files.h"
#include "hs/json_util.h"
#include "hs/log.h"
#include "hs/limit.h"
#include "hs/users.h"
#include "hs/util.h"

#define RELAY_CHUNK       65536
#define PROGRESS_EVERY_MS 250
#define REASON_MAX        200

/* Who may take a step, from which states, to which. */
static const struct step {
    const char *to;
    const char *from; /* ",a,b," for the compare-and-set */
    int who;          /* 1 sender, 2 recipient, 3 either */
} steps[] = {
    [HS_P2P_ACCEPT] = {"accepted", ",pending,", 2},
    [HS_P2P_REJECT] = {"rejected", ",pending,", 2},
    [HS_P2P_CANCEL] = {"cancelled", ",pending,accepted,transferring,", 3},
    [HS_P2P_FAIL] = {"failed", ",accepted,transferring,", 3},
    [HS_P2P_COMPLETE] = {"completed", ",transferring,", 2},
};

int64_t hs_p2p_relay_size(int64_t size)
{
    int64_t chunks = size ? (size + RELAY_CHUNK - 1) / RELAY_CHUNK : 1;
    return 16 + size + 16 * chunks;
}

cJSON *hs_transfer_json(const hs_transfer_t *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", t->id);
    cJSON_AddStringToObject(o, "sender_id", t->sender_id);
    cJSON_AddStringToObject(o, "recipient_id", t->recipient_id);
    cJSON_AddStringToObject(o, "filename", t->filename);
    cJSON_AddNumberToObject(o, "size", (double)t->size);
    hs_json_add_string_or_null(o, "sha256", t->sha256);
    cJSON_AddStringToObject(o, "mode", t->mode);
    cJSON_AddStringToObject(o, "state", t->state);
    hs_json_add_string_or_null(o, "reason", t->reason);
    cJSON_AddNumberToObject(o, "bytes_transferred", (double)t->bytes);
    hs_json_add_string_or_null(o, "relay_file_id",
                               t->relay_file_id && *t->relay_file_id ? t->relay_file_id : NULL);
    hs_json_add_time(o, "created_at", t->created_at);
    hs_json_add_time(o, "updated_at", t->updated_at);
    /* an offer's deadline; null once it was answered */
    hs_json_add_time(o, "expires_at", strcmp(t->state, "pending") == 0 ? t->expires_at : 0);
    return o;
}

/* transfer.<type> to both parties (best effort, as every event). */
static void publish(hs_ctx_t *ctx, const hs_transfer_t *t, const char *type, cJSON *data)
{
    char full[48];
    snprintf(full, sizeof full, "transfer.%s", type);
    hs_event_publish(ctx, HS_EV_USER, t->sender_id, full, cJSON_Duplicate(data, 1), NULL);
    hs_event_publish(ctx, HS_EV_USER, t->recipient_id, full, data, NULL);
}

static int party(const hs_transfer_t *t, const char *viewer)
{
    return (strcmp(t->sender_id, viewer) == 0 ? 1 : 0) |
           (strcmp(t->recipient_id, viewer) == 0 ? 2 : 0);
}

static int not_found(hs_err_t *err)
{
    return hs_err_set(err, HS_ENOTFOUND, "transfer_not_found", "No such transfer");
}

static int invalid(const hs_transfer_t *t, const char *what, hs_err_t *err)
{
    int rc = hs_err_set(err, HS_ECONFLICT, "invalid_transition",
                        "This transfer is %s: it cannot be %s now", t->state, what);
    hs_err_hint(err, "%s", t->state);
    return rc;
}

/* The relay copy goes with the transfer: it was only ever the recipient's. */
static void drop_relay(hs_ctx_t *ctx, hs_arena_t *a, const hs_transfer_t *t, const char *file_id)
{
    hs_err_t err = {0};
    if (file_id && *file_id && hs_file_delete(ctx, a, t->sender_id, file_id, &err) &&
        err.rc != HS_ENOTFOUND)
        hs_log_error(ctx, "relay copy %s of transfer %s not deleted: %s", file_id, t->id,
                     err.message);
}

static int terminal(const char *state)
{
    return strcmp(state, "pending") && strcmp(state, "accepted") && strcmp(state, "transferring");
}

/* Moves t (already changed in memory) from one of from_states; on a lost
 * race reloads it and answers 409 with the state that won. */
static int move(hs_ctx_t *ctx, hs_arena_t *a, hs_transfer_t *t, const char *from, const char *what,
                hs_err_t *err)
{
    const char *relay = t->relay_file_id;
    if (terminal(t->state))
        t->relay_file_id = NULL; /* deleted below once the change holds */
    int moved, rc = hs_store_transfer_update(ctx->store, t, from, &moved, err);
    if (rc)
        return rc;
    if (!moved) {
        if ((rc = hs_store_transfer_get(ctx->store, t->id, a, t, err)))
            return rc;
        return invalid(t, what, err);
    }
    if (terminal(t->state))
        drop_relay(ctx, a, t, relay);
    return 0;
}

/* A pending offer past its time expires the first time anyone looks. */
static void expire_if_due(hs_ctx_t *ctx, hs_arena_t *a, hs_transfer_t *t, int64_t now)
{
    if (strcmp(t->state, "pending") || t->expires_at > now)
        return;
    hs_transfer_t e = *t;
    e.state = "expired";
    e.updated_at = now;
    hs_err_t err = {0};
    if (move(ctx, a, &e, ",pending,", "expired", &err) == 0)
        publish(ctx, &e, "expired", hs_transfer_json(&e));
    hs_store_transfer_get(ctx->store, t->id, a, t, &err);
}

int hs_p2p_load(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                hs_transfer_t *out, hs_err_t *err)
{
    if (!hs_id_valid(id))
        return not_found(err);
    int rc = hs_store_transfer_get(ctx->store, id, a, out, err);
    if (rc)
        return rc;
    if (!party(out, viewer))
        return not_found(err);
    expire_if_due(ctx, a, out, hs_now_ms());
    return 0;
}

int hs_p2p_initiate(hs_ctx_t *ctx, hs_arena_t *a, const char *sender, const hs_p2p_offer_t *o,
                    hs_transfer_t *out, hs_err_t *err)
{
    const char *mode = o->mode ? o->mode : "auto";
    if (strcmp(mode, "auto") && strcmp(mode, "direct") && strcmp(mode, "relay"))
        return hs_err_set(err, HS_EINVAL, "invalid_value",
                          "mode must be \"auto\", \"direct\" or \"relay\"");
    if (o->size < 0 || o->size > ctx->cfg.max_file_size)
        return hs_err_set(err, HS_EINVAL, "invalid_value", "size must be 0 to %ld bytes",
                          ctx->cfg.max_file_size);
    if (o->sha256 && !hs_hex_valid(o->sha256, 64))
        return hs_err_set(err, HS_EINVAL, "invalid_value",
                          "sha256 must be 64 lowercase hex characters");
    if (strcmp(o->recipient_id, sender) == 0)
        return hs_err_set(err, HS_EINVAL, "invalid_value", "You cannot send a file to yourself");
    /* Offers notify the recipient at once: limited per sender, or one
     * user could flood another's screen with them. */
    char key[64];
    snprintf(key, sizeof key, "hs:rl:p2p-offer:%s", sender);
    int rc =
        hs_limit_rate(ctx, key, ctx->cfg.p2p_offer_burst, ctx->cfg.p2p_offer_period * 1000, 1, err);
    if (rc)
        return rc;
    hs_user_t to;
    if ((rc = hs_user_visible(ctx, a, sender, o->recipient_id, &to, err)))
        return rc;
    int blocked;
    if ((rc = hs_store_p2p_blocked(ctx->store, o->recipient_id, sender, &blocked, err)))
        return rc;
    if (blocked)
        return hs_err_set(err, HS_EFORBIDDEN, "recipient_not_accepting",
                          "This user does not accept files from you");
    const char *name;
    if ((rc = hs_file_clean_name(a, o->filename, &name, err)))
        return rc;
    memset(out, 0, sizeof *out);
    hs_id_new(out->id);
    snprintf(out->sender_id, sizeof out->sender_id, "%s", sender);
    snprintf(out->recipient_id, sizeof out->recipient_id, "%s", o->recipient_id);
    out->filename = name;
    out->size = o->size;
    out->sha256 = o->sha256;
    out->mode = mode;
    out->state = "pending";
    out->created_at = out->updated_at = hs_now_ms();
    out->expires_at = out->created_at + ctx->cfg.p2p_offer_ttl * 1000;
    if ((rc = hs_store_transfer_create(ctx->store, out, err)))
        return rc;
    /* the offer carries who it is from, so the recipient can show it at once */
    hs_user_t from;
    cJSON *data = hs_transfer_json(out);
    if (hs_store_user_get(ctx->store, sender, a, &from, err) == 0)
        cJSON_AddItemToObject(data, "sender", hs_user_brief_json(&from));
    hs_event_publish(ctx, HS_EV_USER, out->recipient_id, "transfer.offer", data, NULL);
    return 0;
}

int hs_p2p_step(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                hs_p2p_step_t step, const char *arg, hs_transfer_t *out, hs_err_t *err)
{
    const struct step *s = &steps[step];
    int rc = hs_p2p_load(ctx, a, viewer, id, out, err);
    if (rc)
        return rc;
    if (!(party(out, viewer) & s->who))
        return hs_err_set(err, HS_EFORBIDDEN, "not_your_step",
                          s->who == 2 ? "Only the recipient can do this"
                                      : "Only the sender can do this");
    char from[40];
    snprintf(from, sizeof from, ",%s,", out->state);
    if (!strstr(s->from, from))
        return invalid(out, s->to, err);
    const char *event = s->to;
    out->state = s->to;
    out->updated_at = hs_now_ms();
    if (step == HS_P2P_FAIL) {
        long chars = arg ? hs_utf8_len(arg) : -1;
        if (chars < 1 || chars > REASON_MAX)
            return hs_err_set(err, HS_EINVAL, "invalid_value", "reason must be 1 to %d characters",
                              REASON_MAX);
        out->reason = arg;
    } else if (step == HS_P2P_COMPLETE) {
        if (!hs_hex_valid(arg, 64))
            return hs_err_set(err, HS_EINVAL, "invalid_value",
                              "sha256 must be 64 lowercase hex characters");
        out->received_sha256 = arg;
        if (out->sha256 && strcmp(out->sha256, arg) != 0) {
            /* what arrived is not what was offered: the transfer failed */
            out->state = "failed";
            out->reason = "sha256_mismatch";
            event = "failed";
        } else {
            out->bytes = out->size;
        }
    }
    if ((rc = move(ctx, a, out, s->from, s->to, err)))
        return rc;
    publish(ctx, out, event, hs_transfer_json(out));
    if (strcmp(out->state, "failed") == 0 && step == HS_P2P_COMPLETE)
        return hs_err_set(err, HS_ECONFLICT, "sha256_mismatch",
                          "The file received is not the file offered (SHA-256 differs)");
    return 0;
}

int hs_p2p_progress(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, int64_t bytes,
                    hs_transfer_t *out, hs_err_t *err)
{
    int rc = hs_p2p_load(ctx, a, viewer, id, out, err);
    if (rc)
        return rc;
    if (!(party(out, viewer) & 1))
        return hs_err_set(err, HS_EFORBIDDEN, "not_your_step", "Only the sender reports progress");
    if (strcmp(out->state, "accepted") && strcmp(out->state, "transferring"))
        return invalid(out, "in progress", err);
    if (bytes < 0 || bytes > out->size)
        return hs_err_set(err, HS_EINVAL, "invalid_value", "bytes must be 0 to %lld",
                          (long long)out->size);
    int64_t now = hs_now_ms();
    if (bytes > out->bytes)
        out->bytes = bytes;
    out->state = "transferring";
    out->updated_at = now;
    int announce = now - out->progress_at >= PROGRESS_EVERY_MS || out->bytes == out->size;
    if (announce)
        out->progress_at = now;
    if ((rc = move(ctx, a, out, ",accepted,transferring,", "in progress", err)))
        return rc;
    if (announce) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "transfer_id", out->id);
        cJSON_AddNumberToObject(d, "bytes", (double)out->bytes);
        cJSON_AddNumberToObject(d, "size", (double)out->size);
        publish(ctx, out, "progress", d);
    }
    return 0;
}

int hs_p2p_bind_relay(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                      const char *file_id, hs_transfer_t *out, hs_err_t *err)
{
    int rc = hs_p2p_load(ctx, a, viewer, id, out, err);
    if (rc)
        return rc;
    if (!(party(out, viewer) & 1))
        return hs_err_set(err, HS_EFORBIDDEN, "not_your_step", "Only the sender uploads");
    if (strcmp(out->mode, "direct") == 0)
        return hs_err_set(err, HS_ECONFLICT, "direct_only",
                          "The sender asked for a direct transfer only");
    if ((strcmp(out->state, "accepted") && strcmp(out->state, "transferring")) ||
        (out->relay_file_id && *out->relay_file_id))
        return invalid(out, "given a relay copy", err);
    hs_file_t f;
    if ((rc = hs_file_owned(ctx, a, viewer, file_id, &f, err)))
        return rc;
    /* catches plaintext uploaded by mistake: the format fixes the size */
    if (f.size != hs_p2p_relay_size(out->size))
        return hs_err_set(err, HS_EINVAL, "invalid_relay_file",
                          "A relay copy of %lld bytes must be %lld bytes (docs/p2p.md)",
                          (long long)out->size, (long long)hs_p2p_relay_size(out->size));
    if ((rc = hs_store_file_bind_transfer(ctx->store, file_id, viewer, out->id, err)))
        return rc;
    out->relay_file_id = hs_arena_strdup(a, file_id);
    out->state = "transferring";
    out->updated_at = hs_now_ms();
    if ((rc = move(ctx, a, out, ",accepted,transferring,", "given a relay copy", err)))
        return rc;
    publish(ctx, out, "relay_ready", hs_transfer_json(out));
    return 0;
}

int hs_p2p_relay_file(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                      hs_file_t *out, hs_err_t *err)
{
    hs_transfer_t t;
    int rc = hs_p2p_load(ctx, a, viewer, id, &t, err);
    if (rc)
        return rc;
    if (!(party(&t, viewer) & 2))
        return hs_err_set(err, HS_EFORBIDDEN, "not_your_step", "Only the recipient downloads");
    if (!t.relay_file_id || !*t.relay_file_id || strcmp(t.state, "transferring"))
        return hs_err_set(err, HS_ENOTFOUND, "relay_not_ready", "There is no relay copy to get");
    if ((rc = hs_store_file_get(ctx->store, t.relay_file_id, a, out, err)))
        return rc;
    /* A relay copy is ciphertext whatever type its upload declared: it is
     * only ever bytes to the recipient's browser, never a document. */
    out->content_type = "application/octet-stream";
    return 0;
}

int hs_p2p_peer(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                char peer[HS_ID_LEN + 1], hs_err_t *err)
{
    hs_transfer_t t;
    int rc = hs_p2p_load(ctx, a, viewer, id, &t, err);
    if (rc)
        return rc;
    if (strcmp(t.state, "accepted") && strcmp(t.state, "transferring"))
        return invalid(&t, "signaled", err);
    snprintf(peer, HS_ID_LEN + 1, "%s", party(&t, viewer) & 1 ? t.recipient_id : t.sender_id);
    return 0;
}

int hs_p2p_block(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *user, int on,
                 hs_err_t *err)
{
    hs_user_t u;
    int rc = hs_user_visible(ctx, a, viewer, user, &u, err);
    if (rc)
        return rc;
    if (strcmp(viewer, user) == 0)
        return hs_err_set(err, HS_EINVAL, "invalid_value", "You cannot block yourself");
    return hs_store_p2p_block_set(ctx->store, viewer, user, on, hs_now_ms(), err);
}

/* coturn's REST API credential: username "<expiry>:<user>", password
 * base64(HMAC-SHA1(secret, username)). */
static cJSON *turn_server(hs_ctx_t *ctx, const char *viewer)
{
    char user[64], cred[64];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    long long expiry = hs_now_ms() / 1000 + ctx->cfg.p2p_turn_ttl;
    snprintf(user, sizeof user, "%lld:%s", expiry, viewer);
    const char *secret = ctx->cfg.p2p_turn_secret;
    HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)user, strlen(user), mac,
         &maclen);
    hs_b64_encode(mac, maclen, cred);
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "username", user);
    cJSON_AddStringToObject(s, "credential", cred);
    return s;
}

/* A comma-separated config list as a JSON array. */
static cJSON *url_list(const char *csv)
{
    cJSON *arr = cJSON_CreateArray();
    char *copy = strdup(csv), *save = NULL;
    for (char *p = copy ? strtok_r(copy, ", ", &save) : NULL; p; p = strtok_r(NULL, ", ", &save))
        cJSON_AddItemToArray(arr, cJSON_CreateString(p));
    free(copy);
    return arr;
}

cJSON *hs_p2p_ice_servers(hs_ctx_t *ctx, const char *viewer)
{
    cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "ice_servers");
    if (*ctx->cfg.p2p_stun_urls) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddItemToObject(s, "urls", url_list(ctx->cfg.p2p_stun_urls));
        cJSON_AddItemToArray(list, s);
    }
    if (*ctx->cfg.p2p_turn_urls && *ctx->cfg.p2p_turn_secret) {
        cJSON *s = turn_server(ctx, viewer);
        cJSON_AddItemToObject(s, "urls", url_list(ctx->cfg.p2p_turn_urls));
        cJSON_AddItemToArray(list, s);
    }
    cJSON_AddNumberToObject(o, "ttl", (double)ctx->cfg.p2p_turn_ttl);
    return o;
}

int hs_p2p_cleanup(hs_ctx_t *ctx, int64_t now, size_t *n, hs_err_t *err)
{
    *n = 0;
    for (;;) {
        hs_arena_t a = {0};
        char **ids;
        size_t k;
        int rc = hs_store_transfer_stale(ctx->store, now, now - ctx->cfg.upload_ttl * 1000, 500, &a,
                                         &ids, &k, err);
        size_t done = 0;
        for (size_t i = 0; !rc && i < k; i++) {
            hs_transfer_t t;
            hs_err_t e = {0};
            if (hs_store_transfer_get(ctx->store, ids[i], &a, &t, &e))
                continue;
            if (strcmp(t.state, "pending") == 0) {
                expire_if_due(ctx, &a, &t, now);
            } else {
                t.state = "failed";
                t.reason = "timed_out";
                t.updated_at = now;
                if (move(ctx, &a, &t, ",accepted,transferring,", "failed", &e))
                    continue;
                publish(ctx, &t, "failed", hs_transfer_json(&t));
            }
            done++;
        }
        hs_arena_free(&a);
        *n += done;
        if (rc || k < 500 || done == 0)
            return rc;
    }
}

int hs_p2p_list(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *state,
                const char *cursor, int limit, hs_transfer_page_t *out, hs_err_t *err)
{
    static const char *const states[] = {"pending", "accepted", "transferring", "completed",
                                         "failed",  "rejected", "cancelled",    "expired"};
    int known = !state;
    for (size_t i = 0; state && i < sizeof states / sizeof *states; i++)
        known |= strcmp(state, states[i]) == 0;
    if (!known)
        return hs_err_set(err, HS_EINVAL, "invalid_value",
                          "state must be one of the transfer states");
    if (cursor && !hs_id_valid(cursor))
        return hs_err_set(err, HS_EINVAL, "invalid_cursor", "This cursor is not one we gave out");
    return hs_store_transfer_page(ctx->store, viewer, state, cursor, limit, a, out, err);
}

int hs_p2p_blocks(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, char ***ids, size_t *n,
                  hs_err_t *err)
{
    return hs_store_p2p_block_list(ctx->store, viewer, a, ids, n, err);
}

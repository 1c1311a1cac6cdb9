#include "hs/share.h"

#include <stdio.h>
#include <string.h>

#include "hs/files.h"
#include "hs/json_util.h"
#include "hs/password.h"
#include "hs/limit.h"

#define TOKEN_BYTES 24

int hs_share_create(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *file_id,
                    int64_t expires_in, int64_t max_downloads, const char *password, hs_link_t *out,
                    const char **token, hs_err_t *err)
{
    hs_file_t f;
    int rc = hs_file_owned(ctx, a, owner, file_id, &f, err);
    if (rc)
        return rc;
    if (expires_in < 1 || expires_in > 31536000)
        return hs_err_set(err, HS_EINVAL, "invalid_value",
                          "expires_in must be 1 to 31536000 seconds");
    if (max_downloads < 0 || max_downloads > 1000000000)
        return hs_err_set(err, HS_EINVAL, "invalid_value", "max_downloads must be 0 or more");
    memset(out, 0, sizeof *out);
    if (password && hs_utf8_len(password) < HS_SHARE_PASSWORD_MIN) {
        hs_err_set(err, HS_EINVAL, "invalid_value",
                   "A link password must have at least %d characters", HS_SHARE_PASSWORD_MIN);
        return HS_EINVAL;
    }
    if (password) {
        char hash[HS_PASSWORD_HASH_MAX];
        if ((rc = hs_password_hash(password, &ctx->argon2, hash, err)))
            return rc;
        out->password_hash = hs_arena_strdup(a, hash);
    }
    char tok[64], th[65];
    if (hs_random_b64url(tok, TOKEN_BYTES))
        return hs_err_set(err, HS_EINTERNAL, NULL, "no randomness available");
    hs_sha256_hex(tok, strlen(tok), th);
    hs_id_new(out->id);
    memcpy(out->file_id, f.id, sizeof out->file_id);
    out->created_at = hs_now_ms();
    out->expires_at = out->created_at + expires_in * 1000;
    out->max_downloads = max_downloads;
    if ((rc = hs_store_link_create(ctx->store, out, th, err)))
        return rc;
    *token = hs_arena_strdup(a, tok);
    return 0;
}

int hs_share_list(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *file_id,
                  hs_link_t **out, size_t *n, hs_err_t *err)
{
    hs_file_t f;
    int rc = hs_file_owned(ctx, a, owner, file_id, &f, err);
    return rc ? rc : hs_store_link_list(ctx->store, f.id, a, out, n, err);
}

int hs_share_revoke(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *file_id,
                    const char *link_id, hs_err_t *err)
{
    hs_file_t f;
    int rc = hs_file_owned(ctx, a, owner, file_id, &f, err);
    if (rc)
        return rc;
    if (!hs_id_valid(link_id))
        return hs_err_set(err, HS_ENOTFOUND, "link_not_found", "No such link");
    return hs_store_link_revoke(ctx->store, link_id, f.id, hs_now_ms(), err);
}

int hs_share_open(hs_ctx_t *ctx, hs_arena_t *a, const char *token, const char *password,
                  const char *client, int count, hs_file_t *file, hs_err_t *err)
{
    char th[65];
    hs_link_t l;
    if (!token || strlen(token) > 64)
        return hs_err_set(err, HS_ENOTFOUND, "link_not_found", "No such link");
    hs_sha256_hex(token, strlen(token), th);
    int rc = hs_store_link_get(ctx->store, th, a, &l, err);
    if (rc)
        return rc;
    if (l.revoked_at)
        return hs_err_set(err, HS_ENOTFOUND, "link_not_found", "No such link");
    if (l.password_hash) {
        /* Guesses count per link and client address: someone guessing from
         * one address does not lock the owner's right password out of
         * another. (Passwords of 8 characters or more keep the guessing a
         * many-address attacker can do out of reach.) */
        char key[160];
        snprintf(key, sizeof key, "hs:rl:share:%s:%.100s", l.id, client ? client : "-");
        if ((rc = hs_limit_guard(ctx, key, 5, 60000, 0, err)))
            return rc;
        if (!password || !hs_password_verify(l.password_hash, password)) {
            /* Only wrong guesses count toward the limit, not asking. */
            if (password)
                hs_limit_rate(ctx, key, 5, 60000, 1, NULL);
            hs_err_set(err, HS_EFORBIDDEN, "password_required",
                       password ? "The password is wrong" : "This link needs a password");
            hs_err_hint(err, "send it in the X-Share-Password header");
            return HS_EFORBIDDEN;
        }
    }
    if ((rc = hs_store_file_get(ctx->store, l.file_id, a, file, err)))
        return rc == HS_ENOTFOUND ? hs_err_set(err, HS_ENOTFOUND, "link_not_found", "No such link")
                                  : rc;
    /* A disabled owner's links die with the account (and come back if it is
     * enabled again): nothing of theirs is served meanwhile. */
    hs_user_t owner;
    if ((rc = hs_store_user_get(ctx->store, file->owner_id, a, &owner, err)) && rc != HS_ENOTFOUND)
        return rc;
    if (rc == HS_ENOTFOUND || owner.disabled)
        return hs_err_set(err, HS_ENOTFOUND, "link_not_found", "No such link");
    if (file->expires_at && file->expires_at <= hs_now_ms())
        return hs_err_set(err, HS_EGONE, "link_expired", "The shared file has expired");
    if (!count) {
        if (l.expires_at && l.expires_at <= hs_now_ms())
            return hs_err_set(err, HS_EGONE, "link_expired", "This link has expired");
        if (l.max_downloads && l.downloads >= l.max_downloads)
            return hs_err_set(err, HS_EGONE, "link_exhausted", "This link has no downloads left");
        return 0;
    }
    return hs_store_link_take(ctx->store, l.id, hs_now_ms(), err);
}

cJSON *hs_link_json(const hs_link_t *l, const char *token)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", l->id);
    cJSON_AddStringToObject(o, "file_id", l->file_id);
    hs_json_add_time(o, "created_at", l->created_at);
    hs_json_add_time(o, "expires_at", l->expires_at);
    cJSON_AddNumberToObject(o, "max_downloads", (double)l->max_downloads);
    cJSON_AddNumberToObject(o, "downloads", (double)l->downloads);
    cJSON_AddBoolToObject(o, "has_password", l->password_hash != NULL);
    if (token) {
        char url[96];
        snprintf(url, sizeof url, "/s/%s", token);
        cJSON_AddStringToObject(o, "token", token);
        cJSON_AddStringToObject(o, "url", url);
    }
    return o;
}

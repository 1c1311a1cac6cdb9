#include "hs/auth.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hs/password.h"
#include "hs/ratelimit.h"
#include "hs/util.h"

#define REFRESH_BYTES 32

static void deny_key(char *out, size_t n, const char *kind, const char *id)
{
    snprintf(out, n, "hs:deny:%s:%s", kind, id);
}

/* Lowercases s into the arena. */
static char *lower(hs_arena_t *a, const char *s)
{
    char *r = hs_arena_strdup(a, s);
    for (char *p = r; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return r;
}

static int valid_username(const char *u)
{
    size_t n = strlen(u);
    if (n < 3 || n > 32)
        return 0;
    for (; *u; u++)
        if (!(islower((unsigned char)*u) || isdigit((unsigned char)*u) || *u == '_' || *u == '.'))
            return 0;
    return 1;
}

/* A deliberately plain check: one @, a non-empty local part, a dotted
 * domain, no spaces or control characters. Delivery proves the rest. */
static int valid_email(const char *e)
{
    size_t n = strlen(e);
    const char *at = strchr(e, '@');
    if (n < 3 || n > 254 || !at || at == e || strchr(at + 1, '@'))
        return 0;
    const char *dot = strrchr(at, '.');
    if (!dot || dot == at + 1 || dot[1] == '\0')
        return 0;
    for (const unsigned char *p = (const unsigned char *)e; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

/* Creates a session for user with a fresh refresh token, and signs the
 * first access token. */
static int start_session(hs_ctx_t *ctx, hs_arena_t *a, const hs_user_t *user,
                         const hs_client_t *client, hs_tokens_t *tok, hs_err_t *err)
{
    int64_t now = hs_now_ms();
    hs_session_t s = {0};
    char refresh[64], hash[65];
    hs_id_new(s.id);
    memcpy(s.user_id, user->id, sizeof s.user_id);
    s.user_agent = client->user_agent;
    s.ip = client->ip;
    s.created_at = s.last_used_at = now;
    s.expires_at = now + ctx->cfg.refresh_token_ttl * 1000;
    if (hs_random_b64url(refresh, REFRESH_BYTES))
        return hs_err_set(err, HS_EINTERNAL, NULL, "no randomness available");
    hs_sha256_hex(refresh, strlen(refresh), hash);
    int rc = hs_store_session_create(ctx->store, &s, hash, s.expires_at, err);
    if (rc)
        return rc;
    memcpy(tok->session_id, s.id, sizeof tok->session_id);
    tok->refresh_token = hs_arena_strdup(a, refresh);
    tok->expires_in = ctx->cfg.access_token_ttl;
    return hs_token_issue(ctx->key, ctx->keylen, ctx->cfg.jwt_issuer, user->id, s.id, now / 1000,
                          ctx->cfg.access_token_ttl, a, &tok->access_token, err);
}

int hs_auth_register(hs_ctx_t *ctx, hs_arena_t *a, const char *username, const char *email,
                     const char *password, const hs_client_t *client, hs_user_t *user,
                     hs_tokens_t *tok, hs_err_t *err)
{
    char key[128];
    snprintf(key, sizeof key, "hs:rl:register:%s", client->ip ? client->ip : "-");
    int rc = hs_ratelimit_guard(ctx->redis, key, ctx->cfg.register_ip_burst,
                                ctx->cfg.register_ip_period * 1000, 1, err);
    if (rc)
        return rc;
    char *uname = lower(a, username), *mail = lower(a, email);
    if (!valid_username(uname)) {
        hs_err_set(err, HS_EINVAL, "invalid_username",
                   "The username must be 3 to 32 characters of a-z, 0-9, _ and .");
        return HS_EINVAL;
    }
    if (!valid_email(mail))
        return hs_err_set(err, HS_EINVAL, "invalid_email", "This is not a valid email address");
    if ((rc = hs_password_policy(password, uname, err)))
        return rc;
    char hash[HS_PASSWORD_HASH_MAX];
    if ((rc = hs_password_hash(password, &ctx->argon2, hash, err)))
        return rc;
    memset(user, 0, sizeof *user);
    hs_id_new(user->id);
    user->username = uname;
    user->email = mail;
    user->password_hash = hs_arena_strdup(a, hash);
    user->display_name = uname;
    user->bio = "";
    user->settings = "{}";
    user->created_at = user->updated_at = hs_now_ms();
    if ((rc = hs_store_user_create(ctx->store, user, err)))
        return rc;
    return start_session(ctx, a, user, client, tok, err);
}

/* The per-account limit follows the account, whichever name (username or
 * email) is typed; names of no account get a bucket of their own. */
static void account_key(char *out, size_t n, const hs_user_t *u, const char *login)
{
    if (u)
        snprintf(out, n, "hs:rl:login:acct:%s", u->id);
    else
        snprintf(out, n, "hs:rl:login:name:%s", login);
}

int hs_auth_login(hs_ctx_t *ctx, hs_arena_t *a, const char *login, const char *password,
                  const hs_client_t *client, hs_user_t *user, hs_tokens_t *tok, hs_err_t *err)
{
    char *who = lower(a, login);
    char acct_key[320], ip_key[128];
    long acct_ms = ctx->cfg.login_account_period * 1000, ip_ms = ctx->cfg.login_ip_period * 1000;
    int rc;
    /* Before the lookup, so the first login of a process is slow whether or
     * not the user exists: timing tells nothing. */
    if (!ctx->dummy_hash[0]) {
        char pw[33];
        if (hs_random_hex(pw, 16))
            return hs_err_set(err, HS_EINTERNAL, NULL, "no randomness available");
        if ((rc = hs_password_hash(pw, &ctx->argon2, ctx->dummy_hash, err)))
            return rc;
    }
    hs_err_t lookup;
    int found = hs_store_user_find_login(ctx->store, who, a, user, &lookup) == 0;
    if (!found && lookup.rc != HS_ENOTFOUND) {
        *err = lookup;
        return lookup.rc;
    }
    account_key(acct_key, sizeof acct_key, found ? user : NULL, who);
    snprintf(ip_key, sizeof ip_key, "hs:rl:login:ip:%s", client->ip ? client->ip : "-");
    /* Check (cost 0) before doing the expensive hash; only failures cost. */
    if ((rc = hs_ratelimit_guard(ctx->redis, ip_key, ctx->cfg.login_ip_burst, ip_ms, 0, err)) ||
        (rc = hs_ratelimit_guard(ctx->redis, acct_key, ctx->cfg.login_account_burst, acct_ms, 0,
                                 err)))
        return rc;
    int ok = hs_password_verify(found ? user->password_hash : ctx->dummy_hash, password);
    if (!found || !ok) {
        hs_ratelimit(ctx->redis, ip_key, ctx->cfg.login_ip_burst, ip_ms, 1, NULL);
        hs_ratelimit(ctx->redis, acct_key, ctx->cfg.login_account_burst, acct_ms, 1, NULL);
        hs_err_set(err, HS_EAUTH, "invalid_credentials", "Invalid username or password");
        return HS_EAUTH;
    }
    if (user->disabled)
        return hs_err_set(err, HS_EFORBIDDEN, "account_disabled", "This account is disabled");
    return start_session(ctx, a, user, client, tok, err);
}

int hs_auth_refresh(hs_ctx_t *ctx, hs_arena_t *a, const char *refresh_token,
                    const hs_client_t *client, hs_user_t *user, hs_tokens_t *tok, hs_err_t *err)
{
    char old_hash[65], next[64], new_hash[65];
    hs_sha256_hex(refresh_token, strlen(refresh_token), old_hash);
    if (hs_random_b64url(next, REFRESH_BYTES))
        return hs_err_set(err, HS_EINTERNAL, NULL, "no randomness available");
    hs_sha256_hex(next, strlen(next), new_hash);
    int64_t now = hs_now_ms(), expires = now + ctx->cfg.refresh_token_ttl * 1000;
    hs_session_t s;
    int rc = hs_store_refresh_rotate(ctx->store, old_hash, new_hash, expires, now,
                                     client->user_agent, client->ip, a, &s, err);
    if (rc) {
        if (err && err->code && strcmp(err->code, "refresh_token_reused") == 0) {
            /* A replayed token means it leaked: kill the session's live
             * access tokens too, not only its refresh chain. */
            char key[64];
            deny_key(key, sizeof key, "sid", s.id);
            hs_redis_set_ttl(ctx->redis, key, ctx->cfg.access_token_ttl, NULL);
        }
        return rc;
    }
    if ((rc = hs_store_user_get(ctx->store, s.user_id, a, user, err)))
        return rc;
    if (user->disabled) {
        hs_store_session_revoke(ctx->store, s.id, s.user_id, now, NULL);
        return hs_err_set(err, HS_EFORBIDDEN, "account_disabled", "This account is disabled");
    }
    memcpy(tok->session_id, s.id, sizeof tok->session_id);
    tok->refresh_token = hs_arena_strdup(a, next);
    tok->expires_in = ctx->cfg.access_token_ttl;
    return hs_token_issue(ctx->key, ctx->keylen, ctx->cfg.jwt_issuer, user->id, s.id, now / 1000,
                          ctx->cfg.access_token_ttl, a, &tok->access_token, err);
}

/* The revocation check when Redis cannot answer: the store is the truth. */
static int verify_in_store(hs_ctx_t *ctx, const hs_claims_t *c, hs_err_t *err)
{
    hs_arena_t a = {0};
    hs_session_t s;
    hs_user_t u;
    int rc = hs_store_session_get(ctx->store, c->sid, &a, &s, err);
    if (!rc && (s.revoked_at || strcmp(s.user_id, c->sub) != 0))
        rc = hs_err_set(err, HS_EAUTH, "token_revoked", "This session has been revoked");
    if (!rc && !(rc = hs_store_user_get(ctx->store, c->sub, &a, &u, err)) && u.disabled)
        rc = hs_err_set(err, HS_EAUTH, "token_revoked", "This account is disabled");
    if (rc == HS_ENOTFOUND)
        rc = hs_err_set(err, HS_EAUTH, "token_revoked", "This session has been revoked");
    hs_arena_free(&a);
    return rc;
}

int hs_auth_verify(hs_ctx_t *ctx, const char *token, hs_claims_t *out, hs_err_t *err)
{
    int rc = hs_token_verify(ctx->key, ctx->keylen, ctx->cfg.jwt_issuer, token, hs_now_ms() / 1000,
                             out, err);
    if (rc)
        return rc;
    int revoked = hs_auth_revoked(ctx, out->sub, out->sid);
    if (revoked < 0)
        return verify_in_store(ctx, out, err);
    if (revoked)
        return hs_err_set(err, HS_EAUTH, "token_revoked", "This access token has been revoked");
    return 0;
}

int hs_auth_revoked(hs_ctx_t *ctx, const char *user_id, const char *sid)
{
    char ksid[64], kuser[64];
    deny_key(ksid, sizeof ksid, "sid", sid);
    deny_key(kuser, sizeof kuser, "user", user_id);
    const char *keys[] = {ksid, kuser};
    long n = 0;
    if (hs_redis_exists(ctx->redis, keys, 2, &n, NULL))
        return -1;
    return n > 0;
}

/* EXISTS per (session, user) pair of keys, in one round trip. */
static const char revoked_script[] = "local r = {}\n"
                                     "for i = 1, #KEYS, 2 do\n"
                                     "  r[#r + 1] = redis.call('EXISTS', KEYS[i], KEYS[i + 1])\n"
                                     "end\n"
                                     "return r\n";

int hs_auth_revoked_many(hs_ctx_t *ctx, const char *const *users, const char *const *sids, size_t n,
                         unsigned char *revoked)
{
    if (n == 0)
        return 0;
    char(*keys)[64] = malloc(2 * n * sizeof *keys);
    const char **argv = malloc((2 * n + 3) * sizeof *argv);
    char nkeys[24];
    int rc = -1;
    if (!keys || !argv)
        goto done;
    snprintf(nkeys, sizeof nkeys, "%zu", 2 * n);
    argv[0] = "EVAL";
    argv[1] = revoked_script;
    argv[2] = nkeys;
    for (size_t i = 0; i < n; i++) {
        deny_key(keys[2 * i], sizeof keys[0], "sid", sids[i]);
        deny_key(keys[2 * i + 1], sizeof keys[0], "user", users[i]);
        argv[3 + 2 * i] = keys[2 * i];
        argv[4 + 2 * i] = keys[2 * i + 1];
    }
    redisReply *r = hs_redis_argv(ctx->redis, (int)(2 * n + 3), argv, NULL);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == n) {
        for (size_t i = 0; i < n; i++)
            revoked[i] = r->element[i]->integer > 0;
        rc = 0;
    }
    hs_redis_reply_free(r);
done:
    free(keys);
    free(argv);
    return rc;
}

int hs_auth_request(hs_req_t *req, hs_err_t *err)
{
    const char *h = hs_req_header(req, "HTTP_AUTHORIZATION");
    if (!h || !*h) {
        hs_err_set(err, HS_EAUTH, "missing_token", "This endpoint needs an access token");
        hs_err_hint(err, "send Authorization: Bearer <access_token>");
        return HS_EAUTH;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return hs_err_set(err, HS_EAUTH, "invalid_token", "Use the Bearer authorization scheme");
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    return hs_auth_verify(req->ctx, tok, &req->auth, err);
}

int hs_auth_revoke_session(hs_ctx_t *ctx, const char *user_id, const char *sid, hs_err_t *err)
{
    hs_arena_t a = {0};
    hs_session_t s;
    int rc = hs_store_session_get(ctx->store, sid, &a, &s, err);
    hs_arena_free(&a);
    if (!rc && (strcmp(s.user_id, user_id) != 0 || s.revoked_at))
        rc = hs_err_set(err, HS_ENOTFOUND, "session_not_found", "No such session");
    if (rc)
        return rc;
    /* Denylist first: if Redis is down nothing changes and the caller can
     * retry, instead of a revoked session whose tokens still work. */
    char key[64];
    deny_key(key, sizeof key, "sid", sid);
    if ((rc = hs_redis_set_ttl(ctx->redis, key, ctx->cfg.access_token_ttl, err)))
        return rc;
    return hs_store_session_revoke(ctx->store, sid, user_id, hs_now_ms(), err);
}

/* Revokes every session of user_id but keep_sid (NULL: all): denylist
 * entries first, so a Redis outage changes nothing, then the store. */
static int revoke_sessions(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id, const char *keep_sid,
                           size_t *revoked, hs_err_t *err)
{
    hs_session_t *list;
    size_t n;
    char **ids;
    int rc = hs_store_session_list(ctx->store, user_id, a, &list, &n, err);
    for (size_t i = 0; !rc && i < n; i++) {
        if (keep_sid && strcmp(list[i].id, keep_sid) == 0)
            continue;
        char k[64];
        deny_key(k, sizeof k, "sid", list[i].id);
        rc = hs_redis_set_ttl(ctx->redis, k, ctx->cfg.access_token_ttl, err);
    }
    if (rc)
        return rc;
    return hs_store_session_revoke_others(ctx->store, user_id, keep_sid, hs_now_ms(), a, &ids,
                                          revoked, err);
}

int hs_auth_change_password(hs_ctx_t *ctx, hs_arena_t *a, const hs_claims_t *who,
                            const char *old_pw, const char *new_pw, size_t *revoked, hs_err_t *err)
{
    hs_user_t u;
    *revoked = 0;
    int rc = hs_store_user_get(ctx->store, who->sub, a, &u, err);
    if (rc)
        return rc;
    char key[320];
    account_key(key, sizeof key, &u, NULL);
    long period = ctx->cfg.login_account_period * 1000;
    if ((rc = hs_ratelimit_guard(ctx->redis, key, ctx->cfg.login_account_burst, period, 0, err)))
        return rc;
    if (!hs_password_verify(u.password_hash, old_pw)) {
        hs_ratelimit(ctx->redis, key, ctx->cfg.login_account_burst, period, 1, NULL);
        return hs_err_set(err, HS_EFORBIDDEN, "wrong_password", "The current password is wrong");
    }
    if ((rc = hs_password_policy(new_pw, u.username, err)))
        return rc;
    char hash[HS_PASSWORD_HASH_MAX];
    if ((rc = hs_password_hash(new_pw, &ctx->argon2, hash, err)))
        return rc;
    int64_t now = hs_now_ms();
    if ((rc = revoke_sessions(ctx, a, u.id, who->sid, revoked, err)) ||
        (rc = hs_store_user_set_password(ctx->store, u.id, hash, now, err)))
        return rc;
    return 0;
}

int hs_auth_set_disabled(hs_ctx_t *ctx, hs_arena_t *a, const char *admin_id, const char *target_id,
                         int disabled, hs_err_t *err)
{
    hs_user_t admin, target;
    int rc = hs_store_user_get(ctx->store, admin_id, a, &admin, err);
    if (rc)
        return rc;
    if (strcmp(admin.role, "admin") != 0)
        return hs_err_set(err, HS_EFORBIDDEN, "admin_required", "Only an admin may do this");
    if (!hs_id_valid(target_id) || (rc = hs_store_user_get(ctx->store, target_id, a, &target, err)))
        return hs_err_set(err, HS_ENOTFOUND, "user_not_found", "No such user");
    if (strcmp(admin_id, target_id) == 0)
        return hs_err_set(err, HS_EINVAL, "cannot_disable_self", "You cannot disable yourself");
    char key[64];
    size_t revoked;
    deny_key(key, sizeof key, "user", target_id);
    if (disabled) {
        if ((rc = hs_redis_set_ttl(ctx->redis, key, ctx->cfg.access_token_ttl, err)) ||
            (rc = revoke_sessions(ctx, a, target_id, NULL, &revoked, err)))
            return rc;
    } else if ((rc = hs_redis_del(ctx->redis, key, err))) {
        return rc;
    }
    return hs_store_user_set_disabled(ctx->store, target_id, disabled, hs_now_ms(), err);
}

#include "hs/auth.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hs/log.h"
#include "hs/password.h"
#include "hs/limit.h"
#include "hs/redis.h"
#include "hs/util.h"

#define REFRESH_BYTES 32

static void deny_key(char *out, size_t n, const char *kind, const char *id)
{
    snprintf(out, n, "hs:deny:%s:%s", kind, id);
}

/* Whether the Redis revocation cache stands in front of the store. Not
 * with events = store (no Redis), and by default (revocation_cache = auto)
 * not in front of an embedded store: SQLite answers the check in one
 * indexed read, cheaper than a round trip to Redis. Without the cache every
 * check asks the store, so a revocation holds from its commit on. */
static int cache_in_front(const hs_ctx_t *ctx)
{
    if (hs_config_events_store(&ctx->cfg))
        return 0;
    return ctx->cfg.revocation_cache[0] == 'r' || !hs_store_embedded(ctx->store);
}

/* Writes a revocation to the cache: before the store, so that when Redis
 * is unreachable nothing changes (503, the caller retries) rather than a
 * store revocation a warm cache would not know of. */
static int cache_deny(hs_ctx_t *ctx, const char *kind, const char *id, const char *value,
                      hs_err_t *err)
{
    if (!cache_in_front(ctx))
        return 0; /* no cache: every check asks the store, which is written next */
    char key[64], px[24];
    deny_key(key, sizeof key, kind, id);
    snprintf(px, sizeof px, "%ld", ctx->cfg.access_token_ttl * 1000L + 1000);
    const char *argv[] = {"SET", key, value, "PX", px};
    redisReply *r = hs_redis_argv(ctx->redis, 5, argv, err);
    hs_redis_reply_free(r);
    return r ? 0 : HS_EUNAVAIL;
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

/* Checks a new account's fields and stores it with this role; the
 * username and email are kept lowercase, in the arena. */
static int new_user(hs_ctx_t *ctx, hs_arena_t *a, const char *username, const char *email,
                    const char *password, const char *role, hs_user_t *user, hs_err_t *err)
{
    char *uname = lower(a, username), *mail = lower(a, email);
    if (!valid_username(uname))
        return hs_err_set(err, HS_EINVAL, "invalid_username",
                          "The username must be 3 to 32 characters of a-z, 0-9, _ and .");
    if (!valid_email(mail))
        return hs_err_set(err, HS_EINVAL, "invalid_email", "This is not a valid email address");
    int rc = hs_password_policy(password, uname, err);
    if (rc)
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
    user->role = role;
    user->created_at = user->updated_at = hs_now_ms();
    return hs_store_user_create(ctx->store, user, err);
}

int hs_auth_register(hs_ctx_t *ctx, hs_arena_t *a, const char *username, const char *email,
                     const char *password, const hs_client_t *client, hs_user_t *user,
                     hs_tokens_t *tok, hs_err_t *err)
{
    char key[128];
    snprintf(key, sizeof key, "hs:rl:register:%s", client->ip ? client->ip : "-");
    int rc = hs_limit_guard(ctx, key, ctx->cfg.register_ip_burst,
                            ctx->cfg.register_ip_period * 1000, 1, err);
    if (rc)
        return rc;
    if ((rc = new_user(ctx, a, username, email, password, "user", user, err)))
        return rc;
    return start_session(ctx, a, user, client, tok, err);
}

int hs_auth_create_admin(hs_ctx_t *ctx, hs_arena_t *a, const char *username, const char *email,
                         const char *password, hs_user_t *user, int *created, hs_err_t *err)
{
    char *uname = lower(a, username);
    *created = 0;
    int rc = hs_store_user_find_login(ctx->store, uname, a, user, err);
    if (rc == 0) {
        if ((rc = hs_store_user_set_role(ctx->store, user->id, "admin", hs_now_ms(), err)))
            return rc;
        user->role = "admin";
        return 0;
    }
    if (rc != HS_ENOTFOUND)
        return rc;
    if (!email || !*email || !password || !*password)
        return hs_err_set(err, HS_EINVAL, "missing_field",
                          "No user '%s': give an email and a password to create it", uname);
    if ((rc = new_user(ctx, a, uname, email, password, "admin", user, err)))
        return rc;
    *created = 1;
    return 0;
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
    if ((rc = hs_limit_guard(ctx, ip_key, ctx->cfg.login_ip_burst, ip_ms, 0, err)) ||
        (rc = hs_limit_guard(ctx, acct_key, ctx->cfg.login_account_burst, acct_ms, 0, err)))
        return rc;
    int ok = hs_password_verify(found ? user->password_hash : ctx->dummy_hash, password);
    if (!found || !ok) {
        hs_limit_rate(ctx, ip_key, ctx->cfg.login_ip_burst, ip_ms, 1, NULL);
        hs_limit_rate(ctx, acct_key, ctx->cfg.login_account_burst, acct_ms, 1, NULL);
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
            cache_deny(ctx, "sid", s.id, "1", NULL);
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

/* The revocation cache, when cache_in_front. The store is the truth
 * (sessions.revoked_at, users.disabled); Redis only remembers, for the
 * life of an access token, what was revoked, so that a valid token costs
 * one MGET:
 *   hs:deny:sid:<sid>   this session was revoked (logout, deletion, reuse);
 *   hs:deny:user:<id>   this user's sessions were revoked in bulk (password
 *                       change: the value is the session kept; disabled:
 *                       "-"): tokens of any other session of the user are
 *                       checked against the store, one O(1) write however
 *                       many sessions the user has;
 *   hs:auth:warm        present while the keys above hold every revocation
 *                       of the last access_token_ttl. A Redis that restarted
 *                       empty (or was flushed) lacks it: it is cold, the
 *                       store answers, and the cache is warmed again from
 *                       the store's recent revocations before it is trusted.
 * Redis must not evict these keys (maxmemory-policy noeviction). */
#define WARM_KEY  "hs:auth:warm"
#define WARM_LOCK "hs:auth:warming"

enum { CACHE_VALID, CACHE_REVOKED, CACHE_ASK_STORE, CACHE_COLD, CACHE_DOWN };

/* The revocation check from the store alone. 0 valid, HS_EAUTH
 * token_revoked, or the store's error. */
static int verify_in_store(hs_ctx_t *ctx, const char *user_id, const char *sid, hs_err_t *err)
{
    int rc = hs_store_session_active(ctx->store, sid, user_id, err);
    if (rc == HS_ENOTFOUND)
        rc = hs_err_set(err, HS_EAUTH, "token_revoked", "This session has been revoked");
    return rc;
}

/* Sets key (PX ms) for each key, in one script call per batch. */
static const char deny_script[] = "for i, k in ipairs(KEYS) do\n"
                                  "  redis.call('SET', k, '1', 'PX', ARGV[i])\n"
                                  "end\n"
                                  "return #KEYS\n";

/* Teaches an empty Redis every session revoked within the last access
 * token lifetime (their tokens may still be presented), then marks it warm.
 * One process does it (a short lock); the others keep asking the store
 * meanwhile. Revocations made during the warm-up write their own keys. */
static void warm_up(hs_ctx_t *ctx)
{
    enum { BATCH = 256 };
    const char *lock[] = {"SET", WARM_LOCK, "1", "NX", "PX", "30000"};
    redisReply *r = hs_redis_argv(ctx->redis, 6, lock, NULL);
    int mine = r && r->type == REDIS_REPLY_STATUS;
    hs_redis_reply_free(r);
    if (!mine)
        return;
    int64_t now = hs_now_ms(), life = ctx->cfg.access_token_ttl * 1000LL;
    hs_arena_t a = {0};
    hs_session_t *list;
    size_t n;
    int ok = hs_store_session_revoked_since(ctx->store, now - life, &a, &list, &n, NULL) == 0;
    char(*keys)[64] = malloc(BATCH * sizeof *keys);
    char(*ttls)[24] = malloc(BATCH * sizeof *ttls);
    const char *argv[3 + 2 * BATCH];
    ok = ok && keys && ttls;
    for (size_t i = 0; ok && i < n;) {
        int k = 0;
        for (; i < n && k < BATCH; i++) {
            int64_t left = list[i].revoked_at + life + 1000 - now;
            if (left <= 0)
                continue;
            deny_key(keys[k], sizeof keys[0], "sid", list[i].id);
            snprintf(ttls[k], sizeof ttls[0], "%lld", (long long)left);
            k++;
        }
        char nk[16];
        snprintf(nk, sizeof nk, "%d", k);
        argv[0] = "EVAL";
        argv[1] = deny_script;
        argv[2] = nk;
        for (int j = 0; j < k; j++) {
            argv[3 + j] = keys[j];
            argv[3 + k + j] = ttls[j];
        }
        r = k ? hs_redis_argv(ctx->redis, 3 + 2 * k, argv, NULL) : NULL;
        ok = !k || (r && r->type == REDIS_REPLY_INTEGER);
        hs_redis_reply_free(r);
    }
    if (ok) {
        const char *set[] = {"SET", WARM_KEY, "1"};
        hs_redis_reply_free(hs_redis_argv(ctx->redis, 3, set, NULL));
        hs_log_error(
            ctx, "revocation cache was cold; warmed from the store (%zu recent revocations)", n);
    }
    const char *unlock[] = {"DEL", WARM_LOCK};
    hs_redis_reply_free(hs_redis_argv(ctx->redis, 2, unlock, NULL));
    free(keys);
    free(ttls);
    hs_arena_free(&a);
}

/* What the cache says of one session, from the three values of an MGET
 * (warm, deny:sid, deny:user). */
static int cache_state(const redisReply *warm, const redisReply *ds, const redisReply *du,
                       const char *sid)
{
    if (warm->type != REDIS_REPLY_STRING)
        return CACHE_COLD;
    if (ds->type == REDIS_REPLY_STRING)
        return CACHE_REVOKED;
    if (du->type == REDIS_REPLY_STRING)
        return strcmp(du->str, sid) == 0 ? CACHE_VALID : CACHE_ASK_STORE;
    return CACHE_VALID;
}

/* The revocation state of one session: 0 valid, HS_EAUTH token_revoked,
 * or an error when neither Redis nor the store can tell. */
static int check_session(hs_ctx_t *ctx, const char *user_id, const char *sid, hs_err_t *err)
{
    if (!cache_in_front(ctx))
        return verify_in_store(ctx, user_id, sid, err);
    char ksid[64], kuser[64];
    deny_key(ksid, sizeof ksid, "sid", sid);
    deny_key(kuser, sizeof kuser, "user", user_id);
    const char *argv[] = {"MGET", WARM_KEY, ksid, kuser};
    redisReply *r = hs_redis_argv(ctx->redis, 4, argv, NULL);
    int state = CACHE_DOWN;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3)
        state = cache_state(r->element[0], r->element[1], r->element[2], sid);
    hs_redis_reply_free(r);
    switch (state) {
    case CACHE_VALID:
        return 0;
    case CACHE_REVOKED:
        return hs_err_set(err, HS_EAUTH, "token_revoked", "This access token has been revoked");
    case CACHE_COLD:
        warm_up(ctx);
        return verify_in_store(ctx, user_id, sid, err);
    default:
        return verify_in_store(ctx, user_id, sid, err);
    }
}

int hs_auth_verify(hs_ctx_t *ctx, const char *token, hs_claims_t *out, hs_err_t *err)
{
    int rc = hs_token_verify(ctx->key, ctx->keylen, ctx->cfg.jwt_issuer, token, hs_now_ms() / 1000,
                             out, err);
    if (rc)
        return rc;
    return check_session(ctx, out->sub, out->sid, err);
}

int hs_auth_revoked(hs_ctx_t *ctx, const char *user_id, const char *sid)
{
    hs_err_t err;
    int rc = check_session(ctx, user_id, sid, &err);
    if (rc == 0 || rc == HS_EAUTH)
        return rc == HS_EAUTH;
    return -1;
}

int hs_auth_revoked_many(hs_ctx_t *ctx, const char *const *users, const char *const *sids, size_t n,
                         unsigned char *revoked)
{
    if (n == 0)
        return 0;
    if (!cache_in_front(ctx)) {
        for (size_t i = 0; i < n; i++) {
            int rc = verify_in_store(ctx, users[i], sids[i], NULL);
            if (rc && rc != HS_EAUTH)
                return -1;
            revoked[i] = rc == HS_EAUTH;
        }
        return 0;
    }
    char(*keys)[64] = malloc(2 * n * sizeof *keys);
    const char **argv = malloc((2 * n + 2) * sizeof *argv);
    int rc = -1, cold = 0;
    if (!keys || !argv)
        goto done;
    argv[0] = "MGET";
    argv[1] = WARM_KEY;
    for (size_t i = 0; i < n; i++) {
        deny_key(keys[2 * i], sizeof keys[0], "sid", sids[i]);
        deny_key(keys[2 * i + 1], sizeof keys[0], "user", users[i]);
        argv[2 + 2 * i] = keys[2 * i];
        argv[3 + 2 * i] = keys[2 * i + 1];
    }
    redisReply *r = hs_redis_argv(ctx->redis, (int)(2 * n + 2), argv, NULL);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 * n + 1) {
        rc = 0;
        for (size_t i = 0; i < n && !cold; i++) {
            int st =
                cache_state(r->element[0], r->element[1 + 2 * i], r->element[2 + 2 * i], sids[i]);
            cold = st == CACHE_COLD;
            revoked[i] =
                st == CACHE_REVOKED || (st == CACHE_ASK_STORE &&
                                        verify_in_store(ctx, users[i], sids[i], NULL) == HS_EAUTH);
        }
    }
    hs_redis_reply_free(r);
    if (cold) {
        /* The next round finds it warm; until then nothing is closed. */
        warm_up(ctx);
        rc = -1;
    }
done:
    free(keys);
    free(argv);
    return rc;
}

int hs_auth_revoke_session(hs_ctx_t *ctx, const char *user_id, const char *sid, hs_err_t *err)
{
    hs_arena_t a = {0};
    hs_session_t s;
    int rc = hs_store_session_get(ctx->store, sid, &a, &s, err);
    hs_arena_free(&a);
    if (!rc && (strcmp(s.user_id, user_id) != 0 || s.revoked_at))
        rc = hs_err_set(err, HS_ENOTFOUND, "session_not_found", "No such session");
    if (rc || (rc = cache_deny(ctx, "sid", sid, "1", err)) ||
        (rc = hs_store_session_revoke(ctx->store, sid, user_id, hs_now_ms(), err)))
        return rc;
    /* Again after the store: had Redis restarted in between, a warm-up that
     * read the store before our write would have missed it. */
    cache_deny(ctx, "sid", sid, "1", NULL);
    return 0;
}

/* Revokes every session of user_id but keep_sid (NULL: all) in O(1) cache
 * writes: one per-user mark, one store statement, the mark again. */
static int revoke_sessions(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id, const char *keep_sid,
                           size_t *revoked, hs_err_t *err)
{
    char **ids;
    const char *mark = keep_sid ? keep_sid : "-";
    int rc = cache_deny(ctx, "user", user_id, mark, err);
    if (!rc)
        rc = hs_store_session_revoke_others(ctx->store, user_id, keep_sid, hs_now_ms(), a, &ids,
                                            revoked, err);
    if (!rc)
        cache_deny(ctx, "user", user_id, mark, NULL);
    return rc;
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
    if ((rc = hs_limit_guard(ctx, key, ctx->cfg.login_account_burst, period, 0, err)))
        return rc;
    if (!hs_password_verify(u.password_hash, old_pw)) {
        hs_limit_rate(ctx, key, ctx->cfg.login_account_burst, period, 1, NULL);
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
    size_t revoked;
    /* Disabled: the user mark sends every token of the user to the store,
     * which says disabled; the sessions are revoked too, so re-enabling
     * brings none back. */
    if (disabled && (rc = revoke_sessions(ctx, a, target_id, NULL, &revoked, err)))
        return rc;
    return hs_store_user_set_disabled(ctx->store, target_id, disabled, hs_now_ms(), err);
}

int hs_auth_sessions(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id, const char *cursor,
                     int limit, hs_session_page_t *out, hs_err_t *err)
{
    return hs_store_session_list(ctx->store, user_id, cursor, limit, a, out, err);
}

/* Accounts and sessions: registration, login, refresh-token rotation with
 * reuse detection, revocation through the Redis denylist, and the check
 * every authenticated request goes through. */
#ifndef HS_AUTH_H
#define HS_AUTH_H

#include "hs/ctx.h"
#include "hs/store.h"
#include "hs/token.h"

typedef struct hs_client {
    const char *ip;
    const char *user_agent;
} hs_client_t;

typedef struct hs_tokens {
    const char *access_token;  /* arena */
    const char *refresh_token; /* arena */
    long expires_in;           /* seconds */
    char session_id[HS_ID_LEN + 1];
} hs_tokens_t;

/* Creates an account and its first session. username is lowercased and must
 * be 3-32 of [a-z0-9_.]; email is lowercased. Rate limited per address. */
int hs_auth_register(hs_ctx_t *ctx, hs_arena_t *a, const char *username, const char *email,
                     const char *password, const hs_client_t *client, hs_user_t *user,
                     hs_tokens_t *tok, hs_err_t *err);

/* The explicit admin bootstrap (`hs-auth create-admin`; no account becomes
 * admin by being first): makes the user named username an admin, creating
 * it with email and password (same rules as registration) when there is
 * none; *created tells which. */
int hs_auth_create_admin(hs_ctx_t *ctx, hs_arena_t *a, const char *username, const char *email,
                         const char *password, hs_user_t *user, int *created, hs_err_t *err);

/* Logs in by username or email. Unknown user and wrong password give the
 * same 401 in the same time; failures are rate limited per account and
 * per address (429 with retry_after). */
int hs_auth_login(hs_ctx_t *ctx, hs_arena_t *a, const char *login, const char *password,
                  const hs_client_t *client, hs_user_t *user, hs_tokens_t *tok, hs_err_t *err);

/* Exchanges a refresh token for a new pair (the old one is spent). */
int hs_auth_refresh(hs_ctx_t *ctx, hs_arena_t *a, const char *refresh_token,
                    const hs_client_t *client, hs_user_t *user, hs_tokens_t *tok, hs_err_t *err);

/* Verifies an access token and that neither its session nor its user has
 * been revoked (Redis denylist; the store when Redis is unreachable). */
int hs_auth_verify(hs_ctx_t *ctx, const char *token, hs_claims_t *out, hs_err_t *err);

/* Whether the session sid or the user was revoked (logout, password
 * change, disabled): 1 or 0 from the Redis denylist, -1 when Redis cannot
 * tell. For holders of long-lived connections to re-check. */
int hs_auth_revoked(hs_ctx_t *ctx, const char *user_id, const char *sid);
/* The same for n sessions in one Redis round trip: revoked[i] is 1 or 0;
 * -1 when Redis cannot tell. */
int hs_auth_revoked_many(hs_ctx_t *ctx, const char *const *users, const char *const *sids, size_t n,
                         unsigned char *revoked);

/* Revokes one session of user_id; its access tokens stop working at once. */
int hs_auth_revoke_session(hs_ctx_t *ctx, const char *user_id, const char *sid, hs_err_t *err);

/* Checks old_pw, sets new_pw and revokes every other session of the user. */
int hs_auth_change_password(hs_ctx_t *ctx, hs_arena_t *a, const hs_claims_t *who,
                            const char *old_pw, const char *new_pw, size_t *revoked, hs_err_t *err);

/* Admin only: disables (or re-enables) target; a disabled user's tokens
 * stop working at once and they cannot log in. */
int hs_auth_set_disabled(hs_ctx_t *ctx, hs_arena_t *a, const char *admin_id, const char *target_id,
                         int disabled, hs_err_t *err);

/* A page of user_id's sessions (signed-in devices), after cursor. */
int hs_auth_sessions(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id, const char *cursor,
                     int limit, hs_session_page_t *out, hs_err_t *err);

#endif

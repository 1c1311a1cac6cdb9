/* JWT access tokens, HS256 only: issued with libjwt, verified here. */
#ifndef HS_TOKEN_H
#define HS_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "hs/arena.h"
#include "hs/err.h"
#include "hs/util.h"

typedef struct hs_claims {
    char sub[HS_ID_LEN + 1]; /* user id */
    char sid[HS_ID_LEN + 1]; /* session id */
    char jti[40];
    int64_t iat, exp; /* seconds */
} hs_claims_t;

/* Signs an access token for (sub, sid) valid ttl seconds from now_s.
 * *out is allocated in a. */
int hs_token_issue(const unsigned char *key, size_t keylen, const char *issuer, const char *sub,
                   const char *sid, int64_t now_s, long ttl, hs_arena_t *a, const char **out,
                   hs_err_t *err);

/* Verifies signature, alg (exactly HS256), iss, typ and exp against now_s and
 * fills out. Any failure is HS_EAUTH with code invalid_token or token_expired. */
int hs_token_verify(const unsigned char *key, size_t keylen, const char *issuer, const char *token,
                    int64_t now_s, hs_claims_t *out, hs_err_t *err);

#endif

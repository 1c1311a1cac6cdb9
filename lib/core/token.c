#include "hs/token.h"

#include <errno.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

int hs_token_issue(const unsigned char *key, size_t keylen, const char *issuer, const char *sub,
                   const char *sid, int64_t now_s, long ttl, hs_arena_t *a, const char **out,
                   hs_err_t *err)
{
    jwt_t *jwt = NULL;
    char jti[40];
    *out = NULL;
    if (hs_random_b64url(jti, 16) || jwt_new(&jwt))
        return hs_err_set(err, HS_EINTERNAL, NULL, "cannot create token");
    int bad = jwt_add_grant(jwt, "iss", issuer) || jwt_add_grant(jwt, "sub", sub) ||
              jwt_add_grant(jwt, "sid", sid) || jwt_add_grant(jwt, "jti", jti) ||
              jwt_add_grant(jwt, "typ", "access") || jwt_add_grant_int(jwt, "iat", (long)now_s) ||
              jwt_add_grant_int(jwt, "exp", (long)(now_s + ttl)) ||
              jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)keylen);
    char *tok = bad ? NULL : jwt_encode_str(jwt);
    jwt_free(jwt);
    if (!tok)
        return hs_err_set(err, HS_EINTERNAL, NULL, "cannot sign token");
    *out = hs_arena_strdup(a, tok);
    free(tok);
    return 0;
}

static int copy_id(char *dst, size_t n, const char *v)
{
    if (!hs_id_valid(v))
        return -1;
    snprintf(dst, n, "%s", v);
    return 0;
}

int hs_token_verify(const unsigned char *key, size_t keylen, const char *issuer, const char *token,
                    int64_t now_s, hs_claims_t *out, hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!token || !*token || strlen(token) > 4096)
        return hs_err_set(err, HS_EAUTH, "invalid_token", "The access token is not valid");
    jwt_t *jwt = NULL;
    /* jwt_decode verifies the signature of whatever alg the header names;
     * pinning the result to HS256 refuses "none", other HMACs and key
     * confusion with asymmetric algorithms. */
    if (jwt_decode(&jwt, token, key, (int)keylen) || !jwt || jwt_get_alg(jwt) != JWT_ALG_HS256) {
        jwt_free(jwt);
        return hs_err_set(err, HS_EAUTH, "invalid_token", "The access token is not valid");
    }
    const char *iss = jwt_get_grant(jwt, "iss"), *typ = jwt_get_grant(jwt, "typ");
    const char *jti = jwt_get_grant(jwt, "jti");
    errno = 0;
    long exp = jwt_get_grant_int(jwt, "exp");
    int no_exp = errno != 0;
    errno = 0;
    long iat = jwt_get_grant_int(jwt, "iat");
    int bad = !iss || strcmp(iss, issuer) != 0 || !typ || strcmp(typ, "access") != 0 || !jti ||
              strlen(jti) >= sizeof out->jti || no_exp || errno != 0 ||
              copy_id(out->sub, sizeof out->sub, jwt_get_grant(jwt, "sub")) ||
              copy_id(out->sid, sizeof out->sid, jwt_get_grant(jwt, "sid"));
    if (!bad) {
        snprintf(out->jti, sizeof out->jti, "%s", jti);
        out->exp = exp;
        out->iat = iat;
    }
    jwt_free(jwt);
    if (bad)
        return hs_err_set(err, HS_EAUTH, "invalid_token", "The access token is not valid");
    if (out->exp <= now_s) {
        hs_err_set(err, HS_EAUTH, "token_expired", "The access token has expired");
        hs_err_hint(err, "get a new one from POST /api/v1/auth/refresh");
        return HS_EAUTH;
    }
    return 0;
}

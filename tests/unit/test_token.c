/* JWT access tokens: the accepted case and every rejected one. */
#include "test.h"

#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#include "hs/token.h"

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
#define KEYLEN 32
#define SUB    "6b0172ba5db2a0a07d08d110"
#define SID    "6b0172c9b8cb4ffe060ac451"

/* Signs arbitrary claims with alg (and key) to forge test tokens. */
static char *forge(jwt_alg_t alg, const unsigned char *k, int klen, const char *iss, long exp,
                   const char *typ)
{
    jwt_t *jwt;
    assert_int_equal(jwt_new(&jwt), 0);
    jwt_add_grant(jwt, "iss", iss);
    jwt_add_grant(jwt, "sub", SUB);
    jwt_add_grant(jwt, "sid", SID);
    jwt_add_grant(jwt, "jti", "abc");
    jwt_add_grant(jwt, "typ", typ);
    jwt_add_grant_int(jwt, "iat", 1000);
    jwt_add_grant_int(jwt, "exp", exp);
    assert_int_equal(jwt_set_alg(jwt, alg, k, klen), 0);
    char *t = jwt_encode_str(jwt);
    jwt_free(jwt);
    assert_non_null(t);
    return t;
}

static void issue_and_verify(void **state)
{
    (void)state;
    hs_arena_t a = {0};
    const char *tok;
    hs_claims_t c;
    hs_err_t err;
    assert_int_equal(hs_token_issue(key, KEYLEN, "hypersend", SUB, SID, 1000, 900, &a, &tok, &err),
                     0);
    assert_int_equal(hs_token_verify(key, KEYLEN, "hypersend", tok, 1001, &c, &err), 0);
    assert_string_equal(c.sub, SUB);
    assert_string_equal(c.sid, SID);
    assert_int_equal(c.exp, 1900);
    assert_true(strlen(c.jti) > 10);
    /* expired one second after exp */
    assert_int_equal(hs_token_verify(key, KEYLEN, "hypersend", tok, 1900, &c, &err), HS_EAUTH);
    assert_string_equal(err.code, "token_expired");
    /* another issuer's configuration refuses it */
    assert_int_equal(hs_token_verify(key, KEYLEN, "other", tok, 1001, &c, &err), HS_EAUTH);
    hs_arena_free(&a);
}

static void expect_invalid(const char *tok)
{
    hs_claims_t c;
    hs_err_t err;
    assert_int_equal(hs_token_verify(key, KEYLEN, "hypersend", tok, 1001, &c, &err), HS_EAUTH);
    assert_string_equal(err.code, "invalid_token");
}

static void rejects_forgeries(void **state)
{
    (void)state;
    char *t;
    /* alg none */
    t = forge(JWT_ALG_NONE, NULL, 0, "hypersend", 5000, "access");
    expect_invalid(t);
    free(t);
    /* another HMAC with the right key */
    t = forge(JWT_ALG_HS512, key, KEYLEN, "hypersend", 5000, "access");
    expect_invalid(t);
    free(t);
    /* the wrong key */
    t = forge(JWT_ALG_HS256, (const unsigned char *)"another-key-another-key-another!", 32,
              "hypersend", 5000, "access");
    expect_invalid(t);
    free(t);
    /* wrong issuer, wrong typ */
    t = forge(JWT_ALG_HS256, key, KEYLEN, "evil", 5000, "access");
    expect_invalid(t);
    free(t);
    t = forge(JWT_ALG_HS256, key, KEYLEN, "hypersend", 5000, "refresh");
    expect_invalid(t);
    free(t);
    /* a good token with one signature byte changed */
    t = forge(JWT_ALG_HS256, key, KEYLEN, "hypersend", 5000, "access");
    hs_claims_t c;
    assert_int_equal(hs_token_verify(key, KEYLEN, "hypersend", t, 1001, &c, NULL), 0);
    char *sig = strrchr(t, '.') + 5;
    *sig = *sig == 'A' ? 'B' : 'A';
    expect_invalid(t);
    free(t);
    /* one signature, one spelling: the same bits spelt with other trailing
     * bits in the last character, or with a fourth segment, do not pass */
    t = forge(JWT_ALG_HS256, key, KEYLEN, "hypersend", 5000, "access");
    size_t n = strlen(t);
    char last = t[n - 1];
    t[n - 1] =
        (char)(last == 'A' || last == 'Q' || last == 'g' || last == 'w' ? last + 1 : last - 1);
    expect_invalid(t);
    t[n - 1] = last;
    char *four = malloc(n + 3);
    snprintf(four, n + 3, "%s.x", t);
    expect_invalid(four);
    free(four);
    free(t);
    expect_invalid("");
    expect_invalid("not.a.token");
    expect_invalid("eyJhbGciOiJIUzI1NiJ9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(issue_and_verify),
        cmocka_unit_test(rejects_forgeries),
    };
    return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}

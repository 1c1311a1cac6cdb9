/* Ids and tokens a client sends: ObjectId validation (every {id} of a
 * route), the access token (a JWT from Authorization, lib/core/token.c) and the
 * random url-safe base64 the server hands out. Input: a mode byte, then
 * the text. Checks: hs_id_valid agrees with its definition (24 lowercase
 * hex); a token only verifies when it is well-formed, signed with our key
 * and unexpired, and its claims then hold valid ids; a token we issue for
 * any ids verifies back to the same claims. */
#include "hs/token.h"
#include "hs/util.h"

#include "fuzz.h"

static const unsigned char key[32] = "fuzz-signing-key-0123456789abcde";
#define ISSUER "hypersend"
#define NOW    1800000000LL

static int ref_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n != 24)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i]) || !s[i])
            return 0;
    return 1;
}

static void check_token(const char *tok)
{
    hs_claims_t c;
    hs_err_t err;
    int rc = hs_token_verify(key, sizeof key, ISSUER, tok, NOW, &c, &err);
    if (rc) {
        FUZZ_CHECK(rc == HS_EAUTH && (strcmp(err.code, "invalid_token") == 0 ||
                                      strcmp(err.code, "token_expired") == 0),
                   "rc %d", rc);
        return;
    }
    FUZZ_CHECK(hs_id_valid(c.sub) && hs_id_valid(c.sid) && c.exp > NOW, "claims");
    FUZZ_CHECK(strlen(tok) <= 4096 && strchr(tok, '.'), "accepted %s", tok);
}

/* Issues a token for ids made of the input and verifies it. */
static void round_trip(const char *s)
{
    char sub[HS_ID_LEN + 1] = "", sid[HS_ID_LEN + 1] = "";
    snprintf(sub, sizeof sub, "%s", s);
    snprintf(sid, sizeof sid, "%s", strlen(s) > HS_ID_LEN ? s + HS_ID_LEN : s);
    hs_arena_t a = {0};
    hs_err_t err;
    const char *tok = NULL;
    long ttl = (long)(strlen(s) % 7) - 1; /* -1: already expired */
    if (hs_token_issue(key, sizeof key, ISSUER, sub, sid, NOW, ttl, &a, &tok, &err) == 0) {
        hs_claims_t c;
        int rc = hs_token_verify(key, sizeof key, ISSUER, tok, NOW, &c, &err);
        int good = hs_id_valid(sub) && hs_id_valid(sid) && ttl > 0;
        FUZZ_CHECK((rc == 0) == good, "verify %d for %s/%s ttl %ld", rc, sub, sid, ttl);
        if (rc == 0)
            FUZZ_CHECK(strcmp(c.sub, sub) == 0 && strcmp(c.sid, sid) == 0 && c.exp == NOW + ttl,
                       "claims changed");
        /* Signed with another key, or re-signed as another issuer: refused. */
        static const unsigned char other[32] = "another-key";
        FUZZ_CHECK(hs_token_verify(other, sizeof other, ISSUER, tok, NOW, &c, &err) != 0,
                   "verified with another key");
        FUZZ_CHECK(hs_token_verify(key, sizeof key, "other", tok, NOW, &c, &err) != 0,
                   "verified for another issuer");
    }
    hs_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    uint8_t mode = fuzz_byte(&in);
    char *s = fuzz_str(&in, 0xff, 0, NULL); /* stops at the first NUL, as C does */
    FUZZ_CHECK(hs_id_valid(s) == ref_id_valid(s), "hs_id_valid(%s)", s);
    switch (mode % 3) {
    case 0:
        check_token(s);
        break;
    case 1:
        round_trip(s);
        break;
    default: {
        char out[96];
        size_t n = (size_t)(mode >> 2) % 65;
        FUZZ_CHECK(hs_random_b64url(out, n) == 0, "b64url of %zu", n);
        FUZZ_CHECK(
            strlen(out) == (4 * n + 2) / 3 &&
                strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                    strlen(out),
            "b64url %s of %zu bytes", out, n);
    }
    }
    free(s);
    return 0;
}

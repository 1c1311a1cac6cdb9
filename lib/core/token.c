#include "hs/token.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <jwt.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
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

/* The keyed HMAC-SHA256 contexts that verification copies. Keying one
 * (fetching the algorithm, hashing the key pads) costs more than the MAC
 * of a token, so each key is keyed once per process, kept for its life
 * (a process has one signing key; tests a few), and copied per token.
 * Copying only reads the template, so threads share it. */
enum { MAC_KEYS = 4, MAX_KEY = 256 };
static struct {
    unsigned char key[MAX_KEY];
    size_t len;
    EVP_MAC_CTX *ctx;
} macs[MAC_KEYS];
static pthread_mutex_t macs_lock = PTHREAD_MUTEX_INITIALIZER;

static EVP_MAC_CTX *keyed_mac(const unsigned char *key, size_t keylen)
{
    EVP_MAC_CTX *ctx = NULL;
    pthread_mutex_lock(&macs_lock);
    for (int i = 0; i < MAC_KEYS && !ctx; i++) {
        if (macs[i].ctx && macs[i].len == keylen && memcmp(macs[i].key, key, keylen) == 0) {
            ctx = EVP_MAC_CTX_dup(macs[i].ctx);
        } else if (!macs[i].ctx && keylen <= MAX_KEY) {
            EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
            EVP_MAC_CTX *t = mac ? EVP_MAC_CTX_new(mac) : NULL;
            EVP_MAC_free(mac); /* the context holds its own reference */
            OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                                   OSSL_PARAM_construct_end()};
            if (!t || !EVP_MAC_init(t, key, keylen, params)) {
                EVP_MAC_CTX_free(t);
                break;
            }
            memcpy(macs[i].key, key, keylen);
            macs[i].len = keylen;
            macs[i].ctx = t;
            ctx = EVP_MAC_CTX_dup(t);
        }
    }
    pthread_mutex_unlock(&macs_lock);
    return ctx;
}

/* HMAC-SHA256 of data under key into out (32 bytes); 0 or -1. A key not
 * in the table (a fifth one) is keyed on the spot. */
static int hmac_sha256(const unsigned char *key, size_t keylen, const char *data, size_t n,
                       unsigned char out[32])
{
    EVP_MAC_CTX *ctx = keyed_mac(key, keylen);
    size_t len = 0;
    int ok;
    if (ctx)
        ok = EVP_MAC_update(ctx, (const unsigned char *)data, n) &&
             EVP_MAC_final(ctx, out, &len, 32) && len == 32;
    else
        ok = HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, n, out,
                  (unsigned *)&len) != NULL &&
             len == 32;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : -1;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* Decodes n characters of unpadded base64url into out (at least n*3/4+1
 * bytes), NUL-terminated; the decoded length, or -1 on a bad character or
 * length. */
static long b64url_decode(const char *in, size_t n, unsigned char *out)
{
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    out[o] = '\0';
    return (long)o;
}

static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = abc[(acc >> bits) & 63];
        }
    }
    if (bits)
        out[o++] = abc[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

/* A string claim, or NULL. */
static const char *claim_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An integer claim (a JSON number with no fraction); -1 when absent or not
 * one. */
static int claim_int(const cJSON *o, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9.0e15 && v->valuedouble <= 9.0e15) ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return -1;
    *out = (int64_t)v->valuedouble;
    return 0;
}

/* Checks the token's form, header (alg exactly HS256) and signature, and
 * returns its parsed claims (the caller deletes them), or NULL. The
 * signature is compared in its base64url form, in constant time, so a
 * token has one valid spelling. Parsing here rather than with libjwt's
 * decoder spares a JSON library and a key setup per request. */
static cJSON *verified_claims(const unsigned char *key, size_t keylen, const char *token)
{
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
        return NULL;
    size_t hlen = (size_t)(dot1 - token), plen = (size_t)(dot2 - dot1 - 1);
    unsigned char mac[32], buf[3072];
    char sig[48];
    if (hlen == 0 || plen == 0 || hlen > 512 || plen * 3 / 4 + 1 > sizeof buf ||
        hmac_sha256(key, keylen, token, (size_t)(dot2 - token), mac))
        return NULL;
    b64url_encode(mac, sizeof mac, sig);
    if (strlen(dot2 + 1) != strlen(sig) || CRYPTO_memcmp(sig, dot2 + 1, strlen(sig)) != 0)
        return NULL;
    if (b64url_decode(token, hlen, buf) < 0)
        return NULL;
    cJSON *h = cJSON_Parse((const char *)buf);
    const char *alg = claim_str(h, "alg");
    int ok = cJSON_IsObject(h) && alg && strcmp(alg, "HS256") == 0;
    cJSON_Delete(h);
    if (!ok || b64url_decode(dot1 + 1, plen, buf) < 0)
        return NULL;
    cJSON *c = cJSON_Parse((const char *)buf);
    if (!cJSON_IsObject(c)) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

int hs_token_verify(const unsigned char *key, size_t keylen, const char *issuer, const char *token,
                    int64_t now_s, hs_claims_t *out, hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!token || !*token || strlen(token) > 4096)
        return hs_err_set(err, HS_EAUTH, "invalid_token", "The access token is not valid");
    /* Only an HS256 signature by our key passes: "none", other HMACs and
     * key confusion with asymmetric algorithms are refused. */
    cJSON *c = verified_claims(key, keylen, token);
    const char *iss = claim_str(c, "iss"), *typ = claim_str(c, "typ");
    const char *jti = claim_str(c, "jti");
    int64_t exp = 0, iat = 0;
    int bad = !c || !iss || strcmp(iss, issuer) != 0 || !typ || strcmp(typ, "access") != 0 ||
              !jti || strlen(jti) >= sizeof out->jti || claim_int(c, "exp", &exp) ||
              claim_int(c, "iat", &iat) ||
              copy_id(out->sub, sizeof out->sub, claim_str(c, "sub")) ||
              copy_id(out->sid, sizeof out->sid, claim_str(c, "sid"));
    if (!bad) {
        snprintf(out->jti, sizeof out->jti, "%s", jti);
        out->exp = exp;
        out->iat = iat;
    }
    cJSON_Delete(c);
    if (bad) {
        memset(out, 0, sizeof *out);
        return hs_err_set(err, HS_EAUTH, "invalid_token", "The access token is not valid");
    }
    if (out->exp <= now_s) {
        hs_err_set(err, HS_EAUTH, "token_expired", "The access token has expired");
        hs_err_hint(err, "get a new one from POST /api/v1/auth/refresh");
        return HS_EAUTH;
    }
    return 0;
}

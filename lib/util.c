#include "hs/util.h"

#include <bson/bson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int hs_random_bytes(void *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int hs_random_hex(char *out, size_t n)
{
    unsigned char buf[64];
    if (n > sizeof buf || hs_random_bytes(buf, n))
        return -1;
    to_hex(buf, n, out);
    return 0;
}

size_t hs_b64_encode(const void *in, size_t n, char *out)
{
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static int b64_alphabet(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

long hs_b64_decode(const char *in, size_t n, unsigned char *out)
{
    /* EVP_DecodeBlock skips blanks, counts padding as zero bytes and takes
     * '=' anywhere: the text is checked here first, so the length returned
     * is the true one and never below zero. */
    if (n % 4 || n > INT_MAX / 2)
        return -1;
    size_t pad = 0;
    while (pad < 2 && pad < n && in[n - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++)
        if (!b64_alphabet(in[i]))
            return -1;
    out[0] = '\0';
    if (n == 0)
        return 0;
    int len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (len < 0 || (size_t)len != n / 4 * 3)
        return -1;
    len -= (int)pad;
    out[len] = '\0';
    return len;
}

int hs_random_b64url(char *out, size_t n)
{
    unsigned char buf[64];
    char tmp[HS_B64_ENCODED(sizeof buf)];
    if (n > sizeof buf || hs_random_bytes(buf, n))
        return -1;
    size_t len = hs_b64_encode(buf, n, tmp);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        char c = tmp[i];
        if (c == '=')
            break;
        out[j++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[j] = '\0';
    return 0;
}

int hs_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return 0;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

void hs_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, n, md);
    to_hex(md, sizeof md, out);
}

void hs_id_new(char out[HS_ID_LEN + 1])
{
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    bson_oid_to_string(&oid, out);
}

int hs_id_valid(const char *s)
{
    if (!s || strlen(s) != HS_ID_LEN)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

int64_t hs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hs_time_iso(int64_t ms, char out[25])
{
    if (ms < 0)
        ms = 0;
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(out, 21, "%Y-%m-%dT%H:%M:%S", &tm);
    unsigned frac = (unsigned)(ms % 1000);
    out[n] = '.';
    out[n + 1] = (char)('0' + frac / 100);
    out[n + 2] = (char)('0' + frac / 10 % 10);
    out[n + 3] = (char)('0' + frac % 10);
    out[n + 4] = 'Z';
    out[n + 5] = '\0';
}

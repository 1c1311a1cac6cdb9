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

void hs_hex(const unsigned char *in, size_t n, char *out)
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
    hs_hex(buf, n, out);
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
    hs_hex(md, sizeof md, out);
}

void hs_id_new(char out[HS_ID_LEN + 1])
{
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    bson_oid_to_string(&oid, out);
}

int hs_hex_valid(const char *s, size_t len)
{
    return s && strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

int hs_id_valid(const char *s)
{
    return hs_hex_valid(s, HS_ID_LEN);
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

/* RFC 9110 tchar: the characters of a token. */
static int tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Copies the token at *p (lowercased when lower) to out; its length, 0 if none. */
static size_t take_token(const char **p, char *out, size_t *o, int lower)
{
    size_t n = 0;
    while (tchar((unsigned char)(*p)[n])) {
        char c = (*p)[n];
        out[(*o)++] = lower && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        n++;
    }
    *p += n;
    return n;
}

int hs_content_type_normalize(const char *in, char *out, size_t cap)
{
    /* Every output byte comes from one input byte, but for the space after
     * each ';' (at most 8): the output fits in strlen(in) + 9 bytes. */
    if (!in || strlen(in) > HS_CONTENT_TYPE_MAX || cap < HS_CONTENT_TYPE_BUF)
        return -1;
    const char *p = in;
    size_t o = 0;
    int params = 0;
    while (ows((unsigned char)*p))
        p++;
    if (!take_token(&p, out, &o, 1) || *p++ != '/')
        return -1;
    out[o++] = '/';
    if (!take_token(&p, out, &o, 1))
        return -1;
    for (;;) {
        while (ows((unsigned char)*p))
            p++;
        if (!*p)
            break;
        if (*p++ != ';' || ++params > 8)
            return -1;
        while (ows((unsigned char)*p))
            p++;
        out[o++] = ';';
        out[o++] = ' ';
        if (!take_token(&p, out, &o, 1) || *p++ != '=')
            return -1;
        out[o++] = '=';
        if (*p != '"') {
            if (!take_token(&p, out, &o, 0))
                return -1;
            continue;
        }
        /* quoted-string of qdtext and quoted-pairs, ASCII only (obs-text refused) */
        out[o++] = *p++;
        for (;; p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '"')
                break;
            if (c == '\\') {
                out[o++] = *p++;
                c = (unsigned char)*p;
                if (!(c == '\t' || (c >= 0x20 && c < 0x7f)))
                    return -1;
            } else if (!(c == '\t' || (c >= 0x20 && c < 0x7f))) {
                return -1; /* NUL (the end), CR, LF, controls, non-ASCII */
            }
            out[o++] = (char)c;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
    /* The stored form must pass this check again (it is checked when sent). */
    return o <= HS_CONTENT_TYPE_MAX ? 0 : -1;
}

/* The length of the type/subtype part of a normalised content type. */
static size_t essence_len(const char *ct)
{
    return strcspn(ct, ";");
}

static int essence_is(const char *ct, const char *want)
{
    size_t n = essence_len(ct);
    return strlen(want) == n && strncmp(ct, want, n) == 0;
}

int hs_content_type_passive(const char *ct)
{
    static const char *const images[] = {
        "image/png",       "image/jpeg",   "image/gif",  "image/webp",
        "image/avif",      "image/apng",   "image/bmp",  "image/heic",
        "image/heif",      "image/x-icon", "image/tiff", "image/vnd.microsoft.icon",
        "application/pdf", "text/plain",
    };
    if (!ct)
        return 0;
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++)
        if (essence_is(ct, images[i]))
            return 1;
    /* Media elements never run script; XML-based subtypes aside, to be sure. */
    size_t n = essence_len(ct);
    int media = strncmp(ct, "audio/", 6) == 0 || strncmp(ct, "video/", 6) == 0;
    return media && !memmem(ct, n, "xml", 3) && !memmem(ct, n, "html", 4);
}

int hs_content_type_active(const char *ct)
{
    static const char *const words[] = {"html",  "xml",   "script",  "svg",  "json",
                                        "xsl",   "flash", "java",    "wasm", "event-stream",
                                        "mhtml", "rdf",   "manifest"};
    if (!ct || hs_content_type_passive(ct))
        return 0;
    size_t n = essence_len(ct);
    /* Every text type but text/plain may be rendered or run by some browser
     * (html, xml, javascript, css, vtt ...), and so may multipart types. */
    if (strncmp(ct, "text/", 5) == 0 || strncmp(ct, "multipart/", 10) == 0 ||
        strncmp(ct, "message/", 8) == 0)
        return 1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (memmem(ct, n, words[i], strlen(words[i])))
            return 1;
    return 0;
}

long hs_utf8_next(const char **pp)
{
    const unsigned char *s = (const unsigned char *)*pp;
    unsigned c = *s;
    int extra;
    unsigned min;
    if (c < 0x80) {
        *pp = (const char *)s + 1;
        return c;
    }
    if ((c & 0xE0) == 0xC0) {
        extra = 1;
        min = 0x80;
        c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        extra = 2;
        min = 0x800;
        c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        extra = 3;
        min = 0x10000;
        c &= 0x07;
    } else {
        return -1;
    }
    for (int i = 1; i <= extra; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *pp = (const char *)s + 1 + extra;
    return (long)c;
}

int hs_text_bidi_control(long cp)
{
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

int hs_text_invisible(long cp)
{
    return (cp >= 0x200B && cp <= 0x200F) || cp == 0x2060 || cp == 0xFEFF;
}

int hs_text_check(const char *s, unsigned flags)
{
    const char *p = s;
    while (*p) {
        long cp = hs_utf8_next(&p);
        if (cp < 0)
            return HS_TEXT_BAD_UTF8;
        int control = cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
        if (control && !((flags & HS_TEXT_MULTILINE) && (cp == '\n' || cp == '\t')))
            return HS_TEXT_CONTROL;
        if (hs_text_bidi_control(cp))
            return HS_TEXT_BIDI;
        if (!(flags & HS_TEXT_ALLOW_INVISIBLE) && hs_text_invisible(cp))
            return HS_TEXT_INVISIBLE;
    }
    return 0;
}

long hs_utf8_len(const char *s)
{
    long n = 0;
    while (*s) {
        if (hs_utf8_next(&s) < 0)
            return -1;
        n++;
    }
    return n;
}

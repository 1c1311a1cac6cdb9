/* JSON request bodies and the typed field validators (lib/http/json.c) on a fake
 * request. Input: a byte choosing how Content-Length relates to the body
 * (exact, absent, short, long, not a number), then the body. A refused
 * body or field must give one well-formed 4xx reply with a code; an
 * accepted one must meet the bounds asked for. hs_utf8_len is checked
 * against an independent table of well-formed UTF-8 (RFC 3629). */
#include "hs/json.h"

#include "fuzz.h"

/* Code points in s, or -1 when s is not well-formed UTF-8. */
static long ref_utf8_len(const unsigned char *s)
{
    long n = 0;
    while (*s) {
        unsigned c = *s, lo = 0x80, hi = 0xBF;
        int extra;
        if (c < 0x80)
            extra = 0;
        else if (c >= 0xC2 && c <= 0xDF)
            extra = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            extra = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4)
            extra = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        else
            return -1;
        s++;
        for (int i = 0; i < extra; i++, s++) {
            unsigned min = i == 0 ? lo : 0x80, max = i == 0 ? hi : 0xBF;
            if (*s < min || *s > max)
                return -1;
        }
        n++;
    }
    return n;
}

/* Checks the reply of a refused field (or of nothing) and readies the
 * request for the next validator. */
static void next_check(fuzz_req_t *f, int rc, const char *what)
{
    int status = fuzz_check_reply(f);
    if (rc)
        FUZZ_CHECK(status >= 400 && status < 500, "%s refused with status %d", what, status);
    else
        FUZZ_CHECK(status == 0, "%s accepted but replied %d", what, status);
    f->olen = 0;
    f->req.replied = 0;
    f->req.hlen = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    uint8_t mode = fuzz_byte(&in);
    char cl[48];
    const char *env[] = {cl, "CONTENT_TYPE=application/json", NULL};
    switch (mode % 5) {
    case 0:
        snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", in.n);
        break;
    case 1:
        snprintf(cl, sizeof cl, "HTTP_X=absent");
        break;
    case 2:
        snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", in.n / 2);
        break;
    case 3:
        snprintf(cl, sizeof cl, "CONTENT_LENGTH=%zu", in.n + mode);
        break;
    default:
        snprintf(cl, sizeof cl, "CONTENT_LENGTH=%s", mode & 8 ? "-1" : "12x");
    }
    /* The raw bytes as a C string, for the UTF-8 differential. */
    char *text = malloc(in.n + 1);
    memcpy(text, in.p, in.n);
    text[in.n] = '\0';
    FUZZ_CHECK(hs_utf8_len(text) == ref_utf8_len((const unsigned char *)text),
               "hs_utf8_len %ld, reference %ld", hs_utf8_len(text),
               ref_utf8_len((const unsigned char *)text));

    static fuzz_req_t f;
    fuzz_req_init(&f, in.p, in.n, env);
    f.req.method = "POST";
    cJSON *obj;
    int rc = hs_json_body_or_reply(&f.req, &obj);
    next_check(&f, rc, "body");
    if (rc == 0) {
        FUZZ_CHECK(cJSON_IsObject(obj) && f.req.json == obj, "not an object");
        const char *s;
        rc = hs_json_string_or_reply(&f.req, obj, "name", 1, 1, 64, &s);
        next_check(&f, rc, "name");
        if (rc == 0) {
            long n = ref_utf8_len((const unsigned char *)s);
            FUZZ_CHECK(n >= 1 && n <= 64, "name of %ld characters", n);
        }
        rc = hs_json_string_or_reply(&f.req, obj, "opt", 0, 0, 5, &s);
        next_check(&f, rc, "opt");
        if (rc == 0 && s)
            FUZZ_CHECK(ref_utf8_len((const unsigned char *)s) <= 5, "opt too long");
        int64_t v;
        rc = hs_json_int_or_reply(&f.req, obj, "count", 0, -1000, 1000, 7, &v);
        next_check(&f, rc, "count");
        if (rc == 0)
            FUZZ_CHECK(v >= -1000 && v <= 1000, "count %lld", (long long)v);
        rc = hs_json_int_or_reply(&f.req, obj, "size", 0, 0, INT64_MAX, 0, &v);
        next_check(&f, rc, "size");
        if (rc == 0)
            FUZZ_CHECK(v >= 0, "size %lld", (long long)v);
        const cJSON *o;
        rc = hs_json_object_or_reply(&f.req, obj, "meta", 0, &o);
        next_check(&f, rc, "meta");
        if (rc == 0 && o)
            FUZZ_CHECK(cJSON_IsObject(o), "meta is not an object");
    }
    fuzz_req_free(&f);
    free(text);
    return 0;
}

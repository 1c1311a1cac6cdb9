/* Query strings, page cursors and Content-Length on a fake request
 * (lib/http/http.c, lib/http/json.c). Input: the query string up to '\n', the
 * Content-Length header value up to '\n', then a body. The parsed pairs
 * must equal an independent decoding of the query; ?limit= and ?cursor=
 * are accepted only in range and well-formed; the body read is exactly
 * the declared length or refused. Percent-encoding any bytes and decoding
 * them gives them back. */
#include "hs/json.h"
#include "hs/util.h"

#include "fuzz.h"

static int hexv(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes s[0..n) into out (n+1 bytes); 0, or -1 for a bad or NUL escape. */
static int ref_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] != '%') {
            out[o++] = s[i];
        } else {
            if (i + 2 >= n || hexv(s[i + 1]) < 0 || hexv(s[i + 2]) < 0)
                return -1;
            char c = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
            if (!c)
                return -1;
            out[o++] = c;
            i += 2;
        }
    }
    out[o] = '\0';
    return 0;
}

static void check_query(fuzz_req_t *f, const char *q)
{
    int rc = hs_req_parse_query(&f->req, q);
    /* The reference: split on '&', skip empty pieces, name=value. */
    int n = 0, ok = 1;
    char *k = malloc(strlen(q) + 1), *v = malloc(strlen(q) + 1);
    for (const char *p = q; ok && p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len) {
            const char *eq = memchr(p, '=', len);
            size_t kl = eq ? (size_t)(eq - p) : len;
            if (n == HS_MAX_QUERY || ref_decode(p, kl, k) ||
                (eq ? ref_decode(eq + 1, len - kl - 1, v) : (v[0] = '\0', 0))) {
                ok = 0;
                break;
            }
            if (rc == 0) {
                FUZZ_CHECK(strcmp(f->req.qnames[n], k) == 0, "name %d", n);
                FUZZ_CHECK(strcmp(f->req.qvalues[n], v) == 0, "value %d", n);
            }
            n++;
        }
        p = amp ? amp + 1 : NULL;
    }
    FUZZ_CHECK((rc == 0) == ok, "parse gave %d, reference %s", rc, ok ? "ok" : "refused");
    if (rc == 0)
        FUZZ_CHECK(f->req.nquery == n, "%d pairs, reference %d", f->req.nquery, n);
    free(k);
    free(v);
}

static void check_page(fuzz_req_t *f)
{
    int limit = -1;
    const char *cursor = NULL;
    int rc = hs_req_page_or_reply(&f->req, &limit, &cursor);
    int status = fuzz_check_reply(f);
    if (rc) {
        FUZZ_CHECK(status == 400, "page refused with %d", status);
    } else {
        FUZZ_CHECK(status == 0, "page accepted but replied");
        FUZZ_CHECK(limit >= 1 && limit <= 100, "limit %d", limit);
        FUZZ_CHECK(!cursor || hs_id_valid(cursor), "cursor %s", cursor);
        const char *lv = hs_req_query(&f->req, "limit");
        FUZZ_CHECK(lv ? limit == atoi(lv) : limit == 20, "limit %d from %s", limit, lv);
    }
}

static void check_body(fuzz_req_t *f, const char *cl, size_t avail)
{
    long long declared = hs_req_content_length(&f->req);
    FUZZ_CHECK(declared >= -1, "Content-Length %lld", declared);
    if (declared >= 0)
        FUZZ_CHECK(*cl && strtoll(cl, NULL, 10) == declared, "%lld from '%s'", declared, cl);
    char *buf;
    size_t len;
    hs_err_t err;
    int rc = hs_req_body(&f->req, 1024, &buf, &len, &err);
    if (rc == 0) {
        FUZZ_CHECK(len == (size_t)(declared < 0 ? 0 : declared) && len <= avail && len <= 1024,
                   "body of %zu for %lld", len, declared);
        FUZZ_CHECK(buf[len] == '\0', "body not terminated");
    } else {
        FUZZ_CHECK(rc == HS_EINVAL || rc == HS_ETOOBIG, "body rc %d", rc);
        FUZZ_CHECK(!buf && !len, "refused body left output");
    }
}

/* Percent-encodes every byte of s and decodes it back. */
static void round_trip(hs_arena_t *a, const char *s, size_t n)
{
    char *enc = malloc(3 * n + 1);
    size_t e = 0;
    for (size_t i = 0; i < n; i++)
        e += (size_t)sprintf(enc + e, (unsigned char)s[i] % 3 ? "%%%02X" : "%%%02x",
                             (unsigned char)s[i]);
    char *dec = hs_url_decode(a, enc, e, 0);
    FUZZ_CHECK(dec && strlen(dec) == n && memcmp(dec, s, n) == 0, "round trip");
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    size_t qlen;
    char *q = fuzz_str(&in, '\n', 1, &qlen);
    char *cl = fuzz_str(&in, '\n', 1, NULL);
    char *env_cl = malloc(strlen(cl) + 16);
    sprintf(env_cl, "CONTENT_LENGTH=%s", cl);
    const char *env[] = {env_cl, NULL};
    static fuzz_req_t f;
    fuzz_req_init(&f, in.p, in.n, env);
    check_query(&f, q);
    if (f.req.nquery || !*q)
        check_page(&f);
    check_body(&f, cl, in.n);
    round_trip(&f.arena, q, qlen);
    fuzz_req_free(&f);
    free(q);
    free(cl);
    free(env_cl);
    return 0;
}

/* multipart/form-data bodies (lib/core/multipart.c). Input: a byte choosing how
 * many bytes the source hands out per call, a byte choosing the reader's
 * buffer size, the Content-Type up to '\n', then the body. The body is
 * parsed twice, with those sizes and all at once; both passes must see the
 * same parts, the same bytes and the same outcome (the reader promises any
 * split of the input gives the same result), and never more bytes than the
 * body holds. */
#include "hs/multipart.h"
#include "../unit/step_source.h"

#include "fuzz.h"

typedef struct log {
    char *p;
    size_t len;
} log_t;

static void put(log_t *l, const void *d, size_t n)
{
    l->p = realloc(l->p, l->len + n + 1);
    memcpy(l->p + l->len, d, n);
    l->len += n;
}

static hs_multipart_t m; /* 64 KiB: not on the stack */

/* Parses the body, writing what it sees to l; the bytes of part bodies
 * read are added to *body_bytes. */
static void parse(const char *ctype, const uint8_t *body, size_t len, size_t step, size_t rsize,
                  log_t *l, size_t *body_bytes)
{
    src_t s = {body, len, 0, step};
    hs_err_t err;
    char tag[64];
    int rc = hs_multipart_open(&m, ctype, src_read, &s, &err);
    int n = snprintf(tag, sizeof tag, "open %d\n", rc);
    put(l, tag, (size_t)n);
    if (rc)
        return;
    static char buf[HS_MULTIPART_BUF + 1];
    for (int part = 0;; part++) {
        rc = hs_multipart_next(&m, &err);
        n = snprintf(tag, sizeof tag, "next %d\n", rc);
        put(l, tag, (size_t)n);
        if (rc != 1) {
            FUZZ_CHECK(rc == 0 || (rc == HS_EINVAL && strcmp(err.code, "malformed_multipart") == 0),
                       "next gave %d", rc);
            /* The outcome sticks. */
            FUZZ_CHECK(hs_multipart_next(&m, &err) == rc, "a second next disagrees");
            break;
        }
        FUZZ_CHECK(memchr(m.name, '\0', sizeof m.name) &&
                       memchr(m.filename, '\0', sizeof m.filename),
                   "unterminated name");
        put(l, m.name, strlen(m.name) + 1);
        if (m.has_filename)
            put(l, m.filename, strlen(m.filename) + 1);
        if (part % 3 == 2) {
            /* Fields are read whole, as the apps read them. */
            rc = hs_multipart_read_field(&m, buf, 64, &err);
            n = snprintf(tag, sizeof tag, "field %d\n", rc);
            put(l, tag, (size_t)n);
            if (rc == 0) {
                FUZZ_CHECK(strlen(buf) <= 64, "field of %zu bytes", strlen(buf));
                put(l, buf, strlen(buf));
            }
            continue;
        }
        size_t got;
        while ((got = hs_multipart_read(&m, buf, rsize)) > 0) {
            FUZZ_CHECK(got <= rsize, "read %zu of %zu", got, rsize);
            *body_bytes += got;
            FUZZ_CHECK(*body_bytes <= len, "more body bytes than input");
            put(l, buf, got);
        }
        put(l, "|", 1);
    }
    FUZZ_CHECK(s.pos <= len, "source overread");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t steps[] = {1, 2, 3, 7, 64, 4096, 65535, SIZE_MAX};
    static const size_t rsizes[] = {1, 2, 5, 13, 100, 4096, 65536, HS_MULTIPART_BUF};
    fuzz_in_t in = {data, size};
    size_t step = steps[fuzz_byte(&in) % 8], rsize = rsizes[fuzz_byte(&in) % 8];
    char *ctype = fuzz_str(&in, '\n', 1, NULL);
    log_t a = {0}, b = {0};
    size_t bytes_a = 0, bytes_b = 0;
    parse(ctype, in.p, in.n, step, rsize, &a, &bytes_a);
    parse(ctype, in.p, in.n, SIZE_MAX, HS_MULTIPART_BUF, &b, &bytes_b);
    FUZZ_CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
               "step %zu / read %zu differ from one pass", step, rsize);
    free(a.p);
    free(b.p);
    free(ctype);
    return 0;
}

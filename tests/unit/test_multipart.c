/* Streaming multipart/form-data reader (lib/core/multipart.c). Every body is fed
 * through a source that hands out at most `step` bytes per call, from one
 * byte at a time up to all at once, so delimiters are split at every
 * possible position. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs/multipart.h"
#include "step_source.h"

static const size_t steps[] = {1, 7, 4096, (size_t)1 << 24};
#define NSTEPS (sizeof steps / sizeof steps[0])
/* Sizes the consumer asks hs_multipart_read for. */
static const size_t rsizes[] = {1, 13, 65536};
#define NRSIZES (sizeof rsizes / sizeof rsizes[0])

/* ---- a growable byte string for building bodies ---- */

typedef struct bytes {
    char *p;
    size_t len, cap;
} bytes_t;

static void put(bytes_t *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(bytes_t *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Appends "--boundary\r\n" (with a leading CRLF unless it is the first) and
 * a Content-Disposition naming the part. */
static void part(bytes_t *b, const char *boundary, const char *name, const char *filename)
{
    puts_(b, b->len ? "\r\n--" : "--");
    puts_(b, boundary);
    puts_(b, "\r\nContent-Disposition: form-data; name=\"");
    puts_(b, name);
    puts_(b, "\"");
    if (filename) {
        puts_(b, "; filename=\"");
        puts_(b, filename);
        puts_(b, "\"\r\nContent-Type: application/octet-stream");
    }
    puts_(b, "\r\n\r\n");
}

static void close_body(bytes_t *b, const char *boundary)
{
    puts_(b, "\r\n--");
    puts_(b, boundary);
    puts_(b, "--\r\n");
}

/* Parses a whole body, writing each part as "[name]" or "[name:filename]"
 * followed by its body bytes into out. Returns what open or the last next
 * returned: 0 after the closing delimiter, or an error. */
static int collect(const char *ct, const void *data, size_t len, size_t step, size_t rsz,
                   bytes_t *out, hs_err_t *err)
{
    hs_multipart_t *m = malloc(sizeof *m);
    assert_non_null(m);
    src_t s = {.data = data, .len = len, .step = step};
    char *chunk = malloc(rsz);
    assert_non_null(chunk);
    out->len = 0;
    int rc = hs_multipart_open(m, ct, src_read, &s, err);
    /* Nothing is readable before the first part. */
    if (rc == 0)
        assert_int_equal(hs_multipart_read(m, chunk, rsz), 0);
    while (rc == 0 && (rc = hs_multipart_next(m, err)) == 1) {
        puts_(out, "[");
        puts_(out, m->name);
        if (m->has_filename) {
            puts_(out, ":");
            puts_(out, m->filename);
        }
        puts_(out, "]");
        size_t n;
        while ((n = hs_multipart_read(m, chunk, rsz)) > 0) {
            assert_true(n <= rsz);
            put(out, chunk, n);
        }
        /* The end of a part stays the end. */
        assert_int_equal(hs_multipart_read(m, chunk, rsz), 0);
        rc = 0;
    }
    if (rc == 0) /* done stays done */
        assert_int_equal(hs_multipart_next(m, err), 0);
    free(chunk);
    free(m);
    return rc;
}

/* collect() at every source step and read size must give exactly want. */
static void expect_parts(const char *ct, const void *data, size_t len, const char *want,
                         size_t wantlen)
{
    bytes_t out = {0};
    for (size_t i = 0; i < NSTEPS; i++) {
        for (size_t j = 0; j < NRSIZES; j++) {
            hs_err_t err = {0};
            int rc = collect(ct, data, len, steps[i], rsizes[j], &out, &err);
            if (rc != 0)
                fail_msg("step %zu rsz %zu: rc %d (%s: %s)", steps[i], rsizes[j], rc,
                         err.code ? err.code : "", err.message);
            assert_int_equal(out.len, wantlen);
            assert_memory_equal(out.p, want, wantlen);
        }
    }
    free(out.p);
}

/* collect() at every source step must fail with HS_EINVAL and code. */
static void expect_error(const char *ct, const void *data, size_t len, const char *code)
{
    bytes_t out = {0};
    for (size_t i = 0; i < NSTEPS; i++) {
        hs_err_t err = {0};
        int rc = collect(ct, data, len, steps[i], 4096, &out, &err);
        assert_int_equal(rc, HS_EINVAL);
        assert_int_equal(err.rc, HS_EINVAL);
        assert_int_equal(err.status, 400);
        assert_non_null(err.code);
        assert_string_equal(err.code, code);
        assert_true(err.message[0] != '\0');
    }
    free(out.p);
}

#define CT_ABC "multipart/form-data; boundary=abc"

static void expect_str(const char *ct, const char *body, const char *want)
{
    expect_parts(ct, body, strlen(body), want, strlen(want));
}

static void expect_str_error(const char *ct, const char *body, const char *code)
{
    expect_error(ct, body, strlen(body), code);
}

/* ---- the upload a client sends: two fields and a binary chunk ---- */

#define CURL_B  "------------------------d74496d66958873e"
#define CURL_CT "multipart/form-data; boundary=" CURL_B
#define BIN_LEN (200 * 1024 + 3)

/* Random bytes salted with NULs, CRLFs, "\r\n--", the delimiter minus its
 * last byte, and such a prefix straddling the 64 KiB window size. */
static char *make_binary(void)
{
    static const char near[] = "\r\n--" CURL_B;
    const size_t nl = sizeof near - 2; /* all but the last char */
    char *bin = malloc(BIN_LEN);
    assert_non_null(bin);
    unsigned long long x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < BIN_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bin[i] = (char)(x >> 24);
    }
    memcpy(bin, "\r\n--", 4); /* at the very start of the body */
    for (size_t at = 100; at + 64 < BIN_LEN; at += 997) {
        switch ((at / 997) % 4) {
        case 0:
            memcpy(bin + at, "\r\n--\0\0\r\n", 8);
            break;
        case 1:
            memcpy(bin + at, near, nl);
            break;
        case 2:
            memset(bin + at, 0, 40);
            break;
        default:
            memcpy(bin + at, "\r\r\n\r\n-\r\n--", 10);
        }
    }
    memcpy(bin + 65536 - 10, near, nl);
    memcpy(bin + BIN_LEN - nl, near, nl); /* right before the real delimiter */
    return bin;
}

static void build_upload(bytes_t *b, const char *bin)
{
    part(b, CURL_B, "upload_id", NULL);
    puts_(b, "u-0123456789abcdef");
    part(b, CURL_B, "chunk_number", NULL);
    puts_(b, "7");
    part(b, CURL_B, "chunk", "part-7.bin");
    put(b, bin, BIN_LEN);
    close_body(b, CURL_B);
}

static void curl_upload_every_step(void **state)
{
    (void)state;
    char *bin = make_binary();
    bytes_t body = {0};
    build_upload(&body, bin);
    char *got = malloc(BIN_LEN + 1);
    assert_non_null(got);
    hs_multipart_t *m = malloc(sizeof *m);
    assert_non_null(m);

    for (size_t i = 0; i < NSTEPS; i++) {
        for (size_t j = 0; j < NRSIZES; j++) {
            src_t s = {.data = body.p, .len = body.len, .step = steps[i]};
            hs_err_t err = {0};
            char field[64];
            assert_int_equal(hs_multipart_open(m, CURL_CT, src_read, &s, &err), 0);

            assert_int_equal(hs_multipart_next(m, &err), 1);
            assert_string_equal(m->name, "upload_id");
            assert_int_equal(m->has_filename, 0);
            assert_int_equal(hs_multipart_read_field(m, field, sizeof field - 1, &err), 0);
            assert_string_equal(field, "u-0123456789abcdef");

            assert_int_equal(hs_multipart_next(m, &err), 1);
            assert_string_equal(m->name, "chunk_number");
            assert_int_equal(m->has_filename, 0);
            assert_int_equal(hs_multipart_read_field(m, field, sizeof field - 1, &err), 0);
            assert_string_equal(field, "7");

            assert_int_equal(hs_multipart_next(m, &err), 1);
            assert_string_equal(m->name, "chunk");
            assert_int_equal(m->has_filename, 1);
            assert_string_equal(m->filename, "part-7.bin");
            /* a zero-byte read is not the end of the part */
            assert_int_equal(hs_multipart_read(m, got, 0), 0);
            size_t total = 0, n;
            while ((n = hs_multipart_read(m, got + total, rsizes[j])) > 0) {
                assert_true(n <= rsizes[j]);
                total += n;
                assert_true(total <= BIN_LEN);
            }
            assert_int_equal(total, BIN_LEN);
            assert_memory_equal(got, bin, BIN_LEN);

            assert_int_equal(hs_multipart_next(m, &err), 0);
            assert_int_equal(hs_multipart_next(m, &err), 0);
        }
    }
    free(m);
    free(got);
    free(body.p);
    free(bin);
}

/* next() skips unread (or half-read) parts, including a binary one. */
static void skip_unread_parts(void **state)
{
    (void)state;
    char *bin = make_binary();
    bytes_t body = {0};
    build_upload(&body, bin);
    hs_multipart_t *m = malloc(sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < NSTEPS; i++) {
        src_t s = {.data = body.p, .len = body.len, .step = steps[i]};
        hs_err_t err = {0};
        char got[100];
        assert_int_equal(hs_multipart_open(m, CURL_CT, src_read, &s, &err), 0);
        assert_int_equal(hs_multipart_next(m, &err), 1);
        assert_int_equal(hs_multipart_next(m, &err), 1);
        assert_string_equal(m->name, "chunk_number");
        assert_int_equal(hs_multipart_next(m, &err), 1);
        assert_string_equal(m->name, "chunk");
        assert_int_equal(hs_multipart_read(m, got, sizeof got), sizeof got);
        assert_memory_equal(got, bin, sizeof got);
        assert_int_equal(hs_multipart_next(m, &err), 0);
        /* the whole body was consumed, except perhaps the epilogue's CRLF */
        assert_true(s.pos >= body.len - 2);
    }
    free(m);
    free(body.p);
    free(bin);
}

/* ---- Content-Type forms ---- */

static void boundary_forms(void **state)
{
    (void)state;
    static const struct {
        const char *ct, *boundary;
    } cases[] = {
        {"multipart/form-data; boundary=abc", "abc"},
        {"multipart/form-data; boundary=\"abc\"", "abc"},
        {"Multipart/Form-Data;BOUNDARY=abc", "abc"},
        {"  multipart/form-data ; charset=utf-8 ;  boundary = \"a b:c\" ; x=\"y;z\" ", "a b:c"},
        {"multipart/form-data; charset=\"utf-8\"; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
         "----WebKitFormBoundary7MA4YWxkTrZu0gW"},
        {"multipart/form-data; boundary=\"q\\\"x\"", "q\"x"},
        {"multipart/form-data;\tboundary=x;", "x"},
        {"multipart/form-data; boundary=1234567890123456789012345678901234567890123456789012345"
         "678901234567890",
         "1234567890123456789012345678901234567890123456789012345678901234567890"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes_t b = {0};
        part(&b, cases[i].boundary, "f", NULL);
        puts_(&b, "v");
        close_body(&b, cases[i].boundary);
        expect_str(cases[i].ct, b.p, "[f]v");
        free(b.p);
    }
}

static void bad_boundary(void **state)
{
    (void)state;
    static const char *const cts[] = {
        "multipart/form-data",
        "multipart/form-data;",
        "multipart/form-data; charset=utf-8",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary",
        "multipart/form-data; boundary=\"abc",
        "multipart/form-data; boundary=a; boundary=b",
        "multipart/form-data; boundary=\"abc \"",
        "multipart/form-data; boundary=\"a\x01"
        "b\"",
        /* 71 characters */
        "multipart/form-data; boundary=1234567890123456789012345678901234567890123456789012345"
        "6789012345678901",
    };
    for (size_t i = 0; i < sizeof cts / sizeof cts[0]; i++) {
        hs_multipart_t *m = malloc(sizeof *m);
        assert_non_null(m);
        src_t s = {.data = "", .step = 1};
        hs_err_t err = {0};
        assert_int_equal(hs_multipart_open(m, cts[i], src_read, &s, &err), HS_EINVAL);
        assert_string_equal(err.code, "bad_boundary");
        assert_int_equal(err.status, 400);
        /* a failed open leaves nothing to read */
        assert_int_equal(hs_multipart_next(m, NULL), HS_EINVAL);
        free(m);
    }
}

static void not_multipart(void **state)
{
    (void)state;
    static const char *const cts[] = {
        "application/json",
        "multipart/mixed; boundary=abc",
        "multipart/form-datax; boundary=abc",
        "multipart/form; boundary=abc",
        "",
        "text/plain; boundary=abc",
    };
    hs_multipart_t *m = malloc(sizeof *m);
    assert_non_null(m);
    src_t s = {.data = "", .step = 1};
    for (size_t i = 0; i < sizeof cts / sizeof cts[0]; i++) {
        hs_err_t err = {0};
        assert_int_equal(hs_multipart_open(m, cts[i], src_read, &s, &err), HS_EINVAL);
        assert_string_equal(err.code, "not_multipart");
    }
    hs_err_t err = {0};
    assert_int_equal(hs_multipart_open(m, NULL, src_read, &s, &err), HS_EINVAL);
    assert_string_equal(err.code, "not_multipart");
    assert_int_equal(hs_multipart_open(m, NULL, src_read, &s, NULL), HS_EINVAL);
    free(m);
}

/* ---- framing ---- */

static void preamble_and_epilogue(void **state)
{
    (void)state;
    expect_str(CT_ABC,
               "This is the preamble.\r\n--ab\r\n--abX\r\n--abc\r\n"
               "Content-Disposition: form-data; name=\"a\"\r\n\r\n1"
               "\r\n--abc--\r\nepilogue\r\n--abc\r\nContent-Disposition: form-data; name=\"b\""
               "\r\n\r\n2\r\n--abc--",
               "[a]1");
    /* some clients start with a CRLF */
    expect_str(CT_ABC,
               "\r\n--abc\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--abc--",
               "[a]1");
    /* closing delimiter with nothing after it */
    expect_str(CT_ABC, "--abc\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--abc--",
               "[a]1");
    /* a body of only the closing delimiter has no parts */
    expect_str(CT_ABC, "--abc--\r\n", "");
}

static void empty_part_body(void **state)
{
    (void)state;
    expect_str(CT_ABC,
               "--abc\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
               "\r\n--abc\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nx"
               "\r\n--abc\r\nContent-Disposition: form-data; name=\"c\"; filename=\"\"\r\n\r\n"
               "\r\n--abc--\r\n",
               "[a][b]x[c:]");
}

/* Every prefix of a valid body that stops before the closing "--" is
 * malformed, and what came out before the cut is a prefix of the real
 * output (no delimiter bytes leak into a body). */
static void truncated_everywhere(void **state)
{
    (void)state;
    bytes_t b = {0};
    part(&b, "abc", "upload_id", NULL);
    puts_(&b, "u1");
    part(&b, "abc", "chunk", "c.bin");
    put(&b, "\0\r\n--ab\r\n-\0\r\n", 13);
    part(&b, "abc", "empty", NULL);
    close_body(&b, "abc");
    static const char full[] = "[upload_id]u1[chunk:c.bin]\0\r\n--ab\r\n-\0\r\n[empty]";
    const size_t fulllen = sizeof full - 1;
    expect_parts(CT_ABC, b.p, b.len, full, fulllen);

    size_t closing = b.len - 2; /* up to and including "--abc--" */
    bytes_t out = {0};
    for (size_t cut = 0; cut < closing; cut++) {
        for (size_t i = 0; i < NSTEPS; i++) {
            hs_err_t err = {0};
            int rc = collect(CT_ABC, b.p, cut, steps[i], 5, &out, &err);
            if (rc != HS_EINVAL)
                fail_msg("cut at %zu, step %zu: rc %d", cut, steps[i], rc);
            assert_string_equal(err.code, "malformed_multipart");
            assert_true(out.len <= fulllen);
            assert_memory_equal(out.p ? out.p : "", full, out.len);
        }
    }
    /* without the final CRLF it is complete */
    expect_parts(CT_ABC, b.p, closing, full, fulllen);
    free(out.p);
    free(b.p);
}

static void missing_closing_delimiter(void **state)
{
    (void)state;
    const char *hdr = "--abc\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n";
    char body[256];
    static const char *const tails[] = {
        "value",            /* no delimiter at all */
        "value\r\n--abc",   /* a delimiter that is neither next part nor close */
        "value\r\n--abc\r", /* cut inside the CRLF */
        "value\r\n--abc-",  /* cut inside the "--" */
        "value\r\n--abc\r\n",
        "value\r\n--abc\r\nContent-Disposition: form-data; name=\"b\"\r\n",
        "value\r\n--abc\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nb-value",
        "value\r\n--abcd--", /* the delimiter followed by junk */
        "value\r\n--abc\n",
    };
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        snprintf(body, sizeof body, "%s%s", hdr, tails[i]);
        expect_str_error(CT_ABC, body, "malformed_multipart");
    }
    expect_str_error(CT_ABC, "", "malformed_multipart");
    expect_str_error(CT_ABC, "just a preamble\r\n", "malformed_multipart");

    /* read() returns the bytes before the cut, then 0; next() then fails
     * and keeps failing. */
    snprintf(body, sizeof body, "%svalue\r\n--ab", hdr);
    for (size_t i = 0; i < NSTEPS; i++) {
        hs_multipart_t *m = malloc(sizeof *m);
        assert_non_null(m);
        src_t s = {.data = body, .len = strlen(body), .step = steps[i]};
        hs_err_t err = {0};
        char got[64];
        size_t total = 0, n;
        assert_int_equal(hs_multipart_open(m, CT_ABC, src_read, &s, &err), 0);
        assert_int_equal(hs_multipart_next(m, &err), 1);
        while ((n = hs_multipart_read(m, got + total, sizeof got - total)) > 0)
            total += n;
        assert_int_equal(total, 5);
        assert_memory_equal(got, "value", 5);
        assert_int_equal(hs_multipart_read(m, got, sizeof got), 0);
        assert_int_equal(hs_multipart_next(m, &err), HS_EINVAL);
        assert_string_equal(err.code, "malformed_multipart");
        assert_int_equal(hs_multipart_next(m, NULL), HS_EINVAL);
        free(m);
    }
}

/* A body holding "\r\n--" + the boundary minus its last char, anywhere. */
static void near_delimiter_in_body(void **state)
{
    (void)state;
    const char *ct = "multipart/form-data; boundary=\"----abc\"";
    static const char body[] = "------abc\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n"
                               "\r\n------ab"
                               "A\r\n------abZ\r\n------a\r\n--\r\n\r\n------ab\0"
                               "\r\n------ab"
                               "\r\n------abc\r\nContent-Disposition: form-data; name=\"g\"\r\n\r\n"
                               "\r\n------ab"
                               "\r\n------abc--\r\n";
    static const char want[] = "[f]\r\n------abA\r\n------abZ\r\n------a\r\n--\r\n\r\n------ab\0"
                               "\r\n------ab"
                               "[g]\r\n------ab";
    expect_parts(ct, body, sizeof body - 1, want, sizeof want - 1);
}

/* ---- part headers ---- */

static void part_headers(void **state)
{
    (void)state;
    /* unquoted values, header name and parameter names in any case, other
     * headers and parameters ignored */
    expect_str(CT_ABC,
               "--abc\r\nContent-Type: text/plain\r\ncontent-disposition:FORM-DATA;NAME=upload_id"
               "\r\nX-Other: 1\r\n\r\nu1"
               "\r\n--abc\r\nCONTENT-DISPOSITION : form-data ; foo=\"bar;baz\"; name = \"n\" ; "
               "FileName=plain.txt ;\r\n\r\nx"
               "\r\n--abc--",
               "[upload_id]u1[n:plain.txt]x");
    /* \" and \\ are escapes; other backslashes stay as they are */
    expect_str(CT_ABC,
               "--abc\r\nContent-Disposition: form-data; name=\"f\"; "
               "filename=\"a\\\"b\\\\c\\d.txt\"\r\n\r\nx\r\n--abc--",
               "[f:a\"b\\c\\d.txt]x");
    /* UTF-8 names pass through, filename* is not decoded */
    expect_str(
        CT_ABC,
        "--abc\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\xc3\xa9t\xc3\xa9.txt\""
        "; filename*=UTF-8''x\r\n\r\nx\r\n--abc--",
        "[f:\xc3\xa9t\xc3\xa9.txt]x");
    /* transport padding after a boundary */
    expect_str(CT_ABC,
               "--abc \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1"
               "\r\n--abc  \r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n--abc--",
               "[a]1[b]2");
}

static void missing_name(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "--abc\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nv\r\n--abc--",
        "--abc\r\nContent-Type: text/plain\r\n\r\nv\r\n--abc--",
        "--abc\r\n\r\nv\r\n--abc--",
        "--abc\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nv\r\n--abc--",
        "--abc\r\nContent-Disposition: form-data; name=\r\n\r\nv\r\n--abc--",
        "--abc\r\nContent-Disposition: form-data\r\n\r\nv\r\n--abc--",
        "--abc\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--abc--",
        "--abc\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--abc--",
        "--abc\r\nContent-Disposition: form-data; name=\"a\" junk\r\n\r\nv\r\n--abc--",
        "--abc\r\nContent-Disposition: form-data; name=\"a\"; name=\"b\"\r\n\r\nv\r\n--abc--",
        "--abc\r\nContent-Disposition: form-data; name=\"a\"; filename=\"x\"; filename=y\r\n\r\nv"
        "\r\n--abc--",
        "--abc\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; "
        "name=\"b\"\r\n\r\nv\r\n--abc--",
        "--abc\r\nNo colon here\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--abc--",
        "--abc\r\nContent-Disposition: form-data; name=\"a\rb\"\r\n\r\nv\r\n--abc--",
        /* the second part is the bad one */
        "--abc\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--abc\r\n"
        "Content-Disposition: form-data; filename=\"x\"\r\n\r\nv\r\n--abc--",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        expect_str_error(CT_ABC, bodies[i], "malformed_multipart");
    /* a NUL in the headers */
    static const char nul[] = "--abc\r\nContent-Disposition: form-data; name=\"a\0b\"\r\n\r\nv"
                              "\r\n--abc--";
    expect_error(CT_ABC, nul, sizeof nul - 1, "malformed_multipart");
}

static void name_case(size_t namelen, size_t filelen, int ok)
{
    char name[200], filename[1100], want[1400];
    memset(name, 'n', namelen);
    name[namelen] = '\0';
    memset(filename, 'f', filelen);
    filename[filelen] = '\0';
    bytes_t b = {0};
    part(&b, "abc", name, filename);
    puts_(&b, "v");
    close_body(&b, "abc");
    if (ok) {
        snprintf(want, sizeof want, "[%s:%s]v", name, filename);
        expect_str(CT_ABC, b.p, want);
    } else {
        expect_str_error(CT_ABC, b.p, "malformed_multipart");
    }
    free(b.p);
}

/* name up to 127 bytes, filename up to 1023. */
static void name_lengths(void **state)
{
    (void)state;
    name_case(127, 1023, 1);
    name_case(128, 1, 0);
    name_case(1, 1024, 0);
    name_case(150, 1050, 0);
}

/* The header block may be 8 KiB including its closing empty line. */
static void huge_header_block(void **state)
{
    (void)state;
    const char *cd = "Content-Disposition: form-data; name=\"a\"\r\nX-Pad: ";
    for (size_t total = 8191; total <= 8193; total++) {
        bytes_t b = {0};
        puts_(&b, "--abc\r\n");
        puts_(&b, cd);
        size_t pad = total - strlen(cd) - 4;
        for (size_t i = 0; i < pad; i++)
            put(&b, "p", 1);
        puts_(&b, "\r\n\r\nv\r\n--abc--");
        if (total <= 8192)
            expect_str(CT_ABC, b.p, "[a]v");
        else
            expect_str_error(CT_ABC, b.p, "malformed_multipart");
        free(b.p);
    }
    /* far beyond: a 100 KiB header */
    bytes_t b = {0};
    puts_(&b, "--abc\r\n");
    puts_(&b, cd);
    for (size_t i = 0; i < 100000; i++)
        put(&b, "p", 1);
    puts_(&b, "\r\n\r\nv\r\n--abc--");
    expect_str_error(CT_ABC, b.p, "malformed_multipart");
    free(b.p);
}

static void read_field(void **state)
{
    (void)state;
    static const char body[] =
        "--abc\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n12345"
        "\r\n--abc\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n12345"
        "\r\n--abc\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\n"
        "\r\n--abc\r\nContent-Disposition: form-data; name=\"d\"\r\n\r\nx\0y"
        "\r\n--abc\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\ntr";
    hs_multipart_t *m = malloc(sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < NSTEPS; i++) {
        src_t s = {.data = body, .len = sizeof body - 1, .step = steps[i]};
        hs_err_t err = {0};
        char buf[16];
        assert_int_equal(hs_multipart_open(m, CT_ABC, src_read, &s, &err), 0);

        assert_int_equal(hs_multipart_next(m, &err), 1);
        memset(buf, 'z', sizeof buf);
        assert_int_equal(hs_multipart_read_field(m, buf, 4, &err), HS_EINVAL);
        assert_string_equal(err.code, "field_too_long");
        assert_int_equal(err.status, 400);
        assert_string_equal(buf, "");

        /* the rest of the long field is skipped */
        assert_int_equal(hs_multipart_next(m, &err), 1);
        assert_string_equal(m->name, "b");
        memset(buf, 'z', sizeof buf);
        assert_int_equal(hs_multipart_read_field(m, buf, 5, &err), 0);
        assert_string_equal(buf, "12345");

        assert_int_equal(hs_multipart_next(m, &err), 1);
        assert_string_equal(m->name, "c");
        assert_int_equal(hs_multipart_read_field(m, buf, 0, &err), 0);
        assert_string_equal(buf, "");

        assert_int_equal(hs_multipart_next(m, &err), 1);
        assert_string_equal(m->name, "d");
        assert_int_equal(hs_multipart_read_field(m, buf, 10, &err), HS_EINVAL);
        assert_string_equal(err.code, "malformed_multipart");

        assert_int_equal(hs_multipart_next(m, &err), 1);
        assert_string_equal(m->name, "e");
        assert_int_equal(hs_multipart_read_field(m, buf, 10, &err), HS_EINVAL);
        assert_string_equal(err.code, "malformed_multipart");
        assert_int_equal(hs_multipart_next(m, NULL), HS_EINVAL);
    }
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(curl_upload_every_step),
        cmocka_unit_test(skip_unread_parts),
        cmocka_unit_test(boundary_forms),
        cmocka_unit_test(bad_boundary),
        cmocka_unit_test(not_multipart),
        cmocka_unit_test(preamble_and_epilogue),
        cmocka_unit_test(empty_part_body),
        cmocka_unit_test(truncated_everywhere),
        cmocka_unit_test(missing_closing_delimiter),
        cmocka_unit_test(near_delimiter_in_body),
        cmocka_unit_test(part_headers),
        cmocka_unit_test(missing_name),
        cmocka_unit_test(name_lengths),
        cmocka_unit_test(huge_header_block),
        cmocka_unit_test(read_field),
    };
    return cmocka_run_group_tests_name("multipart", tests, NULL, NULL);
}

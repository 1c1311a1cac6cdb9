/* The base64 codec (lib/core/util.c) and the tus header parsers (lib/domain/tus.c):
 * what an attacker controls through Upload-Metadata, Upload-Checksum and
 * Upload-Concat. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs/arena.h"
#include "hs/tus.h"
#include "hs/util.h"

/* Decodes into a heap buffer of exactly HS_B64_DECODED(n) bytes, so that
 * any write outside it is a heap overflow under ASan. */
static long decode(const char *in, char *copy, size_t cap)
{
    size_t n = strlen(in);
    unsigned char *buf = malloc(HS_B64_DECODED(n));
    long len = hs_b64_decode(in, n, buf);
    if (len >= 0 && copy) {
        assert_true((size_t)len < cap);
        memcpy(copy, buf, (size_t)len + 1);
    }
    free(buf);
    return len;
}

static void b64_decode(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(decode("", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(decode("YQ==", out, sizeof out), 1);
    assert_string_equal(out, "a");
    assert_int_equal(decode("YWI=", out, sizeof out), 2);
    assert_string_equal(out, "ab");
    assert_int_equal(decode("YWJj", out, sizeof out), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(decode("aGVsbG8gd29ybGQ=", out, sizeof out), 11);
    assert_string_equal(out, "hello world");
    /* Only padding: once a negative length and a write before the buffer. */
    static const char *bad[] = {
        "=",    "==",   "===",      "====",     "========", "A===",      "=AAA",
        "AA=A", "YQ=b", "YQ==YQ==", "YQ==\n",   " YQ==",    "YQ== ",     "YQ",
        "YQ=",  "Y!==", "YQ-_",     "YWJj====", "YW\0j",    "\303\251AA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(decode(bad[i], NULL, 0), -1);
}

static void b64_round_trip(void **state)
{
    (void)state;
    unsigned char in[40];
    char text[HS_B64_ENCODED(sizeof in)];
    for (size_t n = 0; n <= sizeof in; n++) {
        for (size_t i = 0; i < n; i++)
            in[i] = (unsigned char)(i * 37 + n);
        size_t len = hs_b64_encode(in, n, text);
        assert_int_equal(len, (n + 2) / 3 * 4);
        assert_int_equal(strlen(text), len);
        unsigned char back[HS_B64_DECODED(sizeof text)];
        assert_int_equal(hs_b64_decode(text, len, back), (long)n);
        assert_memory_equal(back, in, n);
    }
}

static void metadata(void **state)
{
    (void)state;
    hs_arena_t a = {0};
    hs_err_t err;
    const char *v;
    assert_int_equal(
        hs_tus_metadata(&a, "filename YS50eHQ=,filetype dGV4dC9wbGFpbg==", "filetype", &v, &err),
        0);
    assert_string_equal(v, "text/plain");
    assert_int_equal(hs_tus_metadata(&a, "flag,filename YS50eHQ=", "flag", &v, &err), 0);
    assert_string_equal(v, "");
    assert_int_equal(hs_tus_metadata(&a, "filename YS50eHQ=", "name", &v, &err), 0);
    assert_null(v);
    static const char *bad[] = {"filename ====", "filename =",  "filename A===",
                                "filename YQ=b", "filename YQ", "filename AA==" /* a NUL */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(hs_tus_metadata(&a, bad[i], "filename", &v, &err), HS_EINVAL);
        assert_string_equal(err.code, "invalid_metadata");
    }
    hs_arena_free(&a);
}

static void final_parts(void **state)
{
    (void)state;
    hs_arena_t a = {0};
    hs_err_t err;
    char **ids;
    size_t n;
    const char *x = "665f1c2ab8e4d9a0c1f2e3d4", *y = "665f1c2ab8e4d9a0c1f2e3d5";
    char h[4096];
    snprintf(h, sizeof h, "final;/api/v1/files/tus/%s http://h/api/v1/files/tus/%s", x, y);
    assert_int_equal(hs_tus_final_parts(&a, h, &ids, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], x);
    assert_string_equal(ids[1], y);

    /* The same part twice, however it is spelled. */
    snprintf(h, sizeof h, "final;%s %s /api/v1/files/tus/%s", x, y, x);
    assert_int_equal(hs_tus_final_parts(&a, h, &ids, &n, &err), HS_EINVAL);
    assert_string_equal(err.code, "duplicate_part");

    /* HS_TUS_MAX_PARTS distinct parts pass, one more does not. */
    int len = snprintf(h, sizeof h, "final;");
    for (int i = 0; i < HS_TUS_MAX_PARTS; i++)
        len += snprintf(h + len, sizeof h - (size_t)len, "%s%024x", i ? " " : "", i + 1);
    assert_int_equal(hs_tus_final_parts(&a, h, &ids, &n, &err), 0);
    assert_int_equal(n, HS_TUS_MAX_PARTS);
    snprintf(h + len, sizeof h - (size_t)len, " %024x", HS_TUS_MAX_PARTS + 1);
    assert_int_equal(hs_tus_final_parts(&a, h, &ids, &n, &err), HS_EINVAL);
    assert_string_equal(err.code, "too_many_parts");
    hs_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(b64_decode),
        cmocka_unit_test(b64_round_trip),
        cmocka_unit_test(metadata),
        cmocka_unit_test(final_parts),
    };
    return cmocka_run_group_tests_name("tus", tests, NULL, NULL);
}

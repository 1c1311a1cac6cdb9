/* Errors, ids, time, constant-time comparison and UTF-8 validation. */
#include "test.h"

#include <string.h>

#include "hs/err.h"
#include "hs/json.h"
#include "hs/messages.h"
#include "hs/util.h"

static void errors(void **state)
{
    (void)state;
    hs_err_t e;
    assert_int_equal(hs_err_set(&e, HS_ENOTFOUND, "user_not_found", "No user %d", 7), HS_ENOTFOUND);
    assert_int_equal(e.status, 404);
    assert_string_equal(e.code, "user_not_found");
    assert_string_equal(e.message, "No user 7");
    hs_err_set(&e, HS_ERATE, NULL, NULL);
    assert_int_equal(e.status, 429);
    assert_string_equal(e.code, "rate_limited");
    assert_int_equal(hs_err_status(HS_ENOSPACE), 507);
    assert_int_equal(hs_err_status(-999), 500);
    assert_int_equal(hs_err_set(NULL, HS_EAUTH, NULL, NULL), HS_EAUTH);
}

static void ids(void **state)
{
    (void)state;
    char a[HS_ID_LEN + 1], b[HS_ID_LEN + 1];
    hs_id_new(a);
    hs_id_new(b);
    assert_true(hs_id_valid(a));
    assert_string_not_equal(a, b);
    /* ObjectIds made later sort later (cursor pagination relies on it) */
    assert_true(strcmp(a, b) < 0);
    assert_false(hs_id_valid("6B0172BA5DB2A0A07D08D110"));
    assert_false(hs_id_valid("6b0172ba5db2a0a07d08d11"));
    assert_false(hs_id_valid("6b0172ba5db2a0a07d08d110a"));
    assert_false(hs_id_valid(NULL));
}

static void time_and_compare(void **state)
{
    (void)state;
    char iso[25];
    hs_time_iso(1795257033123LL, iso);
    assert_string_equal(iso, "2026-11-21T10:30:33.123Z");
    hs_time_iso(0, iso);
    assert_string_equal(iso, "1970-01-01T00:00:00.000Z");
    assert_true(hs_ct_equal("abc", 3, "abc", 3));
    assert_false(hs_ct_equal("abc", 3, "abd", 3));
    assert_false(hs_ct_equal("abc", 3, "abcd", 4));
    char h[65];
    hs_sha256_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    char r1[33], r2[33];
    assert_int_equal(hs_random_hex(r1, 16), 0);
    assert_int_equal(hs_random_hex(r2, 16), 0);
    assert_int_equal(strlen(r1), 32);
    assert_string_not_equal(r1, r2);
}

static void utf8(void **state)
{
    (void)state;
    assert_int_equal(hs_utf8_len("abc"), 3);
    assert_int_equal(hs_utf8_len("\xc3\xa9t\xc3\xa9"), 3);
    assert_int_equal(hs_utf8_len("\xf0\x9f\x98\x80"), 1);
    assert_int_equal(hs_utf8_len("\xff"), -1);
    assert_int_equal(hs_utf8_len("\xc3"), -1);
    assert_int_equal(hs_utf8_len("\xc0\xaf"), -1);     /* overlong */
    assert_int_equal(hs_utf8_len("\xed\xa0\x80"), -1); /* surrogate */
}

static void emoji(void **state)
{
    (void)state;
    const char *good[] = {"\xF0\x9F\x91\x8D",                              /* thumbs up */
                          "\xE2\x9D\xA4\xEF\xB8\x8F",                      /* red heart + VS16 */
                          "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",              /* with a skin tone */
                          "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7",              /* flag FR */
                          "1\xEF\xB8\x8F\xE2\x83\xA3",                     /* keycap 1 */
                          "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9"}; /* ZWJ */
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(hs_emoji_valid(good[i]));
    const char *bad[] = {"",
                         "ab",
                         "1",
                         "\xE3\x81\x82" /* kana */,
                         "\xE2\x82\xAC" /* euro */,
                         "\xF0\x9F\x91\x8D\xF0\x9F\x91\x8D" /* two */,
                         "\xF0\x9F\x91\xA8\xE2\x80\x8D" /* dangling ZWJ */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(hs_emoji_valid(bad[i]));
}

static void content_types(void **state)
{
    (void)state;
    char out[HS_CONTENT_TYPE_BUF];
    static const char *const good[][2] = {
        {"text/plain", "text/plain"},
        {"  Text/HTML ; Charset=UTF-8  ", "text/html; charset=UTF-8"},
        {"image/svg+xml", "image/svg+xml"},
        {"application/vnd.ms-excel", "application/vnd.ms-excel"},
        {"multipart/form-data;boundary=\"a b;c\"", "multipart/form-data; boundary=\"a b;c\""},
        {"text/plain; a=\"q\\\"x\"; b=1", "text/plain; a=\"q\\\"x\"; b=1"},
        {"a/b;x=1;y=2", "a/b; x=1; y=2"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_int_equal(hs_content_type_normalize(good[i][0], out, sizeof out), 0);
        assert_string_equal(out, good[i][1]);
        /* the normal form is a fixed point: stored values pass again */
        char again[HS_CONTENT_TYPE_BUF];
        assert_int_equal(hs_content_type_normalize(out, again, sizeof again), 0);
        assert_string_equal(again, out);
    }
    char longest[HS_CONTENT_TYPE_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[1] = '/';
    longest[HS_CONTENT_TYPE_MAX] = '\0';
    assert_int_equal(hs_content_type_normalize(longest, out, sizeof out), 0);
    longest[HS_CONTENT_TYPE_MAX] = 'a';
    longest[HS_CONTENT_TYPE_MAX + 1] = '\0';
    assert_int_equal(hs_content_type_normalize(longest, out, sizeof out), -1);
    static const char *const bad[] = {
        "",
        "text",
        "text/",
        "/plain",
        "text/plain\r\nX-Sendfile2: /x 0-",
        "text/html\r\n\r\n",
        "text/plain\n",
        "text/plain\r",
        "text/pl ain",
        "text/plain; charset",
        "text/plain; charset=",
        "text/plain; =x",
        "text/plain;; a=b",
        "text/plain; a=\"unterminated",
        "text/plain; a=\"x\"y",
        "text/plain; a=\"\x01\"",
        "text/plain; a=\"\xc3\xa9\"",
        "t\xc3\xa9xt/plain",
        "text/plain; a=b c",
        "text/(plain)",
        "text/plain; a=1; b=1; c=1; d=1; e=1; f=1; g=1; h=1; i=1",
        NULL,
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(hs_content_type_normalize(bad[i], out, sizeof out), -1);
    assert_int_equal(hs_content_type_normalize("text/plain", out, 16), -1); /* cap too small */

    assert_true(hs_content_type_passive("image/png"));
    assert_true(hs_content_type_passive("text/plain; charset=utf-8"));
    assert_true(hs_content_type_passive("application/pdf"));
    assert_true(hs_content_type_passive("video/mp4"));
    assert_true(hs_content_type_passive("audio/ogg"));
    assert_false(hs_content_type_passive("image/svg+xml"));
    assert_false(hs_content_type_passive("text/html"));
    assert_false(hs_content_type_passive("application/zip"));
    assert_false(hs_content_type_passive("text/plainx"));
    static const char *const active[] = {
        "text/html",
        "text/html; charset=utf-8",
        "image/svg+xml",
        "application/xhtml+xml",
        "text/javascript",
        "application/javascript",
        "application/xml",
        "text/xml",
        "text/css",
        "application/json",
        "multipart/x-mixed-replace",
        "application/x-shockwave-flash",
        "text/xsl",
        "application/rdf+xml",
        "text/event-stream",
        "message/rfc822",
        "application/wasm",
    };
    for (size_t i = 0; i < sizeof active / sizeof *active; i++)
        assert_true(hs_content_type_active(active[i]));
    assert_false(hs_content_type_active("application/zip"));
    assert_false(hs_content_type_active("application/octet-stream"));
    assert_false(hs_content_type_active("image/png"));
    assert_false(hs_content_type_active("text/plain"));
}

static void display_text(void **state)
{
    (void)state;
    assert_int_equal(hs_text_check("Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\x84", 0), 0);
    assert_int_equal(hs_text_check("", 0), 0);
    assert_int_equal(hs_text_check("a\nb", 0), HS_TEXT_CONTROL);
    assert_int_equal(hs_text_check("a\nb\tc", HS_TEXT_MULTILINE), 0);
    assert_int_equal(hs_text_check("a\rb", HS_TEXT_MULTILINE), HS_TEXT_CONTROL);
    assert_int_equal(hs_text_check("a\x7f", 0), HS_TEXT_CONTROL);
    assert_int_equal(hs_text_check("a\xc2\x85", 0), HS_TEXT_CONTROL);           /* NEL, C1 */
    assert_int_equal(hs_text_check("a\xc2\x9f", 0), HS_TEXT_CONTROL);           /* C1 */
    assert_int_equal(hs_text_check("a\xc2\xa0", 0), 0);                         /* NBSP is fine */
    assert_int_equal(hs_text_check("inv\xe2\x80\xaegpj.exe", 0), HS_TEXT_BIDI); /* U+202E */
    assert_int_equal(hs_text_check("\xe2\x80\xaa", 0), HS_TEXT_BIDI);           /* U+202A */
    assert_int_equal(hs_text_check("\xe2\x81\xa6", 0), HS_TEXT_BIDI);           /* U+2066 */
    assert_int_equal(hs_text_check("\xe2\x81\xa9", 0), HS_TEXT_BIDI);           /* U+2069 */
    assert_int_equal(hs_text_check("\xe2\x81\xaa", 0), 0);                      /* U+206A */
    assert_int_equal(hs_text_check("a\xe2\x80\x8b", 0), HS_TEXT_INVISIBLE);     /* U+200B */
    assert_int_equal(hs_text_check("a\xe2\x80\x8f", 0), HS_TEXT_INVISIBLE);     /* U+200F */
    assert_int_equal(hs_text_check("a\xe2\x81\xa0", 0), HS_TEXT_INVISIBLE);     /* U+2060 */
    assert_int_equal(hs_text_check("\xef\xbb\xbf"
                                   "a",
                                   0),
                     HS_TEXT_INVISIBLE); /* U+FEFF */
    assert_int_equal(hs_text_check("a\xe2\x80\x8b", HS_TEXT_ALLOW_INVISIBLE), 0);
    assert_int_equal(hs_text_check("\xff", 0), HS_TEXT_BAD_UTF8);
    assert_int_equal(hs_text_check("\xc0\xaf", 0), HS_TEXT_BAD_UTF8);     /* overlong '/' */
    assert_int_equal(hs_text_check("\xed\xa0\x80", 0), HS_TEXT_BAD_UTF8); /* surrogate */
    assert_int_equal(hs_text_check("a\xe2\x80", 0), HS_TEXT_BAD_UTF8);    /* cut short */
}

static void json_scan(void **state)
{
    (void)state;
    static const char nul_raw[] = "{\"username\":\"nul\0admin\"}";
    assert_int_equal(hs_json_scan(nul_raw, sizeof nul_raw - 1), HS_JSON_NUL);
    assert_int_equal(hs_json_scan("{\"a\":\"x\\u0000y\"}", 17), HS_JSON_NUL);
    /* an escaped backslash then the letters u0000 is no NUL */
    const char *lit = "{\"a\":\"x\\\\u0000\"}";
    assert_int_equal(hs_json_scan(lit, strlen(lit)), 0);
    const char *raw_nl = "{\"a\":\"x\ny\"}";
    assert_int_equal(hs_json_scan(raw_nl, strlen(raw_nl)), HS_JSON_CONTROL);
    const char *ws = "{\n\t\"a\" : \"x\\ny\\\"\" }\r\n";
    assert_int_equal(hs_json_scan(ws, strlen(ws)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(errors),
        cmocka_unit_test(ids),
        cmocka_unit_test(time_and_compare),
        cmocka_unit_test(utf8),
        cmocka_unit_test(emoji),
        cmocka_unit_test(content_types),
        cmocka_unit_test(display_text),
        cmocka_unit_test(json_scan),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}

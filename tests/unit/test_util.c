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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(errors), cmocka_unit_test(ids),   cmocka_unit_test(time_and_compare),
        cmocka_unit_test(utf8),   cmocka_unit_test(emoji),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}

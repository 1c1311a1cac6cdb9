/* argon2id hashing and the password policy. */
#include "test.h"

#include <string.h>

#include "hs/password.h"

static void hash_and_verify(void **state)
{
    (void)state;
    hs_argon2_params_t p = {19456, 2, 1};
    char h1[HS_PASSWORD_HASH_MAX], h2[HS_PASSWORD_HASH_MAX];
    assert_int_equal(hs_password_hash("correct horse", &p, h1, NULL), 0);
    assert_int_equal(hs_password_hash("correct horse", &p, h2, NULL), 0);
    /* parameters live in the hash; salts differ */
    assert_non_null(strstr(h1, "$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_string_not_equal(h1, h2);
    assert_true(hs_password_verify(h1, "correct horse"));
    assert_false(hs_password_verify(h1, "correct horsE"));
    assert_false(hs_password_verify(h1, ""));
    assert_false(hs_password_verify("$2b$10$notargon", "correct horse"));
    assert_false(hs_password_verify(NULL, "x"));
}

static void verify_other_params(void **state)
{
    (void)state;
    /* a hash made with stronger parameters still verifies */
    hs_argon2_params_t p = {32768, 3, 2};
    char h[HS_PASSWORD_HASH_MAX];
    assert_int_equal(hs_password_hash("passphrase here", &p, h, NULL), 0);
    assert_non_null(strstr(h, "m=32768,t=3,p=2"));
    assert_true(hs_password_verify(h, "passphrase here"));
}

static void policy(void **state)
{
    (void)state;
    hs_err_t err;
    assert_int_equal(hs_password_policy("seven77", "bob", &err), HS_EINVAL);
    assert_string_equal(err.code, "weak_password");
    assert_int_equal(hs_password_policy("password123", "bob", &err), HS_EINVAL);
    assert_int_equal(hs_password_policy("PassWord1", "bob", &err), HS_EINVAL);
    assert_int_equal(hs_password_policy("aaaaaaaaaaaa", "bob", &err), HS_EINVAL);
    assert_int_equal(hs_password_policy("xx-alice-2024", "alice", &err), HS_EINVAL);
    assert_int_equal(hs_password_policy("correct horse battery", "alice", &err), 0);
    /* 8 characters counted as characters, not bytes */
    assert_int_equal(hs_password_policy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "bob", &err),
                     HS_EINVAL);
    assert_int_equal(hs_password_policy("\xc3\xa9t\xc3\xa9 d\xc3\xa9j\xc3\xa0 vu", "bob", &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_and_verify),
        cmocka_unit_test(verify_other_params),
        cmocka_unit_test(policy),
    };
    return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}

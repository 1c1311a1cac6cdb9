#include "hs/password.h"

#include <argon2.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "hs/util.h"

int hs_password_hash(const char *pw, const hs_argon2_params_t *p, char out[HS_PASSWORD_HASH_MAX],
                     hs_err_t *err)
{
    unsigned char salt[16];
    if (hs_random_bytes(salt, sizeof salt))
        return hs_err_set(err, HS_EINTERNAL, NULL, "no randomness available");
    int rc = argon2id_hash_encoded(p->iterations, p->memory_kib, p->parallelism, pw, strlen(pw),
                                   salt, sizeof salt, 32, out, HS_PASSWORD_HASH_MAX);
    if (rc != ARGON2_OK)
        return hs_err_set(err, HS_EINTERNAL, NULL, "password hashing failed: %s",
                          argon2_error_message(rc));
    return 0;
}

int hs_password_verify(const char *encoded, const char *pw)
{
    if (!encoded || strncmp(encoded, "$argon2id$", 10) != 0)
        return 0;
    /* argon2_verify compares in constant time. */
    return argon2id_verify(encoded, pw, strlen(pw)) == ARGON2_OK;
}

/* The most common passwords of at least 8 characters in public breach
 * corpora; anything here is refused outright. */
static const char *const common[] = {
    "password",   "password1", "password123",   "12345678",  "123456789", "1234567890",
    "qwertyuiop", "qwerty123", "iloveyou",      "sunshine",  "princess",  "football",
    "baseball",   "welcome1",  "welcome123",    "abc12345",  "abcd1234",  "11111111",
    "00000000",   "87654321",  "letmein1",      "trustno1",  "passw0rd",  "p@ssw0rd",
    "superman",   "starwars",  "whatever",      "michelle",  "jennifer",  "computer",
    "internet",   "asdfghjkl", "1q2w3e4r",      "1qaz2wsx",  "zaq12wsx",  "qazwsxedc",
    "changeme",   "admin123",  "administrator", "hypersend", "12341234",  "11223344",
    "q1w2e3r4",   "qwerty12",  "password!",     "iloveyou1", "monkey123", "dragon12",
};

int hs_password_policy(const char *pw, const char *username, hs_err_t *err)
{
    size_t n = strlen(pw), chars = 0;
    for (const unsigned char *p = (const unsigned char *)pw; *p; p++)
        chars += (*p & 0xC0) != 0x80;
    if (chars < 8) {
        hs_err_set(err, HS_EINVAL, "weak_password", "The password must have at least 8 characters");
        return HS_EINVAL;
    }
    if (n > 256)
        return hs_err_set(err, HS_EINVAL, "invalid_value", "The password is longer than 256 bytes");
    int same = 1;
    for (size_t i = 1; i < n; i++)
        same &= pw[i] == pw[0];
    int is_common = 0;
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        is_common |= strcasecmp(pw, common[i]) == 0;
    if (same || is_common || (username && *username && strcasestr(pw, username))) {
        hs_err_set(err, HS_EINVAL, "weak_password", "This password is too easy to guess");
        hs_err_hint(err, "use a longer passphrase that is not your username");
        return HS_EINVAL;
    }
    return 0;
}

/* Password hashing with argon2id (parameters kept in the encoded hash) and
 * the password policy. */
#ifndef HS_PASSWORD_H
#define HS_PASSWORD_H

#include <stddef.h>

#include "hs/err.h"

#define HS_PASSWORD_HASH_MAX 160

typedef struct hs_argon2_params {
    unsigned memory_kib, iterations, parallelism;
} hs_argon2_params_t;

/* Hashes pw with a fresh 16-byte salt into out (PHC string "$argon2id$v=19$m=..."). */
int hs_password_hash(const char *pw, const hs_argon2_params_t *p, char out[HS_PASSWORD_HASH_MAX],
                     hs_err_t *err);
/* 1 when pw matches the encoded hash (whatever its parameters), else 0. */
int hs_password_verify(const char *encoded, const char *pw);
/* Refuses passwords shorter than 8 characters, longer than 256 bytes, that
 * are common, repeat one character, or contain the username. */
int hs_password_policy(const char *pw, const char *username, hs_err_t *err);

#endif

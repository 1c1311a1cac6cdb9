/* The process-wide context every layer is handed: config, store, Redis,
 * signing key. Only the struct lives here (core): opening it wires the store
 * and Redis together, which is the app's job (hs_ctx_open in hs/app.h). */
#ifndef HS_CTX_H
#define HS_CTX_H

#include <stddef.h>

#include "hs/config.h"
#include "hs/password.h"

/* Held by pointer only, so core need not know the store or Redis. */
typedef struct hs_store hs_store_t;
typedef struct hs_redis hs_redis_t;

/* The single context of a process; nothing else is mutable and global. */
typedef struct hs_ctx {
    hs_config_t cfg;
    const char *app_name;
    hs_store_t *store;
    hs_redis_t *redis;
    unsigned char key[128]; /* token signing key */
    size_t keylen;
    hs_argon2_params_t argon2;
    /* A hash of a random password, verified against when a login names no
     * user, so unknown users cost the same time as wrong passwords. Made at
     * the first login (argon2id needs 19 MiB while hashing: apps that never
     * log anyone in keep a small footprint). */
    char dummy_hash[HS_PASSWORD_HASH_MAX];
    int log_fd;  /* access log */
    void *magic; /* libmagic cookie, opened on first use */
} hs_ctx_t;

#endif

/* One synchronous Redis connection per process, reconnected on failure.
 * hiredis types stay inside lib/redis.c and lib/ratelimit.c. */
#ifndef HS_REDIS_H
#define HS_REDIS_H

#include <stddef.h>

#include "hs/err.h"

typedef struct hs_redis hs_redis_t;
struct redisReply;

/* Creates a client; it connects lazily. Free with hs_redis_free(). */
hs_redis_t *hs_redis_new(const char *host, int port, int timeout_ms);
void hs_redis_free(hs_redis_t *r);

/* Runs one command given as argv. Returns the reply (free it with
 * hs_redis_reply_free) or NULL with err set to 503 redis_unavailable. A
 * broken connection is retried once; after a connect that failed slowly
 * (timeout), further attempts wait out a one-second backoff (a refused
 * one is retried on the next call). */
struct redisReply *hs_redis_argv(hs_redis_t *r, int argc, const char **argv, hs_err_t *err);
void hs_redis_reply_free(struct redisReply *reply);
/* As hs_redis_argv for a command that blocks up to wait_ms in Redis (XREAD
 * BLOCK): the read timeout is stretched by that much; not retried. */
struct redisReply *hs_redis_argv_wait(hs_redis_t *r, int argc, const char **argv, int wait_ms,
                                      hs_err_t *err);

/* 0 when Redis answers PING. */
int hs_redis_ping(hs_redis_t *r, hs_err_t *err);
/* SET key 1 EX ttl. */
int hs_redis_set_ttl(hs_redis_t *r, const char *key, long ttl_seconds, hs_err_t *err);
int hs_redis_del(hs_redis_t *r, const char *key, hs_err_t *err);
/* How many of keys exist (EXISTS k1 k2 ...). */
int hs_redis_exists(hs_redis_t *r, const char **keys, int n, long *count, hs_err_t *err);

#endif

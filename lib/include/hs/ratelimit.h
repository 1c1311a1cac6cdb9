/* Rate limits as GCRA token buckets in Redis: `burst` requests at once,
 * then one more every `period_ms`. One Lua script per check, so it is
 * atomic across every process and host sharing the Redis. */
#ifndef HS_RATELIMIT_H
#define HS_RATELIMIT_H

#include "hs/err.h"
#include "hs/redis.h"

/* The answers of every rate limiter (Redis or the store): HS_EUNAVAIL
 * limiter_unavailable (retry in 5 s), or HS_ERATE rate_limited with
 * retry_after rounded up from wait_ms. */
int hs_ratelimit_unavailable(hs_err_t *err);
int hs_ratelimit_refused(hs_err_t *err, long long wait_ms);

/* Takes `cost` tokens from the bucket at key (cost 0 only checks that one
 * more would be allowed). Over the limit: HS_ERATE with err->retry_after set.
 * When Redis is unreachable the limit is skipped (fails open) and 0 returned:
 * an outage of the limiter must not lock every user out. */
int hs_ratelimit(hs_redis_t *r, const char *key, long burst, long period_ms, int cost,
                 hs_err_t *err);

/* As hs_ratelimit for limits that protect accounts and secrets (login,
 * registration, password changes, share-link passwords): these fail
 * closed, so an unreachable Redis gives HS_EUNAVAIL (503
 * limiter_unavailable, Retry-After) rather than unlimited guesses. */
int hs_ratelimit_guard(hs_redis_t *r, const char *key, long burst, long period_ms, int cost,
                       hs_err_t *err);

/* A limit on things held at once (long-polls of one user): takes one of
 * max slots of key for holder, for at most ttl_ms (a holder that dies
 * frees its slot then). All taken: HS_ERATE with the given code and
 * retry_after. Redis unreachable: allowed (fails open). Give the slot back
 * with hs_ratelimit_release. */
int hs_ratelimit_acquire(hs_redis_t *r, const char *key, const char *holder, long max, long ttl_ms,
                         const char *code, hs_err_t *err);
void hs_ratelimit_release(hs_redis_t *r, const char *key, const char *holder);

#endif

/* Rate limits where the config keeps them: hs/ratelimit.h (GCRA in Redis)
 * with events = redis, the store's limit_take (the same GCRA in SQLite)
 * with events = store. Same keys, codes and fail-open/closed rules as
 * hs/ratelimit.h; the domain modules and apps call these. */
#ifndef HS_LIMIT_H
#define HS_LIMIT_H

#include "hs/ctx.h"

/* hs_ratelimit: over the limit HS_ERATE with retry_after; the limiter
 * unreachable: allowed (fails open). */
int hs_limit_rate(hs_ctx_t *ctx, const char *key, long burst, long period_ms, int cost,
                  hs_err_t *err);

/* hs_ratelimit_guard: as hs_limit_rate, but an unreachable limiter is
 * HS_EUNAVAIL limiter_unavailable (fails closed). */
int hs_limit_guard(hs_ctx_t *ctx, const char *key, long burst, long period_ms, int cost,
                   hs_err_t *err);

/* hs_ratelimit_acquire / _release (slots held at once); with events =
 * store the slots are rows of the store (slot_take / slot_drop). */
int hs_limit_acquire(hs_ctx_t *ctx, const char *key, const char *holder, long max, long ttl_ms,
                     const char *code, hs_err_t *err);
void hs_limit_release(hs_ctx_t *ctx, const char *key, const char *holder);

#endif

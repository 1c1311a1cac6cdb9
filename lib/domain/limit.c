#include "hs/limit.h"

#include "hs/ratelimit.h"
#include "hs/store.h"
#include "hs/util.h"

/* The store's GCRA, with hs_ratelimit's answers. */
static int store_check(hs_ctx_t *ctx, const char *key, long burst, long period_ms, int cost,
                       int fail_closed, hs_err_t *err)
{
    int64_t wait_ms;
    hs_err_t e;
    if (hs_store_limit_take(ctx->store, key, burst, period_ms, cost, hs_now_ms(), &wait_ms, &e))
        return fail_closed ? hs_ratelimit_unavailable(err) : 0;
    return wait_ms ? hs_ratelimit_refused(err, wait_ms) : 0;
}

int hs_limit_rate(hs_ctx_t *ctx, const char *key, long burst, long period_ms, int cost,
                  hs_err_t *err)
{
    if (hs_config_events_store(&ctx->cfg))
        return store_check(ctx, key, burst, period_ms, cost, 0, err);
    return hs_ratelimit(ctx->redis, key, burst, period_ms, cost, err);
}

int hs_limit_guard(hs_ctx_t *ctx, const char *key, long burst, long period_ms, int cost,
                   hs_err_t *err)
{
    if (hs_config_events_store(&ctx->cfg))
        return store_check(ctx, key, burst, period_ms, cost, 1, err);
    return hs_ratelimit_guard(ctx->redis, key, burst, period_ms, cost, err);
}

int hs_limit_acquire(hs_ctx_t *ctx, const char *key, const char *holder, long max, long ttl_ms,
                     const char *code, hs_err_t *err)
{
    if (!hs_config_events_store(&ctx->cfg))
        return hs_ratelimit_acquire(ctx->redis, key, holder, max, ttl_ms, code, err);
    int64_t now = hs_now_ms();
    int taken = 1; /* the store failing: allowed, as with Redis (fails open) */
    hs_store_slot_take(ctx->store, key, holder, max, now + ttl_ms, now, &taken, NULL);
    if (taken)
        return 0;
    hs_err_set(err, HS_ERATE, code, "Too many at once; wait for one to finish");
    if (err)
        err->retry_after = 1;
    return HS_ERATE;
}

void hs_limit_release(hs_ctx_t *ctx, const char *key, const char *holder)
{
    if (!hs_config_events_store(&ctx->cfg))
        hs_ratelimit_release(ctx->redis, key, holder);
    else
        hs_store_slot_drop(ctx->store, key, holder, NULL);
}

#include "hs/ratelimit.h"

#include <hiredis/hiredis.h>
#include <stdio.h>

/* GCRA: the key holds the theoretical arrival time (TAT) in ms. A request is
 * allowed when TAT + interval*cost - burst*interval <= now. Time comes from
 * the Redis server so every client agrees on it. Returns {allowed, wait_ms}. */
static const char script[] =
    "local burst, interval, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or now)\n"
    "if tat < now then tat = now end\n"
    "local need = (cost > 0) and cost or 1\n"
    "local new_tat = tat + need * interval\n"
    "local allow_at = new_tat - burst * interval\n"
    "if allow_at > now then return {0, allow_at - now} end\n"
    "if cost > 0 then redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now) end\n"
    "return {1, 0}\n";

int hs_ratelimit_unavailable(hs_err_t *err)
{
    hs_err_set(err, HS_EUNAVAIL, "limiter_unavailable",
               "This action is refused while its rate limiter is unavailable");
    if (err) {
        err->retry_after = 5;
        hs_err_hint(err, "try again in a few seconds");
    }
    return HS_EUNAVAIL;
}

int hs_ratelimit_refused(hs_err_t *err, long long wait_ms)
{
    int rc = hs_err_set(err, HS_ERATE, "rate_limited", "Too many attempts; slow down");
    if (err) {
        err->retry_after = (int)((wait_ms + 999) / 1000);
        if (err->retry_after < 1)
            err->retry_after = 1;
        hs_err_hint(err, "try again in %d seconds", err->retry_after);
    }
    return rc;
}

static int check(hs_redis_t *r, const char *key, long burst, long period_ms, int cost,
                 int fail_closed, hs_err_t *err)
{
    char b[24], p[24], c[16];
    snprintf(b, sizeof b, "%ld", burst);
    snprintf(p, sizeof p, "%ld", period_ms);
    snprintf(c, sizeof c, "%d", cost);
    const char *argv[] = {"EVAL", script, "1", key, b, p, c};
    redisReply *reply = hs_redis_argv(r, 7, argv, NULL);
    if (!reply && fail_closed) {
        return hs_ratelimit_unavailable(err);
    }
    if (!reply)
        return 0;
    int rc = 0;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER && reply->element[0]->integer == 0) {
        rc = hs_ratelimit_refused(err, reply->element[1]->integer);
    }
    hs_redis_reply_free(reply);
    return rc;
}

int hs_ratelimit(hs_redis_t *r, const char *key, long burst, long period_ms, int cost,
                 hs_err_t *err)
{
    return check(r, key, burst, period_ms, cost, 0, err);
}

int hs_ratelimit_guard(hs_redis_t *r, const char *key, long burst, long period_ms, int cost,
                       hs_err_t *err)
{
    return check(r, key, burst, period_ms, cost, 1, err);
}

/* A sorted set of holders scored by when their hold ends: expired holds
 * (a process killed while holding) are dropped before counting. */
static const char acquire_script[] = "local max, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
                                     "local t = redis.call('TIME')\n"
                                     "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
                                     "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
                                     "if redis.call('ZCARD', KEYS[1]) >= max then return 0 end\n"
                                     "redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])\n"
                                     "redis.call('PEXPIRE', KEYS[1], ttl)\n"
                                     "return 1\n";

int hs_ratelimit_acquire(hs_redis_t *r, const char *key, const char *holder, long max, long ttl_ms,
                         const char *code, hs_err_t *err)
{
    char m[24], t[24];
    snprintf(m, sizeof m, "%ld", max);
    snprintf(t, sizeof t, "%ld", ttl_ms);
    const char *argv[] = {"EVAL", acquire_script, "1", key, holder, m, t};
    redisReply *reply = hs_redis_argv(r, 7, argv, NULL);
    int full = reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0;
    hs_redis_reply_free(reply);
    if (!full)
        return 0;
    hs_err_set(err, HS_ERATE, code, "Too many at once; wait for one to finish");
    if (err)
        err->retry_after = 1;
    return HS_ERATE;
}

void hs_ratelimit_release(hs_redis_t *r, const char *key, const char *holder)
{
    const char *argv[] = {"ZREM", key, holder};
    hs_redis_reply_free(hs_redis_argv(r, 3, argv, NULL));
}

#include "hs/redis.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "hs/util.h"

struct hs_redis {
    redisContext *c;
    char *host;
    int port;
    struct timeval timeout;
    int64_t next_attempt; /* ms; backoff after a slow failed connect */
};

hs_redis_t *hs_redis_new(const char *host, int port, int timeout_ms)
{
    hs_redis_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->host = strdup(host);
    if (!r->host) {
        free(r);
        return NULL;
    }
    r->port = port;
    r->timeout.tv_sec = timeout_ms / 1000;
    r->timeout.tv_usec = (timeout_ms % 1000) * 1000;
    return r;
}

void hs_redis_free(hs_redis_t *r)
{
    if (!r)
        return;
    if (r->c)
        redisFree(r->c);
    free(r->host);
    free(r);
}

static void drop(hs_redis_t *r)
{
    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
}

/* A connect that failed at once (refused: Redis is restarting) is tried
 * again on the next call, so the first request after Redis is back
 * succeeds; one that took long (a timeout, an unreachable host) makes the
 * next second's calls fail fast instead of each waiting as long. */
static int ensure(hs_redis_t *r)
{
    if (r->c)
        return 0;
    int64_t now = hs_now_ms();
    if (now < r->next_attempt)
        return -1;
    /* A path is Redis's Unix socket: on one machine it costs the request
     * path far less than loopback TCP, whose receive side runs in the
     * sender's system call. */
    r->c = r->host[0] == '/' ? redisConnectUnixWithTimeout(r->host, r->timeout)
                             : redisConnectWithTimeout(r->host, r->port, r->timeout);
    if (!r->c || r->c->err || redisSetTimeout(r->c, r->timeout) != REDIS_OK) {
        drop(r);
        int64_t after = hs_now_ms();
        if (after - now >= 50)
            r->next_attempt = after + 1000;
        return -1;
    }
    return 0;
}

redisReply *hs_redis_argv(hs_redis_t *r, int argc, const char **argv, hs_err_t *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (ensure(r))
            break;
        redisReply *reply = redisCommandArgv(r->c, argc, argv, NULL);
        if (reply)
            return reply;
        drop(r); /* I/O error: the next attempt reconnects */
    }
    hs_err_set(err, HS_EUNAVAIL, "redis_unavailable", "Redis is unavailable");
    hs_err_hint(err, "try again in a moment");
    return NULL;
}

redisReply *hs_redis_argv_wait(hs_redis_t *r, int argc, const char **argv, int wait_ms,
                               hs_err_t *err)
{
    if (ensure(r)) {
        hs_err_set(err, HS_EUNAVAIL, "redis_unavailable", "Redis is unavailable");
        return NULL;
    }
    struct timeval tv = r->timeout;
    tv.tv_sec += wait_ms / 1000;
    tv.tv_usec += (wait_ms % 1000) * 1000;
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec++;
        tv.tv_usec -= 1000000;
    }
    redisSetTimeout(r->c, tv);
    redisReply *reply = redisCommandArgv(r->c, argc, argv, NULL);
    if (!reply) {
        drop(r);
        hs_err_set(err, HS_EUNAVAIL, "redis_unavailable", "Redis is unavailable");
        return NULL;
    }
    redisSetTimeout(r->c, r->timeout);
    return reply;
}

void hs_redis_reply_free(redisReply *reply)
{
    if (reply)
        freeReplyObject(reply);
}

/* Runs argv and checks the reply type; 0 or an error. */
static int run(hs_redis_t *r, int argc, const char **argv, int type, long long *integer,
               hs_err_t *err)
{
    redisReply *reply = hs_redis_argv(r, argc, argv, err);
    if (!reply)
        return HS_EUNAVAIL;
    int ok = reply->type == type;
    if (ok && integer)
        *integer = reply->integer;
    freeReplyObject(reply);
    if (!ok)
        return hs_err_set(err, HS_EUNAVAIL, "redis_error", "Redis answered unexpectedly");
    return 0;
}

int hs_redis_ping(hs_redis_t *r, hs_err_t *err)
{
    const char *argv[] = {"PING"};
    return run(r, 1, argv, REDIS_REPLY_STATUS, NULL, err);
}

int hs_redis_set_ttl(hs_redis_t *r, const char *key, long ttl_seconds, hs_err_t *err)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%ld", ttl_seconds > 0 ? ttl_seconds : 1);
    const char *argv[] = {"SET", key, "1", "EX", ttl};
    return run(r, 5, argv, REDIS_REPLY_STATUS, NULL, err);
}

int hs_redis_del(hs_redis_t *r, const char *key, hs_err_t *err)
{
    const char *argv[] = {"DEL", key};
    return run(r, 2, argv, REDIS_REPLY_INTEGER, NULL, err);
}

int hs_redis_exists(hs_redis_t *r, const char **keys, int n, long *count, hs_err_t *err)
{
    const char *argv[9] = {"EXISTS"};
    if (n < 1 || n > 8)
        return hs_err_set(err, HS_EINTERNAL, NULL, "hs_redis_exists: bad key count");
    memcpy(argv + 1, keys, (size_t)n * sizeof *keys);
    long long v = 0;
    int rc = run(r, n + 1, argv, REDIS_REPLY_INTEGER, &v, err);
    *count = (long)v;
    return rc;
}

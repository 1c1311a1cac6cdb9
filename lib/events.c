#include "hs/events.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>

#include "hs/log.h"
#include "hs/redis.h"

/* XADD then PUBLISH in one script, so a subscriber never sees a live event
 * that the stream (and so a replay) lacks. */
static const char script[] =
    "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*',"
    " 'type', ARGV[1], 'data', ARGV[2])\n"
    "redis.call('PUBLISH', KEYS[1], id .. ' ' .. ARGV[1] .. ' ' .. ARGV[2])\n"
    "return id\n";

int hs_event_publish(hs_ctx_t *ctx, const char *scope, const char *id, const char *type,
                     cJSON *data, hs_err_t *err)
{
    char key[96];
    snprintf(key, sizeof key, "hs:ev:%s:%s", scope, id);
    char *json = cJSON_PrintUnformatted(data);
    cJSON_Delete(data);
    if (!json)
        return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
    const char *argv[] = {"EVAL", script, "1", key, type, json, "10000"};
    struct redisReply *reply = hs_redis_argv(ctx->redis, 7, argv, err);
    free(json);
    if (!reply) {
        hs_log_error(ctx, "event %s for %s:%s not published: Redis unavailable", type, scope, id);
        return HS_EUNAVAIL;
    }
    hs_redis_reply_free(reply);
    return 0;
}

#include <cjson/cJSON.h>

#include "hs/health.h"
#include "hs/json.h"

void hs_health_handler(hs_req_t *req)
{
    hs_err_t e1, e2;
    int store_ok = hs_store_ping(req->ctx->store, &e1) == 0;
    int redis_ok = hs_redis_ping(req->ctx->redis, &e2) == 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", store_ok && redis_ok ? "ok" : "degraded");
    cJSON_AddStringToObject(o, "store", store_ok ? "ok" : "down");
    cJSON_AddStringToObject(o, "store_backend", req->ctx->store->ops->name);
    cJSON_AddStringToObject(o, "redis", redis_ok ? "ok" : "down");
    hs_reply_json(req, store_ok && redis_ok ? 200 : 503, o);
}

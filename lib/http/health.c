#include <cjson/cJSON.h>

#include "hs/health.h"
#include "hs/json.h"

void hs_health_handler(hs_req_t *req)
{
    hs_err_t e1, e2;
    int store_ok = hs_store_ping(req->ctx->store, &e1) == 0;
    /* events = store: no Redis (and so no bridge) is part of this server */
    int no_redis = hs_config_events_store(&req->ctx->cfg);
    int redis_ok = no_redis || hs_redis_ping(req->ctx->redis, &e2) == 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", store_ok && redis_ok ? "ok" : "degraded");
    cJSON_AddStringToObject(o, "store", store_ok ? "ok" : "down");
    cJSON_AddStringToObject(o, "store_backend", req->ctx->store->ops->name);
    cJSON_AddStringToObject(o, "redis", no_redis ? "off" : redis_ok ? "ok" : "down");
    cJSON_AddStringToObject(o, "events", req->ctx->cfg.events);
    /* the web client long-polls at once when no WebSocket is offered */
    cJSON_AddBoolToObject(o, "websocket", !no_redis);
    hs_reply_json(req, store_ok && redis_ok ? 200 : 503, o);
}

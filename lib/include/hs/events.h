/* Events for real-time delivery. Each event goes to a Redis stream (kept
 * for replay after a reconnect) and is published on a channel of the same
 * name (for live delivery), in one atomic step:
 *   key/channel  hs:ev:<scope>:<id>     scope "user" or "chat"
 *   stream entry type <type> data <json>
 *   publication  "<stream id> <type> <json>" */
#ifndef HS_EVENTS_H
#define HS_EVENTS_H

#include <cjson/cJSON.h>

#include "hs/app.h"

/* Publishes event type with data (owned and freed here) to scope/id. A Redis
 * outage is logged and reported, but callers treat events as best effort:
 * the state they describe is already stored. */
int hs_event_publish(hs_ctx_t *ctx, const char *scope, const char *id, const char *type,
                     cJSON *data, hs_err_t *err);

#endif

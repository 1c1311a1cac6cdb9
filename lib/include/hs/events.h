/* Events for real-time delivery. Each event goes to a Redis stream (kept
 * for replay after a reconnect) and is published on a channel of the same
 * name (for live delivery), in one atomic step:
 *   key/channel  hs:ev:<scope>:<id>     scope "user" or "chat"
 *   stream entry id <ms>-<seq> (global, see events.c) type <type> data <json>
 *   publication  "<id> <type> <json>"
 * The reading half (ids, replay, the client's JSON form) is shared by the
 * WebSocket bridge and the long-poll app. */
#ifndef HS_EVENTS_H
#define HS_EVENTS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "hs/ctx.h"

#define HS_EV_PREFIX "hs:ev:"
/* The last event id given out (ids are global across streams). */
#define HS_EV_LAST_KEY "hs:ev:last"
/* Longest "<ms>-<seq>" text, with its NUL. */
#define HS_EV_ID_MAX 42

typedef struct hs_ev_id {
    uint64_t ms, seq;
} hs_ev_id_t;

/* Publishes event type with data (owned and freed here) to scope/id. A Redis
 * outage is logged and reported, but callers treat events as best effort:
 * the state they describe is already stored. */
int hs_event_publish(hs_ctx_t *ctx, const char *scope, const char *id, const char *type,
                     cJSON *data, hs_err_t *err);

/* Parses "<ms>-<seq>" (len bytes); 0, or -1 when it is not an event id. */
int hs_event_id_parse(const char *s, size_t len, hs_ev_id_t *out);
/* <0, 0, >0 as a is before, equal to or after b. */
int hs_event_id_cmp(hs_ev_id_t a, hs_ev_id_t b);
/* Writes the text form; returns its length. */
int hs_event_id_format(hs_ev_id_t id, char buf[HS_EV_ID_MAX]);

/* The last id given out ({0, 0} before the first event). */
int hs_event_last(hs_ctx_t *ctx, hs_ev_id_t *out, hs_err_t *err);

/* Whether a client that saw since can be replayed what followed: since is
 * within the retention window and not after last (a client of another
 * Redis). Otherwise it must resync over REST. */
int hs_event_resumable(const hs_ctx_t *ctx, hs_ev_id_t since, hs_ev_id_t last, int64_t now_ms);

/* One event read back from the streams. */
typedef struct hs_ev_item {
    hs_ev_id_t id;
    const char *type, *data; /* NUL terminated, valid until the list is freed */
    size_t type_len, data_len;
} hs_ev_item_t;

typedef struct hs_ev_list {
    hs_ev_item_t *items;
    size_t n;
    int more; /* limit was reached: read again after the last item */
    void *replies_;
    size_t nreplies_;
} hs_ev_list_t;

/* Reads the events after since in the streams keys[0..n), merged in id
 * order, at most limit. With block_ms > 0 and nothing to read, waits up to
 * that long for the first new event (XREAD BLOCK). Free with
 * hs_event_list_free(), also after a failure. */
int hs_event_read(hs_ctx_t *ctx, const char *const *keys, size_t n, hs_ev_id_t since, size_t limit,
                  int block_ms, hs_ev_list_t *out, hs_err_t *err);
void hs_event_list_free(hs_ev_list_t *l);

/* The form clients receive, {"id":..,"type":..,"data":..} (id may be NULL
 * for events that are not kept); malloc'd, *len set. */
char *hs_event_json(const char *id, const char *type, size_t type_len, const char *data,
                    size_t data_len, size_t *len);

#endif

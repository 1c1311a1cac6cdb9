/* Events for real-time delivery. Each event goes to a Redis stream (kept
 * for replay after a reconnect) and is published on a channel of the same
 * name (for live delivery), in one atomic step:
 *   key/channel  hs_event_key(scope, id)  (events.c spells the prefix)
 *   stream entry id <ms>-<seq> (global, see events.c) type <type> data <json>
 *   publication  "<id> <type> <json>"           stored (also in the stream)
 *                "-<origin user> <type> <json>" ephemeral (typing, presence,
 *                                               p2p.signal: never stored)
 * This module is the one place that knows these forms: the key names, the
 * publications (parsed and made), the client's JSON of an event, and the
 * event types the delivery rule (hs/delivery.h) reads. The WebSocket bridge
 * and the long-poll app both read through it. */
#ifndef HS_EVENTS_H
#define HS_EVENTS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "hs/arena.h"
#include "hs/ctx.h"
#include "hs/util.h"
#include "hs/vec.h"

/* Longest "<ms>-<seq>" text, with its NUL. */
#define HS_EV_ID_MAX 42
/* Longest stream key (prefix, scope, id), with its NUL. */
#define HS_EV_KEY_MAX 48

/* The event types the delivery rule and the bridge act on; the others are
 * only carried. Publishers use these names too. */
#define HS_EV_MEMBER_ADDED   "member.added"
#define HS_EV_MEMBER_REMOVED "member.removed"
#define HS_EV_CHAT_DELETED   "chat.deleted"
#define HS_EV_TYPING         "typing"
#define HS_EV_PRESENCE       "presence"
#define HS_EV_P2P_SIGNAL     "p2p.signal"

/* Whether type (len bytes, not NUL terminated) is name, e.g.
 * hs_event_type_is(t, tlen, HS_EV_MEMBER_ADDED). */
int hs_event_type_is(const char *type, size_t len, const char *name);

/* Whose stream: a user's own (their devices, p2p, file.ready) or a chat's. */
typedef enum hs_ev_scope { HS_EV_USER, HS_EV_CHAT } hs_ev_scope_t;

/* Writes the stream key of scope/id (also its channel's name) into buf;
 * returns its length. The one place key names are made. */
int hs_event_key(char buf[HS_EV_KEY_MAX], hs_ev_scope_t scope, const char *id);
/* The id a stream key names (a pointer into key) and its scope (may be
 * NULL); NULL for a key that is not a stream's. */
const char *hs_event_key_id(const char *key, hs_ev_scope_t *scope);

typedef struct hs_ev_id {
    uint64_t ms, seq;
} hs_ev_id_t;

/* Publishes event type with data (owned and freed here) to scope/id. A Redis
 * outage is logged and reported, but callers treat events as best effort:
 * the state they describe is already stored. */
int hs_event_publish(hs_ctx_t *ctx, hs_ev_scope_t scope, const char *id, const char *type,
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

/* With events = store, how often a waiting long-poll asks the store again:
 * the read is one indexed range query that finds nothing (a few us in
 * WAL mode, no write lock), so 4 a second per waiting client cost next to
 * nothing, and an event waits 125 ms on average, well under the 2 s a chat
 * message may take. */
#define HS_EV_POLL_MS 250

typedef struct hs_ev_list {
    HS_VEC(hs_ev_item_t); /* items[0..n), in id order */
    int more;             /* limit was reached: read again after the last item */
    HS_VEC(void *) replies_;
    hs_arena_t arena_; /* the items' text when events = store */
} hs_ev_list_t;

/* Reads the events after since in the streams keys[0..n), merged in id
 * order, at most limit. With block_ms > 0 and nothing to read, waits up to
 * that long for the first new event (XREAD BLOCK; with events = store, by
 * asking the store again every HS_EV_POLL_MS). Free with
 * hs_event_list_free(), also after a failure. */
int hs_event_read(hs_ctx_t *ctx, const char *const *keys, size_t n, hs_ev_id_t since, size_t limit,
                  int block_ms, hs_ev_list_t *out, hs_err_t *err);
void hs_event_list_free(hs_ev_list_t *l);

/* The form clients receive, {"id":..,"type":..,"data":..} (id may be NULL
 * for events that are not kept); malloc'd, *len set. */
char *hs_event_json(const char *id, const char *type, size_t type_len, const char *data,
                    size_t data_len, size_t *len);
/* The same into buf, which holds at least hs_event_json_max() bytes (id of
 * id_len bytes, id_len 0 for none); returns the length, without a NUL. */
size_t hs_event_json_max(size_t id_len, size_t type_len, size_t data_len);
size_t hs_event_json_into(char *buf, const char *id, size_t id_len, const char *type,
                          size_t type_len, const char *data, size_t data_len);

/* A publication as a subscriber receives it, split in place (the pointers
 * are into the payload). */
typedef struct hs_ev_pub {
    int stored;                 /* "<id> ..."; else ephemeral "-<origin> ..." */
    hs_ev_id_t id;              /* stored only */
    const char *id_text;        /* stored only: the id as published */
    size_t id_len;              /* 0 for an ephemeral one */
    char origin[HS_ID_LEN + 1]; /* ephemeral only: the user who sent it ("" else) */
    const char *type, *data;    /* not NUL terminated */
    size_t type_len, data_len;
} hs_ev_pub_t;

/* Splits a publication of n bytes; 0, or -1 when it has neither form. */
int hs_event_pub_parse(const char *p, size_t n, hs_ev_pub_t *out);
/* An ephemeral publication "-<origin> <type> <data>" (data a JSON text),
 * malloc'd; NULL when out of memory. */
char *hs_event_pub_ephemeral(const char *origin, const char *type, const char *data);

#endif

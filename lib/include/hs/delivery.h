/* Who receives a stored event: the one delivery rule, used by the
 * WebSocket bridge (live and replay) and the long-poll app alike.
 *
 * A reader receives their own user stream and the streams of the chats
 * they are a member of. Membership is read from the store when reading
 * starts (a long-poll, a bridge connection or its resync), and the events
 * read after that change it, in id order: the reader's own member.added
 * starts a chat, their own member.removed (or the chat's chat.deleted)
 * ends it. The event that ends a chat is still delivered (the reader
 * learns of the removal); nothing of that chat after it is, until the
 * reader is added back. Domain layer: no HTTP, no Redis. */
#ifndef HS_DELIVERY_H
#define HS_DELIVERY_H

#include <stddef.h>

#include "hs/util.h"
#include "hs/vec.h"

/* What an event does to a membership. */
typedef enum hs_delivery_change {
    HS_DELIVERY_NONE = 0,
    HS_DELIVERY_ADDED,   /* member.added: user_id joined chat_id */
    HS_DELIVERY_REMOVED, /* member.removed: user_id left chat_id */
    HS_DELIVERY_DELETED, /* chat.deleted: every member left chat_id */
} hs_delivery_change_t;

/* An event's membership meaning, parsed from its type and data. */
typedef struct hs_delivery_ev {
    hs_delivery_change_t change;
    char chat_id[HS_ID_LEN + 1]; /* "" when the data has no valid chat_id */
    char user_id[HS_ID_LEN + 1]; /* "" unless ADDED / REMOVED name a valid user */
} hs_delivery_ev_t;

/* Classifies an event (type of tlen bytes, data the JSON of dlen bytes).
 * Only member.added, member.removed and chat.deleted data are parsed; with
 * want_chat, the chat_id of any other event is parsed too. */
void hs_delivery_parse(const char *type, size_t tlen, const char *data, size_t dlen, int want_chat,
                       hs_delivery_ev_t *out);

/* Whether ev ends (-1), starts (1) or leaves unchanged (0) user_id's
 * membership of ev->chat_id. */
int hs_delivery_effect(const hs_delivery_ev_t *ev, const char *user_id);

/* The state of one reader over a run of events read in id order: the
 * chats they left within it. Starts empty; free with hs_delivery_free(). */
typedef struct hs_delivery_chat {
    char id[HS_ID_LEN + 1];
} hs_delivery_chat_t;

typedef struct hs_delivery {
    char me[HS_ID_LEN + 1];
    HS_VEC(hs_delivery_chat_t) gone;
} hs_delivery_t;

void hs_delivery_init(hs_delivery_t *d, const char *user_id);
void hs_delivery_free(hs_delivery_t *d);

/* Whether the next event (in id order) goes to the reader, updating d. The
 * chat_id of ordinary events is parsed only while some chat is gone, so
 * the common case costs no parsing. *effect (may be NULL) gets
 * hs_delivery_effect() for the reader, ev (may be NULL) the parse. */
int hs_delivery_admit(hs_delivery_t *d, const char *type, size_t tlen, const char *data,
                      size_t dlen, int *effect, hs_delivery_ev_t *ev);

/* Marks chat_id as left before the events to come (a reader known to have
 * left it earlier); 0 or -1 when out of memory. */
int hs_delivery_leave(hs_delivery_t *d, const char *chat_id);

/* Whether chat_id was left within the events admitted so far (and not
 * joined again). */
int hs_delivery_gone(const hs_delivery_t *d, const char *chat_id);

#endif

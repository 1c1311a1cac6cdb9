/* What a long-poll reader receives: the events of a user's own stream and
 * of the chats they are a member of, after the delivery rule
 * (hs/delivery.h). The updates app (GET /api/v1/updates) is its HTTP
 * shell. */
#ifndef HS_UPDATES_H
#define HS_UPDATES_H

#include "hs/arena.h"
#include "hs/events.h" /* hs_ctx_t, hs_ev_list_t */

/* Reads user_id's events after since into l (at most limit; free it with
 * hs_event_list_free(), also after a failure), waiting up to block_ms for
 * the first. Memberships are read now, and again without waiting when the
 * wait ended on the user's own joining of a chat not read; the events that
 * follow the user's removal from a chat are dropped. *last_read gets the
 * id of the last event read, dropped or not (unchanged when none was). */
int hs_updates_read(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id, hs_ev_id_t since,
                    size_t limit, int block_ms, hs_ev_list_t *l, hs_ev_id_t *last_read,
                    hs_err_t *err);

#endif

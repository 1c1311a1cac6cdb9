/* What a long-poll reader receives: the events of a user's own stream and
 * of the chats they are a member of, after the delivery rule
 * (hs/delivery.h), and whether a poll may wait for them (the caps on
 * waiting polls). The updates app (GET /api/v1/updates) is its HTTP
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

/* A poll's hold on the slots of waiting polls (hs_updates_wait_begin). */
typedef struct hs_updates_wait {
    char user_key[64]; /* hs:polls:<user id>: updates_per_user */
    char holder[40];   /* <pid>-<ms>: one request of one process */
    int user_held, host_held;
} hs_updates_wait_t;

/* Whether user_id's poll may wait *block_ms (0: it does not ask to, and
 * nothing is taken). It takes one of the user's updates_per_user slots
 * (all taken: HS_ERATE too_many_polls) and, with updates_max_waiting, one
 * of the host's; when the host's are all taken it holds none, sets
 * *block_ms to 0 and *retry_ms to updates_short_poll_ms (else 0): the poll
 * answers at once and its client polls again after retry_ms. Slots live
 * where the limits do (hs/limit.h) and end by themselves 10 s after the
 * wait would, so a killed process frees its own. */
int hs_updates_wait_begin(hs_ctx_t *ctx, const char *user_id, int *block_ms, long *retry_ms,
                          hs_updates_wait_t *w, hs_err_t *err);

/* Gives back the slots hs_updates_wait_begin took (none: a no-op). */
void hs_updates_wait_end(hs_ctx_t *ctx, hs_updates_wait_t *w);

#endif

/* A long-poll reader's events (hs/updates.h), moved here from the updates
 * app so that the delivery rule lives in lib with the bridge's; and the
 * rule of who may wait for them (the user's and the host's slots). */
#include "hs/updates.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hs/chats.h"
#include "hs/delivery.h"
#include "hs/limit.h"
#include "hs/util.h"

static const char *stream_key(hs_arena_t *a, hs_ev_scope_t scope, const char *id)
{
    char key[HS_EV_KEY_MAX];
    hs_event_key(key, scope, id);
    return hs_arena_strdup(a, key);
}

/* The streams user_id reads: their own, then one per chat they are a
 * member of now (the store is asked at every poll, so a removed member
 * stops reading the chat at once). Keys are allocated in the arena. */
static int stream_keys(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id, const char ***keys,
                       size_t *n, hs_err_t *err)
{
    hs_chat_ref_t *chats;
    size_t nchats;
    int rc = hs_chat_memberships(ctx, a, user_id, &chats, &nchats, err);
    if (rc)
        return rc;
    *keys = hs_arena_alloc(a, (nchats + 1) * sizeof **keys);
    (*keys)[0] = stream_key(a, HS_EV_USER, user_id);
    for (size_t i = 0; i < nchats; i++)
        (*keys)[i + 1] = stream_key(a, HS_EV_CHAT, chats[i].id);
    *n = nchats + 1;
    return 0;
}

static int in_set(const char **set, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] && strcmp(set[i], id) == 0)
            return 1;
    return 0;
}

/* Whether l holds the user's own member.added for a chat whose stream is
 * not among keys: they joined after the member list was read. */
static int joined_unread(const char *me, const char **keys, size_t nkeys, const hs_ev_list_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const hs_ev_item_t *it = &l->items[i];
        hs_delivery_ev_t ev;
        hs_delivery_parse(it->type, it->type_len, it->data, it->data_len, 0, &ev);
        if (hs_delivery_effect(&ev, me) <= 0 || ev.change != HS_DELIVERY_ADDED)
            continue;
        char key[HS_EV_KEY_MAX];
        hs_event_key(key, HS_EV_CHAT, ev.chat_id);
        if (!in_set(keys, nkeys, key))
            return 1;
    }
    return 0;
}

/* Reads the user's events after since into l (free it with
 * hs_event_list_free(), also after a failure), waiting up to block_ms for
 * the first. A wait often ends on the user's own member.added (published on
 * their user stream) for a chat they were not in when the wait began: then
 * the member list is read again and the streams once more, without
 * waiting, so the reply already holds what that chat published (its
 * chat.created among it) instead of leaving it behind next. */
static int read_updates(hs_ctx_t *ctx, hs_arena_t *a, const char *me, hs_ev_id_t since,
                        size_t limit, int block_ms, hs_ev_list_t *l, hs_err_t *err)
{
    const char **keys;
    size_t nkeys;
    memset(l, 0, sizeof *l);
    int rc = stream_keys(ctx, a, me, &keys, &nkeys, err);
    if (!rc)
        rc = hs_event_read(ctx, keys, nkeys, since, limit, block_ms, l, err);
    if (rc || !joined_unread(me, keys, nkeys, l))
        return rc;
    hs_event_list_free(l);
    rc = stream_keys(ctx, a, me, &keys, &nkeys, err);
    if (!rc)
        rc = hs_event_read(ctx, keys, nkeys, since, limit, 0, l, err);
    return rc;
}

/* Drops, in place, what the delivery rule (hs/delivery.h) keeps from the
 * user: the events of a chat that follow their own removal from it (until
 * they are added back). The member list is read before the streams, so a
 * removal that lands in between (or one in the past of an old since,
 * followed by a re-join) would otherwise let a non-member read what the
 * chat said meanwhile. The bridge's replay applies the same rule. */
static void drop_after_removal(const char *me, hs_ev_list_t *l)
{
    hs_delivery_t d;
    hs_delivery_init(&d, me);
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        const hs_ev_item_t *it = &l->items[i];
        if (hs_delivery_admit(&d, it->type, it->type_len, it->data, it->data_len, NULL, NULL))
            l->items[kept++] = *it;
    }
    l->n = kept;
    hs_delivery_free(&d);
}

int hs_updates_read(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id, hs_ev_id_t since,
                    size_t limit, int block_ms, hs_ev_list_t *l, hs_ev_id_t *last_read,
                    hs_err_t *err)
{
    int rc = read_updates(ctx, a, user_id, since, limit, block_ms, l, err);
    if (rc || !l->n)
        return rc;
    *last_read = l->items[l->n - 1].id; /* before drops: those were read too */
    drop_after_removal(user_id, l);
    return 0;
}

/* The host's slots: one key for every user, so the cap counts the waiting
 * polls of all processes (of every front) at once. */
#define HOST_KEY "hs:polls"

int hs_updates_wait_begin(hs_ctx_t *ctx, const char *user_id, int *block_ms, long *retry_ms,
                          hs_updates_wait_t *w, hs_err_t *err)
{
    memset(w, 0, sizeof *w);
    *retry_ms = 0;
    if (*block_ms <= 0)
        return 0;
    snprintf(w->user_key, sizeof w->user_key, "hs:polls:%s", user_id);
    snprintf(w->holder, sizeof w->holder, "%d-%lld", (int)getpid(), (long long)hs_now_ms());
    long ttl_ms = *block_ms + 10000L; /* the wait, its reply, and some slack */
    int rc = hs_limit_acquire(ctx, w->user_key, w->holder, ctx->cfg.updates_per_user, ttl_ms,
                              "too_many_polls", err);
    if (rc)
        return rc;
    w->user_held = 1;
    long cap = ctx->cfg.updates_max_waiting;
    if (cap <= 0)
        return 0;
    if (hs_limit_acquire(ctx, HOST_KEY, w->holder, cap, ttl_ms, "too_many_polls", NULL) == 0) {
        w->host_held = 1;
        return 0;
    }
    /* No process to spare for one more wait: this one answers now, and
     * its user's slot is not held for a wait that does not happen. */
    hs_updates_wait_end(ctx, w);
    *block_ms = 0;
    *retry_ms = ctx->cfg.updates_short_poll_ms;
    return 0;
}

void hs_updates_wait_end(hs_ctx_t *ctx, hs_updates_wait_t *w)
{
    if (w->host_held)
        hs_limit_release(ctx, HOST_KEY, w->holder);
    if (w->user_held)
        hs_limit_release(ctx, w->user_key, w->holder);
    w->host_held = w->user_held = 0;
}

/* The delivery rule (hs/delivery.h). Kept apart from events.c, which
 * writes and reads the streams: this file only decides, from an event's
 * type and data, who may see what follows it. */
#include "hs/delivery.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs/events.h"

static void copy_id(char out[HS_ID_LEN + 1], const cJSON *v)
{
    const char *s = cJSON_GetStringValue(v);
    if (s && hs_id_valid(s))
        memcpy(out, s, HS_ID_LEN + 1);
    else
        out[0] = 0;
}

void hs_delivery_parse(const char *type, size_t tlen, const char *data, size_t dlen, int want_chat,
                       hs_delivery_ev_t *out)
{
    out->change = HS_DELIVERY_NONE;
    out->chat_id[0] = out->user_id[0] = 0;
    if (hs_event_type_is(type, tlen, HS_EV_MEMBER_ADDED))
        out->change = HS_DELIVERY_ADDED;
    else if (hs_event_type_is(type, tlen, HS_EV_MEMBER_REMOVED))
        out->change = HS_DELIVERY_REMOVED;
    else if (hs_event_type_is(type, tlen, HS_EV_CHAT_DELETED))
        out->change = HS_DELIVERY_DELETED;
    if (out->change == HS_DELIVERY_NONE && !want_chat)
        return;
    cJSON *d = cJSON_ParseWithLength(data, dlen);
    copy_id(out->chat_id, cJSON_GetObjectItemCaseSensitive(d, "chat_id"));
    if (out->change == HS_DELIVERY_ADDED || out->change == HS_DELIVERY_REMOVED)
        copy_id(out->user_id, cJSON_GetObjectItemCaseSensitive(d, "user_id"));
    cJSON_Delete(d);
    /* a membership event without its ids changes nothing */
    if (!out->chat_id[0] || (out->change != HS_DELIVERY_DELETED && !out->user_id[0]))
        out->change = HS_DELIVERY_NONE;
}

int hs_delivery_effect(const hs_delivery_ev_t *ev, const char *user_id)
{
    switch (ev->change) {
    case HS_DELIVERY_ADDED:
        return strcmp(ev->user_id, user_id) == 0 ? 1 : 0;
    case HS_DELIVERY_REMOVED:
        return strcmp(ev->user_id, user_id) == 0 ? -1 : 0;
    case HS_DELIVERY_DELETED:
        return -1;
    default:
        return 0;
    }
}

void hs_delivery_init(hs_delivery_t *d, const char *user_id)
{
    memset(d, 0, sizeof *d);
    snprintf(d->me, sizeof d->me, "%s", user_id);
}

void hs_delivery_free(hs_delivery_t *d)
{
    hs_vec_free(&d->gone);
}

static size_t gone_at(const hs_delivery_t *d, const char *chat_id)
{
    for (size_t i = 0; i < d->gone.n; i++)
        if (strcmp(d->gone.items[i].id, chat_id) == 0)
            return i;
    return d->gone.n;
}

int hs_delivery_gone(const hs_delivery_t *d, const char *chat_id)
{
    return gone_at(d, chat_id) < d->gone.n;
}

int hs_delivery_leave(hs_delivery_t *d, const char *chat_id)
{
    if (gone_at(d, chat_id) < d->gone.n)
        return 0;
    hs_delivery_chat_t c;
    snprintf(c.id, sizeof c.id, "%s", chat_id);
    return hs_vec_push(&d->gone, c);
}

int hs_delivery_admit(hs_delivery_t *d, const char *type, size_t tlen, const char *data,
                      size_t dlen, int *effect, hs_delivery_ev_t *ev)
{
    hs_delivery_ev_t local;
    if (!ev)
        ev = &local;
    hs_delivery_parse(type, tlen, data, dlen, d->gone.n > 0, ev);
    int e = hs_delivery_effect(ev, d->me);
    if (effect)
        *effect = e;
    size_t at = ev->chat_id[0] ? gone_at(d, ev->chat_id) : d->gone.n;
    if (e > 0) {
        if (at < d->gone.n) /* added back: the chat is the reader's again */
            hs_vec_swap_remove(&d->gone, at);
        return 1;
    }
    if (e < 0) {
        /* the event that ends the chat goes out, and so does the user
         * stream's copy of a removal; a deletion after the reader left is
         * no longer theirs */
        if (at < d->gone.n)
            return ev->change != HS_DELIVERY_DELETED;
        hs_delivery_leave(d,
                          ev->chat_id); /* out of memory: the caller's membership still applies */
        return 1;
    }
    return at == d->gone.n;
}

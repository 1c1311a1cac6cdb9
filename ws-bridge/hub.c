/* Users, channels and routing. A channel is subscribed once per bridge
 * however many local users need it (reference counted by its user list);
 * an event is parsed once and the same bytes are queued on every
 * connection it goes to.
 *
 * Exactly once, in order: event ids are global and Redis delivers
 * publications in id order, so each connection remembers the newest id it
 * was given and drops anything not newer. A connection whose subscriptions
 * are not all confirmed (new connection, new chat, Redis reconnect) is
 * "syncing": live events skip it, and once everything is subscribed it is
 * replayed from the streams everything after its last id, then goes live. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "hs/chats.h"
#include "hs/delivery.h"
#include "hs/log.h"

#define REPLAY_BATCH 1000
/* A channel nobody here needs any more stays subscribed this long: a user
 * who reconnects at once (a page reload) finds it still there, and an
 * UNSUBSCRIBE never races a new SUBSCRIBE of the same channel (hiredis 0.14
 * would drop the channel's callback). */
#define CHAN_LINGER_MS 5000

/* Presence goes to direct chats and groups up to presence_max_members:
 * in a large group (and in broadcast channels) everyone's coming and going
 * would cost members times members deliveries. */
static int wants_presence(const hs_bridge_t *b, const char *kind, int64_t members)
{
    return kind && strcmp(kind, "channel") != 0 && members <= b->ctx.cfg.presence_max_members;
}

static hs_chan_t *chan_get(hs_bridge_t *b, hs_ev_scope_t scope, const char *id)
{
    char name[HS_EV_KEY_MAX];
    hs_event_key(name, scope, id);
    hs_chan_t *ch = hs_map_get(&b->chans, name);
    if (ch)
        return ch;
    ch = calloc(1, sizeof *ch);
    if (!ch)
        return NULL;
    memcpy(ch->name, name, sizeof name);
    ch->is_user = scope == HS_EV_USER;
    if (hs_map_put(&b->chans, ch->name, ch)) {
        free(ch);
        return NULL;
    }
    hs_sub_subscribe(b, ch);
    return ch;
}

static int chan_add_user(hs_chan_t *ch, hs_buser_t *u)
{
    if (hs_vec_push(&ch->users, u))
        return -1;
    ch->idle_since = 0;
    return 0;
}

/* Drops u from ch; a channel without users lingers (hs_hub_reap frees it). */
static void chan_drop_user(hs_bridge_t *b, hs_chan_t *ch, hs_buser_t *u)
{
    (void)b;
    for (size_t i = 0; i < ch->users.n; i++)
        if (ch->users.items[i] == u) {
            hs_vec_swap_remove(&ch->users, i);
            break;
        }
    if (!ch->users.n)
        ch->idle_since = hs_now_ms();
}

typedef struct reap {
    hs_bridge_t *b;
    int64_t before;
} reap_t;

/* Frees an idle channel (unsubscribed) lingering since before. */
static int reap_chan(void *val, void *ud)
{
    hs_chan_t *ch = val;
    reap_t *r = ud;
    if (ch->users.n || ch->idle_since > r->before)
        return 0;
    hs_sub_unsubscribe(r->b, ch->name);
    hs_vec_free(&ch->users);
    free(ch);
    return 1;
}

void hs_hub_reap(hs_bridge_t *b, int all)
{
    reap_t r = {b, all ? INT64_MAX : hs_now_ms() - CHAN_LINGER_MS};
    hs_map_drop_if(&b->chans, reap_chan, &r);
}

/* The chat id a chat channel's name holds (the key of chatmap). */
#define CHAT_KEY(ch) hs_event_key_id((ch)->name, NULL)

hs_bmember_t *hs_hub_member(hs_buser_t *u, const char *chat_id)
{
    return hs_map_get(&u->chatmap, chat_id);
}

hs_chan_t *hs_hub_user_chat(hs_buser_t *u, const char *chat_id)
{
    hs_bmember_t *m = hs_hub_member(u, chat_id);
    return m ? m->chan : NULL;
}

static int user_join(hs_bridge_t *b, hs_buser_t *u, const char *chat_id, int presence)
{
    if (hs_hub_member(u, chat_id) || hs_vec_reserve(&u->chats, u->chats.n + 1))
        return hs_hub_member(u, chat_id) ? 0 : -1;
    hs_bmember_t *m = calloc(1, sizeof *m);
    hs_chan_t *ch = m ? chan_get(b, HS_EV_CHAT, chat_id) : NULL;
    if (!ch || chan_add_user(ch, u)) {
        free(m);
        return -1;
    }
    m->chan = ch;
    if (hs_map_put(&u->chatmap, CHAT_KEY(ch), m)) {
        chan_drop_user(b, ch, u);
        free(m);
        return -1;
    }
    ch->presence = presence;
    u->chats.items[u->chats.n++] = m; /* room reserved above */
    return 0;
}

static void user_leave(hs_bridge_t *b, hs_buser_t *u, const char *chat_id)
{
    hs_bmember_t *m = hs_map_del(&u->chatmap, chat_id);
    if (!m)
        return;
    for (size_t i = 0; i < u->chats.n; i++)
        if (u->chats.items[i] == m) {
            hs_vec_swap_remove(&u->chats, i);
            break;
        }
    chan_drop_user(b, m->chan, u);
    free(m);
}

static int user_replaying(const hs_buser_t *u)
{
    const hs_queue_t *q;
    HS_QUEUE_FOREACH (q, &u->conns)
        if (hs_queue_linked(&HS_CONN_OF(q, in_user)->in_sync))
            return 1;
    return 0;
}

/* u left chat_id with the event at: live delivery of the chat ends now;
 * a connection of u still replaying reads the chat up to that event. */
static void user_left(hs_bridge_t *b, hs_buser_t *u, const char *chat_id, hs_ev_id_t at)
{
    if (!hs_hub_member(u, chat_id))
        return;
    user_leave(b, u, chat_id);
    if (!user_replaying(u))
        return;
    for (size_t i = 0; i < u->left.n; i++)
        if (strcmp(u->left.items[i].chat_id, chat_id) == 0) {
            u->left.items[i].at = at;
            return;
        }
    hs_bleft_t l = {.at = at};
    memcpy(l.chat_id, chat_id, HS_ID_LEN + 1);
    hs_vec_push(&u->left, l); /* out of memory: the other replays skip the chat's last events */
}

static void left_forget(hs_buser_t *u, const char *chat_id)
{
    for (size_t i = 0; i < u->left.n; i++)
        if (strcmp(u->left.items[i].chat_id, chat_id) == 0) {
            hs_vec_swap_remove(&u->left, i);
            return;
        }
}

static void syncing_add(hs_bridge_t *b, hs_conn_t *c)
{
    if (hs_queue_linked(&c->in_sync) || c->state == HS_CONN_CLOSING)
        return;
    c->state = HS_CONN_SYNCING;
    hs_queue_insert_head(&b->syncing, &c->in_sync);
}

static void syncing_del(hs_conn_t *c)
{
    hs_queue_remove(&c->in_sync);
}

/* Frees a spent budget refilled by *before. */
static int reap_owed(void *val, void *ud)
{
    hs_owed_t *o = val;
    if (o->rate_tat > *(const int64_t *)ud)
        return 0;
    free(o);
    return 1;
}

void hs_hub_reap_owed(hs_bridge_t *b, int all)
{
    int64_t before = all ? INT64_MAX : hs_now_ms();
    hs_map_drop_if(&b->owed, reap_owed, &before);
}

/* Keeps u's spent client-event budget (client.c) past their last connection. */
static void owed_keep(hs_bridge_t *b, const hs_buser_t *u)
{
    if (u->rate_tat <= hs_now_ms() || hs_map_get(&b->owed, u->id))
        return;
    hs_owed_t *o = malloc(sizeof *o);
    if (!o)
        return;
    memcpy(o->id, u->id, sizeof o->id);
    o->rate_tat = u->rate_tat;
    if (hs_map_put(&b->owed, o->id, o))
        free(o);
}

static void user_free(hs_bridge_t *b, hs_buser_t *u)
{
    owed_keep(b, u);
    while (u->chats.n)
        user_leave(b, u, CHAT_KEY(u->chats.items[u->chats.n - 1]->chan));
    if (u->self)
        chan_drop_user(b, u->self, u);
    hs_map_del(&b->users, u->id);
    hs_map_free(&u->chatmap);
    hs_vec_free(&u->chats);
    hs_vec_free(&u->left);
    free(u);
}

/* Makes u's chats those the store lists (the source of truth after events
 * were lost); 0 or -1 (then u is unchanged or partly updated, and the
 * caller retries or gives up). */
static int user_load(hs_bridge_t *b, hs_buser_t *u)
{
    hs_arena_t a = {0};
    hs_chat_ref_t *refs;
    size_t n;
    hs_err_t err = {0};
    int rc = hs_chat_memberships(&b->ctx, &a, u->id, &refs, &n, &err);
    if (!rc) {
        hs_map_t keep = {0};
        for (size_t i = 0; !rc && i < n; i++)
            rc = hs_map_put(&keep, refs[i].id, refs + i) ||
                 user_join(b, u, refs[i].id, wants_presence(b, refs[i].kind, refs[i].member_count));
        for (size_t i = u->chats.n; !rc && i > 0; i--)
            if (!hs_map_get(&keep, CHAT_KEY(u->chats.items[i - 1]->chan)))
                user_leave(b, u, CHAT_KEY(u->chats.items[i - 1]->chan));
        hs_map_free(&keep);
    }
    hs_arena_free(&a);
    if (rc)
        hs_log_error(&b->ctx, "chats of user %s not loaded: %s", u->id,
                     err.message[0] ? err.message : "out of memory");
    u->epoch = b->epoch;
    return rc;
}

/* The user's channels: their own and every chat's, from the store. */
static hs_buser_t *user_new(hs_bridge_t *b, const char *user_id)
{
    hs_buser_t *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    snprintf(u->id, sizeof u->id, "%s", user_id);
    hs_queue_init(&u->conns);
    if (hs_map_put(&b->users, u->id, u)) {
        free(u);
        return NULL;
    }
    hs_owed_t *owed = hs_map_del(&b->owed, u->id);
    if (owed) {
        u->rate_tat = owed->rate_tat;
        free(owed);
    }
    u->self = chan_get(b, HS_EV_USER, user_id);
    if (!u->self || chan_add_user(u->self, u)) {
        u->self = NULL;
        user_free(b, u);
        return NULL;
    }
    if (user_load(b, u)) {
        user_free(b, u);
        return NULL;
    }
    return u;
}

int hs_hub_attach(hs_bridge_t *b, hs_conn_t *c, const char *user_id)
{
    hs_buser_t *u = hs_map_get(&b->users, user_id);
    int first = !u;
    if (!u && !(u = user_new(b, user_id)))
        return -1;
    c->user = u;
    hs_queue_insert_head(&u->conns, &c->in_user);
    u->nconns++;
    c->fresh = 1;
    c->epoch = b->epoch;
    if (!c->has_since) {
        /* Live from now: the newest id before subscribing is where a replay
         * starts, so nothing published meanwhile is missed. */
        hs_err_t err = {0};
        if (hs_event_last(&b->ctx, &c->last_sent, &err)) {
            c->last_sent.ms = (uint64_t)(hs_now_ms() - 2000);
            c->last_sent.seq = 0;
        }
    }
    syncing_add(b, c);
    if (first)
        hs_presence_change(b, u, 1);
    return 0;
}

void hs_hub_detach(hs_bridge_t *b, hs_conn_t *c)
{
    hs_buser_t *u = c->user;
    syncing_del(c);
    hs_queue_remove(&c->in_user);
    c->user = NULL;
    if (--u->nconns == 0) {
        hs_presence_change(b, u, -1);
        user_free(b, u);
    }
}

/* The client form of a publication (hs/events.h), parsed once for every
 * connection it goes to: an ephemeral one is droppable for slow readers. */
static hs_ev_t *parse(const char *p, size_t n, hs_ev_pub_t *pub)
{
    if (hs_event_pub_parse(p, n, pub))
        return NULL;
    hs_ev_t *ev = hs_ev_new(hs_event_json_max(pub->id_len, pub->type_len, pub->data_len));
    if (!ev)
        return NULL;
    ev->stored = pub->stored;
    ev->droppable = !pub->stored;
    ev->id = pub->id;
    ev->len = hs_event_json_into(ev->json, pub->id_text, pub->id_len, pub->type, pub->type_len,
                                 pub->data, pub->data_len);
    return ev;
}

static void fanout(hs_bridge_t *b, hs_chan_t *ch, hs_ev_t *ev, const char *origin)
{
    for (size_t i = 0; i < ch->users.n; i++) {
        hs_buser_t *u = ch->users.items[i];
        if (origin[0] && strcmp(origin, u->id) == 0)
            continue; /* your own typing / presence */
        hs_queue_t *q;
        HS_QUEUE_FOREACH (q, &u->conns) {
            hs_conn_t *c = HS_CONN_OF(q, in_user);
            if (c->state != HS_CONN_READY)
                continue;
            if (ev->stored && hs_event_id_cmp(ev->id, c->last_sent) <= 0)
                continue;
            hs_conn_push(b, c, ev);
        }
    }
}

/* Applies to u the effect (hs_delivery_effect) of a stored event d with
 * id at, after the event itself went out (so a removed member still learns
 * of the removal): a removal ends live delivery of the chat now; a join
 * subscribes the chat and puts u's connections back to syncing, which
 * replays the chat from the join on. Live delivery and replay both come
 * here. Returns 1 when u joined the chat. */
static int user_apply(hs_bridge_t *b, hs_buser_t *u, const hs_delivery_ev_t *d, int effect,
                      hs_ev_id_t at)
{
    if (effect < 0) {
        user_left(b, u, d->chat_id, at);
        return 0;
    }
    if (effect == 0 || hs_hub_member(u, d->chat_id))
        return 0;
    hs_arena_t a = {0};
    hs_chat_t chat;
    hs_err_t err = {0};
    int presence = hs_chat_get(&b->ctx, &a, d->chat_id, &chat, &err) == 0 &&
                   wants_presence(b, chat.kind, chat.member_count);
    hs_arena_free(&a);
    left_forget(u, d->chat_id);
    if (user_join(b, u, d->chat_id, presence))
        return 0;
    hs_queue_t *q;
    HS_QUEUE_FOREACH (q, &u->conns)
        syncing_add(b, HS_CONN_OF(q, in_user));
    return 1;
}

/* The delivery rule of hs/delivery.h, applied live to every local user a
 * stored event on ch concerns. */
static void membership(hs_bridge_t *b, hs_chan_t *ch, const hs_ev_t *ev, const char *type,
                       size_t tlen, const char *json, size_t jlen)
{
    hs_delivery_ev_t d;
    hs_delivery_parse(type, tlen, json, jlen, 0, &d);
    if (d.change == HS_DELIVERY_NONE)
        return;
    if (d.change == HS_DELIVERY_DELETED) {
        if (ch->is_user)
            return;
        for (size_t k = ch->users.n; k > 0; k--)
            user_apply(b, ch->users.items[k - 1], &d, -1, ev->id);
        return;
    }
    hs_buser_t *u = hs_map_get(&b->users, d.user_id);
    if (u)
        user_apply(b, u, &d, hs_delivery_effect(&d, u->id), ev->id);
}

void hs_hub_message(hs_bridge_t *b, const char *channel, size_t clen, const char *payload,
                    size_t plen)
{
    (void)clen;
    hs_chan_t *ch = hs_map_get(&b->chans, channel);
    if (!ch)
        return;
    b->m.events_in++;
    hs_ev_pub_t pub;
    hs_ev_t *ev = parse(payload, plen, &pub);
    if (!ev)
        return;
    fanout(b, ch, ev, pub.origin);
    if (ev->stored)
        membership(b, ch, ev, pub.type, pub.type_len, pub.data, pub.data_len);
    hs_ev_unref(ev);
}

void hs_hub_subscribed(hs_bridge_t *b, const char *channel, size_t clen)
{
    (void)clen;
    hs_chan_t *ch = hs_map_get(&b->chans, channel);
    if (ch)
        ch->active = 1;
}

static void chan_lost(void *val, void *ud)
{
    (void)ud;
    hs_chan_t *ch = val;
    ch->active = ch->sent = 0;
}

void hs_hub_redis_lost(hs_bridge_t *b)
{
    hs_map_each(&b->chans, chan_lost, NULL);
    hs_queue_t *q;
    HS_QUEUE_FOREACH (q, &b->all) {
        hs_conn_t *c = HS_CONN_OF(q, in_all);
        if (c->state == HS_CONN_READY)
            syncing_add(b, c);
    }
}

static int user_active(const hs_buser_t *u)
{
    if (!u->self->active)
        return 0;
    for (size_t i = 0; i < u->chats.n; i++)
        if (!u->chats.items[i]->chan->active)
            return 0;
    return 1;
}

static void reply_resync(hs_bridge_t *b, hs_conn_t *c, const char *reason)
{
    char buf[96];
    int n = snprintf(buf, sizeof buf, "{\"type\":\"resync_required\",\"reason\":\"%s\"}", reason);
    hs_conn_reply(b, c, buf, (size_t)n);
}

/* The streams a replay of c reads: the user's own, every chat's, and the
 * chats left while c was replaying (read up to the removal); allocated in
 * a, which the caller frees. d starts with the chats c already saw
 * removed, so nothing of them after c->last_sent goes out. */
static const char **replay_keys(hs_conn_t *c, hs_arena_t *a, size_t *n, hs_delivery_t *d)
{
    hs_buser_t *u = c->user;
    const char **keys = hs_arena_alloc(a, (u->chats.n + u->left.n + 1) * sizeof *keys);
    if (!keys)
        return NULL;
    *n = 0;
    keys[(*n)++] = hs_arena_strdup(a, u->self->name);
    for (size_t i = 0; i < u->chats.n; i++)
        keys[(*n)++] = hs_arena_strdup(a, u->chats.items[i]->chan->name);
    for (size_t i = 0; i < u->left.n; i++) {
        if (hs_event_id_cmp(u->left.items[i].at, c->last_sent) > 0) {
            char key[HS_EV_KEY_MAX];
            hs_event_key(key, HS_EV_CHAT, u->left.items[i].chat_id);
            keys[(*n)++] = hs_arena_strdup(a, key);
        } else {
            hs_delivery_leave(d, u->left.items[i].chat_id);
        }
    }
    return keys;
}

/* Queues everything after c->last_sent in the user's streams that the
 * delivery rule (hs/delivery.h) gives the user; 0, 1 when the user joined
 * a chat within it (the replay stops there and goes on once the chat is
 * subscribed), or -1. A removal seen here ends live delivery of the chat
 * at once, as it does live. */
static int replay(hs_bridge_t *b, hs_conn_t *c)
{
    hs_buser_t *u = c->user;
    hs_arena_t a = {0};
    hs_delivery_t d;
    hs_delivery_init(&d, u->id);
    size_t nkeys;
    const char **keys = replay_keys(c, &a, &nkeys, &d);
    int rc = keys ? 0 : -1, more = 1;
    while (more && rc == 0 && c->state != HS_CONN_CLOSING) {
        hs_ev_list_t l;
        hs_err_t err = {0};
        rc = hs_event_read(&b->ctx, keys, nkeys, c->last_sent, REPLAY_BATCH, 0, &l, &err);
        more = l.more;
        for (size_t i = 0; rc == 0 && i < l.n; i++) {
            const hs_ev_item_t *it = &l.items[i];
            int effect;
            hs_delivery_ev_t dev;
            if (!hs_delivery_admit(&d, it->type, it->type_len, it->data, it->data_len, &effect,
                                   &dev)) {
                c->last_sent = it->id; /* read, not for this user */
                continue;
            }
            char id[HS_EV_ID_MAX];
            size_t idl = (size_t)hs_event_id_format(it->id, id);
            hs_ev_t *ev = hs_ev_new(hs_event_json_max(idl, it->type_len, it->data_len));
            if (!ev) {
                rc = -1;
                break;
            }
            ev->len = hs_event_json_into(ev->json, id, idl, it->type, it->type_len, it->data,
                                         it->data_len);
            ev->stored = 1;
            ev->id = it->id;
            hs_conn_push(b, c, ev);
            hs_ev_unref(ev);
            b->m.replayed++;
            /* a chat joined during the gap: its stream from here on
             * needs its channel first */
            if (user_apply(b, u, &dev, effect, it->id)) {
                rc = 1;
                more = 0;
                break;
            }
        }
        hs_event_list_free(&l);
        hs_conn_flush(b, c); /* a long replay goes out as it is read */
    }
    hs_delivery_free(&d);
    hs_arena_free(&a);
    return rc;
}

static void hello(hs_bridge_t *b, hs_conn_t *c, hs_ev_id_t last, int resumed)
{
    char id[HS_EV_ID_MAX], buf[320];
    hs_event_id_format(last, id);
    const hs_config_t *cfg = &b->ctx.cfg;
    int n = snprintf(buf, sizeof buf,
                     "{\"type\":\"hello\",\"user_id\":\"%s\",\"last_id\":\"%s\",\"resumed\":%s,"
                     "\"heartbeat\":%ld,\"retention\":%ld,\"max_message\":%ld}",
                     c->user->id, id, resumed ? "true" : "false", cfg->ws_heartbeat,
                     cfg->events_retention, cfg->ws_max_message);
    hs_conn_reply(b, c, buf, (size_t)n);
}

static void sync_conn(hs_bridge_t *b, hs_conn_t *c)
{
    hs_ev_id_t last;
    hs_err_t err = {0};
    if (hs_event_last(&b->ctx, &last, &err))
        return; /* Redis is away again: stays syncing */
    syncing_del(c);
    c->state = HS_CONN_READY;
    if (c->fresh) {
        c->fresh = 0;
        int resumed = 0;
        if (c->has_since) {
            resumed = hs_event_resumable(&b->ctx, c->since, last, hs_now_ms());
            c->last_sent = resumed ? c->since : last;
        }
        hello(b, c, last, resumed);
        if (c->has_since && !resumed)
            reply_resync(b, c, "since_too_old");
    } else if (c->epoch != b->epoch) {
        reply_resync(b, c, "redis_restarted");
    }
    c->epoch = b->epoch;
    /* -1: the stream could not be read, try again on the next turn; 1: a
     * chat was joined, go on once it is subscribed */
    if (replay(b, c))
        syncing_add(b, c);
    else if (!user_replaying(c->user))
        c->user->left.n = 0;
}

void hs_hub_sync_ready(hs_bridge_t *b)
{
    if (!hs_sub_connected(b))
        return;
    /* by hand: sync_conn unlinks c (and may link it again at the head) */
    hs_queue_t *q, *next;
    for (q = b->syncing.next; q != &b->syncing; q = next) {
        next = q->next;
        hs_conn_t *c = HS_CONN_OF(q, in_sync);
        if (c->state == HS_CONN_CLOSING) {
            syncing_del(c);
            continue;
        }
        if (!c->user)
            continue;
        /* Redis restarted empty: the membership changes of the outage are
         * lost with its events, so the store says who is in what */
        if (c->user->epoch != b->epoch && user_load(b, c->user))
            continue;
        if (user_active(c->user))
            sync_conn(b, c);
    }
}

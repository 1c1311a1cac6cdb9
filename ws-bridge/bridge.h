/* The WebSocket bridge: one libuv loop drives libwebsockets (client
 * connections) and a hiredis async connection (subscriptions). Modules:
 *   main.c     process life: config, loop, signals, shutdown
 *   accept.c   hs_accept_* the listening socket and request heads, handed to lws
 *   conn.c     hs_conn_*   one WebSocket connection: handshake, queue, writes;
 *                          reports up only through hs_conn_cb_t
 *   hub.c      hs_hub_*    users, channels, routing of events, replay
 *   sub.c      hs_sub_*    the Redis subscriber connection; reports up
 *                          only through hs_sub_cb_t
 *   client.c   hs_client_* events a client sends: validation, limits
 *   work.c     hs_work_*   their store and Redis work, on libuv's thread pool
 *   presence.c hs_presence_* online / offline across bridges
 *   metrics.c  hs_metrics_* Prometheus text on a loopback port
 *   map.c      hs_map_*    string-keyed hash map
 * Calls go one way (README.md, "Dependencies"). docs/ws.md is the
 * protocol; docs/architecture.md the design. */
#ifndef HS_BRIDGE_H
#define HS_BRIDGE_H

#include <libwebsockets.h>
#include <stdint.h>
#include <uv.h>

#include "hs/app.h"
#include "hs/events.h"
#include "hs/queue.h"
#include "hs/vec.h"
#include "map.h"

typedef struct hs_bridge hs_bridge_t;
typedef struct hs_buser hs_buser_t;
typedef struct hs_conn hs_conn_t;
typedef struct hs_chan hs_chan_t;
typedef struct hs_work hs_work_t;

/* One event as clients receive it, shared by every queue it is in. */
typedef struct hs_ev {
    unsigned refs;
    int stored;    /* has an id (kept in a stream); else ephemeral */
    int droppable; /* another user's ephemeral event: dropped, not queued, for a slow reader */
    hs_ev_id_t id; /* stored events only */
    size_t len;
    char json[]; /* one line, no newline */
} hs_ev_t;

/* A Redis channel (a chat's or a user's stream, hs_event_key()) some local users need. */
struct hs_chan {
    char name[64];
    int is_user;        /* a user's own channel */
    int active;         /* SUBSCRIBE confirmed on the current Redis connection */
    int sent;           /* SUBSCRIBE sent on the current Redis connection */
    int presence;       /* a direct chat or a small group: members see each other come and go */
    int64_t idle_since; /* ms; 0 while some local user needs it */
    HS_VEC(hs_buser_t *) users;
};

/* A user's membership of one chat, as this bridge knows it, with the
 * per-chat throttle of the user's typing relays (client.c). */
typedef struct hs_bmember {
    hs_chan_t *chan;    /* the chat's; its name holds the key of chatmap */
    int64_t typing_at;  /* ms of the last relayed start (0: none, or a stop since) */
    int64_t typing_win; /* ms the current relay window began */
    unsigned typing_n;  /* relays in that window */
} hs_bmember_t;

/* A chat the user left while one of their connections was still replaying
 * (hub.c): the replay reads its stream up to the removal, no further. */
typedef struct hs_bleft {
    char chat_id[HS_ID_LEN + 1];
    hs_ev_id_t at; /* the removal's event id */
} hs_bleft_t;

/* A user's client-event budget still spent when their last connection
 * closed: kept until it refills, so reconnecting does not reset it. */
typedef struct hs_owed {
    char id[HS_ID_LEN + 1];
    int64_t rate_tat;
} hs_owed_t;

/* A user with at least one connection on this bridge. */
struct hs_buser {
    char id[HS_ID_LEN + 1];
    hs_chan_t *self;              /* the user's own stream */
    HS_VEC(hs_bmember_t *) chats; /* every chat they are in */
    hs_map_t chatmap;             /* chat id -> hs_bmember_t: membership checks in O(1) */
    HS_VEC(hs_bleft_t) left;      /* see hs_bleft_t; emptied once no connection replays */
    int epoch;                    /* the Redis epoch the membership was read in */
    int64_t rate_tat; /* client events: the rate limiter's theoretical arrival time (ms) */
    hs_queue_t conns; /* their connections, through conn->in_user */
    size_t nconns;
};

enum hs_conn_state { HS_CONN_NEW, HS_CONN_SYNCING, HS_CONN_READY, HS_CONN_CLOSING };

/* One WebSocket connection (the lws per-session data). */
struct hs_conn {
    struct lws *wsi;
    hs_buser_t *user;
    hs_queue_t in_user;  /* the user's connections */
    hs_queue_t in_all;   /* all connections (linked while established) */
    hs_queue_t in_dirty; /* has queued events to write (linked: dirty) */
    hs_queue_t in_sync;  /* waits for its replay (linked: syncing) */
    enum hs_conn_state state;
    int choked, ping_due, fresh, has_since, epoch, warned;
    int bad_since; /* a malformed since: closed with 4400 once established */
    int close_code;
    const char *close_reason; /* static */
    char *token;              /* as sent, until ESTABLISHED checks it */
    char path_user[HS_ID_LEN + 1];
    char sid[HS_ID_LEN + 1]; /* the token's session, re-checked every heartbeat */
    hs_ev_id_t since;        /* asked for (has_since) */
    hs_ev_id_t last_sent;    /* newest stored event queued */
    hs_ev_t **q;             /* ring */
    uint32_t qhead, qlen, qcap;
    uint32_t qdurable; /* queued objects that are not droppable (the 4429 count) */
    int64_t last_rx_ms, exp_s;
    int64_t check_at_s;    /* next revocation check */
    HS_VEC(char) rx;       /* a client message being assembled (fragments) */
    int refused;           /* client events refused in a row */
    hs_queue_t wq;         /* client events waiting for the one in flight, through
                              hs_work_t.in_conn (work.c) */
    struct hs_work *wbusy; /* the client event being handled off the loop */
    unsigned nwq;          /* the length of wq */
};

/* What a connection reports to the layers above it (conn.c calls up only
 * through these; main.c sets them before the first connection). */
typedef struct hs_conn_cb {
    /* c was authenticated as user_id; nonzero closes it with 1011 */
    int (*open)(hs_bridge_t *b, hs_conn_t *c, const char *user_id);
    /* one complete text message from c */
    void (*text)(hs_bridge_t *b, hs_conn_t *c, const char *text, size_t len);
    /* c closed; lws frees it after this returns, so nothing may keep it */
    void (*close)(hs_bridge_t *b, hs_conn_t *c);
} hs_conn_cb_t;

/* What the subscriber reports (sub.c calls up only through these). */
typedef struct hs_sub_cb {
    /* a publication on channel */
    void (*message)(hs_bridge_t *b, const char *channel, size_t clen, const char *payload,
                    size_t plen);
    /* SUBSCRIBE on channel was confirmed */
    void (*subscribed)(hs_bridge_t *b, const char *channel, size_t clen);
    /* the connection is up (again), before the channels are subscribed */
    void (*up)(hs_bridge_t *b);
    /* the connection was lost: every channel must be subscribed again */
    void (*lost)(hs_bridge_t *b);
} hs_sub_cb_t;

typedef struct hs_metrics_counters {
    uint64_t accepted, closed, events_in, deliveries, frames, drops_slow, redis_reconnects,
        replayed, client_events, client_errors, drops_ephemeral, client_rate_limited;
} hs_metrics_counters_t;

/* The single context of the bridge process. */
struct hs_bridge {
    hs_ctx_t ctx; /* config, store, sync Redis, key: what the apps have */
    uv_loop_t loop;
    struct lws_context *lws;
    uv_check_t flush;
    uv_timer_t sweep, alive;
    uv_signal_t sigterm, sigint, sighup;
    uv_tcp_t metrics;
    int listen_fd;
    uv_poll_t listen_poll;
    hs_queue_t pending; /* accepted, request head not complete yet (accept.c) */
    int stopping;
    char bridge_id[17];
    char run_id[48]; /* of the Redis server the streams live in */
    int epoch;       /* bumped when Redis restarted empty */
    hs_map_t users, chans;
    hs_map_t owed; /* user id -> hs_owed_t: rate limits that outlive a user's last connection */
    hs_queue_t all, dirty, syncing; /* of hs_conn_t, through in_all, in_dirty, in_sync */
    size_t nconns;
    hs_conn_cb_t conn_cb;
    hs_sub_cb_t sub_cb;
    void *sub; /* redisAsyncContext, only sub.c knows the type */
    int sub_up;
    uv_timer_t sub_retry;
    int sub_backoff_ms;
    int64_t last_heartbeat_ms;
    HS_VEC(unsigned char) wbuf; /* LWS_PRE + one frame */
    hs_metrics_counters_t m;
    uint64_t work_in_flight;    /* client events on the thread pool */
    uv_mutex_t workers_lock;    /* guards workers (worker threads add themselves) */
    HS_VEC(hs_ctx_t *) workers; /* each worker thread's context, closed after the loop */
};

/* A client event handled off the loop (work.c has the lifetime rules). */
typedef void (*hs_work_fn)(hs_ctx_t *ctx, hs_work_t *w);
typedef void (*hs_work_done_fn)(hs_bridge_t *b, hs_conn_t *c, hs_work_t *w);

struct hs_work {
    uv_work_t req;
    hs_bridge_t *b;
    hs_conn_t *conn;      /* NULL once the connection closed: the result is dropped */
    hs_queue_t in_conn;   /* the connection's FIFO (conn->wq) while waiting */
    hs_work_fn run;       /* on a worker thread, with that thread's context */
    hs_work_done_fn done; /* on the loop, only while conn is open; may be NULL */
    cJSON *ev;            /* the client's event (owned) */
    char user_id[HS_ID_LEN + 1];
    char chat_id[HS_ID_LEN + 1];
    char chan[64];
    char ref[512]; /* the ref to echo, as JSON text, when has_ref */
    int has_ref;
    char *payload; /* a publication to make (owned) */
    char *reply;   /* a JSON object for the connection (owned) */
    size_t reply_len;
    int refused; /* reply is an error: counts towards the 4400 close */
    int64_t exp; /* auth: the new token's claims */
    char sid[HS_ID_LEN + 1];
};

/* conn.c */
extern const struct lws_protocols hs_conn_protocols[];
/* Queues ev (taking a reference) on c; closes c with 4429 when it is full. */
void hs_conn_push(hs_bridge_t *b, hs_conn_t *c, hs_ev_t *ev);
/* Queues a reply built from a JSON text of len bytes. */
void hs_conn_reply(hs_bridge_t *b, hs_conn_t *c, const char *json, size_t len);
/* Writes what is queued for every dirty connection (once per loop turn). */
void hs_conn_flush_all(hs_bridge_t *b);
/* Writes what is queued for c now if its socket takes it. */
void hs_conn_flush(hs_bridge_t *b, hs_conn_t *c);
/* Closes c with code and reason (a close frame, then the socket). */
void hs_conn_close(hs_bridge_t *b, hs_conn_t *c, int code, const char *reason);

/* The connection that holds node q (in_all, in_user, ...). */
#define HS_CONN_OF(q, field) HS_QUEUE_DATA(q, hs_conn_t, field)

hs_ev_t *hs_ev_new(size_t len);
void hs_ev_unref(hs_ev_t *ev);

/* hub.c */
/* Registers c (authenticated as user_id) and subscribes what it needs. */
int hs_hub_attach(hs_bridge_t *b, hs_conn_t *c, const char *user_id);
void hs_hub_detach(hs_bridge_t *b, hs_conn_t *c);
/* A publication on channel arrived from Redis. */
void hs_hub_message(hs_bridge_t *b, const char *channel, size_t clen, const char *payload,
                    size_t plen);
/* SUBSCRIBE on channel was confirmed. */
void hs_hub_subscribed(hs_bridge_t *b, const char *channel, size_t clen);
/* The subscriber connection was lost: every connection will replay. */
void hs_hub_redis_lost(hs_bridge_t *b);
/* Replays, for every syncing connection whose channels are all active. */
void hs_hub_sync_ready(hs_bridge_t *b);
/* Unsubscribes channels no local user needed for a few seconds (all: every
 * channel without users, at shutdown). */
void hs_hub_reap(hs_bridge_t *b, int all);
/* Forgets the spent budgets of users who left, once refilled (all: every one). */
void hs_hub_reap_owed(hs_bridge_t *b, int all);
/* The chat channel of user u for chat_id, or NULL if u is not a member. */
hs_chan_t *hs_hub_user_chat(hs_buser_t *u, const char *chat_id);
/* u's membership of chat_id (O(1)), or NULL if u is not a member. */
hs_bmember_t *hs_hub_member(hs_buser_t *u, const char *chat_id);

/* sub.c */
/* Connects (and reconnects) the subscriber; cb says what it hears. */
void hs_sub_start(hs_bridge_t *b, const hs_sub_cb_t *cb);
void hs_sub_stop(hs_bridge_t *b);
/* Sends SUBSCRIBE / UNSUBSCRIBE when connected (else on reconnect). */
void hs_sub_subscribe(hs_bridge_t *b, hs_chan_t *ch);
void hs_sub_unsubscribe(hs_bridge_t *b, const char *name);
int hs_sub_connected(const hs_bridge_t *b);

/* client.c */
/* Handles one complete text message from c. */
void hs_client_event(hs_bridge_t *b, hs_conn_t *c, const char *text, size_t len);
/* Sends {"type":"error",...}; counts towards the 4400 abuse close. */
void hs_client_error(hs_bridge_t *b, hs_conn_t *c, const char *ref, const char *code,
                     const char *message);

/* work.c */
void hs_work_init(hs_bridge_t *b);
/* Closes the worker threads' contexts; only after the loop has ended. */
void hs_work_shutdown(hs_bridge_t *b);
/* A work item for c's event ev (owned from here) with its ref (JSON text or
 * NULL); NULL when out of memory (ev is then still the caller's). */
hs_work_t *hs_work_new(hs_conn_t *c, hs_work_fn run, hs_work_done_fn done, cJSON *ev,
                       const char *ref);
/* Queues w behind c's other events (takes w); -1 (w freed) when too many wait. */
int hs_work_submit(hs_bridge_t *b, hs_conn_t *c, hs_work_t *w);
/* c is closing: drops its waiting items and orphans the running one. */
void hs_work_detach(hs_conn_t *c);
/* Counts one refused client event of c (answered with an error, on the
 * loop or by a worker); the ABUSE_LIMIT-th in a row closes c with 4400. */
void hs_work_refused(hs_bridge_t *b, hs_conn_t *c);
/* Worker side: sets the reply to o (freed here), or an error reply. */
void hs_work_reply(hs_work_t *w, cJSON *o);
void hs_work_error(hs_work_t *w, const char *code, const char *message);
/* The error reply of err, with the code an HTTP reply would carry. */
void hs_work_fail(hs_work_t *w, const hs_err_t *err);
/* A reply object {"type":type,"ref":..}. */
cJSON *hs_work_obj(const hs_work_t *w, const char *type);

/* presence.c */
/* The user's first / last connection on this bridge came or went. */
void hs_presence_change(hs_bridge_t *b, hs_buser_t *u, int delta);
/* Renews this bridge's liveness key (its connection counts stay valid). */
void hs_presence_alive(hs_bridge_t *b);
/* Worker side of a presence query: presence.state for the members of
 * w->chat_id. */
void hs_presence_query(hs_ctx_t *ctx, hs_work_t *w);

/* accept.c */
/* Listens on host:port (IPv4) and hands each request head to lws. */
int hs_accept_start(hs_bridge_t *b, const char *host, int port);
/* Drops connections whose head took too long (all: every one). */
void hs_accept_sweep(hs_bridge_t *b, int all);
void hs_accept_stop(hs_bridge_t *b);

/* metrics.c */
int hs_metrics_start(hs_bridge_t *b, const char *host, int port);

#endif

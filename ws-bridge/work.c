/* Client events off the loop. Whatever a client event needs from the store
 * or Redis (presence queries, read, chat_message, typing's PUBLISH, P2P
 * signals, auth) runs on libuv's thread pool (uv_queue_work), so the loop
 * never waits on either: one user's presence queries cannot delay another
 * user's deliveries.
 *
 * Each worker thread opens its own store and Redis handles on first use
 * (a copy of the bridge's context sharing its read-only config and key);
 * they are closed by hs_work_shutdown() once the loop has ended.
 *
 * Order and lifetime of a work item (hs_work_t):
 *   - client.c makes it on the loop (hs_work_new) with a copy of everything
 *     the worker needs: the user id, the parsed event, the ref. The worker
 *     never touches the connection, the hub or the bridge's counters.
 *   - One item per connection runs at a time (c->wbusy); the others wait in
 *     the connection's FIFO (c->wq, at most WORK_QUEUE_MAX), so a client's
 *     events take effect and are answered in the order sent.
 *   - The worker fills the result (w->reply, w->refused, ...); after_work
 *     runs on the loop, hands the result to the connection if it is still
 *     open, starts the connection's next item, and frees the item. The item
 *     is always freed there, and only there, once submitted.
 *   - When the connection closes (conn.c, LWS_CALLBACK_CLOSED, before lws
 *     frees the hs_conn_t) hs_work_detach() frees the waiting items and
 *     sets the running one's conn to NULL: its result is dropped on
 *     arrival, and nothing touches the freed connection. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bridge.h"
#include "hs/log.h"

#define WORK_QUEUE_MAX 32
#define ABUSE_LIMIT    20 /* refused client events in a row that close (4400) */
#define WORKER_NICE    5

/* The thread's own context, opened on its first item. */
static __thread hs_ctx_t *thread_ctx;

static hs_ctx_t *worker_ctx(hs_bridge_t *b)
{
    if (thread_ctx)
        return thread_ctx;
    /* deliveries first: on a busy machine the loop gets the CPU before
     * client events' store work (Linux: nice is per thread) */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORKER_NICE);
    hs_ctx_t *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    hs_err_t err = {0};
    if (hs_ctx_open_thread(t, &b->ctx, &err)) {
        hs_ctx_close_thread(t);
        free(t);
        return NULL;
    }
    uv_mutex_lock(&b->workers_lock);
    int rc = hs_vec_push(&b->workers, t);
    uv_mutex_unlock(&b->workers_lock);
    if (rc) {
        hs_ctx_close_thread(t);
        free(t);
        return NULL;
    }
    return thread_ctx = t;
}

hs_work_t *hs_work_new(hs_conn_t *c, hs_work_fn run, hs_work_done_fn done, cJSON *ev,
                       const char *ref)
{
    hs_work_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->run = run;
    w->done = done;
    w->ev = ev;
    memcpy(w->user_id, c->user->id, sizeof w->user_id);
    if (ref) {
        w->has_ref = 1;
        snprintf(w->ref, sizeof w->ref, "%s", ref);
    }
    return w;
}

static void work_free(hs_work_t *w)
{
    cJSON_Delete(w->ev);
    free(w->payload);
    free(w->reply);
    free(w);
}

static void on_work(uv_work_t *req)
{
    hs_work_t *w = req->data;
    hs_ctx_t *ctx = worker_ctx(w->b);
    if (!ctx)
        hs_work_error(w, "internal_error", "The bridge cannot reach the store; try again");
    else
        w->run(ctx, w);
}

static void start(hs_bridge_t *b, hs_conn_t *c);

static void after_work(uv_work_t *req, int status)
{
    hs_work_t *w = req->data;
    hs_bridge_t *b = w->b;
    hs_conn_t *c = w->conn;
    b->work_in_flight--;
    if (c) {
        c->wbusy = NULL;
        if (status == 0 && c->state != HS_CONN_CLOSING) {
            if (w->done)
                w->done(b, c, w);
            if (w->reply)
                hs_conn_reply(b, c, w->reply, w->reply_len);
            if (w->refused)
                hs_work_refused(b, c);
            else
                c->refused = 0;
        }
        start(b, c);
    }
    work_free(w);
}

/* Submits c's next waiting item, if none is running. */
static void start(hs_bridge_t *b, hs_conn_t *c)
{
    while (!c->wbusy && !hs_queue_empty(&c->wq) && c->state != HS_CONN_CLOSING) {
        hs_work_t *w = HS_QUEUE_DATA(c->wq.next, hs_work_t, in_conn);
        hs_queue_remove(&w->in_conn);
        c->nwq--;
        w->req.data = w;
        if (uv_queue_work(&b->loop, &w->req, on_work, after_work)) {
            work_free(w);
            continue;
        }
        c->wbusy = w;
        b->work_in_flight++;
    }
}

int hs_work_submit(hs_bridge_t *b, hs_conn_t *c, hs_work_t *w)
{
    if (c->nwq >= WORK_QUEUE_MAX) {
        work_free(w);
        return -1;
    }
    w->b = b;
    w->conn = c;
    hs_queue_insert_tail(&c->wq, &w->in_conn);
    c->nwq++;
    start(b, c);
    return 0;
}

void hs_work_refused(hs_bridge_t *b, hs_conn_t *c)
{
    b->m.client_errors++;
    if (++c->refused >= ABUSE_LIMIT)
        hs_conn_close(b, c, 4400, "too many refused events");
}

void hs_work_detach(hs_conn_t *c)
{
    while (!hs_queue_empty(&c->wq)) {
        hs_work_t *w = HS_QUEUE_DATA(c->wq.next, hs_work_t, in_conn);
        hs_queue_remove(&w->in_conn);
        work_free(w);
    }
    c->nwq = 0;
    if (c->wbusy)
        c->wbusy->conn = NULL;
    c->wbusy = NULL;
}

void hs_work_reply(hs_work_t *w, cJSON *o)
{
    free(w->reply);
    w->reply = cJSON_PrintUnformatted(o);
    w->reply_len = w->reply ? strlen(w->reply) : 0;
    cJSON_Delete(o);
}

cJSON *hs_work_obj(const hs_work_t *w, const char *type)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    if (w->has_ref)
        cJSON_AddItemToObject(o, "ref", cJSON_Parse(w->ref));
    return o;
}

void hs_work_error(hs_work_t *w, const char *code, const char *message)
{
    cJSON *o = hs_work_obj(w, "error");
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    hs_work_reply(w, o);
    w->refused = 1;
}

void hs_work_fail(hs_work_t *w, const hs_err_t *err)
{
    hs_work_error(w, hs_err_code_of(err), err->message);
}

void hs_work_init(hs_bridge_t *b)
{
    uv_mutex_init(&b->workers_lock);
}

void hs_work_shutdown(hs_bridge_t *b)
{
    for (size_t i = 0; i < b->workers.n; i++) {
        hs_ctx_close_thread(b->workers.items[i]);
        free(b->workers.items[i]);
    }
    hs_vec_free(&b->workers);
    uv_mutex_destroy(&b->workers_lock);
}

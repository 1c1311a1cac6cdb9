/* The updates app: GET /api/v1/updates, the long-poll fallback of the
 * WebSocket bridge (docs/ws.md, "Long-poll"). It serves the same stored
 * events with the same resume rules: the events after ?since= in the
 * user's own stream and the streams of every chat they are a member of,
 * merged in id order, waiting up to ?timeout= seconds for the first one.
 *
 * A waiting request holds this process (and its Redis connection) for the
 * whole wait, which is why it is an app of its own with its own process
 * count: long polls never starve the other route groups. Under a host's
 * process limit (mod_fcgid) updates_max_waiting keeps processes free. */
#include <stdlib.h>
#include <string.h>

#include "hs/events.h"
#include "hs/json.h"
#include "hs/updates.h"

#define UPDATES_LIMIT           500 /* events per reply */
#define UPDATES_TIMEOUT_DEFAULT 25  /* seconds */
#define UPDATES_TIMEOUT_MAX     60

/* ?timeout= as whole seconds, 0..UPDATES_TIMEOUT_MAX. Only digits are
 * taken ("+5", " 5" and "5s" are refused), so what a client sends is what
 * it gets. */
static int timeout_or_reply(hs_req_t *req, int *out)
{
    const char *v = hs_req_query(req, "timeout");
    *out = UPDATES_TIMEOUT_DEFAULT;
    if (!v)
        return 0;
    size_t len = strlen(v);
    int n = len >= 1 && len <= 3 ? 0 : -1; /* -1: not 1 to 3 digits */
    for (size_t i = 0; n >= 0 && i < len; i++)
        n = v[i] >= '0' && v[i] <= '9' ? n * 10 + (v[i] - '0') : -1;
    if (n < 0 || n > UPDATES_TIMEOUT_MAX) {
        hs_reply_fail(req, HS_EINVAL, "invalid_value",
                      "timeout must be a whole number of seconds from 0 to %d",
                      UPDATES_TIMEOUT_MAX);
        return -1;
    }
    *out = n;
    return 0;
}

/* ?since= as an event id; *given is 0 when the parameter is absent. An
 * empty or malformed value is an error, not "absent": a client that lost
 * its id must say so by leaving it out. */
static int since_or_reply(hs_req_t *req, int *given, hs_ev_id_t *since)
{
    const char *v = hs_req_query(req, "since");
    *given = v != NULL;
    if (!v)
        return 0;
    if (hs_event_id_parse(v, strlen(v), since)) {
        hs_reply_fail(req, HS_EINVAL, "invalid_value",
                      "since must be an event id (<ms>-<seq>), as 'next' gave it");
        return -1;
    }
    return 0;
}

/* 200 {"events":[...],"next":..,"resync_required":..} (and "retry_ms"
 * when the poll was not let wait). Each event is already JSON in the
 * stream, so it goes out as raw text, never parsed. */
static void reply_updates(hs_req_t *req, const hs_ev_list_t *l, hs_ev_id_t next, int resync,
                          long retry_ms)
{
    cJSON *o = cJSON_CreateObject(), *events = cJSON_AddArrayToObject(o, "events");
    char id[HS_EV_ID_MAX];
    for (size_t i = 0; l && i < l->n; i++) {
        const hs_ev_item_t *it = &l->items[i];
        size_t len;
        hs_event_id_format(it->id, id);
        char *json = hs_event_json(id, it->type, it->type_len, it->data, it->data_len, &len);
        if (!json) {
            cJSON_Delete(o);
            hs_reply_fail(req, HS_EINTERNAL, NULL, NULL);
            return;
        }
        cJSON_AddItemToArray(events, cJSON_CreateRaw(json));
        free(json);
    }
    hs_event_id_format(next, id);
    cJSON_AddStringToObject(o, "next", id);
    cJSON_AddBoolToObject(o, "resync_required", resync);
    if (retry_ms > 0)
        cJSON_AddNumberToObject(o, "retry_ms", (double)retry_ms);
    hs_reply_json(req, 200, o);
}

/* GET /api/v1/updates?since=&timeout=
 *
 * Without since: no events and the newest id, at once. With a since that
 * cannot be resumed (older than events_retention, or after the newest id:
 * another Redis): resync_required and the newest id. Otherwise the events
 * after since, waiting up to timeout for the first; but when
 * updates_max_waiting polls already wait, at once with "retry_ms" (the
 * client short-polls until a wait is granted again).
 *
 * An empty reply's next is the newest id read before the streams (never
 * before since): every event up to it was already in its stream then, so
 * none of the user's can be skipped, and a quiet user's since keeps up with
 * the clock instead of ageing out of the retention window. For the same
 * reason since == newest id resumes whatever its age: nothing was
 * published after it, so nothing can be missing. */
static void on_updates(hs_req_t *req)
{
    int timeout, given;
    hs_ev_id_t since = {0, 0}, last;
    hs_err_t err;
    if (timeout_or_reply(req, &timeout) || since_or_reply(req, &given, &since))
        return;
    if (hs_event_last(req->ctx, &last, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    if (!given) {
        reply_updates(req, NULL, last, 0, 0);
        return;
    }
    if (hs_event_id_cmp(since, last) != 0 &&
        !hs_event_resumable(req->ctx, since, last, hs_now_ms())) {
        reply_updates(req, NULL, last, 1, 0);
        return;
    }
    /* A waiting poll holds this process: one user may hold only
     * updates_per_user of them, so nobody can take every process, and the
     * host only updates_max_waiting, so the processes left serve short
     * polls (and the other apps) instead of queueing behind the waits. */
    int block_ms = timeout * 1000;
    long retry_ms;
    hs_updates_wait_t w;
    if (hs_updates_wait_begin(req->ctx, req->auth.sub, &block_ms, &retry_ms, &w, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    hs_ev_list_t l;
    hs_ev_id_t next = hs_event_id_cmp(last, since) > 0 ? last : since;
    int rc = hs_updates_read(req->ctx, req->arena, req->auth.sub, since, UPDATES_LIMIT, block_ms,
                             &l, &next, &err);
    hs_updates_wait_end(req->ctx, &w);
    if (rc) {
        hs_event_list_free(&l);
        hs_reply_error(req, &err);
        return;
    }
    reply_updates(req, &l, next, 0, retry_ms);
    hs_event_list_free(&l);
}

static const hs_route_t routes[] = {
    {"GET", "/api/v1/updates", on_updates, HS_ROUTE_AUTH},
};

int main(int argc, char **argv)
{
    static const hs_app_t app = {"updates", routes, sizeof routes / sizeof routes[0], NULL, 0};
    return hs_app_main(&app, argc, argv);
}

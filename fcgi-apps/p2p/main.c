/* The p2p app: user-to-user transfers (docs/p2p.md). The state machine and
 * its rules live in lib/domain/p2p.c; handlers read the request, call it and
 * reply with the transfer. */
#include <stdio.h>
#include <string.h>

#include "hs/files.h"
#include "hs/files_send.h"
#include "hs/json.h"
#include "hs/p2p.h"
#include "hs/util.h"

static void reply_transfer(hs_req_t *req, int status, const hs_transfer_t *t)
{
    hs_reply_json(req, status, hs_transfer_json(t));
}

static void on_initiate(hs_req_t *req)
{
    cJSON *body;
    hs_p2p_offer_t o;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "recipient_id", 1, 1, 64, &o.recipient_id) ||
        hs_json_string_or_reply(req, body, "filename", 1, 1, 255, &o.filename) ||
        hs_json_int_or_reply(req, body, "size", 1, 0, req->ctx->cfg.max_file_size, 0, &o.size) ||
        hs_json_string_or_reply(req, body, "sha256", 0, 64, 64, &o.sha256) ||
        hs_json_string_or_reply(req, body, "mode", 0, 1, 16, &o.mode))
        return;
    hs_transfer_t t;
    hs_err_t err;
    if (hs_p2p_initiate(req->ctx, req->arena, req->auth.sub, &o, &t, &err))
        hs_reply_error(req, &err);
    else
        reply_transfer(req, 201, &t);
}

static void on_get(hs_req_t *req)
{
    hs_transfer_t t;
    hs_err_t err;
    if (hs_p2p_load(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), &t, &err))
        hs_reply_error(req, &err);
    else
        reply_transfer(req, 200, &t);
}

/* accept, reject and cancel take no body; fail and complete take one field. */
static void step(hs_req_t *req, hs_p2p_step_t s, const char *field, size_t min, size_t max)
{
    const char *arg = NULL;
    cJSON *body;
    if (field && (hs_json_body_or_reply(req, &body) ||
                  hs_json_string_or_reply(req, body, field, 1, min, max, &arg)))
        return;
    hs_transfer_t t;
    hs_err_t err;
    if (hs_p2p_step(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), s, arg, &t, &err))
        hs_reply_error(req, &err);
    else
        reply_transfer(req, 200, &t);
}

static void on_accept(hs_req_t *req)
{
    step(req, HS_P2P_ACCEPT, NULL, 0, 0);
}

static void on_reject(hs_req_t *req)
{
    step(req, HS_P2P_REJECT, NULL, 0, 0);
}

static void on_cancel(hs_req_t *req)
{
    step(req, HS_P2P_CANCEL, NULL, 0, 0);
}

static void on_fail(hs_req_t *req)
{
    step(req, HS_P2P_FAIL, "reason", 1, 200);
}

static void on_complete(hs_req_t *req)
{
    step(req, HS_P2P_COMPLETE, "sha256", 64, 64);
}

static void on_progress(hs_req_t *req)
{
    cJSON *body;
    int64_t bytes;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_int_or_reply(req, body, "bytes", 1, 0, req->ctx->cfg.max_file_size, 0, &bytes))
        return;
    hs_transfer_t t;
    hs_err_t err;
    if (hs_p2p_progress(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), bytes, &t,
                        &err))
        hs_reply_error(req, &err);
    else
        reply_transfer(req, 200, &t);
}

static void on_relay(hs_req_t *req)
{
    cJSON *body;
    const char *file_id;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "file_id", 1, 1, 64, &file_id))
        return;
    hs_transfer_t t;
    hs_err_t err;
    if (hs_p2p_bind_relay(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), file_id, &t,
                          &err))
        hs_reply_error(req, &err);
    else
        reply_transfer(req, 200, &t);
}

static void on_download(hs_req_t *req)
{
    hs_file_t f;
    hs_err_t err;
    if (hs_p2p_relay_file(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), &f, &err))
        hs_reply_error(req, &err);
    else
        hs_file_send(req, &f);
}

static void on_history(hs_req_t *req)
{
    int limit;
    const char *cursor, *state = hs_req_query(req, "state");
    if (hs_req_page_or_reply(req, &limit, &cursor))
        return;
    hs_transfer_page_t page;
    hs_err_t err;
    if (hs_p2p_list(req->ctx, req->arena, req->auth.sub, state, cursor, limit, &page, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < page.n; i++)
        cJSON_AddItemToArray(items, hs_transfer_json(&page.items[i]));
    hs_json_add_string_or_null(o, "next_cursor", page.next_cursor);
    hs_reply_json(req, 200, o);
}

static void on_ice_servers(hs_req_t *req)
{
    hs_reply_json(req, 200, hs_p2p_ice_servers(req->ctx, req->auth.sub));
}

static void on_blocks(hs_req_t *req)
{
    char **ids;
    size_t n;
    hs_err_t err;
    if (hs_p2p_blocks(req->ctx, req->arena, req->auth.sub, &ids, &n, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "user_ids");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(items, cJSON_CreateString(ids[i]));
    hs_reply_json(req, 200, o);
}

static void block(hs_req_t *req, int on)
{
    hs_err_t err;
    if (hs_p2p_block(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "user_id"), on, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_empty(req, 204);
}

static void on_block(hs_req_t *req)
{
    block(req, 1);
}

static void on_unblock(hs_req_t *req)
{
    block(req, 0);
}

static int cleanup(hs_ctx_t *ctx)
{
    size_t n;
    hs_err_t err;
    if (hs_p2p_cleanup(ctx, hs_now_ms(), &n, &err)) {
        fprintf(stderr, "hs-p2p cleanup: %s\n", err.message);
        return 1;
    }
    printf("ended %zu expired or stalled transfers\n", n);
    return 0;
}

/* Literal paths come before {id} so "history" or "blocks" are never ids. */
static const hs_route_t routes[] = {
    {"POST", "/api/v1/p2p/initiate", on_initiate, HS_ROUTE_AUTH},
    {"GET", "/api/v1/p2p/history", on_history, HS_ROUTE_AUTH},
    {"GET", "/api/v1/p2p/ice-servers", on_ice_servers, HS_ROUTE_AUTH},
    {"GET", "/api/v1/p2p/blocks", on_blocks, HS_ROUTE_AUTH},
    {"PUT", "/api/v1/p2p/blocks/{user_id}", on_block, HS_ROUTE_AUTH},
    {"DELETE", "/api/v1/p2p/blocks/{user_id}", on_unblock, HS_ROUTE_AUTH},
    {"GET", "/api/v1/p2p/{id}", on_get, HS_ROUTE_AUTH},
    {"POST", "/api/v1/p2p/{id}/accept", on_accept, HS_ROUTE_AUTH},
    {"POST", "/api/v1/p2p/{id}/reject", on_reject, HS_ROUTE_AUTH},
    {"POST", "/api/v1/p2p/{id}/cancel", on_cancel, HS_ROUTE_AUTH},
    {"POST", "/api/v1/p2p/{id}/fail", on_fail, HS_ROUTE_AUTH},
    {"POST", "/api/v1/p2p/{id}/complete", on_complete, HS_ROUTE_AUTH},
    {"POST", "/api/v1/p2p/{id}/progress", on_progress, HS_ROUTE_AUTH},
    {"POST", "/api/v1/p2p/{id}/relay", on_relay, HS_ROUTE_AUTH},
    {"GET", "/api/v1/p2p/{id}/download", on_download, HS_ROUTE_AUTH},
    {"HEAD", "/api/v1/p2p/{id}/download", on_download, HS_ROUTE_AUTH},
};

static const hs_command_t commands[] = {
    {"cleanup", "end expired offers and stalled transfers, deleting relay copies (run from cron)",
     cleanup},
};

int main(int argc, char **argv)
{
    static const hs_app_t app = {"p2p", routes, sizeof routes / sizeof routes[0], commands,
                                 sizeof commands / sizeof commands[0]};
    return hs_app_main(&app, argc, argv);
}

/* /api/v1/messages handlers. */
#include <string.h>

#include "chats_app.h"
#include "hs/json.h"
#include "hs/messages.h"

static void reply_message(hs_req_t *req, int status, const hs_message_t *m)
{
    hs_reply_json(req, status, hs_message_json(m));
}

void on_message_send(hs_req_t *req)
{
    cJSON *body;
    if (hs_json_body_or_reply(req, &body))
        return;
    /* every rule of the body is the domain's: chat_message over the
     * WebSocket answers the very same codes */
    hs_message_t m;
    int existed;
    hs_err_t err;
    if (hs_message_post(req->ctx, req->arena, req->auth.sub, body, &m, &existed, &err))
        hs_reply_error(req, &err);
    else
        reply_message(req, existed ? 200 : 201, &m);
}

static void reply_page(hs_req_t *req, const hs_message_page_t *page)
{
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < page->n; i++)
        cJSON_AddItemToArray(items, hs_message_json(&page->items[i]));
    hs_json_add_string_or_null(o, "next_cursor", page->next_cursor);
    hs_reply_json(req, 200, o);
}

void on_message_history(hs_req_t *req)
{
    int limit;
    hs_message_page_t page;
    hs_err_t err;
    if (hs_req_limit_or_reply(req, 50, 100, &limit))
        return;
    if (hs_message_history(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "chat_id"),
                           hs_req_query(req, "before"), hs_req_query(req, "after"), limit, &page,
                           &err))
        hs_reply_error(req, &err);
    else
        reply_page(req, &page);
}

void on_message_edit(hs_req_t *req)
{
    cJSON *body;
    const char *content;
    hs_message_t m;
    hs_err_t err;
    /* the content's rule (hs_message_content_check) is the domain's */
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "content", 1, 0, 1 << 24, &content))
        return;
    if (hs_message_edit(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), content, &m,
                        &err))
        hs_reply_error(req, &err);
    else
        reply_message(req, 200, &m);
}

void on_message_delete(hs_req_t *req)
{
    hs_err_t err;
    if (hs_message_remove(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), &err))
        hs_reply_error(req, &err);
    else
        hs_reply_empty(req, 204);
}

void on_message_react(hs_req_t *req)
{
    cJSON *body;
    const char *emoji;
    hs_message_t m;
    hs_err_t err;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "emoji", 1, 0, 16, &emoji))
        return;
    if (hs_message_react(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), emoji, &m,
                         &err))
        hs_reply_error(req, &err);
    else
        reply_message(req, 200, &m);
}

void on_message_receipts(hs_req_t *req)
{
    hs_member_t *readers;
    size_t n;
    hs_err_t err;
    if (hs_message_receipts(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), &readers,
                            &n, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "read_by");
    for (size_t i = 0; i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "user_id", readers[i].user_id);
        cJSON_AddStringToObject(r, "username", readers[i].username);
        cJSON_AddStringToObject(r, "display_name", readers[i].display_name);
        cJSON_AddItemToArray(items, r);
    }
    hs_reply_json(req, 200, o);
}

void on_message_search(hs_req_t *req)
{
    const char *q = hs_req_query(req, "q"), *chat_id = hs_req_query(req, "chat_id");
    const char *cursor = hs_req_query(req, "cursor");
    int limit;
    hs_message_page_t page;
    hs_err_t err;
    if (hs_req_limit_or_reply(req, 20, 100, &limit))
        return;
    long qlen = q ? hs_utf8_len(q) : -1;
    if (qlen < 1 || qlen > 200) {
        hs_reply_fail(req, HS_EINVAL, "invalid_value", "q must have 1 to 200 characters");
        return;
    }
    if (cursor && strlen(cursor) > 100) {
        hs_reply_fail(req, HS_EINVAL, "invalid_cursor", "The cursor is not valid");
        return;
    }
    if (hs_message_search(req->ctx, req->arena, req->auth.sub, q, chat_id, cursor, limit, &page,
                          &err))
        hs_reply_error(req, &err);
    else
        reply_page(req, &page);
}

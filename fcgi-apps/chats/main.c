/* The chats app: /api/v1/chats (direct chats, groups, channels, members,
 * read markers), /api/v1/groups and /api/v1/channels (creation shortcuts)
 * and /api/v1/messages (messages.c). */
#include <string.h>

#include "chats_app.h"
#include "hs/chats.h"
#include "hs/json.h"

int id_list_or_reply(hs_req_t *req, const cJSON *body, const char *field, size_t max,
                     const char ***out, size_t *n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, field), *item;
    *out = NULL;
    *n = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v)) {
        hs_reply_fail(req, HS_EINVAL, "wrong_type", "The field '%s' must be an array of ids",
                      field);
        return -1;
    }
    size_t count = (size_t)cJSON_GetArraySize(v);
    if (count > max) {
        hs_reply_fail(req, HS_EINVAL, "invalid_value", "The field '%s' holds at most %zu ids",
                      field, max);
        return -1;
    }
    *out = hs_arena_alloc(req->arena, (count ? count : 1) * sizeof **out);
    cJSON_ArrayForEach(item, v)
    {
        if (!cJSON_IsString(item) || !hs_id_valid(item->valuestring)) {
            hs_reply_fail(req, HS_EINVAL, "invalid_value", "'%s' must hold 24-hex ids", field);
            return -1;
        }
        (*out)[(*n)++] = item->valuestring;
    }
    return 0;
}

static void reply_chat(hs_req_t *req, int status, const char *id)
{
    hs_chat_t c;
    hs_err_t err;
    if (hs_chat_view(req->ctx, req->arena, req->auth.sub, id, &c, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_json(req, status, hs_chat_json(&c));
}

/* The fields shared by PUT /chats/{id} and the creation routes. */
static int chat_fields_or_reply(hs_req_t *req, cJSON *body, const char **name,
                                const char **description, const char **avatar)
{
    if (hs_json_text_or_reply(req, body, "name", 0, 1, 128, 0, name) ||
        hs_json_string_or_reply(req, body, "description", 0, 0, 1000, description) ||
        hs_json_string_or_reply(req, body, "avatar_file_id", 0, 24, 24, avatar))
        return -1;
    if (*avatar && !hs_id_valid(*avatar)) {
        hs_reply_fail(req, HS_EINVAL, "invalid_value", "avatar_file_id must be a file id");
        return -1;
    }
    return 0;
}

static void create(hs_req_t *req, const char *kind)
{
    cJSON *body;
    hs_chat_req_t r = {.kind = kind};
    if (hs_json_body_or_reply(req, &body) ||
        (!kind && hs_json_string_or_reply(req, body, "kind", 1, 1, 16, &r.kind)) ||
        chat_fields_or_reply(req, body, &r.name, &r.description, &r.avatar_file_id) ||
        id_list_or_reply(req, body, "members", 100, &r.members, &r.nmembers))
        return;
    const cJSON *pub = cJSON_GetObjectItemCaseSensitive(body, "is_public");
    if (pub && !cJSON_IsBool(pub)) {
        hs_reply_fail(req, HS_EINVAL, "wrong_type", "The field 'is_public' must be a boolean");
        return;
    }
    r.is_public = cJSON_IsTrue(pub);
    hs_chat_t c;
    int existed;
    hs_err_t err;
    if (hs_chat_create(req->ctx, req->arena, req->auth.sub, &r, &c, &existed, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_json(req, existed ? 200 : 201, hs_chat_json(&c));
}

static void on_create(hs_req_t *req)
{
    create(req, NULL);
}

static void on_create_group(hs_req_t *req)
{
    create(req, "group");
}

static void on_create_channel(hs_req_t *req)
{
    create(req, "channel");
}

static void on_list(hs_req_t *req)
{
    const char *cursor = hs_req_query(req, "cursor");
    int limit;
    hs_chat_page_t page;
    hs_err_t err;
    if (hs_req_limit_or_reply(req, 20, 100, &limit))
        return;
    if (hs_chat_list(req->ctx, req->arena, req->auth.sub, cursor, limit, &page, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < page.n; i++)
        cJSON_AddItemToArray(items, hs_chat_json(&page.items[i]));
    hs_json_add_string_or_null(o, "next_cursor", page.next_cursor);
    hs_reply_json(req, 200, o);
}

static void on_get(hs_req_t *req)
{
    reply_chat(req, 200, hs_req_param(req, "id"));
}

static void on_update(hs_req_t *req)
{
    cJSON *body;
    const char *name, *description, *avatar;
    if (hs_json_body_or_reply(req, &body) ||
        chat_fields_or_reply(req, body, &name, &description, &avatar))
        return;
    const cJSON *pub = cJSON_GetObjectItemCaseSensitive(body, "is_public");
    if (pub && !cJSON_IsBool(pub)) {
        hs_reply_fail(req, HS_EINVAL, "wrong_type", "The field 'is_public' must be a boolean");
        return;
    }
    hs_chat_t c;
    hs_err_t err;
    if (hs_chat_update(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), name,
                       description, cJSON_HasObjectItem(body, "avatar_file_id"), avatar,
                       pub ? cJSON_IsTrue(pub) : -1, &c, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_json(req, 200, hs_chat_json(&c));
}

/* Replies 204 for rc 0, else the error. */
static void done(hs_req_t *req, int rc, const hs_err_t *err)
{
    if (rc)
        hs_reply_error(req, err);
    else
        hs_reply_empty(req, 204);
}

static void on_delete(hs_req_t *req)
{
    hs_err_t err;
    done(req, hs_chat_remove(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), &err),
         &err);
}

static void on_leave(hs_req_t *req)
{
    hs_err_t err;
    done(req, hs_chat_leave(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), &err),
         &err);
}

static void on_join(hs_req_t *req)
{
    hs_err_t err;
    const char *id = hs_req_param(req, "id");
    if (hs_chat_join(req->ctx, req->arena, req->auth.sub, id, &err))
        hs_reply_error(req, &err);
    else
        reply_chat(req, 200, id);
}

static void on_members(hs_req_t *req)
{
    const char *id = hs_req_param(req, "id"), *cursor;
    int limit;
    hs_member_page_t page;
    hs_err_t err;
    if (hs_req_page_or_reply(req, &limit, &cursor))
        return;
    if (hs_chat_members(req->ctx, req->arena, req->auth.sub, id, cursor, limit, &page, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < page.n; i++)
        cJSON_AddItemToArray(items, hs_member_json(&page.items[i]));
    hs_json_add_string_or_null(o, "next_cursor", page.next_cursor);
    hs_reply_json(req, 200, o);
}

static void on_member_add(hs_req_t *req)
{
    cJSON *body;
    const char *user;
    hs_err_t err;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "user_id", 1, 1, 64, &user))
        return;
    if (hs_chat_add_member(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), user,
                           &err))
        hs_reply_error(req, &err);
    else
        reply_chat(req, 201, hs_req_param(req, "id"));
}

static void on_member_remove(hs_req_t *req)
{
    hs_err_t err;
    done(req,
         hs_chat_remove_member(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"),
                               hs_req_param(req, "user_id"), &err),
         &err);
}

static void on_member_role(hs_req_t *req)
{
    cJSON *body;
    const char *role;
    hs_err_t err;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "role", 1, 1, 16, &role))
        return;
    done(req,
         hs_chat_set_role(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"),
                          hs_req_param(req, "user_id"), role, &err),
         &err);
}

static void on_mute(hs_req_t *req)
{
    cJSON *body;
    hs_err_t err;
    if (hs_json_body_or_reply(req, &body))
        return;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "muted");
    if (!m || !cJSON_IsBool(m)) {
        hs_reply_fail(req, HS_EINVAL, m ? "wrong_type" : "missing_field",
                      "The field 'muted' must be a boolean");
        return;
    }
    if (hs_chat_mute(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), cJSON_IsTrue(m),
                     &err))
        hs_reply_error(req, &err);
    else
        reply_chat(req, 200, hs_req_param(req, "id"));
}

static void on_read(hs_req_t *req)
{
    cJSON *body;
    const char *message_id;
    hs_err_t err;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "message_id", 1, 1, 64, &message_id))
        return;
    if (hs_chat_read(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), message_id,
                     &err))
        hs_reply_error(req, &err);
    else
        reply_chat(req, 200, hs_req_param(req, "id"));
}

/* Literal paths come before {id} ones. */
static const hs_route_t routes[] = {
    {"POST", "/api/v1/chats", on_create, HS_ROUTE_AUTH},
    {"GET", "/api/v1/chats", on_list, HS_ROUTE_AUTH},
    {"POST", "/api/v1/groups", on_create_group, HS_ROUTE_AUTH},
    {"POST", "/api/v1/channels", on_create_channel, HS_ROUTE_AUTH},
    {"GET", "/api/v1/chats/{id}", on_get, HS_ROUTE_AUTH},
    {"PUT", "/api/v1/chats/{id}", on_update, HS_ROUTE_AUTH},
    {"DELETE", "/api/v1/chats/{id}", on_delete, HS_ROUTE_AUTH},
    {"POST", "/api/v1/chats/{id}/leave", on_leave, HS_ROUTE_AUTH},
    {"POST", "/api/v1/chats/{id}/join", on_join, HS_ROUTE_AUTH},
    {"GET", "/api/v1/chats/{id}/members", on_members, HS_ROUTE_AUTH},
    {"POST", "/api/v1/chats/{id}/members", on_member_add, HS_ROUTE_AUTH},
    {"DELETE", "/api/v1/chats/{id}/members/{user_id}", on_member_remove, HS_ROUTE_AUTH},
    {"PUT", "/api/v1/chats/{id}/members/{user_id}", on_member_role, HS_ROUTE_AUTH},
    {"PUT", "/api/v1/chats/{id}/mute", on_mute, HS_ROUTE_AUTH},
    {"POST", "/api/v1/chats/{id}/read", on_read, HS_ROUTE_AUTH},
    {"POST", "/api/v1/messages", on_message_send, HS_ROUTE_AUTH},
    {"GET", "/api/v1/messages/search", on_message_search, HS_ROUTE_AUTH},
    {"GET", "/api/v1/messages/{chat_id}", on_message_history, HS_ROUTE_AUTH},
    {"PUT", "/api/v1/messages/{id}", on_message_edit, HS_ROUTE_AUTH},
    {"DELETE", "/api/v1/messages/{id}", on_message_delete, HS_ROUTE_AUTH},
    {"POST", "/api/v1/messages/{id}/react", on_message_react, HS_ROUTE_AUTH},
    {"GET", "/api/v1/messages/{id}/receipts", on_message_receipts, HS_ROUTE_AUTH},
};

int main(int argc, char **argv)
{
    static const hs_app_t app = {"chats", routes, sizeof routes / sizeof routes[0], NULL, 0};
    return hs_app_main(&app, argc, argv);
}

/* The users app: /api/v1/users (profiles, search, follows, admin). */
#include <string.h>

#include "hs/auth.h"
#include "hs/json.h"
#include "hs/users.h"

static void on_get(hs_req_t *req)
{
    cJSON *o;
    hs_err_t err;
    if (hs_user_profile(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "id"), &o, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_json(req, 200, o);
}

static int own_id_or_reply(hs_req_t *req, const char *id)
{
    if (strcmp(id, req->auth.sub) == 0)
        return 0;
    hs_user_t u;
    hs_err_t err;
    /* Someone else's id: 403 if they exist (and are visible), 404 otherwise. */
    if (hs_user_visible(req->ctx, req->arena, req->auth.sub, id, &u, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_fail(req, HS_EFORBIDDEN, "not_your_profile",
                      "You can only change your own profile");
    return -1;
}

static void on_update(hs_req_t *req)
{
    const char *id = hs_req_param(req, "id");
    cJSON *body, *o;
    hs_profile_req_t r = {0};
    hs_err_t err;
    if (own_id_or_reply(req, id) || hs_json_body_or_reply(req, &body) ||
        hs_json_text_or_reply(req, body, "display_name", 0, 0, 64, 0, &r.display_name) ||
        hs_json_string_or_reply(req, body, "bio", 0, 0, 500, &r.bio) ||
        hs_json_string_or_reply(req, body, "avatar_file_id", 0, 24, 24, &r.avatar) ||
        hs_json_object_or_reply(req, body, "settings", 0, &r.settings))
        return;
    r.set_avatar = cJSON_HasObjectItem(body, "avatar_file_id");
    if (hs_user_update_profile(req->ctx, req->arena, id, &r, &o, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_json(req, 200, o);
}

static void on_search(hs_req_t *req)
{
    const char *q = hs_req_query(req, "q"), *cursor = hs_req_query(req, "cursor");
    int limit;
    if (hs_req_limit_or_reply(req, 20, 100, &limit))
        return;
    hs_user_page_t page;
    hs_err_t err;
    if (hs_user_search(req->ctx, req->arena, q, cursor, limit, &page, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_json(req, 200, hs_user_page_json(&page));
}

static void follow(hs_req_t *req, int on)
{
    const char *id = hs_req_param(req, "id");
    hs_err_t err;
    cJSON *o;
    if (hs_user_follow(req->ctx, req->arena, req->auth.sub, id, on, &err) ||
        hs_user_profile(req->ctx, req->arena, req->auth.sub, id, &o, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_json(req, 200, o);
}

static void on_follow(hs_req_t *req)
{
    follow(req, 1);
}

static void on_unfollow(hs_req_t *req)
{
    follow(req, 0);
}

static void follow_list(hs_req_t *req, int followers)
{
    const char *id = hs_req_param(req, "id"), *cursor;
    int limit;
    hs_user_page_t page;
    hs_err_t err;
    if (hs_req_page_or_reply(req, &limit, &cursor))
        return;
    if (hs_user_follow_page(req->ctx, req->arena, req->auth.sub, id, followers, cursor, limit,
                            &page, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_json(req, 200, hs_user_page_json(&page));
}

static void on_followers(hs_req_t *req)
{
    follow_list(req, 1);
}

static void on_following(hs_req_t *req)
{
    follow_list(req, 0);
}

static void set_disabled(hs_req_t *req, int disabled)
{
    const char *id = hs_req_param(req, "id");
    hs_err_t err;
    if (hs_auth_set_disabled(req->ctx, req->arena, req->auth.sub, id, disabled, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddBoolToObject(o, "disabled", disabled);
    hs_reply_json(req, 200, o);
}

static void on_disable(hs_req_t *req)
{
    set_disabled(req, 1);
}

static void on_enable(hs_req_t *req)
{
    set_disabled(req, 0);
}

/* /users/search is listed before /users/{id} so "search" is never an id. */
static const hs_route_t routes[] = {
    {"GET", "/api/v1/users/search", on_search, HS_ROUTE_AUTH},
    {"GET", "/api/v1/users/{id}", on_get, HS_ROUTE_AUTH},
    {"PUT", "/api/v1/users/{id}", on_update, HS_ROUTE_AUTH},
    {"POST", "/api/v1/users/{id}/follow", on_follow, HS_ROUTE_AUTH},
    {"DELETE", "/api/v1/users/{id}/follow", on_unfollow, HS_ROUTE_AUTH},
    {"GET", "/api/v1/users/{id}/followers", on_followers, HS_ROUTE_AUTH},
    {"GET", "/api/v1/users/{id}/following", on_following, HS_ROUTE_AUTH},
    {"POST", "/api/v1/users/{id}/disable", on_disable, HS_ROUTE_AUTH},
    {"POST", "/api/v1/users/{id}/enable", on_enable, HS_ROUTE_AUTH},
};

int main(int argc, char **argv)
{
    static const hs_app_t app = {"users", routes, sizeof routes / sizeof routes[0], NULL, 0};
    return hs_app_main(&app, argc, argv);
}

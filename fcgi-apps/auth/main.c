/* The auth app: /api/v1/auth (accounts, tokens, sessions) and /health. */
#include <stdio.h>
#include <string.h>

#include "hs/auth.h"
#include "hs/health.h"
#include "hs/json.h"
#include "hs/users.h"

static hs_client_t client_of(hs_req_t *req)
{
    hs_client_t c = {req->client_ip, req->user_agent};
    if (c.user_agent && strlen(c.user_agent) > 256)
        c.user_agent = hs_arena_strndup(req->arena, c.user_agent, 256);
    return c;
}

/* Replies with a token pair; the user fields are present for register and
 * login, which share the seed's response shape. */
static void reply_tokens(hs_req_t *req, int status, const hs_user_t *u, const hs_tokens_t *t)
{
    cJSON *o = cJSON_CreateObject();
    if (u) {
        cJSON_AddStringToObject(o, "id", u->id);
        cJSON_AddStringToObject(o, "username", u->username);
        cJSON_AddStringToObject(o, "email", u->email);
        cJSON_AddStringToObject(o, "role", u->role);
    }
    cJSON_AddStringToObject(o, "access_token", t->access_token);
    cJSON_AddStringToObject(o, "refresh_token", t->refresh_token);
    cJSON_AddStringToObject(o, "token_type", "bearer");
    cJSON_AddNumberToObject(o, "expires_in", (double)t->expires_in);
    cJSON_AddStringToObject(o, "session_id", t->session_id);
    hs_reply_json(req, status, o);
}

static void on_register(hs_req_t *req)
{
    cJSON *body;
    const char *username, *email, *password;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "username", 1, 1, 64, &username) ||
        hs_json_string_or_reply(req, body, "email", 1, 1, 254, &email) ||
        hs_json_string_or_reply(req, body, "password", 1, 1, 256, &password))
        return;
    hs_client_t c = client_of(req);
    hs_user_t u;
    hs_tokens_t t;
    hs_err_t err;
    if (hs_auth_register(req->ctx, req->arena, username, email, password, &c, &u, &t, &err))
        hs_reply_error(req, &err);
    else
        reply_tokens(req, 201, &u, &t);
}

static void on_login(hs_req_t *req)
{
    cJSON *body;
    const char *username, *email, *password;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "username", 0, 1, 254, &username) ||
        hs_json_string_or_reply(req, body, "email", 0, 1, 254, &email) ||
        hs_json_string_or_reply(req, body, "password", 1, 1, 256, &password))
        return;
    if (!username && !email) {
        hs_reply_fail(req, HS_EINVAL, "missing_field", "Send 'username' or 'email'");
        return;
    }
    hs_client_t c = client_of(req);
    hs_user_t u;
    hs_tokens_t t;
    hs_err_t err;
    if (hs_auth_login(req->ctx, req->arena, username ? username : email, password, &c, &u, &t,
                      &err))
        hs_reply_error(req, &err);
    else
        reply_tokens(req, 200, &u, &t);
}

static void on_refresh(hs_req_t *req)
{
    cJSON *body;
    const char *refresh;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "refresh_token", 1, 1, 128, &refresh))
        return;
    hs_client_t c = client_of(req);
    hs_user_t u;
    hs_tokens_t t;
    hs_err_t err;
    if (hs_auth_refresh(req->ctx, req->arena, refresh, &c, &u, &t, &err))
        hs_reply_error(req, &err);
    else
        reply_tokens(req, 200, NULL, &t);
}

static void on_logout(hs_req_t *req)
{
    hs_err_t err;
    if (hs_auth_revoke_session(req->ctx, req->auth.sub, req->auth.sid, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_empty(req, 204);
}

static void on_me(hs_req_t *req)
{
    cJSON *o;
    hs_err_t err;
    if (hs_user_profile(req->ctx, req->arena, req->auth.sub, req->auth.sub, &o, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_json(req, 200, o);
}

static void on_change_password(hs_req_t *req)
{
    cJSON *body;
    const char *old_pw, *new_pw;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "old_password", 1, 1, 256, &old_pw) ||
        hs_json_string_or_reply(req, body, "new_password", 1, 1, 256, &new_pw))
        return;
    size_t revoked;
    hs_err_t err;
    if (hs_auth_change_password(req->ctx, req->arena, &req->auth, old_pw, new_pw, &revoked, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "revoked_sessions", (double)revoked);
    hs_reply_json(req, 200, o);
}

static void on_sessions(hs_req_t *req)
{
    hs_session_page_t page;
    hs_err_t err;
    int limit;
    if (hs_req_limit_or_reply(req, 100, 100, &limit))
        return;
    if (hs_store_session_list(req->ctx->store, req->auth.sub, hs_req_query(req, "cursor"), limit,
                              req->arena, &page, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    hs_session_t *list = page.items;
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < page.n; i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "id", list[i].id);
        hs_json_add_time(s, "created_at", list[i].created_at);
        hs_json_add_time(s, "last_used_at", list[i].last_used_at);
        hs_json_add_time(s, "expires_at", list[i].expires_at);
        cJSON_AddStringToObject(s, "user_agent", list[i].user_agent ? list[i].user_agent : "");
        cJSON_AddStringToObject(s, "ip", list[i].ip ? list[i].ip : "");
        cJSON_AddBoolToObject(s, "current", strcmp(list[i].id, req->auth.sid) == 0);
        cJSON_AddItemToArray(items, s);
    }
    if (page.next_cursor)
        cJSON_AddStringToObject(o, "next_cursor", page.next_cursor);
    else
        cJSON_AddNullToObject(o, "next_cursor");
    hs_reply_json(req, 200, o);
}

static void on_delete_session(hs_req_t *req)
{
    const char *id = hs_req_param(req, "id");
    hs_err_t err;
    if (!hs_id_valid(id))
        hs_reply_fail(req, HS_ENOTFOUND, "session_not_found", "No such session");
    else if (hs_auth_revoke_session(req->ctx, req->auth.sub, id, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_empty(req, 204);
}

/* Reads one line of stdin into buf without its newline; "" at the end. */
static const char *read_line(char *buf, size_t n)
{
    if (!fgets(buf, (int)n, stdin))
        buf[0] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

/* `hs-auth create-admin`: the explicit admin bootstrap. Reads three lines
 * from stdin (username, email, password; the password is never an argument,
 * so it stays out of ps and shell history); an existing username is only
 * promoted and needs the first line alone. */
static int create_admin(hs_ctx_t *ctx)
{
    char name[256], email[512], password[512];
    hs_arena_t a = {0};
    hs_user_t u;
    hs_err_t err;
    int created;
    read_line(name, sizeof name);
    read_line(email, sizeof email);
    read_line(password, sizeof password);
    int rc = hs_auth_create_admin(ctx, &a, name, email, password, &u, &created, &err);
    explicit_bzero(password, sizeof password);
    if (rc)
        fprintf(stderr, "hs-auth create-admin: %s\n", err.message);
    else
        printf("%s admin %s (%s)\n", created ? "created" : "promoted", u.username, u.id);
    hs_arena_free(&a);
    return rc ? 1 : 0;
}

static const hs_command_t commands[] = {
    {"create-admin",
     "make an admin: reads username, email and password lines from stdin (an existing user "
     "needs only the username)",
     create_admin},
};

static const hs_route_t routes[] = {
    {"GET", "/health", hs_health_handler, 0},
    {"POST", "/api/v1/auth/register", on_register, 0},
    {"POST", "/api/v1/auth/login", on_login, 0},
    {"POST", "/api/v1/auth/refresh", on_refresh, 0},
    {"POST", "/api/v1/auth/logout", on_logout, HS_ROUTE_AUTH},
    {"GET", "/api/v1/auth/me", on_me, HS_ROUTE_AUTH},
    {"PUT", "/api/v1/auth/change-password", on_change_password, HS_ROUTE_AUTH},
    {"GET", "/api/v1/auth/sessions", on_sessions, HS_ROUTE_AUTH},
    {"DELETE", "/api/v1/auth/sessions/{id}", on_delete_session, HS_ROUTE_AUTH},
};

int main(int argc, char **argv)
{
    static const hs_app_t app = {"auth", routes, sizeof routes / sizeof routes[0], commands,
                                 sizeof commands / sizeof commands[0]};
    return hs_app_main(&app, argc, argv);
}

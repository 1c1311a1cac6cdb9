/* The auth app: /api/v1/auth (accounts, tokens, sessions) and /health. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* The refresh-token cookie of browser clients (docs/security.md): HttpOnly
 * so page script never reads it, SameSite=Strict so no other site's page
 * sends it, Secure when the request came over TLS, and scoped to the one
 * path that reads it. Logout clears it with the same attributes. */
#define REFRESH_COOKIE      "hs_refresh"
#define REFRESH_COOKIE_PATH "/api/v1/auth/refresh"

static int over_tls(hs_req_t *req)
{
    const char *https = hs_req_header(req, "HTTPS");
    return https && strcasecmp(https, "on") == 0;
}

/* Sets the cookie to token (NULL: expires it now). */
static void set_refresh_cookie(hs_req_t *req, const char *token)
{
    char v[256];
    snprintf(v, sizeof v, "%s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=Strict%s",
             REFRESH_COOKIE, token ? token : "", REFRESH_COOKIE_PATH,
             token ? req->ctx->cfg.refresh_token_ttl : 0L, over_tls(req) ? "; Secure" : "");
    hs_reply_header(req, "Set-Cookie", v);
}

/* The refresh token of the request's cookie, or NULL (absent, or not a
 * token's shape: base64url, at most 128 characters). */
static const char *refresh_cookie(hs_req_t *req)
{
    const char *c = hs_req_header(req, "HTTP_COOKIE");
    size_t nlen = strlen(REFRESH_COOKIE);
    while (c && *c) {
        while (*c == ' ' || *c == ';')
            c++;
        size_t len = strcspn(c, ";");
        if (len > nlen && strncmp(c, REFRESH_COOKIE "=", nlen + 1) == 0) {
            size_t vlen = len - nlen - 1;
            const char *v = c + nlen + 1;
            if (vlen == 0 || vlen > 128 ||
                strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") <
                    vlen)
                return NULL;
            return hs_arena_strndup(req->arena, v, vlen);
        }
        c += len;
    }
    return NULL;
}

/* The optional "cookie": true of login, register and refresh bodies: the
 * browser's opt-in to the cookie. */
static int cookie_opt_or_reply(hs_req_t *req, const cJSON *body, int *cookie)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(body, "cookie");
    *cookie = 0;
    if (!c || cJSON_IsNull(c))
        return 0;
    if (!cJSON_IsBool(c)) {
        hs_reply_fail(req, HS_EINVAL, "wrong_type", "'cookie' must be a boolean");
        return -1;
    }
    *cookie = cJSON_IsTrue(c);
    return 0;
}

/* Replies with a token pair; the user fields are present for register and
 * login, which share the seed's response shape. With cookie the refresh
 * token goes only into the cookie, never into the body. */
static void reply_tokens(hs_req_t *req, int status, const hs_user_t *u, const hs_tokens_t *t,
                         int cookie)
{
    cJSON *o = cJSON_CreateObject();
    if (u) {
        cJSON_AddStringToObject(o, "id", u->id);
        cJSON_AddStringToObject(o, "username", u->username);
        cJSON_AddStringToObject(o, "email", u->email);
        cJSON_AddStringToObject(o, "role", u->role);
    }
    cJSON_AddStringToObject(o, "access_token", t->access_token);
    if (cookie)
        set_refresh_cookie(req, t->refresh_token);
    else
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
    int cookie;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "username", 1, 1, 64, &username) ||
        hs_json_string_or_reply(req, body, "email", 1, 1, 254, &email) ||
        hs_json_string_or_reply(req, body, "password", 1, 1, 256, &password) ||
        cookie_opt_or_reply(req, body, &cookie))
        return;
    hs_client_t c = client_of(req);
    hs_user_t u;
    hs_tokens_t t;
    hs_err_t err;
    if (hs_auth_register(req->ctx, req->arena, username, email, password, &c, &u, &t, &err))
        hs_reply_error(req, &err);
    else
        reply_tokens(req, 201, &u, &t, cookie);
}

static void on_login(hs_req_t *req)
{
    cJSON *body;
    const char *username, *email, *password;
    int cookie;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "username", 0, 1, 254, &username) ||
        hs_json_string_or_reply(req, body, "email", 0, 1, 254, &email) ||
        hs_json_string_or_reply(req, body, "password", 1, 1, 256, &password) ||
        cookie_opt_or_reply(req, body, &cookie))
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
        reply_tokens(req, 200, &u, &t, cookie);
}

/* A refresh token from the body (JSON clients), else from the cookie
 * (browsers). The cookie is only read from a request whose body is JSON: a
 * form another site's page could post cannot carry that type (and
 * SameSite=Strict keeps the cookie off cross-site requests anyway). A
 * refresh by cookie answers by cookie; a refused cookie is cleared. */
static void on_refresh(hs_req_t *req)
{
    cJSON *body;
    const char *refresh;
    int cookie, from_cookie = 0;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "refresh_token", 0, 1, 128, &refresh) ||
        cookie_opt_or_reply(req, body, &cookie))
        return;
    if (!refresh) {
        refresh = refresh_cookie(req);
        if (!refresh && !cookie) {
            hs_reply_fail(req, HS_EINVAL, "missing_field", "The field 'refresh_token' is required");
            return;
        }
        cookie = from_cookie = 1;
        const char *ctype = hs_req_header(req, "CONTENT_TYPE");
        if (!ctype || strncasecmp(ctype, "application/json", 16) != 0 ||
            (ctype[16] && ctype[16] != ';' && ctype[16] != ' ')) {
            hs_reply_fail(req, HS_EMEDIA, "json_required",
                          "Send the refresh request as application/json");
            return;
        }
        if (!refresh) {
            set_refresh_cookie(req, NULL);
            hs_reply_fail(req, HS_EAUTH, "invalid_refresh_token",
                          "No refresh token: sign in again");
            return;
        }
    }
    hs_client_t c = client_of(req);
    hs_user_t u;
    hs_tokens_t t;
    hs_err_t err;
    if (hs_auth_refresh(req->ctx, req->arena, refresh, &c, &u, &t, &err)) {
        if (from_cookie && err.status == 401)
            set_refresh_cookie(req, NULL);
        hs_reply_error(req, &err);
    } else {
        reply_tokens(req, 200, NULL, &t, cookie);
    }
}

static void on_logout(hs_req_t *req)
{
    hs_err_t err;
    if (hs_auth_revoke_session(req->ctx, req->auth.sub, req->auth.sid, &err)) {
        hs_reply_error(req, &err);
    } else {
        set_refresh_cookie(req, NULL); /* a browser's: the session is over */
        hs_reply_empty(req, 204);
    }
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
    if (hs_auth_sessions(req->ctx, req->arena, req->auth.sub, hs_req_query(req, "cursor"), limit,
                         &page, &err)) {
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
    hs_json_add_string_or_null(o, "next_cursor", page.next_cursor);
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

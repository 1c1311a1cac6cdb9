/* The files app: /api/v1/files (uploads, tus, files, share links) and the
 * public share-link downloads under /s/. Bytes leave through X-Sendfile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files_app.h"
#include "hs/blob.h"
#include "hs/files.h"
#include "hs/files_send.h"
#include "hs/json.h"
#include "hs/share.h"

size_t read_request(void *req, void *buf, size_t n)
{
    return hs_req_read(req, buf, n);
}

int64_t parse_count(const char *s)
{
    char *end;
    if (!s || !*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
        return -1;
    return strtoll(s, &end, 10);
}

void reply_file(hs_req_t *req, int status, const hs_file_t *f)
{
    hs_reply_json(req, status, hs_file_json(f));
}

static void on_list(hs_req_t *req)
{
    const char *cursor;
    int limit;
    hs_file_page_t page;
    hs_err_t err;
    if (hs_req_page_or_reply(req, &limit, &cursor))
        return;
    if (hs_file_list(req->ctx, req->arena, req->auth.sub, cursor, limit, &page, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < page.n; i++)
        cJSON_AddItemToArray(items, hs_file_json(&page.items[i]));
    hs_json_add_string_or_null(o, "next_cursor", page.next_cursor);
    hs_reply_json(req, 200, o);
}

/* Loads the {file_id} of the path if the caller may see it; 0 or replied. */
static int visible_or_reply(hs_req_t *req, hs_file_t *f)
{
    hs_err_t err;
    if (!hs_file_visible(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "file_id"), f,
                         &err))
        return 0;
    hs_reply_error(req, &err);
    return -1;
}

static void on_info(hs_req_t *req)
{
    hs_file_t f;
    if (!visible_or_reply(req, &f))
        reply_file(req, 200, &f);
}

static void on_download(hs_req_t *req)
{
    hs_file_t f;
    if (!hs_file_redirect_download(req) && !visible_or_reply(req, &f))
        hs_file_send(req, &f);
}

static void on_delete(hs_req_t *req)
{
    hs_err_t err;
    if (hs_file_delete(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "file_id"), &err))
        hs_reply_error(req, &err);
    else
        hs_reply_empty(req, 204);
}

static void on_link_create(hs_req_t *req)
{
    cJSON *body;
    const char *password;
    int64_t expires_in, max_downloads;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_int_or_reply(req, body, "expires_in", 0, 1, 31536000, 7 * 86400, &expires_in) ||
        hs_json_int_or_reply(req, body, "max_downloads", 0, 0, 1000000000, 0, &max_downloads) ||
        hs_json_string_or_reply(req, body, "password", 0, HS_SHARE_PASSWORD_MIN, 256, &password))
        return;
    hs_link_t l;
    const char *token;
    hs_err_t err;
    if (hs_share_create(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "file_id"),
                        expires_in, max_downloads, password, &l, &token, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_json(req, 201, hs_link_json(&l, token));
}

static void on_link_list(hs_req_t *req)
{
    hs_link_t *links;
    size_t n;
    hs_err_t err;
    if (hs_share_list(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "file_id"), &links, &n,
                      &err)) {
        hs_reply_error(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(items, hs_link_json(&links[i], NULL));
    hs_reply_json(req, 200, o);
}

static void on_link_revoke(hs_req_t *req)
{
    hs_err_t err;
    if (hs_share_revoke(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "file_id"),
                        hs_req_param(req, "link_id"), &err))
        hs_reply_error(req, &err);
    else
        hs_reply_empty(req, 204);
}

static void on_share_download(hs_req_t *req)
{
    hs_file_t f;
    hs_err_t err;
    /* HEAD shows the name and size without spending a download */
    int count = strcmp(req->method, "HEAD") != 0;
    /* before the link is opened: a redirected request spends no download */
    if (hs_file_redirect_download(req))
        return;
    if (hs_share_open(req->ctx, req->arena, hs_req_param(req, "token"),
                      hs_req_header(req, "HTTP_X_SHARE_PASSWORD"), req->client_ip, count, &f, &err))
        hs_reply_error(req, &err);
    else
        hs_file_send(req, &f);
}

/* `hs-files cleanup`: for cron; removes expired uploads and files. */
static int cleanup(hs_ctx_t *ctx)
{
    size_t uploads, files;
    hs_err_t err;
    if (hs_file_cleanup(ctx, hs_now_ms(), &uploads, &files, &err)) {
        fprintf(stderr, "hs-files cleanup: %s\n", err.message);
        return 1;
    }
    printf("removed %zu expired uploads and %zu expired files\n", uploads, files);
    return 0;
}

/* Literal paths come before {file_id} so "list" or "tus" are never ids. */
static const hs_route_t routes[] = {
    {"POST", "/api/v1/files/upload/init", on_upload_init, HS_ROUTE_AUTH},
    {"POST", "/api/v1/files/upload/chunk", on_upload_chunk_multipart, HS_ROUTE_AUTH},
    {"POST", "/api/v1/files/upload/complete", on_upload_complete, HS_ROUTE_AUTH},
    {"PUT", "/api/v1/files/upload/{upload_id}/chunks/{n}", on_upload_chunk_raw, HS_ROUTE_AUTH},
    {"GET", "/api/v1/files/upload/{upload_id}", on_upload_status, HS_ROUTE_AUTH},
    {"DELETE", "/api/v1/files/upload/{upload_id}", on_upload_abort, HS_ROUTE_AUTH},
    {"OPTIONS", "/api/v1/files/tus", on_tus_options, 0},
    {"POST", "/api/v1/files/tus", on_tus_create, HS_ROUTE_AUTH},
    /* The creation URL as tusd and most client examples write it. */
    {"OPTIONS", "/api/v1/files/tus/", on_tus_options, 0},
    {"POST", "/api/v1/files/tus/", on_tus_create, HS_ROUTE_AUTH},
    {"OPTIONS", "/api/v1/files/tus/{upload_id}", on_tus_options, 0},
    {"HEAD", "/api/v1/files/tus/{upload_id}", on_tus_head, HS_ROUTE_AUTH},
    {"PATCH", "/api/v1/files/tus/{upload_id}", on_tus_patch, HS_ROUTE_AUTH},
    {"DELETE", "/api/v1/files/tus/{upload_id}", on_tus_delete, HS_ROUTE_AUTH},
    {"GET", "/api/v1/files/list", on_list, HS_ROUTE_AUTH},
    {"GET", "/api/v1/files/{file_id}/info", on_info, HS_ROUTE_AUTH},
    {"GET", "/api/v1/files/{file_id}", on_download, HS_ROUTE_AUTH},
    {"HEAD", "/api/v1/files/{file_id}", on_download, HS_ROUTE_AUTH},
    {"DELETE", "/api/v1/files/{file_id}", on_delete, HS_ROUTE_AUTH},
    {"POST", "/api/v1/files/{file_id}/links", on_link_create, HS_ROUTE_AUTH},
    {"GET", "/api/v1/files/{file_id}/links", on_link_list, HS_ROUTE_AUTH},
    {"DELETE", "/api/v1/files/{file_id}/links/{link_id}", on_link_revoke, HS_ROUTE_AUTH},
    {"GET", "/s/{token}", on_share_download, 0},
    {"HEAD", "/s/{token}", on_share_download, 0},
};

static const hs_command_t commands[] = {
    {"cleanup", "remove expired uploads and files with their bytes (run from cron)", cleanup},
};

int main(int argc, char **argv)
{
    static const hs_app_t app = {"files", routes, sizeof routes / sizeof routes[0], commands,
                                 sizeof commands / sizeof commands[0]};
    return hs_app_main(&app, argc, argv);
}

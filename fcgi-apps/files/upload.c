/* The seed's chunked upload API: init, chunks (multipart or raw PUT),
 * status, complete, abort. */
#include <stdlib.h>
#include <string.h>

#include "files_app.h"
#include "hs/files.h"
#include "hs/json.h"
#include "hs/multipart.h"

void on_upload_init(hs_req_t *req)
{
    cJSON *body;
    hs_upload_req_t r = {.protocol = "chunks"};
    const char *name;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "filename", 1, 1, 100000, &name) ||
        hs_json_int_or_reply(req, body, "file_size", 1, 0, INT64_C(1) << 53, 0, &r.size) ||
        hs_json_string_or_reply(req, body, "content_type", 0, 1, 255, &r.content_type) ||
        hs_json_string_or_reply(req, body, "chat_id", 0, 24, 24, &r.chat_id) ||
        hs_json_string_or_reply(req, body, "sha256", 0, 64, 64, &r.sha256) ||
        hs_json_int_or_reply(req, body, "expires_in", 0, 0, 315360000, 0, &r.expires_in))
        return;
    hs_upload_t up;
    hs_err_t err;
    if (r.chat_id && !hs_id_valid(r.chat_id)) {
        hs_reply_fail(req, HS_EINVAL, "invalid_value", "chat_id must be a chat id");
        return;
    }
    if (hs_file_clean_name(req->arena, name, &r.filename, &err) ||
        hs_file_content_type(req->arena, r.content_type, &r.content_type, &err) ||
        hs_file_init(req->ctx, req->auth.sub, &r, &up, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "upload_id", up.id);
    cJSON_AddNumberToObject(o, "chunk_size", (double)up.chunk_size);
    cJSON_AddNumberToObject(o, "chunk_count", (double)up.chunk_count);
    cJSON_AddNumberToObject(o, "file_size", (double)up.size);
    hs_json_add_time(o, "expires_at", up.expires_at);
    hs_reply_json(req, 201, o);
}

static void reply_chunk(hs_req_t *req, const char *id, int64_t n, int duplicate)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "upload_id", id);
    cJSON_AddNumberToObject(o, "chunk_number", (double)n);
    cJSON_AddBoolToObject(o, "received", 1);
    cJSON_AddBoolToObject(o, "duplicate", duplicate);
    hs_reply_json(req, 200, o);
}

void on_upload_chunk_raw(hs_req_t *req)
{
    const char *id = hs_req_param(req, "upload_id"), *n_s = hs_req_param(req, "n");
    const char *sha = hs_req_header(req, "HTTP_X_CHUNK_SHA256");
    int64_t n = parse_count(n_s);
    hs_body_t body = {read_request, req, NULL};
    int dup;
    hs_err_t err;
    if (n < 0) {
        hs_reply_fail(req, HS_EINVAL, "chunk_out_of_range", "The chunk number must be 0 or more");
        return;
    }
    if (hs_file_put_chunk(req->ctx, req->arena, req->auth.sub, id, n, hs_req_content_length(req),
                          sha, &body, &dup, &err))
        hs_reply_error(req, &err);
    else
        reply_chunk(req, id, n, dup);
}

/* Confirms the chunk part ended at a delimiter, not at a cut-off body. */
static int multipart_finish(void *m, hs_err_t *err)
{
    int rc = hs_multipart_next(m, err);
    return rc < 0 ? rc : 0;
}

static size_t multipart_read(void *m, void *buf, size_t n)
{
    return hs_multipart_read(m, buf, n);
}

/* The seed's form: upload_id and chunk_number (and optionally chunk_sha256)
 * fields, then the chunk file part. Fields after the chunk are ignored. */
void on_upload_chunk_multipart(hs_req_t *req)
{
    hs_multipart_t *m = hs_arena_alloc(req->arena, sizeof *m);
    char id[32] = "", num[32] = "", sha[72] = "";
    hs_err_t err;
    int rc;
    if (hs_multipart_open(m, hs_req_header(req, "CONTENT_TYPE"), read_request, req, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    while ((rc = hs_multipart_next(m, &err)) == 1) {
        if (strcmp(m->name, "upload_id") == 0)
            rc = hs_multipart_read_field(m, id, sizeof id - 1, &err);
        else if (strcmp(m->name, "chunk_number") == 0)
            rc = hs_multipart_read_field(m, num, sizeof num - 1, &err);
        else if (strcmp(m->name, "chunk_sha256") == 0)
            rc = hs_multipart_read_field(m, sha, sizeof sha - 1, &err);
        else if (strcmp(m->name, "chunk") == 0)
            break;
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        hs_reply_error(req, &err);
        return;
    }
    if (rc == 0 || !id[0] || !num[0]) {
        hs_reply_fail(req, HS_EINVAL, "missing_field",
                      "Send the fields upload_id and chunk_number, then the chunk file part");
        return;
    }
    int64_t n = parse_count(num);
    hs_body_t body = {multipart_read, m, multipart_finish};
    int dup;
    if (n < 0)
        hs_reply_fail(req, HS_EINVAL, "chunk_out_of_range", "chunk_number must be 0 or more");
    else if (hs_file_put_chunk(req->ctx, req->arena, req->auth.sub, id, n, -1, sha[0] ? sha : NULL,
                               &body, &dup, &err))
        hs_reply_error(req, &err);
    else
        reply_chunk(req, id, n, dup);
}

void on_upload_status(hs_req_t *req)
{
    const char *id = hs_req_param(req, "upload_id");
    hs_upload_t up;
    int64_t *have;
    size_t n;
    hs_err_t err;
    if (hs_file_upload_status(req->ctx, req->arena, req->auth.sub, id, &up, &have, &n, &err))
        hs_reply_error(req, &err);
    else
        hs_reply_json(req, 200, hs_upload_json(&up, have, n));
}

void on_upload_complete(hs_req_t *req)
{
    cJSON *body;
    const char *id;
    hs_file_t f;
    hs_err_t err;
    if (hs_json_body_or_reply(req, &body) ||
        hs_json_string_or_reply(req, body, "upload_id", 1, 1, 64, &id))
        return;
    if (hs_file_complete(req->ctx, req->arena, req->auth.sub, id, &f, &err))
        hs_reply_error(req, &err);
    else
        reply_file(req, 200, &f);
}

void on_upload_abort(hs_req_t *req)
{
    hs_err_t err;
    if (hs_file_abort(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "upload_id"), &err))
        hs_reply_error(req, &err);
    else
        hs_reply_empty(req, 204);
}

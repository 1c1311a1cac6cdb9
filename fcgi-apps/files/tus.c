/* tus 1.0.0 handlers (https://tus.io/protocols/resumable-upload): exact
 * status codes and headers of the core protocol and the extensions named in
 * HS_TUS_EXTENSIONS. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "files_app.h"
#include "hs/files.h"
#include "hs/http.h"
#include "hs/tus.h"

#define OCTETS "application/offset+octet-stream"

static void tus_headers(hs_req_t *req)
{
    hs_reply_header(req, "Tus-Resumable", HS_TUS_VERSION);
}

/* Every request but OPTIONS must speak our version: 412 otherwise. */
static int version_or_reply(hs_req_t *req)
{
    const char *v = hs_req_header(req, "HTTP_TUS_RESUMABLE");
    tus_headers(req);
    if (v && strcmp(v, HS_TUS_VERSION) == 0)
        return 0;
    hs_reply_header(req, "Tus-Version", HS_TUS_VERSION);
    hs_reply_fail(req, HS_EPRECOND, "tus_version", "Send Tus-Resumable: " HS_TUS_VERSION);
    return -1;
}

static void expires_header(hs_req_t *req, int64_t ms)
{
    char date[32];
    hs_http_date(ms, date);
    hs_reply_header(req, "Upload-Expires", date);
}

static void offset_header(hs_req_t *req, int64_t offset)
{
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)offset);
    hs_reply_header(req, "Upload-Offset", v);
}

void on_tus_options(hs_req_t *req)
{
    char max[24];
    snprintf(max, sizeof max, "%ld", req->ctx->cfg.max_file_size);
    tus_headers(req);
    hs_reply_header(req, "Tus-Version", HS_TUS_VERSION);
    hs_reply_header(req, "Tus-Extension", HS_TUS_EXTENSIONS);
    hs_reply_header(req, "Tus-Max-Size", max);
    hs_reply_header(req, "Tus-Checksum-Algorithm", HS_TUS_CHECKSUMS);
    hs_reply_empty(req, 204);
}

/* The body must be "application/offset+octet-stream": 415 otherwise. */
static int octets_or_reply(hs_req_t *req)
{
    const char *ct = hs_req_header(req, "CONTENT_TYPE");
    if (ct && strncasecmp(ct, OCTETS, sizeof OCTETS - 1) == 0)
        return 0;
    hs_reply_fail(req, HS_EMEDIA, "wrong_content_type", "The body must be " OCTETS);
    return -1;
}

void on_tus_create(hs_req_t *req)
{
    if (version_or_reply(req))
        return;
    const char *len_h = hs_req_header(req, "HTTP_UPLOAD_LENGTH");
    const char *concat = hs_req_header(req, "HTTP_UPLOAD_CONCAT");
    const char *meta = hs_req_header(req, "HTTP_UPLOAD_METADATA");
    int final = concat && strncmp(concat, "final;", 6) == 0;
    int64_t length = final ? 0 : parse_count(len_h);
    long long body = hs_req_content_length(req);
    if (hs_req_header(req, "HTTP_UPLOAD_DEFER_LENGTH")) {
        hs_reply_fail(req, HS_EINVAL, "defer_length_unsupported",
                      "Upload-Defer-Length is not supported; send Upload-Length");
        return;
    }
    if (!final && length < 0) {
        hs_reply_fail(req, HS_EINVAL, "invalid_upload_length",
                      "Upload-Length must be a non-negative integer");
        return;
    }
    if (concat && !final && strcmp(concat, "partial") != 0) {
        hs_reply_fail(req, HS_EINVAL, "invalid_concat",
                      "Upload-Concat must be partial or final;...");
        return;
    }
    if (body > 0 && final) {
        hs_reply_fail(req, HS_EINVAL, "invalid_concat", "A final upload takes no body");
        return;
    }
    if (body > 0 && octets_or_reply(req))
        return;
    if (length > req->ctx->cfg.max_file_size) {
        hs_reply_fail(req, HS_ETOOBIG, "file_too_large", "Upload-Length is over Tus-Max-Size");
        return;
    }
    hs_upload_t up;
    hs_file_t f;
    int done;
    hs_err_t err;
    if (hs_tus_create(req->ctx, req->arena, req->auth.sub, length, meta ? meta : "", concat, &up,
                      &f, &done, &err)) {
        hs_reply_error(req, &err);
        return;
    }
    int64_t offset = up.offset;
    /* creation-with-upload: the first bytes ride along with the POST. */
    if (body > 0 && !hs_tus_patch(req->ctx, req->arena, req->auth.sub, up.id, 0, body,
                                  hs_req_header(req, "HTTP_UPLOAD_CHECKSUM"), read_request, req,
                                  &offset, &f, &done, &err)) {
        offset_header(req, offset);
    } else if (body > 0) {
        /* Refused first bytes: no Location was given, so nobody could resume
         * this upload; remove it rather than leave it to expire. */
        hs_file_abort(req->ctx, req->arena, req->auth.sub, up.id, NULL);
        hs_reply_error(req, &err);
        return;
    } else if (length == 0 && !concat) {
        hs_tus_patch(req->ctx, req->arena, req->auth.sub, up.id, 0, 0, NULL, read_request, req,
                     &offset, &f, &done, &err);
    }
    char location[80];
    snprintf(location, sizeof location, "/api/v1/files/tus/%s", up.id);
    hs_reply_header(req, "Location", location);
    expires_header(req, up.expires_at);
    hs_reply_empty(req, 201);
}

void on_tus_head(hs_req_t *req)
{
    if (version_or_reply(req))
        return;
    const char *id = hs_req_param(req, "upload_id");
    hs_upload_t up;
    hs_file_t f;
    hs_err_t err;
    char len[24];
    hs_reply_header(req, "Cache-Control", "no-store");
    int rc = hs_file_upload_get(req->ctx, req->arena, req->auth.sub, id, &up, &err);
    if (rc == HS_ENOTFOUND && !hs_file_owned(req->ctx, req->arena, req->auth.sub, id, &f, NULL)) {
        /* Finished: the upload became a file with the same id. */
        offset_header(req, f.size);
        snprintf(len, sizeof len, "%lld", (long long)f.size);
        hs_reply_header(req, "Upload-Length", len);
        hs_reply_empty(req, 200);
        return;
    }
    if (rc) {
        hs_reply_error(req, &err);
        return;
    }
    offset_header(req, up.offset);
    snprintf(len, sizeof len, "%lld", (long long)up.size);
    hs_reply_header(req, "Upload-Length", len);
    if (up.metadata[0])
        hs_reply_header(req, "Upload-Metadata", up.metadata);
    if (up.concat[0])
        hs_reply_header(req, "Upload-Concat", up.concat);
    expires_header(req, up.expires_at);
    hs_reply_empty(req, 200);
}

void on_tus_patch(hs_req_t *req)
{
    if (version_or_reply(req) || octets_or_reply(req))
        return;
    int64_t offset = parse_count(hs_req_header(req, "HTTP_UPLOAD_OFFSET"));
    long long len = hs_req_content_length(req);
    if (offset < 0) {
        hs_reply_fail(req, HS_EINVAL, "invalid_upload_offset",
                      "Upload-Offset must be a non-negative integer");
        return;
    }
    if (len < 0) {
        hs_reply_fail(req, HS_EINVAL, "length_required", "Send Content-Length");
        return;
    }
    const char *id = hs_req_param(req, "upload_id");
    int64_t now_at;
    hs_file_t f;
    int done;
    hs_err_t err;
    if (hs_tus_patch(req->ctx, req->arena, req->auth.sub, id, offset, len,
                     hs_req_header(req, "HTTP_UPLOAD_CHECKSUM"), read_request, req, &now_at, &f,
                     &done, &err)) {
        /* A finished upload (a final concatenation becomes one at once) is a
         * file now: nothing more can be appended. */
        if (err.rc == HS_ENOTFOUND &&
            !hs_file_owned(req->ctx, req->arena, req->auth.sub, id, &f, NULL))
            hs_err_set(&err, HS_EFORBIDDEN, "upload_finished", "This upload is complete");
        if (err.rc == HS_ECONFLICT)
            offset_header(req, now_at);
        hs_reply_error(req, &err);
        return;
    }
    offset_header(req, now_at);
    if (req->body_timed_out) {
        /* What arrived is kept (Upload-Offset says up to where). */
        hs_reply_fail(req, HS_EINVAL, "body_timeout", NULL);
        return;
    }
    hs_reply_empty(req, 204);
}

void on_tus_delete(hs_req_t *req)
{
    hs_err_t err;
    if (version_or_reply(req))
        return;
    if (hs_file_abort(req->ctx, req->arena, req->auth.sub, hs_req_param(req, "upload_id"), &err))
        hs_reply_error(req, &err);
    else
        hs_reply_empty(req, 204);
}

/* The JSON-body validators of the HTTP layer: each reads or checks through
 * the core check of the same name (hs/json_util.h) and replies with its
 * error, so a handler stays one line per field. */
#include "hs/json.h"

int hs_json_body_or_reply(hs_req_t *req, cJSON **out)
{
    hs_err_t err;
    char *buf;
    size_t len;
    *out = NULL;
    if (hs_req_body(req, (size_t)req->ctx->cfg.max_json_body, &buf, &len, &err) ||
        hs_json_parse_object(buf, len, out, &err)) {
        hs_reply_error(req, &err);
        return -1;
    }
    req->json = *out;
    return 0;
}

/* Replies with err when rc says the check failed; rc either way. */
static int or_reply(hs_req_t *req, int rc, const hs_err_t *err)
{
    if (rc)
        hs_reply_error(req, err);
    return rc;
}

int hs_json_string_or_reply(hs_req_t *req, const cJSON *obj, const char *field, int required,
                            size_t min, size_t max, const char **out)
{
    hs_err_t err;
    return or_reply(req, hs_json_get_string(obj, field, required, min, max, out, &err), &err);
}

int hs_json_text_or_reply(hs_req_t *req, const cJSON *obj, const char *field, int required,
                          size_t min, size_t max, unsigned flags, const char **out)
{
    hs_err_t err;
    return or_reply(req, hs_json_get_text(obj, field, required, min, max, flags, out, &err), &err);
}

int hs_json_int_or_reply(hs_req_t *req, const cJSON *obj, const char *field, int required,
                         int64_t min, int64_t max, int64_t def, int64_t *out)
{
    hs_err_t err;
    return or_reply(req, hs_json_get_int(obj, field, required, min, max, def, out, &err), &err);
}

int hs_json_object_or_reply(hs_req_t *req, const cJSON *obj, const char *field, int required,
                            const cJSON **out)
{
    hs_err_t err;
    return or_reply(req, hs_json_get_object(obj, field, required, out, &err), &err);
}

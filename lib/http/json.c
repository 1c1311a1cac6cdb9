#include "hs/json.h"

#include <stdlib.h>
#include <string.h>

#include "hs/util.h"

int hs_json_body_or_reply(hs_req_t *req, cJSON **out)
{
    hs_err_t err;
    char *buf;
    size_t len;
    *out = NULL;
    if (hs_req_body(req, (size_t)req->ctx->cfg.max_json_body, &buf, &len, &err)) {
        hs_reply_error(req, &err);
        return -1;
    }
    int bad = hs_json_scan(buf, len);
    if (bad == HS_JSON_NUL) {
        hs_reply_fail(req, HS_EINVAL, "invalid_value", "NUL characters are not allowed in strings");
        return -1;
    }
    if (bad == HS_JSON_CONTROL) {
        hs_reply_fail(req, HS_EINVAL, "invalid_json",
                      "Control characters must be escaped inside JSON strings");
        return -1;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    /* Only whitespace may follow the value. */
    while (root && end && (size_t)(end - buf) < len && strchr(" \t\r\n", *end))
        end++;
    if (!root || (size_t)(end - buf) != len) {
        cJSON_Delete(root);
        hs_reply_fail(req, HS_EINVAL, "invalid_json", "The request body is not valid JSON");
        return -1;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        hs_reply_fail(req, HS_EINVAL, "not_an_object", "The request body must be a JSON object");
        return -1;
    }
    req->json = root;
    *out = root;
    return 0;
}

/* The field's value in *v, NULL when absent or null; replies 400
 * missing_field (and returns -1) when a required field is absent. */
static int lookup(hs_req_t *req, const cJSON *obj, const char *name, int required, const cJSON **v)
{
    *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (*v && cJSON_IsNull(*v))
        *v = NULL;
    if (*v || !required)
        return 0;
    hs_reply_fail(req, HS_EINVAL, "missing_field", "The field '%s' is required", name);
    return -1;
}

int hs_json_string_or_reply(hs_req_t *req, const cJSON *obj, const char *field, int required,
                            size_t min, size_t max, const char **out)
{
    const cJSON *v;
    *out = NULL;
    if (lookup(req, obj, field, required, &v))
        return -1;
    if (!v)
        return 0;
    if (!cJSON_IsString(v)) {
        hs_reply_fail(req, HS_EINVAL, "wrong_type", "The field '%s' must be a string", field);
        return -1;
    }
    long n = hs_utf8_len(v->valuestring);
    if (n < 0) {
        hs_reply_fail(req, HS_EINVAL, "invalid_value", "The field '%s' is not valid UTF-8", field);
        return -1;
    }
    if ((size_t)n < min || (size_t)n > max) {
        hs_reply_fail(req, HS_EINVAL, "invalid_value",
                      "The field '%s' must have %zu to %zu characters", field, min, max);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

int hs_json_text_or_reply(hs_req_t *req, const cJSON *obj, const char *field, int required,
                          size_t min, size_t max, unsigned flags, const char **out)
{
    static const char *const why[] = {
        [-HS_TEXT_BAD_UTF8] = "is not valid UTF-8",
        [-HS_TEXT_CONTROL] = "holds control characters",
        [-HS_TEXT_BIDI] = "holds bidi controls (U+202A-202E, U+2066-2069)",
        [-HS_TEXT_INVISIBLE] = "holds invisible characters (U+200B-200F, U+2060, U+FEFF)",
    };
    if (hs_json_string_or_reply(req, obj, field, required, min, max, out))
        return -1;
    if (!*out)
        return 0;
    int rc = hs_text_check(*out, flags);
    if (!rc)
        return 0;
    *out = NULL;
    hs_reply_fail(req, HS_EINVAL, "invalid_value", "The field '%s' %s", field, why[-rc]);
    return -1;
}

int hs_json_int_or_reply(hs_req_t *req, const cJSON *obj, const char *field, int required,
                         int64_t min, int64_t max, int64_t def, int64_t *out)
{
    const cJSON *v;
    *out = def;
    if (lookup(req, obj, field, required, &v))
        return -1;
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v)) {
        hs_reply_fail(req, HS_EINVAL, "wrong_type", "The field '%s' must be an integer", field);
        return -1;
    }
    /* Range first: casting an out-of-range double to int64 is undefined;
     * (double)INT64_MAX rounds up to 2^63, itself out of range. */
    double d = v->valuedouble;
    if (!(d >= (double)min && d <= (double)max && d < 9223372036854775808.0) ||
        d != (double)(int64_t)d) {
        hs_reply_fail(req, HS_EINVAL, "invalid_value",
                      "The field '%s' must be an integer from %lld to %lld", field, (long long)min,
                      (long long)max);
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

int hs_json_object_or_reply(hs_req_t *req, const cJSON *obj, const char *field, int required,
                            const cJSON **out)
{
    const cJSON *v;
    *out = NULL;
    if (lookup(req, obj, field, required, &v))
        return -1;
    if (v && !cJSON_IsObject(v)) {
        hs_reply_fail(req, HS_EINVAL, "wrong_type", "The field '%s' must be an object", field);
        return -1;
    }
    *out = v;
    return 0;
}

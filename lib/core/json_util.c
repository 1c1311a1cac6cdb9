/* JSON helpers with no request attached: the raw-text scan that runs before
 * parsing and the output helpers of the domain's JSON views. */
#include "hs/json_util.h"

#include <string.h>

#include "hs/util.h"

int hs_json_scan(const char *buf, size_t len)
{
    /* cJSON copies a raw NUL into a string, which C then ends there: the
     * value validated ("nul") would not be the value sent ("nul\0admin").
     * An escaped \u0000 decodes to the same cut. Both are refused here,
     * with the other raw control characters JSON forbids inside strings. */
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == 0)
            return HS_JSON_NUL;
        if (!in_string) {
            in_string = c == '"';
            continue;
        }
        if (c < 0x20)
            return HS_JSON_CONTROL;
        if (c == '"') {
            in_string = 0;
        } else if (c == '\\' && i + 1 < len) {
            if (buf[i + 1] == 'u' && i + 5 < len && memcmp(buf + i + 2, "0000", 4) == 0)
                return HS_JSON_NUL;
            i++; /* the escaped character (a quote, a backslash...) */
        }
    }
    return 0;
}

void hs_json_add_time(cJSON *obj, const char *key, int64_t ms)
{
    if (!ms) {
        cJSON_AddNullToObject(obj, key);
        return;
    }
    char iso[25];
    hs_time_iso(ms, iso);
    cJSON_AddStringToObject(obj, key, iso);
}

void hs_json_add_string_or_null(cJSON *obj, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(obj, key, s);
    else
        cJSON_AddNullToObject(obj, key);
}

int hs_json_parse_object(const char *buf, size_t len, cJSON **out, hs_err_t *err)
{
    *out = NULL;
    int bad = hs_json_scan(buf, len);
    if (bad == HS_JSON_NUL)
        return hs_err_set(err, HS_EINVAL, "invalid_value",
                          "NUL characters are not allowed in strings");
    if (bad == HS_JSON_CONTROL)
        return hs_err_set(err, HS_EINVAL, "invalid_json",
                          "Control characters must be escaped inside JSON strings");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    /* Only whitespace may follow the value. */
    while (root && end && (size_t)(end - buf) < len && strchr(" \t\r\n", *end))
        end++;
    if (!root || (size_t)(end - buf) != len) {
        cJSON_Delete(root);
        return hs_err_set(err, HS_EINVAL, "invalid_json", "The request body is not valid JSON");
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return hs_err_set(err, HS_EINVAL, "not_an_object",
                          "The request body must be a JSON object");
    }
    *out = root;
    return 0;
}

/* The field's value in *v, NULL when absent or null; 400 missing_field
 * when a required field is absent. */
static int lookup(const cJSON *obj, const char *name, int required, const cJSON **v, hs_err_t *err)
{
    *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (*v && cJSON_IsNull(*v))
        *v = NULL;
    if (*v || !required)
        return 0;
    return hs_err_set(err, HS_EINVAL, "missing_field", "The field '%s' is required", name);
}

int hs_json_get_string(const cJSON *obj, const char *field, int required, size_t min, size_t max,
                       const char **out, hs_err_t *err)
{
    const cJSON *v;
    *out = NULL;
    int rc = lookup(obj, field, required, &v, err);
    if (rc || !v)
        return rc;
    if (!cJSON_IsString(v))
        return hs_err_set(err, HS_EINVAL, "wrong_type", "The field '%s' must be a string", field);
    long n = hs_utf8_len(v->valuestring);
    if (n < 0)
        return hs_err_set(err, HS_EINVAL, "invalid_value", "The field '%s' is not valid UTF-8",
                          field);
    if ((size_t)n < min || (size_t)n > max)
        return hs_err_set(err, HS_EINVAL, "invalid_value",
                          "The field '%s' must have %zu to %zu characters", field, min, max);
    *out = v->valuestring;
    return 0;
}

int hs_json_get_text(const cJSON *obj, const char *field, int required, size_t min, size_t max,
                     unsigned flags, const char **out, hs_err_t *err)
{
    static const char *const why[] = {
        [-HS_TEXT_BAD_UTF8] = "is not valid UTF-8",
        [-HS_TEXT_CONTROL] = "holds control characters",
        [-HS_TEXT_BIDI] = "holds bidi controls (U+202A-202E, U+2066-2069)",
        [-HS_TEXT_INVISIBLE] = "holds invisible characters (U+200B-200F, U+2060, U+FEFF)",
    };
    int rc = hs_json_get_string(obj, field, required, min, max, out, err);
    if (rc || !*out)
        return rc;
    rc = hs_text_check(*out, flags);
    if (!rc)
        return 0;
    *out = NULL;
    return hs_err_set(err, HS_EINVAL, "invalid_value", "The field '%s' %s", field, why[-rc]);
}

int hs_json_get_int(const cJSON *obj, const char *field, int required, int64_t min, int64_t max,
                    int64_t def, int64_t *out, hs_err_t *err)
{
    const cJSON *v;
    *out = def;
    int rc = lookup(obj, field, required, &v, err);
    if (rc || !v)
        return rc;
    if (!cJSON_IsNumber(v))
        return hs_err_set(err, HS_EINVAL, "wrong_type", "The field '%s' must be an integer", field);
    /* Range first: casting an out-of-range double to int64 is undefined;
     * (double)INT64_MAX rounds up to 2^63, itself out of range. */
    double d = v->valuedouble;
    if (!(d >= (double)min && d <= (double)max && d < 9223372036854775808.0) ||
        d != (double)(int64_t)d)
        return hs_err_set(err, HS_EINVAL, "invalid_value",
                          "The field '%s' must be an integer from %lld to %lld", field,
                          (long long)min, (long long)max);
    *out = (int64_t)d;
    return 0;
}

int hs_json_get_object(const cJSON *obj, const char *field, int required, const cJSON **out,
                       hs_err_t *err)
{
    const cJSON *v;
    *out = NULL;
    int rc = lookup(obj, field, required, &v, err);
    if (rc)
        return rc;
    if (v && !cJSON_IsObject(v))
        return hs_err_set(err, HS_EINVAL, "wrong_type", "The field '%s' must be an object", field);
    *out = v;
    return 0;
}

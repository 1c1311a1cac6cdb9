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

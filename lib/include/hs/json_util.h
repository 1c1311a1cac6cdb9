/* JSON helpers with no request attached (core): the raw-text scan that runs
 * before parsing, and the output helpers of the domain's JSON views. */
#ifndef HS_JSON_UTIL_H
#define HS_JSON_UTIL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* Scans a raw JSON text before parsing: HS_JSON_NUL for a NUL byte
 * anywhere or a \u0000 escape in a string (C strings would end there, so
 * what is checked would not be what was sent), HS_JSON_CONTROL for another
 * unescaped control character inside a string; 0 otherwise. */
enum { HS_JSON_NUL = 1, HS_JSON_CONTROL = 2 };
int hs_json_scan(const char *buf, size_t len);

/* Adds key: ISO-8601 time of ms (null for 0). */
void hs_json_add_time(cJSON *obj, const char *key, int64_t ms);
/* Adds key: s, or null when s is NULL. */
void hs_json_add_string_or_null(cJSON *obj, const char *key, const char *s);

#endif

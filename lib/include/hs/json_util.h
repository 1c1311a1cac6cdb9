/* JSON with no request attached (core): parsing an object, the typed field
 * checks, and the output helpers of the domain's JSON views. */
#ifndef HS_JSON_UTIL_H
#define HS_JSON_UTIL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "hs/err.h"

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

/* The checks below fill err (400 with a code naming the problem) and return
 * HS_EINVAL, or 0; the HTTP layer's *_or_reply (hs/json.h) reply with it,
 * and the bridge calls them on its client events. */

/* Parses buf as one JSON object, refusing what hs_json_scan refuses:
 * invalid_value (NUL), invalid_json, not_an_object. The caller owns *out. */
int hs_json_parse_object(const char *buf, size_t len, cJSON **out, hs_err_t *err);

/* A string field of valid UTF-8 with min..max characters. Absent (or null)
 * and !required: *out = NULL. missing_field, wrong_type or invalid_value
 * naming the field. *out points into obj. */
int hs_json_get_string(const cJSON *obj, const char *field, int required, size_t min, size_t max,
                       const char **out, hs_err_t *err);

/* Like hs_json_get_string for display text shown to other people (names):
 * also refuses what hs_text_check(flags) refuses, as invalid_value. */
int hs_json_get_text(const cJSON *obj, const char *field, int required, size_t min, size_t max,
                     unsigned flags, const char **out, hs_err_t *err);

/* An integer field in min..max (JSON numbers are doubles: exact to 2^53).
 * Absent (or null) and !required: *out = def. */
int hs_json_get_int(const cJSON *obj, const char *field, int required, int64_t min, int64_t max,
                    int64_t def, int64_t *out, hs_err_t *err);

/* An object field; absent and !required: *out = NULL. */
int hs_json_get_object(const cJSON *obj, const char *field, int required, const cJSON **out,
                       hs_err_t *err);

#endif

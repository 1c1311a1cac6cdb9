/* JSON in and out (cJSON): body parsing and typed field validation that
 * reply with a clear error in one step, and output helpers. Each *_or_reply
 * returns 0 when the value is good, non-zero after it has replied. */
#ifndef HS_JSON_H
#define HS_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "hs/http.h"

/* Scans a raw JSON text before parsing: HS_JSON_NUL for a NUL byte
 * anywhere or a \u0000 escape in a string (C strings would end there, so
 * what is checked would not be what was sent), HS_JSON_CONTROL for another
 * unescaped control character inside a string; 0 otherwise. */
enum { HS_JSON_NUL = 1, HS_JSON_CONTROL = 2 };
int hs_json_scan(const char *buf, size_t len);

/* Parses the body as a JSON object (limit: config max_json_body); the
 * object is owned by req. Replies 413, 400 invalid_json or 400 not_an_object. */
int hs_json_body_or_reply(hs_req_t *req, cJSON **out);

/* A string field of valid UTF-8 with min..max characters. Absent (or null)
 * and !required: *out = NULL. Replies 400 missing_field, wrong_type or
 * invalid_value naming the field. */
int hs_json_string_or_reply(hs_req_t *req, const cJSON *obj, const char *field, int required,
                            size_t min, size_t max, const char **out);

/* Like hs_json_string_or_reply for display text shown to other people
 * (names): also refuses what hs_text_check(flags) refuses (controls, bidi
 * controls, invisible characters) with 400 invalid_value. */
int hs_json_text_or_reply(hs_req_t *req, const cJSON *obj, const char *field, int required,
                          size_t min, size_t max, unsigned flags, const char **out);

/* An integer field in min..max (JSON numbers are doubles: exact to 2^53).
 * Absent (or null) and !required: *out = def. */
int hs_json_int_or_reply(hs_req_t *req, const cJSON *obj, const char *field, int required,
                         int64_t min, int64_t max, int64_t def, int64_t *out);

/* An object field; absent and !required: *out = NULL. */
int hs_json_object_or_reply(hs_req_t *req, const cJSON *obj, const char *field, int required,
                            const cJSON **out);

/* ?limit= in 1..max, default def. */
int hs_req_limit_or_reply(hs_req_t *req, int def, int max, int *limit);

/* ?limit= (1..100, default 20) and ?cursor= (an id, or absent) of a page. */
int hs_req_page_or_reply(hs_req_t *req, int *limit, const char **cursor);

/* Number of Unicode characters in s, or -1 when s is not valid UTF-8. */
long hs_utf8_len(const char *s);

/* Adds key: ISO-8601 time of ms (null for 0). */
void hs_json_add_time(cJSON *obj, const char *key, int64_t ms);
/* Adds key: s, or null when s is NULL. */
void hs_json_add_string_or_null(cJSON *obj, const char *key, const char *s);

#endif

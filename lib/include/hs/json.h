/* JSON request bodies (cJSON): body parsing and typed field validation that
 * reply with a clear error in one step (the HTTP layer; the checks on plain
 * values sit below, in hs/util.h and hs/json_util.h). Each *_or_reply
 * returns 0 when the value is good, non-zero after it has replied. */
#ifndef HS_JSON_H
#define HS_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "hs/http.h"
#include "hs/json_util.h"

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

#endif

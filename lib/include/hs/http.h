/* HTTP over FastCGI: the request, replies, the route table and its dispatch.
 * Handlers get an hs_req_t and must reply exactly once. */
#ifndef HS_HTTP_H
#define HS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "hs/app.h"
#include "hs/arena.h"
#include "hs/err.h"
#include "hs/token.h"

struct FCGX_Request;
struct cJSON;

#define HS_MAX_PARAMS 4
#define HS_MAX_QUERY  16

typedef struct hs_req hs_req_t;
typedef void (*hs_handler_fn)(hs_req_t *req);

enum {
    HS_ROUTE_AUTH = 1 << 0, /* needs a valid access token; req->auth is filled */
};

/* One entry of an app's route table; {param} segments match one path
 * segment and are read with hs_req_param(). */
typedef struct hs_route {
    const char *method;
    const char *pattern;
    hs_handler_fn fn;
    unsigned flags;
} hs_route_t;

struct hs_req {
    hs_ctx_t *ctx;
    struct FCGX_Request *fcgx;
    hs_arena_t *arena; /* freed when the request ends */
    const char *method;
    const char *path; /* without the query string, not decoded */
    const char *query;
    const char *request_id;
    const char *client_ip;
    const char *user_agent;
    const char *param_names[HS_MAX_PARAMS];
    const char *param_values[HS_MAX_PARAMS]; /* percent-decoded */
    int nparams;
    const char *qnames[HS_MAX_QUERY];
    const char *qvalues[HS_MAX_QUERY];
    int nquery;
    hs_claims_t auth;   /* for HS_ROUTE_AUTH routes */
    int64_t body_read;  /* bytes of the body read so far */
    int body_timed_out; /* a body read waited body_timeout and gave up */
    struct cJSON *json; /* the parsed body, owned by the request */
    /* response */
    char *headers; /* extra header lines, each ending in \r\n */
    size_t hlen, hcap;
    int header_refused; /* hs_reply_header refused one: the reply is a 500 */
    int status;
    size_t bytes;
    int replied;
    int64_t start_us;
};

/* A request header by its CGI name ("HTTP_AUTHORIZATION"), or NULL. */
const char *hs_req_header(hs_req_t *req, const char *cgi_name);
/* A {param} of the matched route, or NULL. */
const char *hs_req_param(hs_req_t *req, const char *name);
/* A decoded query-string value, or NULL when absent. */
const char *hs_req_query(hs_req_t *req, const char *name);
/* Reads the whole body (at most max bytes, else HS_ETOOBIG) into the arena. */
int hs_req_body(hs_req_t *req, size_t max, char **buf, size_t *len, hs_err_t *err);

/* The declared Content-Length, or -1 when absent or malformed. */
long long hs_req_content_length(hs_req_t *req);
/* Reads up to n bytes of the body: the count read, 0 at its end, or 0 when
 * the client sent nothing for body_timeout seconds (then body_timed_out). */
size_t hs_req_read(hs_req_t *req, void *buf, size_t n);

/* Adds a response header; call before replying. This is the one way a
 * header is written: a name that is not a token, or a value with CR, LF,
 * NUL or another control character (but HTAB), is refused (HS_EINTERNAL,
 * logged) and the reply then goes out as a bare 500, never a split header. */
int hs_reply_header(hs_req_t *req, const char *name, const char *value);
/* 1 when name is an RFC 9110 token of 1..64 characters. */
int hs_header_name_ok(const char *name);
/* 1 when value has no CR, LF, NUL or other control but HTAB (<= 8 KiB). */
int hs_header_value_ok(const char *value);
/* Replies with body serialized; takes ownership of body (may be NULL: {}). */
void hs_reply_json(hs_req_t *req, int status, struct cJSON *body);
/* Replies with no body (204, or a status with only headers). */
void hs_reply_empty(hs_req_t *req, int status);
/* After hs_reply_empty, writes n bytes of the body (whose Content-Length
 * the caller set): 0, or -1 when the web server or client is gone. */
int hs_reply_write(hs_req_t *req, const void *buf, size_t n);
/* Replies with the error shape {"error":{status,code,message,hint}}. */
void hs_reply_error(hs_req_t *req, const hs_err_t *e);
/* Fills an error and replies with it in one step. */
void hs_reply_fail(hs_req_t *req, int rc, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Authenticates req from "Authorization: Bearer" into req->auth (the
 * token itself is checked by hs_auth_verify). */
int hs_auth_request(hs_req_t *req, hs_err_t *err);

/* Matches the request against routes: runs the handler, or answers 404,
 * 405 with Allow, a CORS preflight, or 401 for an unauthenticated request. */
void hs_http_dispatch(hs_req_t *req, const hs_route_t *routes, size_t n);

/* Matches path against pattern, filling params; 1 on a match. Exposed for
 * unit tests. */
int hs_route_match(const char *pattern, const char *path, hs_req_t *params);

/* Decodes %XX and '+' (when plus is set) of s[0..n) into the arena; NULL
 * when a %XX is malformed or decodes to NUL. */
char *hs_url_decode(hs_arena_t *a, const char *s, size_t n, int plus);

/* Parses query into req->qnames/qvalues (called by the app loop; exposed
 * for unit tests). */
int hs_req_parse_query(hs_req_t *req, const char *query);

/* ?limit= in 1..max, default def. */
int hs_req_limit_or_reply(hs_req_t *req, int def, int max, int *limit);

/* ?limit= (1..100, default 20) and ?cursor= (an id, or absent) of a page. */
int hs_req_page_or_reply(hs_req_t *req, int *limit, const char **cursor);

/* ms as an RFC 7231 date into out[32]. */
void hs_http_date(int64_t ms, char out[32]);

#endif

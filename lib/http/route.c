/* Route matching and dispatch: routes are data, the dispatcher answers 404,
 * 405 (with Allow), CORS preflights and authentication before a handler runs. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hs/auth.h"
#include "hs/http.h"

int hs_route_match(const char *pattern, const char *path, hs_req_t *req)
{
    const char *p = pattern, *s = path;
    int np = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *end = strchr(s, '/');
            size_t vlen = end ? (size_t)(end - s) : strlen(s);
            if (!close || vlen == 0 || np == HS_MAX_PARAMS)
                return 0;
            char *v = hs_url_decode(req->arena, s, vlen, 0);
            if (!v)
                return 0;
            req->param_names[np] = hs_arena_strndup(req->arena, p + 1, (size_t)(close - p - 1));
            req->param_values[np] = v;
            np++;
            p = close + 1;
            s += vlen;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    if (*p || *s)
        return 0;
    req->nparams = np;
    return 1;
}

/* Adds the CORS response headers when the Origin is allowed; 1 if it is.
 * An origin is visible ASCII (RFC 6454 serializes hosts as punycode):
 * anything else is no origin and never matches, so "*" cannot echo a
 * control byte into Access-Control-Allow-Origin (a 500 from the header
 * writer); a preflight from it is refused like any other origin. */
static int cors(hs_req_t *req, const char *origin)
{
    const char *list = req->ctx->cfg.cors_origins;
    size_t olen = strlen(origin);
    for (const unsigned char *p = (const unsigned char *)origin; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return 0;
    while (list && *list) {
        const char *comma = strchr(list, ',');
        size_t n = comma ? (size_t)(comma - list) : strlen(list);
        while (n && *list == ' ') {
            list++;
            n--;
        }
        while (n && list[n - 1] == ' ')
            n--;
        if ((n == olen && memcmp(list, origin, n) == 0) || (n == 1 && *list == '*')) {
            hs_reply_header(req, "Access-Control-Allow-Origin", origin);
            hs_reply_header(req, "Vary", "Origin");
            hs_reply_header(req, "Access-Control-Expose-Headers",
                            "X-Request-Id, Retry-After, Location, Upload-Offset, Upload-Length, "
                            "Upload-Expires, Upload-Metadata, Upload-Concat, Tus-Resumable, "
                            "Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm");
            return 1;
        }
        list = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* Answers the CORS and Allow part of an OPTIONS request; 0 when the
 * caller should go on (reply 204 or run an app's own OPTIONS handler). */
static int preflight(hs_req_t *req, const char *allow, const char *origin, int cors_ok)
{
    hs_reply_header(req, "Allow", allow);
    if (origin && !cors_ok) {
        hs_reply_fail(req, HS_EFORBIDDEN, "cors_origin_denied",
                      "Cross-origin requests from %.100s are not allowed", origin);
        return -1;
    }
    if (origin) {
        hs_reply_header(req, "Access-Control-Allow-Methods", allow);
        hs_reply_header(req, "Access-Control-Allow-Headers",
                        "Authorization, Content-Type, X-Request-Id, X-Chunk-Sha256, "
                        "X-Share-Password, Tus-Resumable, Upload-Length, Upload-Offset, "
                        "Upload-Metadata, Upload-Concat, Upload-Checksum, Upload-Defer-Length");
        hs_reply_header(req, "Access-Control-Max-Age", "600");
    }
    return 0;
}

int hs_auth_request(hs_req_t *req, hs_err_t *err)
{
    const char *h = hs_req_header(req, "HTTP_AUTHORIZATION");
    if (!h || !*h) {
        hs_err_set(err, HS_EAUTH, "missing_token", "This endpoint needs an access token");
        hs_err_hint(err, "send Authorization: Bearer <access_token>");
        return HS_EAUTH;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return hs_err_set(err, HS_EAUTH, "invalid_token", "Use the Bearer authorization scheme");
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    return hs_auth_verify(req->ctx, tok, &req->auth, err);
}

void hs_http_dispatch(hs_req_t *req, const hs_route_t *routes, size_t n)
{
    char allow[128] = "";
    const hs_route_t *hit = NULL;
    int options = strcmp(req->method, "OPTIONS") == 0;
    /* OPTIONS needs every method of the path for Allow; others stop early. */
    for (size_t i = 0; i < n && (options || !hit); i++) {
        if (!hs_route_match(routes[i].pattern, req->path, req))
            continue;
        if (!hit && strcmp(routes[i].method, req->method) == 0)
            hit = &routes[i];
        if (!strstr(allow, routes[i].method)) {
            size_t len = strlen(allow);
            snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "", routes[i].method);
        }
    }
    const char *origin = hs_req_header(req, "HTTP_ORIGIN");
    int cors_ok = origin && cors(req, origin);

    if (options && allow[0]) {
        if (!hit) {
            size_t len = strlen(allow);
            snprintf(allow + len, sizeof allow - len, ", OPTIONS");
        }
        if (preflight(req, allow, origin, cors_ok))
            return;
        if (!hit) {
            hs_reply_empty(req, 204);
            return;
        }
    }
    if (!hit && allow[0]) {
        hs_reply_header(req, "Allow", allow);
        hs_reply_fail(req, HS_EMETHOD, NULL, "%s is not allowed here; allowed: %s", req->method,
                      allow);
        return;
    }
    if (!hit) {
        hs_reply_fail(req, HS_ENOTFOUND, "route_not_found", "No such endpoint");
        return;
    }
    /* Matching later patterns (for Allow) overwrote the params. */
    if (options)
        hs_route_match(hit->pattern, req->path, req);
    if (hit->flags & HS_ROUTE_AUTH) {
        hs_err_t err;
        if (hs_auth_request(req, &err)) {
            hs_reply_error(req, &err);
            return;
        }
    }
    hit->fn(req);
}

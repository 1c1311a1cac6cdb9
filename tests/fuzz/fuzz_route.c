/* Route matching, path decoding and dispatch (lib/http/route.c, hs_url_decode)
 * on a fake request, with patterns of the real route tables. Input: a
 * method byte, a path up to '\n', an Origin up to '\n', then parameter
 * values separated by '\n'. Checks: dispatch gives one well-formed reply
 * (200 from the handler of the matching method, 204/403 for preflights,
 * 401 for a protected route without a token, 404, or 405 with Allow); a
 * path built from a pattern and any (escaped) values matches that pattern
 * and gives the values back decoded. */
#include "hs/http.h"

#include "fuzz.h"

static void handler(hs_req_t *req)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < req->nparams; i++)
        cJSON_AddStringToObject(o, req->param_names[i], req->param_values[i]);
    hs_reply_json(req, 200, o);
}

static const hs_route_t routes[] = {
    {"GET", "/api/v1/files/list", handler, 0},
    {"GET", "/api/v1/files/{file_id}", handler, 0},
    {"HEAD", "/api/v1/files/{file_id}", handler, 0},
    {"DELETE", "/api/v1/files/{file_id}/links/{link_id}", handler, 0},
    {"PUT", "/api/v1/files/upload/{upload_id}/chunks/{n}", handler, 0},
    {"POST", "/api/v1/files/tus", handler, 0},
    {"OPTIONS", "/api/v1/files/tus/{upload_id}", handler, 0},
    {"PATCH", "/api/v1/files/tus/{upload_id}", handler, 0},
    {"DELETE", "/api/v1/chats/{id}/members/{user_id}", handler, HS_ROUTE_AUTH},
    {"PUT", "/api/v1/chats/{id}/members/{user_id}", handler, 0},
    {"GET", "/api/v1/messages/search", handler, HS_ROUTE_AUTH},
    {"GET", "/api/v1/messages/{chat_id}", handler, 0},
    {"GET", "/s/{token}", handler, 0},
    {"GET", "/health", handler, 0},
};
#define NROUTES (sizeof routes / sizeof routes[0])
static const char *const methods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                      "PATCH", "DELETE", "OPTIONS", "TRACE"};

static void dispatch(const char *method, const char *path, const char *origin)
{
    char env_origin[600];
    snprintf(env_origin, sizeof env_origin, "HTTP_ORIGIN=%s", origin);
    const char *env[] = {*origin ? env_origin : NULL, NULL};
    static fuzz_req_t f;
    fuzz_req_init(&f, "", 0, env);
    f.req.method = method;
    f.req.path = path;
    hs_http_dispatch(&f.req, routes, NROUTES);
    int status = fuzz_check_reply(&f);
    size_t len;
    const char *out = fuzz_req_output(&f, &len);
    FUZZ_CHECK(status == 200 || status == 204 || status == 401 || status == 403 || status == 404 ||
                   status == 405,
               "status %d", status);
    if (status == 405)
        FUZZ_CHECK(strstr(out, "\r\nAllow: "), "405 without Allow");
    if (status == 200) {
        /* The handler of a route of this method whose pattern matches. */
        int found = 0;
        for (size_t i = 0; i < NROUTES && !found; i++) {
            hs_arena_t a = {0};
            hs_req_t r = {.arena = &a};
            found = strcmp(routes[i].method, method) == 0 &&
                    hs_route_match(routes[i].pattern, path, &r);
            hs_arena_free(&a);
        }
        FUZZ_CHECK(found, "200 without a matching route");
    }
    fuzz_req_free(&f);
}

/* Builds a path from routes[k] with the given raw values escaped, and
 * checks that it matches with those values. */
static void build_and_match(size_t k, char **vals, int nvals)
{
    const char *p = routes[k].pattern;
    size_t cap = strlen(p) + 1;
    for (int i = 0; i < nvals; i++)
        cap += 3 * strlen(vals[i]) + 3;
    char *path = malloc(cap), *o = path;
    int np = 0;
    const char *used[HS_MAX_PARAMS];
    while (*p) {
        if (*p != '{') {
            *o++ = *p++;
            continue;
        }
        const char *v = np < nvals && *vals[np] ? vals[np] : "x";
        used[np++] = v;
        for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
            if (*s == '/' || *s == '%' || *s == '?' || *s == '#' || *s < 0x21 || *s > 0x7e)
                o += sprintf(o, "%%%02X", *s);
            else
                *o++ = (char)*s;
        }
        p = strchr(p, '}') + 1;
    }
    *o = '\0';
    hs_arena_t a = {0};
    hs_req_t r = {.arena = &a};
    FUZZ_CHECK(hs_route_match(routes[k].pattern, path, &r), "%s does not match %s", path,
               routes[k].pattern);
    FUZZ_CHECK(r.nparams == np, "%d params of %d", r.nparams, np);
    for (int i = 0; i < np; i++)
        FUZZ_CHECK(strcmp(r.param_values[i], used[i]) == 0, "param %d", i);
    hs_arena_free(&a);
    free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    uint8_t sel = fuzz_byte(&in);
    char *path = fuzz_str(&in, '\n', 1, NULL);
    char *origin = fuzz_str(&in, '\n', 1, NULL);
    /* A front server never passes CR or LF inside a header value. */
    for (char *c = origin; *c; c++)
        if (*c == '\r' || *c == '\n')
            *c = ' ';
    if (strlen(origin) > 500)
        origin[500] = '\0';
    dispatch(methods[sel % 8], path, origin);
    char *vals[HS_MAX_PARAMS];
    int nvals = 0;
    while (nvals < HS_MAX_PARAMS && in.n)
        vals[nvals++] = fuzz_str(&in, '\n', 1, NULL);
    build_and_match((size_t)(sel >> 3) % NROUTES, vals, nvals);
    for (int i = 0; i < nvals; i++)
        free(vals[i]);
    free(path);
    free(origin);
    return 0;
}

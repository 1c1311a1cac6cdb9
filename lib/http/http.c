/* Requests and replies on top of libfcgi. */
#include "hs/http.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include <sys/uio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hs/log.h"
#include "hs/util.h"

static const char *reason(int status)
{
    static const struct {
        int status;
        const char *text;
    } reasons[] = {
        {200, "OK"},
        {201, "Created"},
        {204, "No Content"},
        {206, "Partial Content"},
        {307, "Temporary Redirect"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {409, "Conflict"},
        {410, "Gone"},
        {412, "Precondition Failed"},
        {413, "Payload Too Large"},
        {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"},
        {429, "Too Many Requests"},
        {460, "Checksum Mismatch"},
        {503, "Service Unavailable"},
        {507, "Insufficient Storage"},
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].status == status)
            return reasons[i].text;
    return status >= 500 ? "Internal Server Error" : "Status";
}

const char *hs_req_header(hs_req_t *req, const char *cgi_name)
{
    return FCGX_GetParam(cgi_name, req->fcgx->envp);
}

const char *hs_req_param(hs_req_t *req, const char *name)
{
    for (int i = 0; i < req->nparams; i++)
        if (strcmp(req->param_names[i], name) == 0)
            return req->param_values[i];
    return NULL;
}

const char *hs_req_query(hs_req_t *req, const char *name)
{
    for (int i = 0; i < req->nquery; i++)
        if (strcmp(req->qnames[i], name) == 0)
            return req->qvalues[i];
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *hs_url_decode(hs_arena_t *a, const char *s, size_t n, int plus)
{
    char *out = hs_arena_alloc(a, n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = i + 1 < n ? hexval(s[i + 1]) : -1;
            int lo = hi >= 0 && i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return NULL;
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

int hs_req_parse_query(hs_req_t *req, const char *q)
{
    req->nquery = 0;
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        if (len > 0) {
            if (req->nquery == HS_MAX_QUERY)
                return -1;
            size_t klen = eq ? (size_t)(eq - q) : len;
            char *k = hs_url_decode(req->arena, q, klen, 1);
            char *v = eq ? hs_url_decode(req->arena, eq + 1, len - klen - 1, 1)
                         : hs_arena_strdup(req->arena, "");
            if (!k || !v)
                return -1;
            req->qnames[req->nquery] = k;
            req->qvalues[req->nquery] = v;
            req->nquery++;
        }
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

long long hs_req_content_length(hs_req_t *req)
{
    const char *cl = hs_req_header(req, "CONTENT_LENGTH");
    if (!cl || !*cl)
        return -1;
    char *end;
    long long v = strtoll(cl, &end, 10);
    return *end || v < 0 ? -1 : v;
}

size_t hs_req_read(hs_req_t *req, void *buf, size_t n)
{
    int chunk = n > (1u << 30) ? 1 << 30 : (int)n;
    int got = FCGX_GetStr(buf, chunk, req->fcgx->in);
    /* The connection has SO_RCVTIMEO (hs_app): a stalled client ends the
     * read with EAGAIN instead of holding this process. */
    int e = FCGX_GetError(req->fcgx->in);
    if (got < chunk && (e == EAGAIN || e == EWOULDBLOCK) && !req->body_timed_out) {
        req->body_timed_out = 1;
        hs_log_error(req->ctx, "%s %s: no body bytes for %ld s after %lld; giving up", req->method,
                     req->path, req->ctx->cfg.body_timeout,
                     (long long)(req->body_read + (got > 0 ? got : 0)));
    }
    if (got <= 0)
        return 0;
    req->body_read += got;
    return (size_t)got;
}

int hs_req_body(hs_req_t *req, size_t max, char **buf, size_t *len, hs_err_t *err)
{
    const char *cl = hs_req_header(req, "CONTENT_LENGTH");
    long long declared = cl && *cl ? hs_req_content_length(req) : 0;
    *buf = NULL;
    *len = 0;
    if (declared < 0)
        return hs_err_set(err, HS_EINVAL, "bad_request", "Invalid Content-Length");
    if ((unsigned long long)declared > max) {
        hs_err_set(err, HS_ETOOBIG, "payload_too_large",
                   "The request body is larger than %zu bytes", max);
        return HS_ETOOBIG;
    }
    char *b = hs_arena_alloc(req->arena, (size_t)declared + 1);
    size_t got = 0;
    while (got < (size_t)declared) {
        size_t n = hs_req_read(req, b + got, (size_t)declared - got);
        if (n == 0)
            break;
        got += n;
    }
    if (got != (size_t)declared)
        return hs_err_set(err, HS_EINVAL, "incomplete_body", "The request body was cut off");
    b[got] = '\0';
    *buf = b;
    *len = got;
    return 0;
}

int hs_header_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    /* a token (RFC 9110): never a ':' or whitespace that would end it early */
    return n > 0 && n <= 64 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789!#$%&'*+-.^_`|~") == n;
}

int hs_header_value_ok(const char *value)
{
    /* CR and LF would start a header of the value's choosing (or end the
     * head); NUL would cut it. Other controls but HTAB have no business in
     * a header either. */
    if (!value)
        return 0;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return 0;
    return strlen(value) <= 8192;
}

int hs_reply_header(hs_req_t *req, const char *name, const char *value)
{
    if (!hs_header_name_ok(name) || !hs_header_value_ok(value)) {
        /* Never a split header: the reply becomes a 500 (send_head), and
         * the log says which header, not its value (it may hold anything). */
        req->header_refused = 1;
        if (req->ctx)
            hs_log_error(req->ctx, "rid=%s refused response header '%.64s': %s",
                         req->request_id ? req->request_id : "-",
                         hs_header_name_ok(name) ? name : "(bad name)",
                         hs_header_name_ok(name) ? "CR, LF, NUL or control in value"
                                                 : "not a token");
        return HS_EINTERNAL;
    }
    size_t need = strlen(name) + strlen(value) + 4;
    if (req->hlen + need + 1 > req->hcap) {
        size_t cap = req->hcap ? req->hcap * 2 : 512;
        while (cap < req->hlen + need + 1)
            cap *= 2;
        char *nb = hs_arena_alloc(req->arena, cap);
        if (req->hlen)
            memcpy(nb, req->headers, req->hlen);
        req->headers = nb;
        req->hcap = cap;
    }
    req->hlen += (size_t)snprintf(req->headers + req->hlen, req->hcap - req->hlen, "%s: %s\r\n",
                                  name, value);
    return 0;
}

static void send_head(hs_req_t *req, int status, const char *ctype, size_t clen)
{
    /* libfcgi's FCGX_FPrintF has its own printf without %zu: format here. */
    char head[512];
    const char *rid = hs_header_value_ok(req->request_id) ? req->request_id : "-";
    int n = snprintf(
        head, sizeof head, "Status: %d %s\r\nX-Request-Id: %s\r\n%s", status, reason(status), rid,
        req->headers && strstr(req->headers, "Cache-Control:") ? ""
                                                               : "Cache-Control: no-store\r\n");
    if (ctype)
        n += snprintf(head + n, sizeof head - (size_t)n,
                      "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, clen);
    FCGX_PutStr(head, n, req->fcgx->out);
    if (req->hlen)
        FCGX_PutStr(req->headers, (int)req->hlen, req->fcgx->out);
    FCGX_PutStr("\r\n", 2, req->fcgx->out);
    req->status = status;
    req->replied = 1;
}

/* A reply whose headers were refused goes out as a bare 500: none of the
 * headers added so far (an X-Sendfile among them) may reach the server. */
static int refused_reply(hs_req_t *req)
{
    static const char body[] = "{\"error\":{\"status\":500,\"code\":\"internal_error\","
                               "\"message\":\"The server could not form its reply\","
                               "\"hint\":\"\"}}";
    if (!req->header_refused)
        return 0;
    req->hlen = 0;
    send_head(req, 500, "application/json", sizeof body - 1);
    FCGX_PutStr(body, (int)sizeof body - 1, req->fcgx->out);
    req->bytes = sizeof body - 1;
    return 1;
}

void hs_reply_json(hs_req_t *req, int status, cJSON *body)
{
    if (req->replied || refused_reply(req)) {
        cJSON_Delete(body);
        return;
    }
    char *s = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    const char *out = s ? s : "{}";
    size_t n = strlen(out);
    send_head(req, status, "application/json", n);
    FCGX_PutStr(out, (int)n, req->fcgx->out);
    req->bytes = n;
    free(s);
}

void hs_reply_empty(hs_req_t *req, int status)
{
    if (!req->replied && !refused_reply(req))
        send_head(req, status, NULL, 0);
}

int hs_reply_write(hs_req_t *req, const void *buf, size_t n)
{
    /* libfcgi's stream cuts its output into 8 KiB records, one write(2)
     * each: for a file's bytes the records are written here instead, as
     * large as FastCGI allows (64 KiB - 8), header and bytes in one writev
     * (the socket is libfcgi's, as for SO_RCVTIMEO in hs_app). A client that
     * went away makes the web server close the socket and the write fail
     * (EPIPE: SIGPIPE is ignored, hs_app_main). */
    FCGX_Request *fr = req->fcgx;
    if (!req->replied)
        return -1;
    if (fr->ipcFd < 0) { /* CGI (hs/cgi.h): stdout is the stream itself */
        for (size_t done = 0; done < n;) {
            int len = n - done < (1u << 30) ? (int)(n - done) : 1 << 30;
            if (FCGX_PutStr((const char *)buf + done, len, fr->out) != len)
                return -1;
            done += (size_t)len;
            req->bytes += (size_t)len;
        }
        return 0;
    }
    if (FCGX_FFlush(fr->out) != 0)
        return -1;
    const char *p = buf;
    for (size_t left = n; left > 0;) {
        size_t len = left < 65528 ? left : 65528;
        unsigned char h[8] = {FCGI_VERSION_1,
                              FCGI_STDOUT,
                              (unsigned char)(fr->requestId >> 8),
                              (unsigned char)fr->requestId,
                              (unsigned char)(len >> 8),
                              (unsigned char)len,
                              0,
                              0};
        struct iovec iov[2] = {{h, sizeof h}, {(void *)p, len}};
        size_t done = 0, total = sizeof h + len;
        while (done < total) {
            ssize_t w = writev(fr->ipcFd, iov, 2);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -1;
            done += (size_t)w;
            /* a short write: go on from where it stopped */
            for (int i = 0; i < 2; i++) {
                size_t step = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
                iov[i].iov_base = (char *)iov[i].iov_base + step;
                iov[i].iov_len -= step;
                w -= (ssize_t)step;
            }
        }
        p += len;
        left -= len;
        req->bytes += len;
    }
    return 0;
}

void hs_reply_error(hs_req_t *req, const hs_err_t *e)
{
    /* A body that stopped arriving is the cause of whatever a handler made
     * of the short read (wrong size, bad multipart): say so. */
    hs_err_t timeout;
    if (req->body_timed_out && e->status >= 400 && e->status < 500) {
        hs_err_set(&timeout, HS_EINVAL, "body_timeout",
                   "The request body stopped arriving (nothing for %ld s); send it again",
                   req->ctx->cfg.body_timeout);
        e = &timeout;
    }
    cJSON *root = cJSON_CreateObject(), *o = cJSON_AddObjectToObject(root, "error");
    cJSON_AddNumberToObject(o, "status", e->status);
    cJSON_AddStringToObject(o, "code", hs_err_code_of(e));
    cJSON_AddStringToObject(o, "message", e->message);
    cJSON_AddStringToObject(o, "hint", e->hint);
    if (e->retry_after > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", e->retry_after);
        hs_reply_header(req, "Retry-After", v);
    }
    if (e->status == 401)
        hs_reply_header(req, "WWW-Authenticate", "Bearer realm=\"hypersend\"");
    hs_reply_json(req, e->status, root);
}

void hs_reply_fail(hs_req_t *req, int rc, const char *code, const char *fmt, ...)
{
    hs_err_t e;
    hs_err_set(&e, rc, code, NULL);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e.message, sizeof e.message, fmt, ap);
        va_end(ap);
    }
    hs_reply_error(req, &e);
}

int hs_req_limit_or_reply(hs_req_t *req, int def, int max, int *limit)
{
    const char *v = hs_req_query(req, "limit");
    *limit = def;
    if (!v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < 1 || n > max) {
        hs_reply_fail(req, HS_EINVAL, "invalid_value", "limit must be an integer from 1 to %d",
                      max);
        return -1;
    }
    *limit = (int)n;
    return 0;
}

int hs_req_page_or_reply(hs_req_t *req, int *limit, const char **cursor)
{
    *cursor = hs_req_query(req, "cursor");
    if (hs_req_limit_or_reply(req, 20, 100, limit))
        return -1;
    if (*cursor && !hs_id_valid(*cursor)) {
        hs_reply_fail(req, HS_EINVAL, "invalid_cursor", "The cursor is not valid");
        return -1;
    }
    return 0;
}

void hs_http_date(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

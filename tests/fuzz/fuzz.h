/* Shared by the libFuzzer harnesses (docs/fuzzing.md): a fake request made
 * of an arena, CGI parameters and in-memory FastCGI streams, so that
 * request-level code runs without a connection, and a way to fail on a
 * broken invariant (abort, which libFuzzer reports with the input). */
#ifndef HS_FUZZ_H
#define HS_FUZZ_H

#include <cjson/cJSON.h>
#include <fcgiapp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs/app.h"
#include "hs/http.h"

/* Fails the run with a message when cond does not hold. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "invariant failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A byte source over the fuzz input: takes bytes from the front. */
typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in_t;

static inline uint8_t fuzz_byte(fuzz_in_t *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* The next string, up to a separator byte sep (excluded) or the end, as a
 * NUL-terminated malloc'd copy; NUL bytes inside become '?' when nonul. */
static inline char *fuzz_str(fuzz_in_t *in, uint8_t sep, int nonul, size_t *len)
{
    const uint8_t *end = memchr(in->p, sep, in->n);
    size_t n = end ? (size_t)(end - in->p) : in->n;
    char *s = malloc(n + 1);
    memcpy(s, in->p, n);
    s[n] = '\0';
    for (size_t i = 0; nonul && i < n; i++)
        if (!s[i])
            s[i] = '?';
    in->p += end ? n + 1 : n;
    in->n -= end ? n + 1 : n;
    if (len)
        *len = n;
    return s;
}

/* The fake request: its CGI parameters, body and captured output. */
typedef struct fuzz_req {
    hs_req_t req;
    hs_ctx_t ctx;
    hs_arena_t arena;
    FCGX_Request fcgx;
    FCGX_Stream in, out;
    char *env[16];
    int nenv;
    unsigned char obuf[256];
    char *output; /* everything written to out */
    size_t olen;
} fuzz_req_t;

static inline void fuzz__fill(FCGX_Stream *s)
{
    s->isClosed = 1; /* the body given is all there is */
}

static inline void fuzz__empty(FCGX_Stream *s, int doClose)
{
    fuzz_req_t *f = s->data;
    size_t n = (size_t)(s->wrNext - f->obuf);
    f->output = realloc(f->output, f->olen + n + 1);
    memcpy(f->output + f->olen, f->obuf, n);
    f->olen += n;
    f->output[f->olen] = '\0';
    s->wrNext = f->obuf;
    (void)doClose;
}

/* Sets up f with the body body[0..len) (not copied: keep it alive) and the
 * CGI parameters "NAME=value" in env (copied), ending with NULL. */
static inline void fuzz_req_init(fuzz_req_t *f, const void *body, size_t len,
                                 const char *const *env)
{
    memset(f, 0, sizeof *f);
    f->ctx.cfg.max_json_body = 65536;
    f->ctx.cfg.cors_origins = "https://app.example, *";
    f->in = (FCGX_Stream){.rdNext = (unsigned char *)body,
                          .stop = (unsigned char *)body + len,
                          .stopUnget = (unsigned char *)body,
                          .isReader = 1,
                          .fillBuffProc = fuzz__fill};
    f->out = (FCGX_Stream){.wrNext = f->obuf,
                           .stop = f->obuf + sizeof f->obuf,
                           .emptyBuffProc = fuzz__empty,
                           .data = f};
    for (; env && *env && f->nenv < 15; env++)
        f->env[f->nenv++] = strdup(*env);
    f->env[f->nenv] = NULL;
    f->fcgx.in = &f->in;
    f->fcgx.out = &f->out;
    f->fcgx.envp = f->env;
    f->req.ctx = &f->ctx;
    f->req.fcgx = &f->fcgx;
    f->req.arena = &f->arena;
    f->req.method = "GET";
    f->req.path = "/";
    f->req.request_id = "fuzz";
}

/* Everything the request wrote, NUL-terminated (never NULL). */
static inline const char *fuzz_req_output(fuzz_req_t *f, size_t *len)
{
    fuzz__empty(&f->out, 0);
    *len = f->olen;
    return f->output;
}

static inline void fuzz_req_free(fuzz_req_t *f)
{
    for (int i = 0; i < f->nenv; i++)
        free(f->env[i]);
    if (f->req.json)
        cJSON_Delete(f->req.json);
    free(f->output);
    hs_arena_free(&f->arena);
}

/* Checks a reply written by the request: a CGI head whose header lines
 * carry no stray CR, LF or NUL, then a body that is JSON when it says so;
 * returns the status (0 when nothing was written). */
static inline int fuzz_check_reply(fuzz_req_t *f)
{
    size_t len;
    const char *out = fuzz_req_output(f, &len);
    if (!len)
        return 0;
    FUZZ_CHECK(strncmp(out, "Status: ", 8) == 0, "reply starts with %.20s", out);
    const char *end = strstr(out, "\r\n\r\n");
    FUZZ_CHECK(end != NULL, "reply head is not closed");
    FUZZ_CHECK(memchr(out, '\0', (size_t)(end - out)) == NULL, "NUL in the reply head");
    for (const char *p = out; p < end; p++) {
        if (*p == '\r')
            FUZZ_CHECK(p[1] == '\n', "bare CR in the reply head");
        if (*p == '\n')
            FUZZ_CHECK(p[-1] == '\r', "bare LF in the reply head");
        if (*p == '\n' && p + 1 < end)
            FUZZ_CHECK(strchr(p + 1, ':') && strchr(p + 1, ':') < strstr(p + 1, "\r\n"),
                       "header line without a colon");
    }
    int status = atoi(out + 8);
    FUZZ_CHECK(status >= 200 && status < 600, "status %d", status);
    const char *body = end + 4;
    size_t blen = len - (size_t)(body - out);
    const char *ct = strstr(out, "\r\nContent-Type: application/json\r\n");
    if (ct && ct < end) {
        cJSON *j = cJSON_ParseWithLength(body, blen);
        FUZZ_CHECK(j != NULL, "reply body is not JSON: %.200s", body);
        if (status >= 400) {
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
            const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
            FUZZ_CHECK(cJSON_IsString(code) && *code->valuestring, "error without a code");
        }
        cJSON_Delete(j);
    }
    return status;
}

#endif

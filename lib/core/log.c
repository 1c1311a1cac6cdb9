#include "hs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hs/util.h"

int hs_log_open(hs_ctx_t *ctx, hs_err_t *err)
{
    const char *path = ctx->cfg.access_log;
    if (!path || !*path || strcmp(path, "-") == 0) {
        ctx->log_fd = STDERR_FILENO;
        return 0;
    }
    ctx->log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (ctx->log_fd < 0)
        return hs_err_set(err, HS_EINVAL, "config_bad_value",
                          "config key 'access_log': cannot open %s: %s", path, strerror(errno));
    return 0;
}

void hs_log_close(hs_ctx_t *ctx)
{
    if (ctx->log_fd > STDERR_FILENO)
        close(ctx->log_fd);
    ctx->log_fd = -1;
}

/* Copies s into out replacing anything but printable ASCII, so a path can
 * never forge a second log line. */
static void clean(char *out, size_t n, const char *s)
{
    size_t i = 0;
    for (; s && *s && i + 1 < n; s++)
        out[i++] = (*s > ' ' && *s < 0x7f) ? *s : '?';
    out[i] = '\0';
}

void hs_log_access(hs_req_t *req)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - req->start_us;
    char when[25], path[512], method[16];
    hs_time_iso(hs_now_ms(), when);
    clean(path, sizeof path, req->path);
    clean(method, sizeof method, req->method);
    char line[1024];
    int n = snprintf(line, sizeof line,
                     "%s %s rid=%s ip=%s method=%s path=%s status=%d bytes=%zu ms=%.3f user=%s\n",
                     when, req->ctx->app_name, req->request_id,
                     req->client_ip ? req->client_ip : "-", method, path, req->status, req->bytes,
                     (double)us / 1000.0, req->auth.sub[0] ? req->auth.sub : "-");
    if (n > 0) {
        /* One write() per line: O_APPEND keeps lines from several
         * processes whole. */
        ssize_t w =
            write(req->ctx->log_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line);
        (void)w;
    }
}

void hs_log_error(const hs_ctx_t *ctx, const char *fmt, ...)
{
    char when[25], msg[768];
    hs_time_iso(hs_now_ms(), when);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s[%d] error: %s\n", when, ctx->app_name, (int)getpid(), msg);
}

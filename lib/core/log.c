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

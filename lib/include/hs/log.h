/* Logging: error lines on stderr (which the web server collects) and the
 * access log's file (its one line per request is written by lib/http/app.c).
 * Never logs tokens, passwords or query strings. */
#ifndef HS_LOG_H
#define HS_LOG_H

#include "hs/ctx.h"
#include "hs/err.h"

/* Opens cfg->access_log for appending (- : stderr); the fd goes in ctx
 * (the HTTP layer writes one line per request to it). */
int hs_log_open(hs_ctx_t *ctx, hs_err_t *err);
void hs_log_close(hs_ctx_t *ctx);

/* Writes an error line tagged with the app name to stderr. */
void hs_log_error(const hs_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

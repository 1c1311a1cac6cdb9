/* Logging: one access-log line per request and error lines on stderr (which
 * the web server collects). Never logs tokens, passwords or query strings. */
#ifndef HS_LOG_H
#define HS_LOG_H

#include "hs/app.h"
#include "hs/http.h"

/* Opens cfg->access_log for appending (- : stderr); the fd goes in ctx. */
int hs_log_open(hs_ctx_t *ctx, hs_err_t *err);
void hs_log_close(hs_ctx_t *ctx);

/* Writes the access-log line of a finished request. */
void hs_log_access(hs_req_t *req);

/* Writes an error line tagged with the app name to stderr. */
void hs_log_error(const hs_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

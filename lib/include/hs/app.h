/* The app: opening the process-wide context (hs/ctx.h) and the FastCGI
 * accept loop that dispatches an app's route table. */
#ifndef HS_APP_H
#define HS_APP_H

#include <stddef.h>

#include "hs/ctx.h"
#include "hs/err.h"
#include "hs/redis.h"
#include "hs/store.h"

struct hs_route;

/* A command an app runs instead of serving (`hs-files cleanup` for cron);
 * returns the process exit status. */
typedef struct hs_command {
    const char *name;
    const char *doc;
    int (*run)(hs_ctx_t *ctx);
} hs_command_t;

/* An app: a name, its route table and optional commands. */
typedef struct hs_app {
    const char *name;
    const struct hs_route *routes;
    size_t nroutes;
    const hs_command_t *commands;
    size_t ncommands;
} hs_app_t;

/* Loads config (config_path NULL: $HS_CONFIG, else /etc/hypersend/hypersend.conf
 * if present), the secret key, the store and the Redis client. Close with
 * hs_ctx_close(), also after a failure. */
int hs_ctx_open(hs_ctx_t *ctx, const char *app_name, const char *config_path, hs_err_t *err);
void hs_ctx_close(hs_ctx_t *ctx);

/* A worker thread's context: a copy of src sharing its read-only config,
 * key and log, with its own store and Redis handles (neither is shared
 * between threads). Close with hs_ctx_close_thread(), also after a failure. */
int hs_ctx_open_thread(hs_ctx_t *ctx, const hs_ctx_t *src, hs_err_t *err);
/* Closes what hs_ctx_open_thread() opened; src's config stays. */
void hs_ctx_close_thread(hs_ctx_t *ctx);

/* The whole life of an app process: parses argv (-c FILE, --routes,
 * --check, or a command name), opens the context and serves FastCGI
 * requests on fd 0 until SIGTERM (or runs the command). Returns the
 * process exit status. */
int hs_app_main(const hs_app_t *app, int argc, char **argv);

#endif

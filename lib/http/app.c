/* The life of an app process: context, FastCGI accept loop, shutdown. */
#include "hs/app.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>
#include <magic.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hs/cgi.h"
#include "hs/conns.h"
#include "hs/http.h"
#include "hs/log.h"
#include "hs/setup.h"
#include "hs/util.h"

/* Copies s into out replacing anything but printable ASCII, so a path can
 * never forge a second log line. */
static void clean(char *out, size_t n, const char *s)
{
    size_t i = 0;
    for (; s && *s && i + 1 < n; s++)
        out[i++] = (*s > ' ' && *s < 0x7f) ? *s : '?';
    out[i] = '\0';
}

/* Writes the access-log line of a finished request. */
static void log_access(hs_req_t *req)
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

static int read_key(hs_ctx_t *ctx, hs_err_t *err)
{
    const char *path = ctx->cfg.secret_key_file;
    FILE *f = fopen(path, "r");
    if (!f)
        return hs_err_set(err, HS_EINVAL, "config_bad_value",
                          "config key 'secret_key_file': cannot read %s: %s", path,
                          strerror(errno));
    size_t n = fread(ctx->key, 1, sizeof ctx->key, f);
    fclose(f);
    while (n && (ctx->key[n - 1] == '\n' || ctx->key[n - 1] == '\r' || ctx->key[n - 1] == ' '))
        n--;
    if (n < 32)
        return hs_err_set(err, HS_EINVAL, "config_bad_value",
                          "config key 'secret_key_file': %s holds %zu bytes; at least 32 are "
                          "needed (e.g. openssl rand -hex 32 > %s)",
                          path, n, path);
    ctx->keylen = n;
    return 0;
}

/* Opens the store and the Redis client the context's config names: each
 * process, and each bridge worker thread, has connections of its own. */
static int open_backends(hs_ctx_t *ctx, hs_err_t *err)
{
    int rc = hs_store_open(&ctx->store, &ctx->cfg, err);
    if (rc)
        return rc;
    ctx->redis =
        hs_redis_new(ctx->cfg.redis_host, (int)ctx->cfg.redis_port, (int)ctx->cfg.redis_timeout_ms);
    if (!ctx->redis)
        return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
    return 0;
}

/* Fills out with <folder of this program>/name when that file exists: a
 * relocatable install (make bundle: a web server starts the program from a
 * docroot, with no environment of ours) keeps its files beside it. */
static int beside_program(const char *name, char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return -1;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    int w = snprintf(out, n, "%s/%s", exe, name);
    return w > 0 && (size_t)w < n && access(out, F_OK) == 0 ? 0 : -1;
}

int hs_ctx_open(hs_ctx_t *ctx, const char *app_name, const char *config_path, hs_err_t *err)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->app_name = app_name;
    ctx->log_fd = -1;
    int must_exist = 1;
    char beside[PATH_MAX];
    if (!config_path)
        config_path = getenv("HS_CONFIG");
    if (!config_path && beside_program("hypersend.conf", beside, sizeof beside) == 0)
        config_path = beside;
    /* The bundle as unpacked, before (or without) any edit of the user's:
     * the template's settings, whose relative paths put the data folder
     * beside the document root. */
    if (!config_path && beside_program("hypersend.conf.example", beside, sizeof beside) == 0)
        config_path = beside;
    if (!config_path) {
        config_path = "/etc/hypersend/hypersend.conf";
        must_exist = 0;
    }
    int rc;
    if ((rc = hs_config_load(&ctx->cfg, config_path, must_exist, err)) ||
        (rc = hs_setup_prepare(&ctx->cfg, err)) || (rc = read_key(ctx, err)) ||
        (rc = hs_log_open(ctx, err)))
        return rc;
    ctx->argon2.memory_kib = (unsigned)ctx->cfg.argon2_memory_kib;
    ctx->argon2.iterations = (unsigned)ctx->cfg.argon2_iterations;
    ctx->argon2.parallelism = (unsigned)ctx->cfg.argon2_parallelism;
    return open_backends(ctx, err);
}

void hs_ctx_close(hs_ctx_t *ctx)
{
    if (ctx->magic)
        magic_close(ctx->magic);
    ctx->magic = NULL;
    hs_redis_free(ctx->redis);
    hs_store_close(ctx->store);
    hs_log_close(ctx);
    hs_config_free(&ctx->cfg);
    memset(ctx->key, 0, sizeof ctx->key);
    ctx->redis = NULL;
    ctx->store = NULL;
}

int hs_ctx_open_thread(hs_ctx_t *ctx, const hs_ctx_t *src, hs_err_t *err)
{
    *ctx = *src; /* config and key are read-only once the process runs */
    ctx->store = NULL;
    ctx->redis = NULL;
    ctx->magic = NULL;
    return open_backends(ctx, err);
}

void hs_ctx_close_thread(hs_ctx_t *ctx)
{
    if (ctx->magic)
        magic_close(ctx->magic);
    hs_redis_free(ctx->redis);
    hs_store_close(ctx->store);
    ctx->magic = NULL;
    ctx->redis = NULL;
    ctx->store = NULL;
}

static void on_term(int sig)
{
    (void)sig;
    /* The connection loop ends once the request under way (if any) is
     * done. */
    hs_conns_stop();
}

/* Honours a client's X-Request-Id when it is 1-64 of [A-Za-z0-9._:-]. */
static const char *request_id(hs_req_t *req, char buf[33])
{
    const char *h = hs_req_header(req, "HTTP_X_REQUEST_ID");
    if (h) {
        size_t n = strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-");
        if (n > 0 && n <= 64 && h[n] == '\0')
            return h;
    }
    /* Unique, not secret: a random prefix drawn once per process and a
     * counter, so a request costs no trip to the random generator (which
     * asks getpid() each time, for fork safety). The prefix is drawn on the
     * first request, after any fork that made this process. */
    static char prefix[17];
    static unsigned long long seq;
    if (!prefix[0] && hs_random_hex(prefix, 8))
        snprintf(prefix, sizeof prefix, "%08x%08llx", (unsigned)getpid(),
                 (unsigned long long)hs_now_ms() & 0xffffffffULL);
    snprintf(buf, 33, "%s%016llx", prefix, ++seq);
    return buf;
}

/* With trust_proxy the client address is the rightmost X-Forwarded-For
 * entry: the one the trusted proxy appended. Everything left of it came
 * from the client, who can write anything there (a new address per try
 * would escape every per-address limit). */
static const char *client_ip(hs_req_t *req)
{
    const char *xff = req->ctx->cfg.trust_proxy ? hs_req_header(req, "HTTP_X_FORWARDED_FOR") : NULL;
    if (xff && *xff) {
        const char *end = xff + strlen(xff);
        while (end > xff && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        const char *start = end;
        while (start > xff && start[-1] != ',' && start[-1] != ' ' && start[-1] != '\t')
            start--;
        size_t n = (size_t)(end - start);
        if (n > 0 && n < 64)
            return hs_arena_strndup(req->arena, start, n);
    }
    return hs_req_header(req, "REMOTE_ADDR");
}

/* How long, and how much, a process still reads of a body it did not take
 * once its reply is out: until the front, which has the reply by then,
 * closes the connection. A client's pace never comes into it. */
#define LEAVE_BODY_MS    1000
#define LEAVE_BODY_BYTES (4L << 20)

/* Ends a request whose body the handler did not read whole (an early 401
 * or 4xx, a stalled upload) without waiting for that body.
 *
 * The order matters. lighttpd streams upload bodies to us; once we stop
 * reading, its next write fails (EPIPE), and it then reads our reply only
 * once: if the reply is not all in the socket by then, the client gets the
 * front's 503 page (or nothing) instead of our JSON error. So the whole
 * reply, FCGI_END_REQUEST included, goes out first (closing the streams
 * writes it). lighttpd stops sending the body and closes the connection as
 * soon as it reads FCGI_END_REQUEST; what it wrote meanwhile is discarded
 * here until then, for LEAVE_BODY_MS and LEAVE_BODY_BYTES at most. Then the
 * read side is shut, so that FCGX_Finish_r's close does not linger (libfcgi
 * keeps reading until the connection has been quiet for 2 s).
 *
 * A connection the front asked to keep (nginx) is left to the connection
 * loop, which reads the rest of the body off it, at the front's pace, and
 * keeps it (hs_conns_serve): nginx has buffered that body and may reuse the
 * connection as soon as it has our reply, so waiting here for it to close
 * would only stall this process. After a body timeout it is closed. */
static void leave_body(hs_req_t *req)
{
    FCGX_Request *fr = req->fcgx;
    if (fr->ipcFd < 0) /* CGI: the server reads what is left of the body */
        return;
    if (!req->body_timed_out && hs_req_content_length(req) <= req->body_read)
        return;
    if (fr->keepConnection && !req->body_timed_out)
        return;
    fr->keepConnection = 0;
    FCGX_FClose(fr->err);
    FCGX_FClose(fr->out);
    int64_t until = hs_now_ms() + LEAVE_BODY_MS;
    long taken = 0;
    char sink[16384];
    for (;;) {
        int64_t left = until - hs_now_ms();
        struct pollfd p = {.fd = fr->ipcFd, .events = POLLIN};
        if (left <= 0 || taken >= LEAVE_BODY_BYTES || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t n = recv(fr->ipcFd, sink, sizeof sink, MSG_DONTWAIT);
        if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN)))
            break; /* the front closed the connection (or it failed) */
        taken += n > 0 ? n : 0;
    }
    shutdown(fr->ipcFd, SHUT_RD);
}

/* setup: why the process could not start (NULL when it did); every request
 * is then answered with it, as a 503 the web client shows as a setup page. */
static void serve_one(hs_ctx_t *ctx, const hs_app_t *app, FCGX_Request *fr, hs_arena_t *arena,
                      const hs_err_t *setup)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    hs_req_t req = {0};
    char ridbuf[33];
    req.ctx = ctx;
    req.fcgx = fr;
    req.arena = arena;
    req.start_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    req.method = hs_req_header(&req, "REQUEST_METHOD");
    const char *uri = hs_req_header(&req, "REQUEST_URI");
    if (!req.method)
        req.method = "GET";
    if (!uri)
        uri = "/";
    const char *q = strchr(uri, '?');
    req.path = q ? hs_arena_strndup(arena, uri, (size_t)(q - uri)) : uri;
    req.request_id = request_id(&req, ridbuf);
    req.client_ip = client_ip(&req);
    req.user_agent = hs_req_header(&req, "HTTP_USER_AGENT");

    if (setup)
        hs_reply_error(&req, setup);
    else if (hs_req_parse_query(&req, q ? q + 1 : NULL))
        hs_reply_fail(&req, HS_EINVAL, "invalid_query", "The query string is malformed");
    else
        hs_http_dispatch(&req, app->routes, app->nroutes);
    if (!req.replied) {
        hs_log_error(ctx, "handler for %s %s did not reply", req.method, req.path);
        hs_reply_fail(&req, HS_EINTERNAL, NULL, NULL);
    }
    log_access(&req);
    leave_body(&req);
    cJSON_Delete(req.json);
    hs_arena_reset(arena);
}

typedef struct serve_arg {
    hs_ctx_t *ctx;
    const hs_app_t *app;
    hs_arena_t *arena;  /* one for the process, reset after each request */
    const char *config; /* -c, for a process that could not start */
    hs_err_t *setup;    /* why it could not; NULL once it could */
} serve_arg_t;

/* A context that answers requests when the real one cannot open: the
 * default configuration, the log on standard error (the server's error
 * log), no store. */
static void open_fallback(hs_ctx_t *ctx, const char *app_name)
{
    hs_err_t ignored;
    memset(ctx, 0, sizeof *ctx);
    ctx->app_name = app_name;
    ctx->log_fd = STDERR_FILENO;
    /* the defaults are all set before anything can fail */
    hs_config_load(&ctx->cfg, NULL, 0, &ignored);
}

/* Turns the error of a failed start into the 503 each request gets. */
static void as_setup_error(hs_err_t *err)
{
    err->code = hs_setup_code(err);
    err->rc = HS_EUNAVAIL;
    err->status = hs_err_status(HS_EUNAVAIL);
    if (!err->hint[0])
        snprintf(err->hint, sizeof err->hint, "%s",
                 "fix app/hypersend.conf (the template: app/hypersend.conf.example) and reload "
                 "the page; app/hs-auth.fcgi --check says the same on a shell");
}

static void on_request(void *arg, FCGX_Request *fr)
{
    serve_arg_t *sa = arg;
    if (sa->setup && fr->ipcFd >= 0) {
        /* A FastCGI process tries again on each request, so that a fix
         * shows at the next reload without restarting the server's
         * processes (a CGI one has just tried). */
        hs_ctx_t fresh;
        hs_err_t err;
        hs_err_clear(&err);
        if (hs_ctx_open(&fresh, sa->app->name, sa->config, &err) == 0) {
            hs_ctx_close(sa->ctx);
            *sa->ctx = fresh;
            sa->setup = NULL;
        } else {
            hs_ctx_close(&fresh);
            as_setup_error(&err);
            *sa->setup = err;
        }
    }
    serve_one(sa->ctx, sa->app, fr, sa->arena, sa->setup);
}

static void usage(const hs_app_t *app)
{
    fprintf(stderr,
            "usage: hs-%s [-c CONFIG] [--routes] [--config-keys] [--check]%s\n"
            "  Serves the %s routes over FastCGI on file descriptor 0 (spawned by the web\n"
            "  server or spawn-fcgi), or one request as a CGI program (GATEWAY_INTERFACE\n"
            "  set, no socket on 0). --routes prints the route table, --check validates\n"
            "  the configuration, store and key, then exits. The configuration: -c, else\n"
            "  HS_CONFIG, else hypersend.conf beside the program, else\n"
            "  /etc/hypersend/hypersend.conf.\n",
            app->name, app->ncommands ? " [COMMAND]" : "", app->name);
    for (size_t i = 0; i < app->ncommands; i++)
        fprintf(stderr, "  %-10s %s\n", app->commands[i].name, app->commands[i].doc);
}

/* For an app the web server spawned itself (lighttpd's bin-path sets
 * HS_EXIT_WITH_PARENT=1): the server alone decides when it stops. A
 * terminal's Ctrl-C reaches the whole process group; were the apps to die
 * of it, lighttpd would respawn them while shutting down and leave the new
 * ones waiting on a socket nobody connects to. So SIGINT is ignored, and
 * the app gets SIGTERM when its parent goes away, however it ends. Apps
 * started by spawn-fcgi (whose parent exits at once) do not set it.
 * -1 when the parent is already gone. */
static int bind_to_parent(hs_ctx_t *ctx)
{
    const char *v = getenv("HS_EXIT_WITH_PARENT");
    if (!v || strcmp(v, "1") != 0)
        return 0;
    pid_t parent = getppid();
    signal(SIGINT, SIG_IGN);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
        hs_log_error(ctx, "PR_SET_PDEATHSIG: %s", strerror(errno));
    return getppid() != parent || parent == 1 ? -1 : 0;
}

int hs_app_main(const hs_app_t *app, int argc, char **argv)
{
    const char *config = NULL;
    const hs_command_t *command = NULL;
    int check = 0;
    for (int i = 1; i < argc; i++) {
        for (size_t c = 0; c < app->ncommands; c++)
            if (strcmp(argv[i], app->commands[c].name) == 0)
                command = &app->commands[c];
        if (command && strcmp(argv[i], command->name) == 0) {
            continue;
        } else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--routes") == 0) {
            for (size_t r = 0; r < app->nroutes; r++)
                printf("%s %s %s\n", app->routes[r].method, app->routes[r].pattern,
                       (app->routes[r].flags & HS_ROUTE_AUTH) ? "auth" : "public");
            return 0;
        } else if (strcmp(argv[i], "--config-keys") == 0) {
            /* The README's configuration table is generated from this. */
            printf("| key | default | meaning |\n| --- | --- | --- |\n");
            for (const hs_conf_key_t *k = hs_config_keys; k->name; k++)
                printf("| `%s` | `%s` | %s |\n", k->name, *k->def ? k->def : "(empty)", k->doc);
            return 0;
        } else if (strcmp(argv[i], "--check") == 0) {
            check = 1;
        } else {
            usage(app);
            return 2;
        }
    }
    /* libmagic's database beside the program, for a host without one (the
     * bundle's lib/magic.mgc); libmagic reads MAGIC when it loads. */
    char mgc[PATH_MAX];
    if (!getenv("MAGIC") && beside_program("lib/magic.mgc", mgc, sizeof mgc) == 0)
        setenv("MAGIC", mgc, 0);
    hs_ctx_t ctx;
    hs_err_t err, *setup = NULL;
    hs_err_clear(&err);
    if (hs_ctx_open(&ctx, app->name, config, &err)) {
        fprintf(stderr, "hs-%s: %s%s%s%s\n", app->name, err.message, err.hint[0] ? " (" : "",
                err.hint, err.hint[0] ? ")" : "");
        hs_ctx_close(&ctx);
        /* Started by a web server (CGI, or a FastCGI socket on 0): answer
         * with what is wrong rather than the server's bare 500. */
        if (check || command || !(hs_cgi_detect() || !FCGX_IsCGI()))
            return 1;
        open_fallback(&ctx, app->name);
        as_setup_error(&err);
        setup = &err;
    }
    if (check || command) {
        int status = command ? command->run(&ctx) : 0;
        hs_ctx_close(&ctx);
        return status;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (bind_to_parent(&ctx)) {
        hs_ctx_close(&ctx);
        return 0;
    }

    FCGX_Init();
    hs_arena_t arena = {0};
    serve_arg_t served = {&ctx, app, &arena, config, setup};
    /* Under mod_cgi one request per process; the same serve_one either way. */
    int status = (hs_cgi_detect() ? hs_cgi_serve(&ctx, on_request, &served)
                                  : hs_conns_serve(&ctx, 0, on_request, &served))
                     ? 1
                     : 0;
    hs_arena_free(&arena);
    hs_ctx_close(&ctx);
    return status;
}

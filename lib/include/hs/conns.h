/* The FastCGI connections of one app process: it accepts on the listening
 * socket and serves, one at a time, the requests of every connection it
 * holds, so that a front keeping connections open (nginx's
 * fastcgi_keep_conn) never waits on a process busy with another's. */
#ifndef HS_CONNS_H
#define HS_CONNS_H

#include "hs/ctx.h"

struct FCGX_Request;

/* Serves one request: fr is accepted, with its params read; the callee
 * replies (FCGX streams) and returns. It may clear fr->keepConnection to
 * have the connection closed afterwards; on a kept connection the loop
 * reads whatever of the body the callee left unread. */
typedef void (*hs_conns_serve_fn)(void *arg, struct FCGX_Request *fr);

/* Accepts on listen_fd (made non-blocking) and calls serve for each request
 * of up to ctx->cfg.fcgi_max_conns connections, until hs_conns_stop().
 * Connections the front asked to keep (FCGI_KEEP_CONN) stay open; others
 * close after their request. Needs FCGX_Init(). 0, or -1 when epoll or
 * an allocation failed (logged). */
int hs_conns_serve(hs_ctx_t *ctx, int listen_fd, hs_conns_serve_fn serve, void *arg);

/* Ends hs_conns_serve() once the current request is done. Async-signal-safe:
 * for a SIGTERM handler. */
void hs_conns_stop(void);

#endif

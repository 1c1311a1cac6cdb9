/* Plain CGI (RFC 3875): one request per process, its variables in the
 * environment, its body on stdin and its reply on stdout, for hosts that
 * offer mod_cgi but not mod_fcgid (the shared-hosting bundle). The request
 * is handed to the same serve function as a FastCGI one. */
#ifndef HS_CGI_H
#define HS_CGI_H

#include "hs/conns.h"
#include "hs/ctx.h"

/* 1 when this process was started as a CGI program: file descriptor 0 is
 * not the FastCGI listening socket (libfcgi's FCGX_IsCGI) and the server
 * set GATEWAY_INTERFACE, so a program run by hand from a terminal is not
 * taken for one. Needs FCGX_Init(). */
int hs_cgi_detect(void);

/* Serves the one request of this process through serve, then flushes the
 * reply. The FCGX_Request given to serve has ipcFd -1: its streams read
 * stdin (at most CONTENT_LENGTH bytes, each read waiting body_timeout at
 * most) and write stdout. 0, or -1 when the reply could not be written. */
int hs_cgi_serve(hs_ctx_t *ctx, hs_conns_serve_fn serve, void *arg);

#endif

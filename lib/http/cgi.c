/* Plain CGI: the request of this process, as an FCGX_Request whose
 * streams are stdin and stdout instead of FastCGI records.
 *
 * libfcgi's FCGX_Stream is a public struct with a fill and an empty
 * procedure; the ones here read and write plain descriptors, so every
 * FCGX_GetStr, FCGX_PutStr, FCGX_FFlush and FCGX_FClose of lib/http works
 * unchanged and the request is handled by exactly the code a FastCGI
 * request is. What differs is marked by ipcFd < 0 (no FastCGI socket):
 * hs_reply_write writes through the stream, and nothing is left to drain
 * after the reply (the server reads the rest of the body itself). */
#include "hs/cgi.h"

#include <errno.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hs/log.h"

extern char **environ;

#define CGI_BUF 65536

typedef struct cgi_stream {
    FCGX_Stream s;
    int fd;
    long long left; /* reader: body bytes not read yet (CONTENT_LENGTH) */
    int wait_ms;    /* reader: longest wait for the next bytes */
    unsigned char buf[CGI_BUF];
} cgi_stream_t;

/* Refills a reader from its descriptor. The body ends at CONTENT_LENGTH:
 * RFC 3875 does not promise end-of-file there. A client that sends
 * nothing for body_timeout ends the read with EAGAIN, as the FastCGI
 * socket's SO_RCVTIMEO does (hs_req_read logs it). */
static void on_fill(FCGX_Stream *s)
{
    cgi_stream_t *c = s->data;
    s->rdNext = s->stop = c->buf;
    if (c->left <= 0) {
        s->isClosed = 1;
        return;
    }
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int ready;
    do
        ready = poll(&p, 1, c->wait_ms);
    while (ready < 0 && errno == EINTR);
    ssize_t n = -1;
    if (ready > 0) {
        size_t want = c->left < CGI_BUF ? (size_t)c->left : CGI_BUF;
        do
            n = read(c->fd, c->buf, want);
        while (n < 0 && errno == EINTR);
    }
    if (n <= 0) {
        s->FCGI_errno = ready == 0 ? EAGAIN : n < 0 ? errno : 0;
        s->isClosed = 1;
        return;
    }
    c->left -= n;
    s->stop = c->buf + n;
}

/* Writes out what a writer holds; a failed write closes the stream with
 * its errno (the server went away), as libfcgi's own streams do. */
static void on_empty(FCGX_Stream *s, int closing)
{
    (void)closing; /* CGI has no end-of-stream record: the exit ends it */
    cgi_stream_t *c = s->data;
    for (unsigned char *p = c->buf; p < s->wrNext;) {
        ssize_t n = write(c->fd, p, (size_t)(s->wrNext - p));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->FCGI_errno = n < 0 ? errno : EIO;
            s->isClosed = 1;
            break;
        }
        p += n;
    }
    s->wrNext = c->buf;
}

static void stream_init(cgi_stream_t *c, int fd, int reader)
{
    memset(&c->s, 0, sizeof c->s);
    c->fd = fd;
    c->s.isReader = reader;
    c->s.fillBuffProc = on_fill;
    c->s.emptyBuffProc = on_empty;
    c->s.data = c;
    c->s.rdNext = c->s.wrNext = c->s.stopUnget = c->buf;
    c->s.stop = reader ? c->buf : c->buf + CGI_BUF;
}

int hs_cgi_detect(void)
{
    return FCGX_IsCGI() && getenv("GATEWAY_INTERFACE") != NULL;
}

int hs_cgi_serve(hs_ctx_t *ctx, hs_conns_serve_fn serve, void *arg)
{
    cgi_stream_t *in = malloc(sizeof *in), *out = malloc(sizeof *out), *err = malloc(sizeof *err);
    if (!in || !out || !err) {
        free(in), free(out), free(err);
        hs_log_error(ctx, "CGI request: out of memory");
        return -1;
    }
    stream_init(in, 0, 1);
    stream_init(out, 1, 0);
    stream_init(err, 2, 0);
    const char *cl = getenv("CONTENT_LENGTH");
    char *end = NULL;
    in->left = cl && *cl ? strtoll(cl, &end, 10) : 0;
    if (in->left < 0 || (end && *end))
        in->left = 0; /* hs_req_body refuses the header itself */
    in->wait_ms = (int)ctx->cfg.body_timeout * 1000;

    FCGX_Request fr;
    memset(&fr, 0, sizeof fr);
    fr.ipcFd = -1;
    fr.requestId = 1;
    fr.role = FCGI_RESPONDER;
    fr.in = &in->s;
    fr.out = &out->s;
    fr.err = &err->s;
    fr.envp = environ;
    serve(arg, &fr);
    int rc = FCGX_FClose(fr.err) | FCGX_FClose(fr.out);
    free(in), free(out), free(err);
    return rc ? -1 : 0;
}

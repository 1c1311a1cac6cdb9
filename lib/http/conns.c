/* The FastCGI connections of one app process: an epoll loop over the
 * listening socket and every connection the process holds.
 *
 * lighttpd opens a connection per request and closes it after the reply;
 * nginx with fastcgi_keep_conn and an upstream keepalive pool keeps each
 * one open for its next request. A process that served one connection at a
 * time (FCGX_Accept_r alone) then belonged to whichever nginx worker kept
 * it, and the other workers' connections waited in the backlog. Here every
 * held connection is polled, and a request is served from whichever is
 * readable; requests stay sequential within the process.
 *
 * libfcgi still parses each request: one FCGX_Request per connection, made
 * with no listening socket of its own (so FCGX_Accept_r never blocks in
 * accept()), handed the accepted descriptor and called only once that
 * descriptor is readable. */
#include "hs/conns.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hs/log.h"
#include "hs/util.h"

typedef struct conn {
    FCGX_Request fr; /* fr.ipcFd < 0: the slot is free */
    int64_t idle_since_ms;
    int fresh; /* accepted, its first request not read yet */
} conn_t;

static volatile sig_atomic_t stopping;
static int wake_fd = -1; /* write end of the self-pipe that wakes epoll_wait() */

void hs_conns_stop(void)
{
    int saved = errno;
    stopping = 1;
    FCGX_ShutdownPending();
    if (wake_fd >= 0) {
        ssize_t w = write(wake_fd, "", 1);
        (void)w;
    }
    errno = saved;
}

/* Bounds every read of a request body on this connection: a client that
 * stops sending (slowly or not at all) ends the read after body_timeout
 * seconds (hs_req_read) instead of holding this process. The same bound
 * covers reading a kept connection's next request once epoll said it is
 * there. */
static void set_deadline(hs_ctx_t *ctx, int fd)
{
    struct timeval tv = {.tv_sec = ctx->cfg.body_timeout};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv))
        hs_log_error(ctx, "SO_RCVTIMEO on the FastCGI connection: %s", strerror(errno));
}

/* Closes an idle connection without libfcgi's linger (its close waits up to
 * 2 s for the front to close first): no request is under way on it. */
static void drop(conn_t *c)
{
    FCGX_Free(&c->fr, 0);
    close(c->fr.ipcFd);
    c->fr.ipcFd = -1;
}

/* How much of a body the handler left unread is read off a kept
 * connection to keep it, and how long each read may wait then. */
#define DRAIN_BYTES    (4L << 20)
#define DRAIN_WAIT_SEC 1

/* The rest of this request's stdin (its closing empty record, and any
 * body the handler did not read) is consumed before the next step: a kept
 * connection carries the front's next request right after it (libfcgi
 * would otherwise read it as the start of that request and drop the
 * connection), and any other connection can then close without a linger.
 * A body left unread comes from the front's buffer (nginx), so its reads
 * wait DRAIN_WAIT_SEC, not body_timeout. 1 when the stream ended cleanly;
 * 0 (close it) after an error, a wait or DRAIN_BYTES. */
static int finish_stdin(hs_ctx_t *ctx, FCGX_Request *fr)
{
    char sink[16384];
    long taken = 0;
    int hurried = 0;
    while (!FCGX_HasSeenEOF(fr->in) && taken < DRAIN_BYTES) {
        int n = FCGX_GetStr(sink, sizeof sink, fr->in);
        if (n <= 0)
            break;
        taken += n;
        if (!hurried) {
            struct timeval tv = {.tv_sec = DRAIN_WAIT_SEC};
            setsockopt(fr->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            hurried = 1;
        }
    }
    if (hurried)
        set_deadline(ctx, fr->ipcFd);
    return FCGX_HasSeenEOF(fr->in) && !FCGX_GetError(fr->in);
}

/* Reads the request waiting on c and serves it; frees the slot when the
 * front closed the connection or did not ask to keep it. */
static void serve_conn(hs_ctx_t *ctx, conn_t *c, hs_conns_serve_fn serve, void *arg)
{
    /* FCGX_Accept_r first finishes the previous request; with the flag set
     * that keeps the descriptor (a new one included). The begin record
     * read next sets it to what the front asked. */
    c->fr.keepConnection = 1;
    c->fresh = 0;
    if (FCGX_Accept_r(&c->fr) < 0) {
        /* The front closed it (EOF), or sent something libfcgi refused:
         * libfcgi closed it, then found no listening socket to fall back
         * on. */
        FCGX_Free(&c->fr, 1);
        c->fr.ipcFd = -1;
        return;
    }
    serve(arg, &c->fr);
    int keep = c->fr.keepConnection, clean = finish_stdin(ctx, &c->fr);
    if (keep && clean) {
        FCGX_Finish_r(&c->fr); /* the reply's last records; the connection stays */
        c->idle_since_ms = hs_now_ms();
        return;
    }
    if (!clean) {
        c->fr.keepConnection = 0;
        FCGX_Finish_r(&c->fr); /* closes with libfcgi's linger: more may come */
        return;
    }
    /* The front sent all it will: close at once. libfcgi's close would
     * shut our side and wait for the front to close first (up to 2 s),
     * which held this process for a trip through the front's event loop
     * after every request (a fifth of hs-auth's time under load). The
     * front reads the whole reply before it sees the close. */
    c->fr.keepConnection = 1;
    FCGX_Finish_r(&c->fr);
    if (c->fr.ipcFd >= 0) {
        close(c->fr.ipcFd);
        c->fr.ipcFd = -1;
    }
}

/* Accepts one waiting connection into a free slot; when every slot is
 * taken, the connection idle the longest is closed for it (all held
 * connections are idle here: requests run one at a time), so a front
 * never waits on a process full of another front worker's idle ones.
 * The connection's slot, or NULL when none was waiting. */
static conn_t *accept_one(hs_ctx_t *ctx, int listen_fd, int tcp, conn_t *conns, int max)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            hs_log_error(ctx, "accept on the FastCGI socket: %s", strerror(errno));
        return NULL;
    }
    conn_t *slot = NULL;
    for (int i = 0; i < max; i++) {
        conn_t *c = &conns[i];
        if (c->fr.ipcFd < 0) {
            slot = c;
            break;
        }
        if (!slot || c->idle_since_ms < slot->idle_since_ms)
            slot = c;
    }
    if (slot->fr.ipcFd >= 0)
        drop(slot);
    if (tcp) {
        int one = 1; /* replies are single writes: no Nagle delay */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    set_deadline(ctx, fd);
    slot->fr.ipcFd = fd;
    slot->fresh = 1;
    slot->idle_since_ms = hs_now_ms();
    return slot;
}

/* Watches fd for input in the epoll set ep; data names the connection
 * (NULL: the wake pipe; &listen_mark: the listening socket). */
static int watch(int ep, int fd, uint32_t events, void *data)
{
    struct epoll_event ev = {.events = events, .data.ptr = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static char listen_mark;

static void close_fd(int fd)
{
    if (fd >= 0)
        close(fd);
}

int hs_conns_serve(hs_ctx_t *ctx, int listen_fd, hs_conns_serve_fn serve, void *arg)
{
    int max = (int)ctx->cfg.fcgi_max_conns, wake[2] = {-1, -1};
    conn_t *conns = calloc((size_t)max, sizeof *conns);
    struct epoll_event *evs = calloc((size_t)max + 2, sizeof *evs);
    /* Two sets: `all` watches the listening socket too, `held` only the
     * wake pipe and the connections this process holds. The listening
     * socket is watched with EPOLLEXCLUSIVE: a new connection wakes one
     * waiting process of the app, where poll() woke every one of them for
     * each connection (and all but one found nothing to accept). */
    int all = epoll_create1(EPOLL_CLOEXEC), held = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || !evs || all < 0 || held < 0 || pipe2(wake, O_CLOEXEC | O_NONBLOCK) ||
        watch(all, wake[0], EPOLLIN, NULL) || watch(held, wake[0], EPOLLIN, NULL) ||
        watch(all, listen_fd, EPOLLIN | EPOLLEXCLUSIVE, &listen_mark)) {
        hs_log_error(ctx, "FastCGI loop: %s", strerror(errno));
        free(conns), free(evs);
        close_fd(all), close_fd(held), close_fd(wake[0]), close_fd(wake[1]);
        return -1;
    }
    wake_fd = wake[1];
    /* Several processes wait on one listening socket: the losers of a race
     * for a connection must get EAGAIN, not block in accept(). */
    fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
    struct sockaddr_storage sa;
    socklen_t salen = sizeof sa;
    int tcp = getsockname(listen_fd, (struct sockaddr *)&sa, &salen) == 0 &&
              (sa.ss_family == AF_INET || sa.ss_family == AF_INET6);
    for (int i = 0; i < max; i++)
        FCGX_InitRequest(&conns[i].fr, -1, FCGI_FAIL_ACCEPT_ON_INTR);
    int rc = 0;
    while (!stopping) {
        int n_held = 0, fresh = 0, kept = 0;
        for (int i = 0; i < max; i++)
            if (conns[i].fr.ipcFd >= 0) {
                n_held++;
                fresh |= conns[i].fresh;
                kept |= !conns[i].fresh;
            }
        /* A front that opens a connection per request (lighttpd; nginx's
         * long-poll and upload sockets) gets the old behaviour: this
         * process takes one, serves it, then takes the next, and a
         * connection never waits behind a long request (a long poll, an
         * upload) here while another process is free. Once the front keeps
         * connections with this process, it takes all that wait at once:
         * the front opens many under load, and one accept per round of
         * requests served would keep them waiting. */
        int n = epoll_wait(fresh && !kept ? held : all, evs, max + 2, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            hs_log_error(ctx, "epoll_wait in the FastCGI loop: %s", strerror(errno));
            rc = -1;
            break;
        }
        int listening = 0;
        for (int k = 0; k < n && !stopping; k++) {
            if (evs[k].data.ptr == &listen_mark)
                listening = 1;
            else if (evs[k].data.ptr) /* a held connection (closed ones leave both sets) */
                serve_conn(ctx, evs[k].data.ptr, serve, arg);
        }
        /* (into free slots: at the cap, one evicts the longest idle) */
        int accepts = kept && max - n_held > 1 ? max - n_held : 1;
        for (int i = 0; !stopping && listening && i < accepts; i++) {
            conn_t *c = accept_one(ctx, listen_fd, tcp, conns, max);
            if (!c)
                break;
            if (watch(all, c->fr.ipcFd, EPOLLIN, c) || watch(held, c->fr.ipcFd, EPOLLIN, c)) {
                hs_log_error(ctx, "epoll_ctl in the FastCGI loop: %s", strerror(errno));
                drop(c);
            }
        }
    }
    for (int i = 0; i < max; i++)
        if (conns[i].fr.ipcFd >= 0)
            drop(&conns[i]);
    wake_fd = -1;
    close_fd(all), close_fd(held), close_fd(wake[0]), close_fd(wake[1]);
    free(conns), free(evs);
    return rc;
}

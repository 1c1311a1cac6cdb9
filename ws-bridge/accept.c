/* The listening socket. The bridge accepts connections itself and reads the
 * request head before libwebsockets sees it, for two reasons: a token sent
 * as a subprotocol ("Sec-WebSocket-Protocol: hypersend, token.<jwt>", the
 * only way a browser can send one outside the URL) is longer than lws 4.1
 * accepts in that header (127 bytes), so it is moved into the query string
 * here; and a client that never finishes its head is dropped after 10 s
 * instead of holding lws state. The head then goes to lws with the socket
 * (lws_adopt_socket_vhost_readbuf), as if lws had read it. */
#include <arpa/inet.h>
#include <stddef.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge.h"

#define HEAD_MAX        8192
#define HEAD_TIMEOUT_MS 10000

typedef struct pending {
    uv_poll_t poll;
    hs_bridge_t *b;
    int fd;
    int handed; /* the head is complete: give fd to lws once poll is closed */
    size_t len;
    int64_t started;
    hs_queue_t in_pending;     /* b->pending */
    char head[HEAD_MAX + 512]; /* room for the token moved into the URL */
} pending_t;

static void pending_closed(uv_handle_t *h)
{
    pending_t *p = h->data;
    hs_bridge_t *b = p->b;
    if (p->handed && b->lws && !b->stopping) {
        struct lws_vhost *vh = lws_get_vhost_by_name(b->lws, "default");
        if (vh && lws_adopt_socket_vhost_readbuf(vh, p->fd, p->head, p->len))
            p->fd = -1; /* lws owns it now (and closes it on failure) */
    }
    if (p->fd >= 0)
        close(p->fd);
    free(p);
}

static void pending_end(pending_t *p, int handed)
{
    hs_queue_remove(&p->in_pending);
    p->handed = handed;
    uv_poll_stop(&p->poll);
    uv_close((uv_handle_t *)&p->poll, pending_closed);
}

/* Moves "token.<jwt>" out of Sec-WebSocket-Protocol into the query string
 * as token=<jwt> (unless the URL already has one). The head is NUL-ended. */
static void move_protocol_token(pending_t *p)
{
    char *h = p->head;
    char *line = h;
    char *proto = NULL;
    while ((line = strstr(line, "\r\n")) && line[2] != '\r') {
        line += 2;
        if (strncasecmp(line, "Sec-WebSocket-Protocol:", 23) == 0) {
            proto = line + 23;
            break;
        }
    }
    if (!proto)
        return;
    char *end = strstr(proto, "\r\n");
    char *tok = strstr(proto, "token.");
    if (!tok || tok > end)
        return;
    size_t tlen = strcspn(tok + 6, ", \r");
    char jwt[2048];
    if (tlen == 0 || tlen >= sizeof jwt)
        return;
    memcpy(jwt, tok + 6, tlen);
    jwt[tlen] = 0;
    /* drop "token.<jwt>" and the separator before or after it */
    char *from = tok, *to = tok + 6 + tlen;
    while (from > proto && (from[-1] == ' ' || from[-1] == ','))
        from--;
    if (from == proto)
        while (*to == ' ' || *to == ',')
            to++;
    memmove(from, to, p->len + 1 - (size_t)(to - h));
    p->len -= (size_t)(to - from);
    /* the request line: GET <path>[?query] HTTP/1.1 */
    char *sp = strchr(h, ' ');
    char *uri_end = sp ? strchr(sp + 1, ' ') : NULL;
    if (!uri_end || uri_end > strstr(h, "\r\n"))
        return;
    char *q = memchr(sp + 1, '?', (size_t)(uri_end - sp - 1));
    if (q && (strstr(q, "?token=") == q || memmem(q, (size_t)(uri_end - q), "&token=", 7)))
        return;
    char add[2100];
    int n = snprintf(add, sizeof add, "%ctoken=%s", q ? '&' : '?', jwt);
    if (p->len + (size_t)n >= sizeof p->head)
        return;
    memmove(uri_end + n, uri_end, p->len + 1 - (size_t)(uri_end - h));
    memcpy(uri_end, add, (size_t)n);
    p->len += (size_t)n;
}

static void pending_read(uv_poll_t *poll, int status, int events)
{
    (void)events;
    pending_t *p = poll->data;
    if (status < 0) {
        pending_end(p, 0);
        return;
    }
    ssize_t n = recv(p->fd, p->head + p->len, HEAD_MAX - p->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        pending_end(p, 0);
        return;
    }
    p->len += (size_t)n;
    p->head[p->len] = 0;
    if (strstr(p->head, "\r\n\r\n")) {
        move_protocol_token(p);
        pending_end(p, 1);
    } else if (p->len >= HEAD_MAX) {
        pending_end(p, 0); /* lws would refuse it anyway */
    }
}

static void on_accept(uv_poll_t *poll, int status, int events)
{
    (void)events;
    hs_bridge_t *b = poll->data;
    if (status < 0 || b->stopping)
        return;
    for (;;) {
        int fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or out of descriptors: try on the next wakeup */
        pending_t *p = malloc(sizeof *p);
        if (!p) {
            close(fd);
            continue;
        }
        memset(p, 0, offsetof(pending_t, head));
        p->head[0] = 0;
        p->b = b;
        p->fd = fd;
        p->started = hs_now_ms();
        if (uv_poll_init(&b->loop, &p->poll, fd)) {
            close(fd);
            free(p);
            continue;
        }
        p->poll.data = p;
        hs_queue_insert_head(&b->pending, &p->in_pending);
        uv_poll_start(&p->poll, UV_READABLE, pending_read);
    }
}

int hs_accept_start(hs_bridge_t *b, const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 4096) ||
        uv_poll_init(&b->loop, &b->listen_poll, fd)) {
        close(fd);
        return -1;
    }
    b->listen_fd = fd;
    b->listen_poll.data = b;
    uv_poll_start(&b->listen_poll, UV_READABLE, on_accept);
    return 0;
}

void hs_accept_sweep(hs_bridge_t *b, int all)
{
    int64_t now = hs_now_ms();
    hs_queue_t *q, *next;
    for (q = b->pending.next; q != &b->pending; q = next) {
        next = q->next;
        pending_t *p = HS_QUEUE_DATA(q, pending_t, in_pending);
        if (all || now - p->started > HEAD_TIMEOUT_MS)
            pending_end(p, 0);
    }
}

static void listen_closed(uv_handle_t *h)
{
    hs_bridge_t *b = h->data;
    close(b->listen_fd);
    b->listen_fd = -1;
}

void hs_accept_stop(hs_bridge_t *b)
{
    hs_accept_sweep(b, 1);
    if (b->listen_fd >= 0 && !uv_is_closing((uv_handle_t *)&b->listen_poll)) {
        uv_poll_stop(&b->listen_poll);
        uv_close((uv_handle_t *)&b->listen_poll, listen_closed);
    }
}

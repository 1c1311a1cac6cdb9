/* wsload: the fan-out load generator of bench/ws.sh, one single-threaded
 * epoll process (it shares the machine's cores with the server measured).
 *
 * It opens N subscriber connections, either WebSocket clients (a minimal
 * RFC 6455 client: handshake, unmasked server frames with fragmentation,
 * pings answered with masked pongs, close answered) or Redis connections in
 * SUBSCRIBE, then publishes at fixed rates through a publisher connection:
 * EVAL of the apps' events script or a plain PUBLISH over RESP, or an HTTP
 * POST (nchan's publisher endpoint, the chats API). Every event carries
 * "content":"<seq>:<monotonic ns>:..." which each subscriber parses, so it
 * measures per-delivery latency into a log-linear histogram, duplicates
 * and losses (a bitmap of seqs per subscriber) and the delivered rate. The
 * server's CPU comes from /proc/<pid>/stat (utime + stime) around each load
 * point; the generator's own from getrusage.
 *
 * Idle mode (no --rates): connects, waits for each connection to be ready,
 * then reports the RSS delta of --rss-pid per connection and holds the
 * connections for --hold seconds answering pings.
 *
 * Output: one "wsload <label> <kind> key=value ..." line per result, for
 * bench/ws.sh to read. Built by bench/ws.sh with cc -O2; no dependencies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hs/events_lua.h"

/* The apps' events script: a global id from hs:ev:last, XADD with MINID,
 * PUBLISH "<id> <type> <json>". */
static const char events_script[] = HS_EVENT_PUBLISH_LUA;

enum { SUB_WS, SUB_RESP };
enum { PUB_NONE, PUB_EVAL, PUB_PUBLISH, PUB_HTTP };
enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSED };
enum { ROLE_SUB, ROLE_PUB };

#define MAX_POINTS 16
#define MAX_CPU    8
#define HBUCKETS   2048
#define FIFO_CAP   65536
#define SCRATCH    (256 * 1024)

typedef struct conn {
    int fd, idx;
    uint8_t role, state, ready, frag_op, closing, want_out;
    char *in; /* unparsed input carried over to the next read */
    size_t inlen, incap;
    char *out; /* unsent output */
    size_t outlen, outoff, outcap;
    char *frag; /* a fragmented message being assembled */
    size_t fraglen, fragcap;
    uint64_t *seen; /* subscriber: bitmap of seqs received */
    uint64_t delivered;
    /* publisher: seqs awaiting a reply, in order */
    uint32_t *fifo;
    size_t fhead, fcount;
    int reconnect;
} conn_t;

typedef struct {
    uint64_t b[HBUCKETS];
    uint64_t n, max;
} hist_t;

typedef struct {
    int rate;
    uint64_t s0, s1, deliv;
    hist_t h;
} point_t;

typedef struct {
    char name[32];
    int pids[64], npids;
} cpu_t;

/* Options */
static int sub_kind = SUB_WS, pub_kind = PUB_NONE, expect_hello, nconns = 1, parallel = 128;
static int port, pub_port, pub_conns = 1, pub_depth = 1 << 20, size = 200, post_body;
static int rss_pid, retention = 600, seconds = 10, ncpu, npoints;
static double drain_s = 3, late_s = 10, hold_s = 0, settle_s = 2, connect_timeout = 120;
static const char *host = "127.0.0.1", *path = "/", *channel = "bench",
                  *chat = "000000000000000000000000";
static const char *pub_path = "/", *pub_auth, *label = "run";
static char **tokens;
static int ntokens;
static cpu_t cpus[MAX_CPU];
static point_t points[MAX_POINTS];

/* State */
static int ep;
static conn_t *subs, *pubs;
static int pub_rr;
static uint64_t now_ns, next_seq, maxseq, total_deliv, dups, others, fail_connect, closed_subs;
static uint64_t *failed; /* seqs whose publish was refused */
static uint64_t pub_sent, pub_ok, pub_err;
static char first_error[256];
static int close_codes[16][2], nclose_codes;
static struct sockaddr_in sub_addr, pub_addr;
static char scratch[SCRATCH];
static volatile sig_atomic_t stop_flag;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "wsload: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void note_error(const char *fmt, ...)
{
    if (first_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(first_error, sizeof first_error, fmt, ap);
    va_end(ap);
    for (char *p = first_error; *p; p++)
        if (*p == '\r' || *p == '\n' || *p == ' ')
            *p = '_';
}

/* ---- histogram: exact below 128 us, then 64 sub-buckets per power of two */

static int hbucket(uint64_t us)
{
    if (us < 128)
        return (int)us;
    int e = 63 - __builtin_clzll(us);
    int idx = 128 + (e - 7) * 64 + (int)((us >> (e - 6)) - 64);
    return idx < HBUCKETS ? idx : HBUCKETS - 1;
}

static double hvalue(int idx)
{
    if (idx < 128)
        return idx + 0.5;
    int e = (idx - 128) / 64 + 7, m = (idx - 128) % 64 + 64;
    double lo = (double)((uint64_t)m << (e - 6)), w = (double)(1ull << (e - 6));
    return lo + w / 2;
}

static void hadd(hist_t *h, uint64_t ns)
{
    uint64_t us = ns / 1000;
    h->b[hbucket(us)]++;
    h->n++;
    if (us > h->max)
        h->max = us;
}

static double hpct_ms(const hist_t *h, double q)
{
    if (!h->n)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->n + 0.5), acc = 0;
    if (want < 1)
        want = 1;
    for (int i = 0; i < HBUCKETS; i++) {
        acc += h->b[i];
        if (acc >= want)
            return hvalue(i) / 1000.0;
    }
    return h->max / 1000.0;
}

/* ---- CPU and memory of other processes */

static uint64_t proc_ticks(int pid)
{
    char p[64], buf[1024];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *s = strrchr(buf, ')');
    if (!s)
        return 0;
    /* after ")": field 3 (state) ... field 14 utime, 15 stime */
    unsigned long long ut = 0, st = 0;
    if (sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return ut + st;
}

static double cpu_us(const cpu_t *c)
{
    uint64_t t = 0;
    for (int i = 0; i < c->npids; i++)
        t += proc_ticks(c->pids[i]);
    return (double)t * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

static long rss_kb(int pid)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    FILE *f = fopen(p, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* ---- connections */

static void set_events(conn_t *c)
{
    struct epoll_event ev = {.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(conn_t *c, const char *why)
{
    if (c->state == ST_CLOSED)
        return;
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    if (c->role == ROLE_SUB) {
        if (c->ready)
            closed_subs++;
        else
            fail_connect++;
        if (why)
            note_error("subscriber %d: %s", c->idx, why);
    }
    c->state = ST_CLOSED;
    c->inlen = c->outlen = c->outoff = c->fraglen = 0;
    free(c->in);
    free(c->out);
    free(c->frag);
    c->in = c->out = c->frag = NULL;
    c->incap = c->outcap = c->fragcap = 0;
    c->want_out = 0;
}

static int conn_start(conn_t *c, const struct sockaddr_in *addr)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket: %s (raise ulimit -n)", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->state = ST_CONNECTING;
    c->ready = 0;
    c->want_out = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    return 0;
}

/* Queues len bytes, writing at once what the socket takes. */
static void conn_send(conn_t *c, const void *data, size_t len)
{
    if (c->state == ST_CLOSED)
        return;
    if (c->outlen == c->outoff && c->state != ST_CONNECTING) {
        ssize_t w = write(c->fd, data, len);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            conn_close(c, "write failed");
            return;
        }
        if (w > 0) {
            data = (const char *)data + w;
            len -= (size_t)w;
        }
        if (!len)
            return;
    }
    if (c->outoff && c->outoff == c->outlen)
        c->outoff = c->outlen = 0;
    if (c->outlen + len > c->outcap) {
        c->outcap = (c->outlen + len) * 2;
        c->out = xrealloc(c->out, c->outcap);
    }
    memcpy(c->out + c->outlen, data, len);
    c->outlen += len;
    if (!c->want_out && c->state != ST_CONNECTING) {
        c->want_out = 1;
        set_events(c);
    }
}

static void conn_flush(conn_t *c)
{
    while (c->outoff < c->outlen) {
        ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            conn_close(c, "write failed");
            return;
        }
        c->outoff += (size_t)w;
    }
    c->outoff = c->outlen = 0;
    if (c->want_out) {
        c->want_out = 0;
        set_events(c);
    }
}

/* A masked client frame (pong, close). */
static void ws_send_frame(conn_t *c, int op, const char *p, size_t len)
{
    char f[2 + 4 + 125];
    if (len > 125)
        len = 125;
    uint32_t key = (uint32_t)rand();
    f[0] = (char)(0x80 | op);
    f[1] = (char)(0x80 | len);
    memcpy(f + 2, &key, 4);
    for (size_t i = 0; i < len; i++)
        f[6 + i] = p[i] ^ ((char *)&key)[i & 3];
    conn_send(c, f, 6 + len);
}

static const char *token_for(int i)
{
    return ntokens ? tokens[i % ntokens] : "";
}

/* The first bytes once connected: the upgrade request or the SUBSCRIBE. */
static void sub_hello(conn_t *c)
{
    char req[8192];
    int n;
    if (sub_kind == SUB_WS) {
        char p[6144];
        snprintf(p, sizeof p, path, token_for(c->idx));
        n = snprintf(
            req, sizeof req,
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: d3Nsb2FkIGJlbmNoIGtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            p, host, port);
        c->state = ST_HANDSHAKE;
    } else {
        n = snprintf(req, sizeof req, "*2\r\n$9\r\nSUBSCRIBE\r\n$%zu\r\n%s\r\n", strlen(channel),
                     channel);
        c->state = ST_OPEN;
    }
    conn_send(c, req, (size_t)n);
}

static void count_close(int code)
{
    for (int i = 0; i < nclose_codes; i++)
        if (close_codes[i][0] == code) {
            close_codes[i][1]++;
            return;
        }
    if (nclose_codes < 16) {
        close_codes[nclose_codes][0] = code;
        close_codes[nclose_codes++][1] = 1;
    }
}

/* ---- deliveries */

static int point_of(uint64_t seq)
{
    for (int i = 0; i < npoints; i++)
        if (points[i].s1 > points[i].s0 && seq >= points[i].s0 && seq < points[i].s1)
            return i;
    /* the point being published has no s1 yet */
    for (int i = npoints - 1; i >= 0; i--)
        if (points[i].s0 && seq >= points[i].s0 && points[i].s1 == 0)
            return i;
    return -1;
}

static void on_line(conn_t *c, const char *p, size_t len)
{
    static const char key[] = "\"content\":\"";
    const char *q = memmem(p, len, key, sizeof key - 1);
    if (!q) {
        if (!c->ready && memmem(p, len, "\"type\":\"hello\"", 14))
            c->ready = 1;
        else
            others++;
        return;
    }
    q += sizeof key - 1;
    const char *end = p + len;
    uint64_t seq = 0, ts = 0;
    while (q < end && *q >= '0' && *q <= '9')
        seq = seq * 10 + (uint64_t)(*q++ - '0');
    if (q >= end || *q++ != ':') {
        others++;
        return;
    }
    while (q < end && *q >= '0' && *q <= '9')
        ts = ts * 10 + (uint64_t)(*q++ - '0');
    if (seq >= maxseq || !c->seen) {
        others++;
        return;
    }
    uint64_t bit = 1ull << (seq & 63);
    if (c->seen[seq >> 6] & bit) {
        dups++;
        return;
    }
    c->seen[seq >> 6] |= bit;
    c->delivered++;
    total_deliv++;
    int pt = point_of(seq);
    if (pt >= 0) {
        points[pt].deliv++;
        hadd(&points[pt].h, now_ns > ts ? now_ns - ts : 0);
    }
}

static void on_message(conn_t *c, const char *p, size_t len)
{
    while (len) {
        const char *nl = memchr(p, '\n', len);
        size_t l = nl ? (size_t)(nl - p) : len;
        if (l)
            on_line(c, p, l);
        if (!nl)
            break;
        len -= l + 1;
        p = nl + 1;
    }
}

/* ---- WebSocket subscriber input: the 101 answer, then frames */

static size_t ws_parse(conn_t *c, char *p, size_t len)
{
    size_t off = 0;
    if (c->state == ST_HANDSHAKE) {
        char *e = memmem(p, len, "\r\n\r\n", 4);
        if (!e) {
            if (len > 16384)
                conn_close(c, "oversized handshake answer");
            return 0;
        }
        if (len < 12 || memcmp(p + 9, "101", 3) != 0) {
            int code = len >= 12 ? atoi(p + 9) : 0;
            char why[64];
            snprintf(why, sizeof why, "upgrade answered %d", code);
            conn_close(c, why);
            return 0;
        }
        off = (size_t)(e + 4 - p);
        c->state = ST_OPEN;
        if (!expect_hello)
            c->ready = 1;
    }
    while (c->state == ST_OPEN) {
        size_t avail = len - off;
        if (avail < 2)
            break;
        unsigned char *f = (unsigned char *)p + off;
        int fin = f[0] & 0x80, op = f[0] & 0x0f, masked = f[1] & 0x80;
        uint64_t plen = f[1] & 0x7f;
        size_t hdr = 2;
        if (plen == 126) {
            if (avail < 4)
                break;
            plen = (uint64_t)f[2] << 8 | f[3];
            hdr = 4;
        } else if (plen == 127) {
            if (avail < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | f[2 + i];
            hdr = 10;
        }
        if (masked)
            hdr += 4;
        if (plen > (64u << 20)) {
            conn_close(c, "frame too large");
            return 0;
        }
        if (avail < hdr + plen)
            break;
        char *pl = (char *)f + hdr;
        if (masked)
            for (uint64_t i = 0; i < plen; i++)
                pl[i] ^= (char)f[hdr - 4 + (i & 3)];
        off += hdr + (size_t)plen;
        switch (op) {
        case 0x0:
        case 0x1:
        case 0x2:
            if (fin && op != 0 && !c->fraglen) {
                on_message(c, pl, (size_t)plen);
                break;
            }
            if (c->fraglen + plen > c->fragcap) {
                c->fragcap = (c->fraglen + (size_t)plen) * 2;
                c->frag = xrealloc(c->frag, c->fragcap);
            }
            memcpy(c->frag + c->fraglen, pl, (size_t)plen);
            c->fraglen += (size_t)plen;
            if (fin) {
                on_message(c, c->frag, c->fraglen);
                c->fraglen = 0;
            }
            break;
        case 0x8: {
            int code = plen >= 2 ? ((unsigned char)pl[0] << 8 | (unsigned char)pl[1]) : 1005;
            count_close(code);
            ws_send_frame(c, 0x8, pl, plen >= 2 ? 2 : 0);
            conn_flush(c);
            char why[48];
            snprintf(why, sizeof why, "closed by the server with %d", code);
            conn_close(c, why);
            return 0;
        }
        case 0x9:
            ws_send_frame(c, 0xA, pl, (size_t)plen);
            break;
        default:
            break;
        }
    }
    return off;
}

/* ---- RESP: one value's extent; subscriber pushes; publisher replies */

/* Length of the RESP value at p, 0 when incomplete; *err set for '-'. */
static size_t resp_value(const char *p, size_t len, int *err)
{
    if (!len)
        return 0;
    const char *nl = memchr(p, '\n', len);
    if (!nl)
        return 0;
    size_t line = (size_t)(nl - p) + 1;
    long n = strtol(p + 1, NULL, 10);
    switch (p[0]) {
    case '-':
        if (err)
            *err = 1;
        /* fallthrough */
    case '+':
    case ':':
        return line;
    case '$':
        if (n < 0)
            return line;
        return len >= line + (size_t)n + 2 ? line + (size_t)n + 2 : 0;
    case '*': {
        size_t off = line;
        for (long i = 0; i < n; i++) {
            size_t v = resp_value(p + off, len - off, NULL);
            if (!v)
                return 0;
            off += v;
        }
        return off;
    }
    default:
        return line;
    }
}

static size_t resp_sub_parse(conn_t *c, char *p, size_t len)
{
    size_t off = 0;
    for (;;) {
        size_t v = resp_value(p + off, len - off, NULL);
        if (!v)
            break;
        const char *q = p + off, *end = q + v;
        off += v;
        /* *3 $7 message $n channel $n payload | *3 $9 subscribe ... */
        if (q[0] != '*')
            continue;
        const char *el[3];
        long ell[3];
        int k = 0;
        q = memchr(q, '\n', (size_t)(end - q)) + 1;
        while (k < 3 && q < end) {
            long n = strtol(q + 1, NULL, 10);
            const char *d = memchr(q, '\n', (size_t)(end - q)) + 1;
            el[k] = d;
            ell[k++] = q[0] == '$' ? n : 0;
            q = q[0] == '$' ? d + n + 2 : d;
        }
        if (k == 3 && ell[0] == 7 && memcmp(el[0], "message", 7) == 0)
            on_message(c, el[2], (size_t)ell[2]);
        else if (k >= 1 && ell[0] == 9 && memcmp(el[0], "subscribe", 9) == 0)
            c->ready = 1;
    }
    return off;
}

static uint32_t fifo_pop(conn_t *c)
{
    if (!c->fcount)
        return UINT32_MAX;
    uint32_t s = c->fifo[c->fhead];
    c->fhead = (c->fhead + 1) % FIFO_CAP;
    c->fcount--;
    return s;
}

static void pub_result(conn_t *c, int ok, const char *what, size_t wlen)
{
    uint32_t seq = fifo_pop(c);
    if (ok) {
        pub_ok++;
        return;
    }
    pub_err++;
    if (seq != UINT32_MAX && seq < maxseq)
        failed[seq >> 6] |= 1ull << (seq & 63);
    note_error("publish refused: %.*s", (int)(wlen > 120 ? 120 : wlen), what);
}

static size_t resp_pub_parse(conn_t *c, char *p, size_t len)
{
    size_t off = 0;
    for (;;) {
        int err = 0;
        size_t v = resp_value(p + off, len - off, &err);
        if (!v)
            break;
        pub_result(c, !err, p + off, v);
        off += v;
    }
    return off;
}

/* HTTP/1.1 answers to pipelined POSTs: Content-Length or chunked bodies. */
static size_t http_pub_parse(conn_t *c, char *p, size_t len)
{
    size_t off = 0;
    for (;;) {
        char *h = p + off, *e = memmem(h, len - off, "\r\n\r\n", 4);
        if (!e)
            break;
        size_t hl = (size_t)(e + 4 - h), body = 0, need;
        int status = atoi(h + 9), chunked = 0, close_after = 0;
        for (char *l = h; l < e; l = memchr(l, '\n', (size_t)(e - l)) + 1) {
            if (strncasecmp(l, "content-length:", 15) == 0)
                body = strtoul(l + 15, NULL, 10);
            else if (strncasecmp(l, "transfer-encoding:", 18) == 0 &&
                     memmem(l, (size_t)(e - l), "chunked", 7))
                chunked = 1;
            else if (strncasecmp(l, "connection:", 11) == 0 &&
                     strncasecmp(l + 11 + strspn(l + 11, " "), "close", 5) == 0)
                close_after = 1;
            if (!memchr(l, '\n', (size_t)(e - l)))
                break;
        }
        if (chunked) {
            size_t q = hl;
            for (;;) {
                char *nl = memmem(h + q, len - off - q, "\r\n", 2);
                if (!nl)
                    return off;
                size_t n = strtoul(h + q, NULL, 16);
                q = (size_t)(nl + 2 - h);
                if (len - off < q + n + 2)
                    return off;
                q += n + 2;
                if (!n)
                    break;
            }
            need = q;
        } else {
            need = hl + body;
            if (len - off < need)
                break;
        }
        pub_result(c, status >= 200 && status < 300, h, need);
        off += need;
        if (close_after) {
            c->reconnect = 1;
            break;
        }
    }
    return off;
}

/* ---- the read path: a shared scratch buffer, leftovers kept per conn */

static size_t parse(conn_t *c, char *p, size_t len)
{
    if (c->role == ROLE_PUB)
        return pub_kind == PUB_HTTP ? http_pub_parse(c, p, len) : resp_pub_parse(c, p, len);
    return sub_kind == SUB_WS ? ws_parse(c, p, len) : resp_sub_parse(c, p, len);
}

static void pub_reconnect(conn_t *c);

static void on_readable(conn_t *c)
{
    ssize_t r = read(c->fd, scratch, sizeof scratch);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (c->role == ROLE_PUB) {
            pub_reconnect(c);
            return;
        }
        conn_close(c, r == 0 ? "closed by the server" : "read failed");
        return;
    }
    now_ns = mono_ns();
    char *p = scratch;
    size_t len = (size_t)r;
    if (c->inlen) {
        if (c->inlen + len > c->incap) {
            c->incap = (c->inlen + len) * 2;
            c->in = xrealloc(c->in, c->incap);
        }
        memcpy(c->in + c->inlen, scratch, len);
        c->inlen += len;
        p = c->in;
        len = c->inlen;
    }
    size_t used = parse(c, p, len);
    if (c->state == ST_CLOSED)
        return;
    size_t left = len - used;
    if (left && p == scratch) {
        if (left > c->incap) {
            c->incap = left * 2;
            c->in = xrealloc(c->in, c->incap);
        }
        memcpy(c->in, scratch + used, left);
    } else if (left) {
        memmove(c->in, c->in + used, left);
    }
    c->inlen = left;
    if (!left && c->incap > 65536) {
        free(c->in);
        c->in = NULL;
        c->incap = 0;
    }
    if (c->reconnect)
        pub_reconnect(c);
}

static void on_writable(conn_t *c)
{
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t sl = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
        if (err) {
            if (c->role == ROLE_PUB)
                die("cannot connect the publisher: %s", strerror(err));
            conn_close(c, strerror(err));
            return;
        }
        c->state = ST_OPEN;
        if (c->role == ROLE_SUB)
            sub_hello(c);
        else
            c->ready = 1;
    }
    conn_flush(c);
}

static void loop_once(int timeout_ms)
{
    struct epoll_event ev[512];
    int n = epoll_wait(ep, ev, 512, timeout_ms);
    now_ns = mono_ns();
    for (int i = 0; i < n; i++) {
        conn_t *c = ev[i].data.ptr;
        if (c->state != ST_CLOSED && (ev[i].events & EPOLLOUT))
            on_writable(c);
        if (c->state != ST_CLOSED && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            on_readable(c);
    }
}

/* ---- publishing */

static void pub_reconnect(conn_t *c)
{
    /* Requests still unanswered on a closed connection are refused ones. */
    while (c->fcount)
        pub_result(c, 0, "connection closed", 17);
    conn_t keep = *c;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->role = ROLE_PUB;
    c->idx = keep.idx;
    c->fifo = keep.fifo;
    if (conn_start(c, &pub_addr))
        die("cannot reconnect the publisher");
}

static size_t json_message(char *buf, size_t cap, uint64_t seq, const char *content)
{
    return (size_t)snprintf(
        buf, cap,
        "{\"chat_id\":\"%s\",\"message\":{\"id\":\"%08x%016llx\",\"chat_id\":\"%s\","
        "\"sender\":{\"id\":\"000000000000000000000001\"},\"content\":\"%s\","
        "\"state\":\"sent\"}}",
        chat, (unsigned)(time(NULL)), (unsigned long long)seq, chat, content);
}

/* The event for seq: "content" is "<seq>:<ns>:" padded so that the event
 * object a subscriber receives is about `size` bytes. */
static void build(uint64_t seq, char *data, size_t cap, size_t *dlen, char *ev, size_t evcap,
                  size_t *evlen)
{
    char content[4096];
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    unsigned long long ms =
        (unsigned long long)rt.tv_sec * 1000 + (unsigned long long)rt.tv_nsec / 1000000;
    int n = snprintf(content, sizeof content, "%llu:%llu:", (unsigned long long)seq,
                     (unsigned long long)mono_ns());
    if (post_body) {
        while (n < 64 && n < (int)sizeof content - 1)
            content[n++] = 'x';
        content[n] = 0;
        *dlen =
            (size_t)snprintf(data, cap, "{\"chat_id\":\"%s\",\"content\":\"%s\"}", chat, content);
        return;
    }
    char idbuf[48];
    snprintf(idbuf, sizeof idbuf, "%llu-%llu", ms, (unsigned long long)seq);
    /* the wrapper {"id":"..","type":"message.created","data":} */
    size_t wrap = strlen(idbuf) + 41;
    size_t base = json_message(data, cap, seq, content) + wrap;
    size_t pad = base < (size_t)size ? (size_t)size - base : 0;
    while (pad-- && n < (int)sizeof content - 1)
        content[n++] = 'x';
    content[n] = 0;
    *dlen = json_message(data, cap, seq, content);
    if (ev)
        *evlen = (size_t)snprintf(
            ev, evcap, "{\"id\":\"%s\",\"type\":\"message.created\",\"data\":%s}", idbuf, data);
}

static void resp_arg(char **w, const char *s, size_t n)
{
    *w += sprintf(*w, "$%zu\r\n", n);
    memcpy(*w, s, n);
    *w += n;
    memcpy(*w, "\r\n", 2);
    *w += 2;
}

/* Sends the next seq on a publisher with room; 0 when none has room. */
static int publish_one(void)
{
    conn_t *c = NULL;
    for (int i = 0; i < pub_conns; i++) {
        conn_t *t = &pubs[(pub_rr + i) % pub_conns];
        if (t->state == ST_OPEN && t->ready && !t->reconnect && (int)t->fcount < pub_depth &&
            t->fcount < FIFO_CAP) {
            c = t;
            pub_rr = (pub_rr + i + 1) % pub_conns;
            break;
        }
    }
    if (!c)
        return 0;
    static char data[8192], ev[8192], cmd[20000];
    size_t dlen, evlen = 0;
    uint64_t seq = next_seq++;
    build(seq, data, sizeof data, &dlen, ev, sizeof ev, &evlen);
    char *w = cmd;
    if (pub_kind == PUB_EVAL) {
        char key[128], ret[16];
        int kl = snprintf(key, sizeof key, "hs:ev:chat:%s", chat);
        int rl = snprintf(ret, sizeof ret, "%d", retention);
        w += sprintf(w, "*8\r\n");
        resp_arg(&w, "EVAL", 4);
        resp_arg(&w, events_script, sizeof events_script - 1);
        resp_arg(&w, "2", 1);
        resp_arg(&w, key, (size_t)kl);
        resp_arg(&w, "hs:ev:last", 10);
        resp_arg(&w, "message.created", 15);
        resp_arg(&w, data, dlen);
        resp_arg(&w, ret, (size_t)rl);
    } else if (pub_kind == PUB_PUBLISH) {
        w += sprintf(w, "*3\r\n");
        resp_arg(&w, "PUBLISH", 7);
        resp_arg(&w, channel, strlen(channel));
        resp_arg(&w, ev, evlen);
    } else {
        const char *body = post_body ? data : ev;
        size_t bl = post_body ? dlen : evlen;
        w += sprintf(w,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n",
                     pub_path, host, pub_port, bl);
        if (pub_auth)
            w += sprintf(w, "Authorization: Bearer %s\r\n", pub_auth);
        w += sprintf(w, "\r\n");
        memcpy(w, body, bl);
        w += bl;
    }
    c->fifo[(c->fhead + c->fcount++) % FIFO_CAP] = (uint32_t)seq;
    pub_sent++;
    conn_send(c, cmd, (size_t)(w - cmd));
    return 1;
}

static int pubs_idle(void)
{
    for (int i = 0; i < pub_conns; i++)
        if (pubs[i].fcount)
            return 0;
    return 1;
}

/* ---- phases */

static int ready_subs(void)
{
    int n = 0;
    for (int i = 0; i < nconns; i++)
        n += subs[i].state != ST_CLOSED && subs[i].ready;
    return n;
}

static void run_for(double secs);

/* Opens the subscribers, at most `parallel` handshakes at a time; those
 * refused (a server still starting answers 503) are tried again, up to
 * three rounds. Returns the seconds it took. */
static double connect_all(void)
{
    uint64_t t0 = mono_ns(), deadline = t0 + (uint64_t)(connect_timeout * 1e9);
    int *todo = xrealloc(NULL, (size_t)nconns * sizeof *todo), ntodo = nconns;
    for (int i = 0; i < nconns; i++)
        todo[i] = i;
    for (int round = 0; round < 3 && ntodo && !stop_flag; round++) {
        if (round) {
            run_for(0.5);
            fprintf(stderr, "wsload %s: %d connections refused; trying them again\n", label, ntodo);
        }
        int started = 0;
        for (;;) {
            int pending = 0;
            for (int i = 0; i < started; i++)
                pending += subs[todo[i]].state != ST_CLOSED && !subs[todo[i]].ready;
            while (pending < parallel && started < ntodo) {
                conn_t *c = &subs[todo[started++]];
                if (conn_start(c, &sub_addr)) {
                    fail_connect++;
                    c->state = ST_CLOSED;
                    continue;
                }
                pending++;
            }
            if ((started == ntodo && pending == 0) || mono_ns() > deadline || stop_flag)
                break;
            loop_once(5);
        }
        int left = 0;
        for (int i = 0; i < ntodo; i++)
            if (subs[todo[i]].state == ST_CLOSED && !subs[todo[i]].ready)
                todo[left++] = todo[i];
        ntodo = left;
    }
    free(todo);
    return (double)(mono_ns() - t0) / 1e9;
}

static void run_for(double secs)
{
    uint64_t end = mono_ns() + (uint64_t)(secs * 1e9);
    while (mono_ns() < end && !stop_flag)
        loop_once(10);
}

static void print_close_codes(void)
{
    printf(" close_codes=");
    if (!nclose_codes)
        printf("none");
    for (int i = 0; i < nclose_codes; i++)
        printf("%s%d:%d", i ? "," : "", close_codes[i][0], close_codes[i][1]);
}

/* Connecting members of one chat makes the bridge tell each of them that
 * the others came online (presence): waits until no such event came for
 * 0.5 s (at most 15 s); returns the seconds waited. */
static double quiet(void)
{
    uint64_t q0 = mono_ns(), qlast = q0;
    while (mono_ns() - qlast < 500000000ull && mono_ns() - q0 < 15000000000ull && !stop_flag) {
        uint64_t o = others;
        loop_once(10);
        if (others != o)
            qlast = mono_ns();
    }
    return (double)(mono_ns() - q0) / 1e9;
}

static void idle_mode(void)
{
    long before = rss_pid ? rss_kb(rss_pid) : -1;
    cpu_t *cp = ncpu ? &cpus[0] : NULL;
    double s = connect_all();
    int ready = ready_subs();
    double q = quiet();
    uint64_t o0 = others;
    run_for(settle_s);
    long after = rss_pid ? rss_kb(rss_pid) : -1;
    double c0 = cp ? cpu_us(cp) : 0;
    run_for(hold_s);
    double c1 = cp ? cpu_us(cp) : 0;
    long after_hold = rss_pid ? rss_kb(rss_pid) : -1;
    int still = ready_subs();
    printf("wsload %s idle conns=%d ready=%d connect_s=%.2f connects_per_s=%.0f quiet_s=%.2f "
           "connect_events=%llu rss_before_kb=%ld rss_after_kb=%ld rss_after_hold_kb=%ld "
           "bytes_per_conn=%.0f hold_s=%.0f still_open=%d idle_cpu_pct=%.2f hold_events=%llu "
           "failed=%llu",
           label, nconns, ready, s, s > 0 ? ready / s : 0, q, (unsigned long long)o0, before, after,
           after_hold, ready && before >= 0 ? (double)(after - before) * 1024.0 / ready : 0, hold_s,
           still, hold_s > 0 ? (c1 - c0) / (hold_s * 1e4) : 0, (unsigned long long)(others - o0),
           (unsigned long long)fail_connect);
    print_close_codes();
    printf(" error=%s\n", first_error[0] ? first_error : "none");
}

/* Publishes at 20/s until every ready subscriber has had an event, so that
 * every subscription is in place before measuring. */
static void warmup(void)
{
    uint64_t t0 = mono_ns(), last = 0;
    int have = 0;
    while (mono_ns() - t0 < 10000000000ull && !stop_flag) {
        have = 0;
        for (int i = 0; i < nconns; i++)
            have += subs[i].state != ST_CLOSED && subs[i].ready && subs[i].delivered;
        if (have >= ready_subs() && pubs_idle() && next_seq > 0)
            break;
        if (now_ns - last >= 50000000ull && next_seq < 200 && publish_one())
            last = now_ns;
        loop_once(5);
    }
    run_for(0.3);
    printf("wsload %s warmup published=%llu receiving=%d of %d seconds=%.2f error=%s\n", label,
           (unsigned long long)next_seq, have, ready_subs(), (double)(mono_ns() - t0) / 1e9,
           first_error[0] ? first_error : "none");
    fflush(stdout);
}

/* One load point: publishes at P->rate for --seconds, waits up to --drain
 * for the last events, reads the CPU, then waits out any backlog and
 * prints the point's line. */
static void run_point(point_t *P)
{
    int nsubs = ready_subs();
    uint64_t cap = (uint64_t)P->rate * (uint64_t)seconds;
    double cpu0[MAX_CPU], cpu1[MAX_CPU];
    for (int k = 0; k < ncpu; k++)
        cpu0[k] = cpu_us(&cpus[k]);
    double self0 = self_cpu_us();
    uint64_t d0 = total_deliv, err0 = pub_err, dup0 = dups, closed0 = closed_subs, oth0 = others;
    P->s0 = next_seq;
    uint64_t start = now_ns = mono_ns(), end = start + (uint64_t)seconds * 1000000000ull, gen = 0;
    while (now_ns < end && !stop_flag) {
        uint64_t due = (uint64_t)((double)P->rate * (double)(now_ns - start) / 1e9);
        if (due > cap)
            due = cap;
        while (gen < due && publish_one())
            gen++;
        loop_once(1);
    }
    P->s1 = next_seq;
    uint64_t win = total_deliv - d0;
    double win_s = (double)(mono_ns() - start) / 1e9;
    uint64_t dstart = mono_ns(), dend = dstart + (uint64_t)(drain_s * 1e9);
    while (!(pubs_idle() && P->deliv >= (gen - (pub_err - err0)) * (uint64_t)nsubs) &&
           mono_ns() < dend && !stop_flag)
        loop_once(5);
    double drained = (double)(mono_ns() - dstart) / 1e9;
    double total_s = (double)(mono_ns() - start) / 1e9;
    uint64_t all = total_deliv - d0, bad = pub_err - err0;
    uint64_t expected = (gen - bad) * (uint64_t)nsubs, in_time = P->deliv;
    double self1 = self_cpu_us();
    for (int k = 0; k < ncpu; k++)
        cpu1[k] = cpu_us(&cpus[k]);
    /* A server that fell behind still owes a backlog: wait for it (while it
     * progresses, up to --late seconds) so that what it delivers late is
     * told apart from what it never delivers, and so that the next point
     * starts clean. Neither the rate nor the CPU figures count this wait. */
    uint64_t lend = mono_ns() + (uint64_t)(late_s * 1e9), lastp = mono_ns(), seen = P->deliv;
    while (P->deliv < expected && mono_ns() < lend && !stop_flag &&
           mono_ns() - lastp < 1000000000ull) {
        loop_once(5);
        if (P->deliv != seen) {
            seen = P->deliv;
            lastp = mono_ns();
        }
    }
    uint64_t late = P->deliv - in_time;
    uint64_t lost = expected > P->deliv ? expected - P->deliv : 0;
    printf(
        "wsload %s point rate=%d seconds=%d subs=%d sent=%llu pub_failed=%llu offered_per_s=%.0f "
        "delivered_per_s=%.0f expected=%llu received=%llu lost=%llu late=%llu dup=%llu "
        "closed=%llu p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f drain_s=%.2f "
        "deliveries_all=%llu other_events=%llu",
        label, P->rate, seconds, nsubs, (unsigned long long)gen, (unsigned long long)bad,
        (double)P->rate * nsubs, win / win_s, (unsigned long long)expected,
        (unsigned long long)in_time, (unsigned long long)lost, (unsigned long long)late,
        (unsigned long long)(dups - dup0), (unsigned long long)(closed_subs - closed0),
        hpct_ms(&P->h, 0.50), hpct_ms(&P->h, 0.99), hpct_ms(&P->h, 0.999), P->h.max / 1000.0,
        drained, (unsigned long long)all, (unsigned long long)(others - oth0));
    double tot = 0;
    for (int k = 0; k < ncpu; k++) {
        double d = cpu1[k] - cpu0[k];
        tot += d;
        printf(" cpu_%s_us_per_delivery=%.3f cpu_%s_pct=%.1f", cpus[k].name,
               all ? d / (double)all : 0, cpus[k].name, d / (total_s * 1e4));
    }
    printf(" cpu_us_per_delivery=%.3f cpu_pct=%.1f loader_cpu_pct=%.1f error=%s\n",
           all ? tot / (double)all : 0, tot / (total_s * 1e4), (self1 - self0) / (total_s * 1e4),
           first_error[0] ? first_error : "none");
    fflush(stdout);
}

static void fanout_mode(void)
{
    double s = connect_all();
    int ready = ready_subs();
    uint64_t o0 = others;
    double q = quiet();
    printf("wsload %s connect conns=%d ready=%d connect_s=%.2f settle_s=%.2f other_events=%llu "
           "failed=%llu error=%s\n",
           label, nconns, ready, s, q, (unsigned long long)(others - o0),
           (unsigned long long)fail_connect, first_error[0] ? first_error : "none");
    fflush(stdout);
    if (ready < nconns)
        die("only %d of %d subscribers connected (%s)", ready, nconns,
            first_error[0] ? first_error : "no error seen");
    for (int i = 0; i < pub_conns; i++) {
        pubs[i].role = ROLE_PUB;
        pubs[i].idx = i;
        pubs[i].fifo = xrealloc(NULL, FIFO_CAP * sizeof *pubs[i].fifo);
        if (conn_start(&pubs[i], &pub_addr))
            die("cannot connect the publisher to port %d", pub_port);
    }
    warmup();
    next_seq = 256; /* the points' seqs start here, after the warm-up's */
    for (int i = 0; i < npoints && !stop_flag; i++)
        run_point(&points[i]);
    printf(
        "wsload %s done published=%llu publish_ok=%llu publish_failed=%llu others=%llu dups=%llu",
        label, (unsigned long long)pub_sent, (unsigned long long)pub_ok,
        (unsigned long long)pub_err, (unsigned long long)others, (unsigned long long)dups);
    print_close_codes();
    printf(" error=%s\n", first_error[0] ? first_error : "none");
}

/* ---- options */

static void usage(void);

static void load_tokens(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f)
        die("cannot read %s: %s", file, strerror(errno));
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!*line)
            continue;
        tokens = xrealloc(tokens, (size_t)(ntokens + 1) * sizeof *tokens);
        tokens[ntokens++] = strdup(line);
    }
    fclose(f);
}

static void add_cpu(const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || ncpu == MAX_CPU)
        usage();
    cpu_t *c = &cpus[ncpu++];
    snprintf(c->name, sizeof c->name, "%.*s", (int)(eq - arg), arg);
    for (const char *p = eq + 1; *p && c->npids < 64;) {
        int pid = atoi(p);
        if (pid > 0)
            c->pids[c->npids++] = pid;
        p += strcspn(p, ",");
        if (*p)
            p++;
    }
}

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* The options, declared once: name, kind, where the value goes, help. */
enum { O_INT, O_DBL, O_STR, O_FLAG, O_FN };
static const char *sub_s = "ws", *pub_s = "none", *rates_s;
static const struct opt {
    const char *name;
    int kind;
    void *ptr;
    void (*fn)(const char *);
    const char *help;
} options[] = {
    {"sub", O_STR, &sub_s, NULL, "ws|resp: WebSocket clients or Redis SUBSCRIBE connections"},
    {"host", O_STR, &host, NULL, "IPv4 address of the servers (127.0.0.1)"},
    {"port", O_INT, &port, NULL, "subscribers' port"},
    {"path", O_STR, &path, NULL, "WebSocket path; %s becomes the connection's token"},
    {"tokens", O_FN, NULL, load_tokens, "file of tokens, one a line, used in turn"},
    {"channel", O_STR, &channel, NULL, "Redis channel (resp subscribers, publish)"},
    {"conns", O_INT, &nconns, NULL, "subscriber connections (1)"},
    {"parallel", O_INT, &parallel, NULL, "handshakes under way at once (128)"},
    {"expect-hello", O_FLAG, &expect_hello, NULL, "ready at the bridge's hello, not the 101"},
    {"connect-timeout", O_DBL, &connect_timeout, NULL, "seconds to connect them all (120)"},
    {"rss-pid", O_INT, &rss_pid, NULL, "idle: the process whose RSS is read"},
    {"settle", O_DBL, &settle_s, NULL, "idle: seconds before reading the RSS (2)"},
    {"hold", O_DBL, &hold_s, NULL, "idle: seconds to hold the connections after (0)"},
    {"pub", O_STR, &pub_s, NULL, "eval|publish|http: the publish path"},
    {"pub-port", O_INT, &pub_port, NULL, "Redis or HTTP port of the publisher"},
    {"pub-path", O_STR, &pub_path, NULL, "http: the POST path"},
    {"pub-auth", O_STR, &pub_auth, NULL, "http: a bearer token"},
    {"pub-conns", O_INT, &pub_conns, NULL, "publisher connections (1)"},
    {"pub-depth", O_INT, &pub_depth, NULL, "requests in flight per publisher connection"},
    {"post-body", O_FLAG, &post_body, NULL, "http: {chat_id, content} (the API) not the event"},
    {"chat", O_STR, &chat, NULL, "chat id of the events (eval: the channel hs:ev:chat:<id>)"},
    {"retention", O_INT, &retention, NULL, "eval: the script's retention seconds (600)"},
    {"rates", O_STR, &rates_s, NULL, "messages/s of the load points, e.g. 100,200,500"},
    {"seconds", O_INT, &seconds, NULL, "seconds per load point (10)"},
    {"drain", O_DBL, &drain_s, NULL, "seconds a point's last events may take (3)"},
    {"late", O_DBL, &late_s, NULL, "seconds to wait for a backlog after that (10)"},
    {"size", O_INT, &size, NULL, "bytes of each event (200)"},
    {"cpu", O_FN, NULL, add_cpu, "NAME=PID[,PID...]: processes whose CPU is read (repeatable)"},
    {"label", O_STR, &label, NULL, "name printed in the report lines"},
};
#define NOPTIONS (sizeof options / sizeof options[0])

static void usage(void)
{
    fprintf(stderr, "usage: wsload --port N [options]; fan-out with --rates, else idle\n");
    for (size_t i = 0; i < NOPTIONS; i++)
        fprintf(stderr, "  --%-16s %s\n", options[i].name, options[i].help);
    exit(2);
}

static void parse_options(int argc, char **argv)
{
    struct option lo[NOPTIONS + 1];
    memset(lo, 0, sizeof lo);
    for (size_t i = 0; i < NOPTIONS; i++)
        lo[i] = (struct option){options[i].name, options[i].kind != O_FLAG, NULL, 0};
    int o, k;
    while ((o = getopt_long(argc, argv, "", lo, &k)) != -1) {
        if (o != 0)
            usage();
        const struct opt *d = &options[k];
        switch (d->kind) {
        case O_INT:
            *(int *)d->ptr = atoi(optarg);
            break;
        case O_DBL:
            *(double *)d->ptr = atof(optarg);
            break;
        case O_STR:
            *(const char **)d->ptr = optarg;
            break;
        case O_FLAG:
            *(int *)d->ptr = 1;
            break;
        default:
            d->fn(optarg);
            break;
        }
    }
    sub_kind = strcmp(sub_s, "resp") == 0 ? SUB_RESP : SUB_WS;
    pub_kind = strcmp(pub_s, "eval") == 0      ? PUB_EVAL
               : strcmp(pub_s, "publish") == 0 ? PUB_PUBLISH
               : strcmp(pub_s, "http") == 0    ? PUB_HTTP
                                               : PUB_NONE;
    for (const char *p = rates_s; p && *p && npoints < MAX_POINTS;) {
        points[npoints++].rate = atoi(p);
        p += strcspn(p, ",");
        if (*p)
            p++;
    }
}

int main(int argc, char **argv)
{
    parse_options(argc, argv);
    if (!port || nconns < 1 || parallel < 1 || pub_conns < 1 || pub_depth < 1 || seconds < 1)
        usage();
    if (npoints && (pub_kind == PUB_NONE || !pub_port))
        usage();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)nconns + 64)
            die("%d connections need ulimit -n above %llu", nconns,
                (unsigned long long)rl.rlim_cur);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    srand((unsigned)mono_ns());
    sub_addr.sin_family = pub_addr.sin_family = AF_INET;
    sub_addr.sin_port = htons((uint16_t)port);
    pub_addr.sin_port = htons((uint16_t)pub_port);
    if (inet_pton(AF_INET, host, &sub_addr.sin_addr) != 1)
        die("--host must be an IPv4 address");
    pub_addr.sin_addr = sub_addr.sin_addr;
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll: %s", strerror(errno));
    subs = calloc((size_t)nconns, sizeof *subs);
    pubs = calloc((size_t)pub_conns, sizeof *pubs);
    if (!subs || !pubs)
        die("out of memory");
    for (int i = 0; i < npoints; i++)
        maxseq += (uint64_t)points[i].rate * (uint64_t)seconds;
    if (npoints) {
        maxseq += 256 + 64;
        failed = calloc(maxseq / 64 + 1, 8);
        if (!failed)
            die("out of memory");
    }
    for (int i = 0; i < nconns; i++) {
        subs[i].idx = i;
        subs[i].fd = -1;
        subs[i].role = ROLE_SUB;
        if (maxseq && !(subs[i].seen = calloc(maxseq / 64 + 1, 8)))
            die("out of memory");
    }
    if (npoints)
        fanout_mode();
    else
        idle_mode();
    return stop_flag ? 130 : 0;
}

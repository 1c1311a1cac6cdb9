/* Sending a blob's bytes from the app itself (sendfile_header = none), for
 * a web server without X-Sendfile: what lighttpd does for an X-Sendfile
 * answer (ETag, Last-Modified, If-None-Match, If-Modified-Since, one Range,
 * If-Range), in constant memory: one fixed buffer, read with pread. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hs/files_send.h"
#include "hs/log.h"

/* 256 KiB a read: few system calls per byte, and the whole of what one
 * download holds in this process. */
#define STREAM_BUF (256 * 1024)

int hs_etag_listed(const char *list, const char *tag)
{
    size_t tn = strlen(tag);
    for (const char *p = list; p && *p;) {
        p += strspn(p, " \t,");
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (!end)
            return 0;
        if ((size_t)(end + 1 - p) == tn && memcmp(p, tag, tn) == 0)
            return 1;
        p = end + 1;
    }
    return 0;
}

int64_t hs_http_date_parse(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm) : NULL;
    return end && *end == '\0' ? (int64_t)timegm(&tm) : -1;
}

int hs_range_parse(const char *h, int64_t size, int64_t *from, int64_t *to)
{
    if (!h || strncmp(h, "bytes=", 6) != 0)
        return 0;
    const char *p = h + 6;
    p += strspn(p, " \t");
    if (strchr(p, ','))
        return 0;
    char *end;
    if (*p == '-') {
        if (!p[1] || strspn(p + 1, "0123456789") != strlen(p + 1) || strlen(p + 1) > 18)
            return 0;
        int64_t n = strtoll(p + 1, &end, 10);
        if (n == 0 || size == 0)
            return -1;
        *from = n >= size ? 0 : size - n;
        *to = size - 1;
        return 1;
    }
    size_t d = strspn(p, "0123456789");
    if (d == 0 || d > 18 || p[d] != '-')
        return 0;
    int64_t a = strtoll(p, &end, 10), b = size - 1;
    const char *q = p + d + 1;
    q += strspn(q, " \t");
    if (*q) {
        size_t e = strspn(q, "0123456789");
        if (e == 0 || e > 18 || q[e + strspn(q + e, " \t")] != '\0')
            return 0;
        b = strtoll(q, &end, 10);
        if (b < a)
            return 0;
        if (b > size - 1)
            b = size - 1;
    }
    if (a >= size)
        return -1;
    *from = a;
    *to = b;
    return 1;
}

/* Writes [from, to] of fd to the reply: 0, or -1 when the client (or the
 * web server) went away or the blob could not be read; then the reply is
 * cut short, which the client sees as a short body. */
static int copy_out(hs_req_t *req, int fd, int64_t from, int64_t to)
{
    char *buf = malloc(STREAM_BUF);
    int rc = 0;
    if (!buf)
        return -1;
    for (int64_t off = from; off <= to && rc == 0;) {
        size_t want = (size_t)(to - off + 1) < STREAM_BUF ? (size_t)(to - off + 1) : STREAM_BUF;
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            hs_log_error(req->ctx, "%s %s: reading the blob at %" PRId64 ": %s", req->method,
                         req->path, off, n < 0 ? strerror(errno) : "it is shorter than its size");
            rc = -1;
        } else if (hs_reply_write(req, buf, (size_t)n)) {
            rc = -1; /* the peer is gone: stop, this process serves the next request */
        } else {
            off += n;
        }
    }
    free(buf);
    return rc;
}

void hs_file_stream(hs_req_t *req, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        /* The row exists and its blob does not: lighttpd answers an
         * X-Sendfile to a missing file with 404 too. */
        hs_log_error(req->ctx, "%s %s: blob %s: %s", req->method, req->path, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        hs_reply_fail(req, HS_ENOTFOUND, "not_found", "The file's bytes are missing");
        return;
    }
    int64_t size = (int64_t)st.st_size;
    /* Strong validators from the blob itself, as lighttpd makes them for an
     * X-Sendfile answer (inode, size, modification time): a blob rewritten
     * in place gets a new ETag. */
    char etag[80], lastmod[32];
    snprintf(etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st.st_ino,
             (uint64_t)size, (uint64_t)st.st_mtim.tv_sec * 1000000000u + st.st_mtim.tv_nsec);
    hs_http_date((int64_t)st.st_mtim.tv_sec * 1000, lastmod);
    hs_reply_header(req, "ETag", etag);
    hs_reply_header(req, "Last-Modified", lastmod);
    hs_reply_header(req, "Accept-Ranges", "bytes");

    /* RFC 9110 13.2.2: If-None-Match first; If-Modified-Since only without it. */
    const char *inm = hs_req_header(req, "HTTP_IF_NONE_MATCH");
    const char *ims = hs_req_header(req, "HTTP_IF_MODIFIED_SINCE");
    int64_t since = inm ? -1 : hs_http_date_parse(ims);
    if ((inm && hs_etag_listed(inm, etag)) || (since >= 0 && (int64_t)st.st_mtim.tv_sec <= since)) {
        close(fd);
        hs_reply_empty(req, 304);
        return;
    }

    /* If-Range: the range only while the client's copy is this one (an
     * exact ETag, strong comparison, or exactly this Last-Modified);
     * otherwise the whole file. */
    int64_t from = 0, to = size - 1;
    const char *ir = hs_req_header(req, "HTTP_IF_RANGE");
    int ranged = ir && strcmp(ir, etag) != 0 && strcmp(ir, lastmod) != 0
                     ? 0
                     : hs_range_parse(hs_req_header(req, "HTTP_RANGE"), size, &from, &to);
    char v[96];
    if (ranged < 0) {
        close(fd);
        snprintf(v, sizeof v, "bytes */%" PRId64, size);
        hs_reply_header(req, "Content-Range", v);
        hs_reply_header(req, "Content-Length", "0");
        hs_reply_empty(req, 416);
        return;
    }
    if (ranged) {
        snprintf(v, sizeof v, "bytes %" PRId64 "-%" PRId64 "/%" PRId64, from, to, size);
        hs_reply_header(req, "Content-Range", v);
    }
    snprintf(v, sizeof v, "%" PRId64, size ? to - from + 1 : 0);
    hs_reply_header(req, "Content-Length", v);
    hs_reply_empty(req, ranged ? 206 : 200);
    if (strcmp(req->method, "HEAD") != 0 && !req->header_refused && size > 0) {
        posix_fadvise(fd, (off_t)from, (off_t)(to - from + 1), POSIX_FADV_SEQUENTIAL);
        copy_out(req, fd, from, to);
    }
    close(fd);
}

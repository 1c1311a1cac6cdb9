/* Streaming multipart/form-data reader (RFC 7578, framing from RFC 2046).
 *
 * The body is consumed through a fixed 64 KiB window (m->buf). Part bodies
 * are handed out straight from the window: the delimiter "\r\n--boundary"
 * is found with memmem, and only a tail that could be the start of a
 * delimiter split across two reads is held back, so the source may deliver
 * its bytes in pieces of any size, down to one byte per call. */
#include "hs/multipart.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Values of m->state. PARTEND means the current part's body is over and
 * buf[start] is the first byte of the delimiter that ended it; BAD sticks
 * after malformed or truncated input so that every later call agrees. */
enum { ST_PREAMBLE = 0, ST_BODY, ST_PARTEND, ST_DONE, ST_BAD };

#define BOUNDARY_MAX 70
/* A part's header block, including its closing empty line. Form parts carry
 * one or two short headers; the cap keeps a hostile client from making us
 * buffer (and scan) an unbounded amount before the first body byte. */
#define HEADER_MAX 8192
/* Transport padding allowed after a boundary before its CRLF (RFC 2046). */
#define PADDING_MAX 256

static int malformed(hs_err_t *err, const char *msg)
{
    return hs_err_set(err, HS_EINVAL, "malformed_multipart", "Malformed multipart body: %s", msg);
}

static int bad(hs_multipart_t *m, hs_err_t *err, const char *msg)
{
    m->state = ST_BAD;
    return malformed(err, msg);
}

/* Makes at least want bytes available at buf[start] unless the source ends
 * first; returns how many are available. The unread bytes are moved to the
 * front only when the space behind them is short: always when want does not
 * fit, and also when few bytes are pending (a cheap move) so that the next
 * read() call gets most of the buffer instead of a sliver at its end.
 * Callers ask for at most HS_MULTIPART_BUF bytes, so after the move there is
 * always room to read into: the loop below runs until want or the end. */
static size_t fill(hs_multipart_t *m, size_t want)
{
    size_t avail = m->end - m->start;
    if (avail >= want || m->eof)
        return avail;
    if (m->start > 0 && (m->start + want > HS_MULTIPART_BUF || avail <= HS_MULTIPART_BUF / 16)) {
        memmove(m->buf, m->buf + m->start, avail);
        m->start = 0;
        m->end = avail;
    }
    while (avail < want && m->end < HS_MULTIPART_BUF) {
        size_t r = m->read(m->src, m->buf + m->end, HS_MULTIPART_BUF - m->end);
        if (r == 0) {
            m->eof = 1;
            break;
        }
        m->end += r;
        avail += r;
    }
    return avail;
}

/* Length of the longest suffix of the unread bytes that is a proper prefix
 * of the delimiter, i.e. what must wait for more input before it can be
 * told apart from body bytes. Every delimiter starts with '\r', so only the
 * CRs among the last dlen-1 bytes are candidates. */
static size_t partial_tail(const hs_multipart_t *m)
{
    size_t avail = m->end - m->start;
    size_t k = avail < m->dlen - 1 ? avail : m->dlen - 1;
    const char *end = m->buf + m->end;
    const char *p = end - k;
    while ((p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
        if (memcmp(p, m->delim, (size_t)(end - p)) == 0)
            return (size_t)(end - p);
        p++;
    }
    return 0;
}

/* How many of the next (at most n) unread bytes are body bytes of the
 * current part, refilling as needed; 0 when the part is over (state becomes
 * PARTEND) or the input ended inside it (state becomes BAD). The search is
 * limited to n + dlen - 1 bytes so that small reads do not rescan the whole
 * window each time. */
static size_t body_span(hs_multipart_t *m, size_t n)
{
    if (m->state != ST_BODY || n == 0)
        return 0;
    for (;;) {
        size_t avail = m->end - m->start;
        if (avail > 0) {
            const char *base = m->buf + m->start;
            size_t w = avail;
            if (n < SIZE_MAX - m->dlen && n + m->dlen - 1 < w)
                w = n + m->dlen - 1;
            const char *hit = memmem(base, w, m->delim, m->dlen);
            if (hit == base) {
                m->state = ST_PARTEND;
                return 0;
            }
            if (hit)
                return (size_t)(hit - base) < n ? (size_t)(hit - base) : n;
            if (w < avail)
                return n; /* no delimiter can start in the first w - dlen + 1 = n bytes */
            size_t safe = avail - partial_tail(m);
            if (safe > 0)
                return safe < n ? safe : n;
        }
        /* Everything pending may be the start of a delimiter. */
        if (m->eof) {
            m->state = ST_BAD;
            return 0;
        }
        fill(m, avail + 1);
    }
}

/* ---- header and parameter syntax ---- */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && is_ows(*p))
        p++;
    return p;
}

/* Whether [p, end) equals the lower-case word w, ignoring ASCII case. */
static int span_is(const char *p, const char *end, const char *w)
{
    size_t n = strlen(w);
    return (size_t)(end - p) == n && strncasecmp(p, w, n) == 0;
}

typedef struct param {
    const char *name, *name_end;
    const char *val, *val_end; /* raw: without the quotes, escapes undone by unquote() */
    int quoted;
} param_t;

/* Parses the next `; name=value` of a header value at *pp. Returns 1 with
 * *pr filled, 0 at the end (a trailing ';' is tolerated), -1 on bad syntax.
 * Values are tokens or quoted strings; RFC 2231 `name*=` forms are not
 * decoded and just come through as parameters with a '*' in their name. */
static int next_param(const char **pp, const char *end, param_t *pr)
{
    const char *p = skip_ows(*pp, end);
    if (p == end)
        return 0;
    if (*p != ';')
        return -1;
    p = skip_ows(p + 1, end);
    if (p == end)
        return 0;
    pr->name = p;
    while (p < end && *p != '=' && *p != ';' && *p != '"' && !is_ows(*p))
        p++;
    pr->name_end = p;
    p = skip_ows(p, end);
    if (pr->name == pr->name_end || p == end || *p != '=')
        return -1;
    p = skip_ows(p + 1, end);
    if (p < end && *p == '"') {
        pr->quoted = 1;
        pr->val = ++p;
        while (p < end && *p != '"')
            p += (*p == '\\' && p + 1 < end) ? 2 : 1;
        if (p == end)
            return -1;
        pr->val_end = p++;
    } else {
        pr->quoted = 0;
        pr->val = p;
        while (p < end && *p != ';' && !is_ows(*p))
            p++;
        pr->val_end = p;
        if (pr->val == pr->val_end)
            return -1;
    }
    *pp = p;
    return 1;
}

/* Copies a parameter value into dst (cap bytes, always NUL-terminated,
 * truncated if need be) and returns its full decoded length, so callers
 * detect overlong values by comparing with their limit. In quoted strings
 * only \" and \\ are escapes: curl sends those, while browsers send a
 * Windows path's backslashes bare, which then come through unchanged. */
static size_t unquote(char *dst, size_t cap, const param_t *pr)
{
    size_t n = 0;
    for (const char *p = pr->val; p < pr->val_end; p++) {
        char c = *p;
        if (pr->quoted && c == '\\' && p + 1 < pr->val_end && (p[1] == '"' || p[1] == '\\'))
            c = *++p;
        if (n + 1 < cap)
            dst[n] = c;
        n++;
    }
    dst[n < cap ? n : cap - 1] = '\0';
    return n;
}

/* RFC 2046 allows fewer characters; any printable ASCII is accepted here,
 * but not a trailing space, which the RFC forbids because transport padding
 * could not be told apart from it. */
static int boundary_ok(const char *b, size_t n)
{
    if (n < 1 || n > BOUNDARY_MAX || b[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] > 0x7e)
            return 0;
    return 1;
}

int hs_multipart_open(hs_multipart_t *m, const char *content_type, hs_read_fn read, void *src,
                      hs_err_t *err)
{
    static const char type[] = "multipart/form-data";
    m->read = read;
    m->src = src;
    m->start = m->end = 0;
    m->eof = 0;
    m->dlen = 0;
    m->name[0] = m->filename[0] = '\0';
    m->has_filename = 0;
    m->state = ST_BAD; /* until the boundary is known */

    if (!content_type)
        return hs_err_set(err, HS_EINVAL, "not_multipart", "Expected multipart/form-data");
    const char *end = content_type + strlen(content_type);
    const char *p = skip_ows(content_type, end);
    size_t tlen = sizeof type - 1;
    if ((size_t)(end - p) < tlen || strncasecmp(p, type, tlen) != 0 ||
        (p + tlen < end && p[tlen] != ';' && !is_ows(p[tlen])))
        return hs_err_set(err, HS_EINVAL, "not_multipart", "Expected multipart/form-data");
    p += tlen;

    char b[BOUNDARY_MAX + 1];
    size_t blen = 0;
    int seen = 0, r;
    param_t pr;
    while ((r = next_param(&p, end, &pr)) > 0) {
        if (!span_is(pr.name, pr.name_end, "boundary"))
            continue;
        if (seen++)
            return hs_err_set(err, HS_EINVAL, "bad_boundary", "Duplicate multipart boundary");
        blen = unquote(b, sizeof b, &pr);
    }
    if (r < 0)
        return hs_err_set(err, HS_EINVAL, "bad_boundary", "Malformed Content-Type parameters");
    if (!seen || !boundary_ok(b, blen))
        return hs_err_set(err, HS_EINVAL, "bad_boundary",
                          "The multipart boundary must be 1 to %d printable characters",
                          BOUNDARY_MAX);
    memcpy(m->delim, "\r\n--", 4);
    memcpy(m->delim + 4, b, blen);
    m->delim[4 + blen] = '\0';
    m->dlen = 4 + blen;
    m->state = ST_PREAMBLE;
    return 0;
}

/* Reads Content-Disposition: form-data; name=...; filename=... into m. */
static int parse_disposition(hs_multipart_t *m, const char *p, const char *end, hs_err_t *err)
{
    p = skip_ows(p, end);
    const char *t = p;
    while (p < end && *p != ';' && !is_ows(*p))
        p++;
    if (!span_is(t, p, "form-data"))
        return bad(m, err, "part disposition is not form-data");
    int has_name = 0, r;
    param_t pr;
    while ((r = next_param(&p, end, &pr)) > 0) {
        if (span_is(pr.name, pr.name_end, "name")) {
            if (has_name++)
                return bad(m, err, "duplicate name parameter");
            if (unquote(m->name, sizeof m->name, &pr) >= sizeof m->name)
                return bad(m, err, "part name too long");
        } else if (span_is(pr.name, pr.name_end, "filename")) {
            if (m->has_filename++)
                return bad(m, err, "duplicate filename parameter");
            if (unquote(m->filename, sizeof m->filename, &pr) >= sizeof m->filename)
                return bad(m, err, "file name too long");
        }
    }
    if (r < 0)
        return bad(m, err, "bad Content-Disposition parameters");
    if (!has_name || m->name[0] == '\0')
        return bad(m, err, "part without a name");
    return 0;
}

/* Parses the header block of a part; buf[start] is just past the CRLF that
 * ends the boundary line. The whole block is gathered in the window first
 * (it is at most HEADER_MAX bytes), then parsed line by line. */
static int parse_headers(hs_multipart_t *m, hs_err_t *err)
{
    size_t scanned = 0, blk;
    m->name[0] = m->filename[0] = '\0';
    m->has_filename = 0;
    for (;;) {
        size_t avail = m->end - m->start;
        const char *base = m->buf + m->start;
        if (avail >= 2 && base[0] == '\r' && base[1] == '\n')
            return bad(m, err, "part without headers");
        size_t lim = avail < HEADER_MAX ? avail : HEADER_MAX;
        size_t from = scanned > 3 ? scanned - 3 : 0;
        const char *hit = lim > from ? memmem(base + from, lim - from, "\r\n\r\n", 4) : NULL;
        if (hit) {
            blk = (size_t)(hit - base) + 2; /* keeps the last header's CRLF */
            break;
        }
        if (avail >= HEADER_MAX)
            return bad(m, err, "part header block too large");
        if (m->eof)
            return bad(m, err, "input ends inside part headers");
        scanned = avail;
        fill(m, avail + 1);
    }

    const char *p = m->buf + m->start, *end = p + blk;
    if (memchr(p, '\0', blk))
        return bad(m, err, "NUL byte in part headers");
    int has_cd = 0;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2); /* found: the block ends so */
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || memchr(p, '\r', (size_t)(eol - p)) || memchr(p, '\n', (size_t)(eol - p)))
            return bad(m, err, "bad part header line");
        const char *ne = colon;
        while (ne > p && is_ows(ne[-1]))
            ne--;
        if (span_is(p, ne, "content-disposition")) {
            if (has_cd++)
                return bad(m, err, "duplicate Content-Disposition");
            int rc = parse_disposition(m, colon + 1, eol, err);
            if (rc)
                return rc;
        }
        p = eol + 2;
    }
    if (!has_cd)
        return bad(m, err, "part without a name");
    m->start += blk + 2;
    m->state = ST_BODY;
    return 1;
}

/* Handles what follows a boundary: "--" closes the body, optional padding
 * and CRLF open the next part. buf[start] is just past the boundary. */
static int after_boundary(hs_multipart_t *m, hs_err_t *err)
{
    if (fill(m, 2) < 2)
        return bad(m, err, "input ends after a boundary");
    if (m->buf[m->start] == '-' && m->buf[m->start + 1] == '-') {
        /* The epilogue, if any, is never read. */
        m->start += 2;
        m->state = ST_DONE;
        return 0;
    }
    for (int pad = 0; fill(m, 1) >= 1 && is_ows(m->buf[m->start]); pad++) {
        if (pad == PADDING_MAX)
            return bad(m, err, "too much padding after a boundary");
        m->start++;
    }
    if (fill(m, 2) < 2 || m->buf[m->start] != '\r' || m->buf[m->start + 1] != '\n')
        return bad(m, err, "boundary not followed by CRLF");
    m->start += 2;
    return parse_headers(m, err);
}

int hs_multipart_next(hs_multipart_t *m, hs_err_t *err)
{
    if (m->state == ST_PREAMBLE) {
        /* The first boundary has no CRLF in front when there is no preamble;
         * otherwise the preamble is skipped like a body up to "\r\n--b". */
        size_t bl = m->dlen - 2;
        if (fill(m, bl) >= bl && memcmp(m->buf + m->start, m->delim + 2, bl) == 0) {
            m->start += bl;
            return after_boundary(m, err);
        }
        m->state = ST_BODY;
    }
    if (m->state == ST_BODY) {
        size_t s;
        while ((s = body_span(m, SIZE_MAX)) > 0)
            m->start += s;
    }
    switch (m->state) {
    case ST_PARTEND:
        m->start += m->dlen;
        return after_boundary(m, err);
    case ST_DONE:
        return 0;
    default:
        return malformed(err, "input ends before the closing boundary");
    }
}

size_t hs_multipart_read(hs_multipart_t *m, void *buf, size_t n)
{
    /* Keeps going across refills so that large reads come back large. */
    size_t got = 0, s;
    while (got < n && (s = body_span(m, n - got)) > 0) {
        memcpy((char *)buf + got, m->buf + m->start, s);
        m->start += s;
        got += s;
    }
    return got;
}

int hs_multipart_read_field(hs_multipart_t *m, char *buf, size_t max, hs_err_t *err)
{
    size_t got = hs_multipart_read(m, buf, max);
    buf[got] = '\0';
    char extra;
    if (got == max && hs_multipart_read(m, &extra, 1) == 1) {
        buf[0] = '\0';
        return hs_err_set(err, HS_EINVAL, "field_too_long",
                          "Form field \"%s\" is longer than %zu bytes", m->name, max);
    }
    if (m->state == ST_BAD)
        return malformed(err, "input ends inside a part");
    /* A NUL would silently cut the string short for every later user. */
    if (memchr(buf, '\0', got)) {
        buf[0] = '\0';
        return malformed(err, "NUL byte in a form field");
    }
    return 0;
}

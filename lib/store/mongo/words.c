/* Search words cut, matched and shown as SQLite's FTS5 does (words.h).
 *
 * The tokenizer is FTS5's `unicode61 remove_diacritics 2` as its
 * documentation and behaviour define it: ASCII letters and digits are word
 * characters (A-Z lowercased), other ASCII bytes separate; above ASCII the
 * table fold.c, measured on SQLite itself for every code point, says what a
 * character is (a separator, a word character and what it folds to, or a
 * diacritic dropped inside a word and separating elsewhere). Malformed
 * UTF-8 is read as FTS5 reads it (a lead byte takes every continuation byte
 * after it; what is left is U+FFFD, a separator).
 *
 * The snippet follows FTS5's snippet() of SQLite 3.40: each hit (and each
 * sentence start before it) is scored as the start of a window of 12 words
 * (1000 for each distinct phrase in it, 1 for a repeat, +100 for a sentence
 * start, +120 at the text's start), the best window is centred on its hits
 * within the text, hits that overlap are marked as one, and "…" stands for
 * the cut text at either end. */
#include "words.h"

#include <stdint.h>
#include <string.h>

#include "fold.h"
#include "hs/util.h"

/* FTS5's READ_UTF8: the code point at *p (< end), advancing *p. */
static uint32_t read_utf8(const unsigned char **p, const unsigned char *end)
{
    uint32_t c = *(*p)++;
    if (c < 0xC0)
        return c;
    c = c < 0xE0   ? c - 0xC0
        : c < 0xF0 ? c - 0xE0
        : c < 0xF8 ? c - 0xF0
        : c < 0xFC ? c - 0xF8
        : c < 0xFE ? c - 0xFC
                   : 0;
    while (*p < end && (**p & 0xC0) == 0x80)
        c = (c << 6) + (0x3F & *(*p)++);
    if (c < 0x80 || (c & 0xFFFFF800) == 0xD800 || (c & 0xFFFFFFFE) == 0xFFFE)
        c = 0xFFFD;
    return c;
}

/* What FTS5 does with code point c >= 0x80: -1 a separator, 0 a diacritic
 * (dropped inside a word, a separator at its start), else the folded c. */
static int64_t fold(uint32_t c)
{
    size_t lo = 0, hi = hs__fold_nranges;
    while (hi - lo > 1) { /* the last range starting at or below c */
        size_t mid = (lo + hi) / 2;
        if (hs__fold_ranges[mid].lo <= c)
            lo = mid;
        else
            hi = mid;
    }
    int32_t d = hs__fold_ranges[lo].d;
    if (c > 0x10FFFF || d == HS__FOLD_SEP)
        return -1;
    if (d == HS__FOLD_GONE)
        return 0;
    if (d == HS__FOLD_PAIRS)
        return ((c - hs__fold_ranges[lo].lo) & 1) ? c : c + 1;
    return (int64_t)c + d;
}

static char *put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        *o++ = (char)c;
    } else if (c < 0x800) {
        *o++ = (char)(0xC0 | (c >> 6));
        *o++ = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *o++ = (char)(0xE0 | (c >> 12));
        *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *o++ = (char)(0x80 | (c & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (c >> 18));
        *o++ = (char)(0x80 | ((c >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *o++ = (char)(0x80 | (c & 0x3F));
    }
    return o;
}

static int ascii_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

size_t hs__words_cut(hs_arena_t *a, const char *s, size_t n, hs__word_t **out)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    hs__word_t *ws = NULL;
    size_t nw = 0, cap = 0;
    /* a folded word is never longer than 4 bytes per byte of text */
    char *buf = hs_arena_alloc(a, 4 * n + 1);
    for (;;) {
        /* skip separators: the word starts at an ASCII letter or digit or
         * at a word character above ASCII (first, already read) */
        const unsigned char *start = p;
        int64_t first = 0;
        while (p < end) {
            start = p;
            if (*p < 0x80) {
                if (ascii_word(*p))
                    break;
                p++;
            } else if ((first = fold(read_utf8(&p, end))) > 0) {
                break;
            }
        }
        if (p >= end && first <= 0)
            break;
        char *o = buf;
        const unsigned char *last = p;
        if (first > 0) /* the character above ASCII already read */
            o = put_utf8(o, (uint32_t)first);
        while (p < end) {
            if (*p < 0x80) {
                if (!ascii_word(*p))
                    break;
                *o++ = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
                p++;
            } else {
                const unsigned char *q = p;
                int64_t f = fold(read_utf8(&q, end));
                if (f < 0)
                    break;
                if (f > 0)
                    o = put_utf8(o, (uint32_t)f);
                p = q;
            }
            last = p;
        }
        ws = hs_arena_grow(a, ws, nw, &cap, sizeof *ws);
        hs__word_t *w = &ws[nw++];
        w->start = (size_t)(start - (const unsigned char *)s);
        w->end = (size_t)(last - (const unsigned char *)s);
        w->len = (size_t)(o - buf);
        w->w = hs_arena_strndup(a, buf, w->len);
        p = last;
    }
    *out = ws;
    return nw;
}

int hs__query_parse(hs_arena_t *a, const char *q, hs__query_t *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    int words = 0, last_empty = 0;
    for (const unsigned char *s = (const unsigned char *)q; *s;) {
        while (*s && !hs_word_byte(*s))
            s++;
        if (!*s)
            break;
        const unsigned char *w = s;
        while (*s && hs_word_byte(*s))
            s++;
        words++;
        hs__phrase_t ph;
        ph.n = hs__words_cut(a, (const char *)w, (size_t)(s - w), &ph.w);
        last_empty = ph.n == 0;
        if (!ph.n)
            continue; /* FTS5 drops a phrase it finds no word in */
        out->p = hs_arena_grow(a, out->p, out->n, &cap, sizeof *out->p);
        out->p[out->n++] = ph;
    }
    /* the "*" follows the last typed word: on a phrase FTS5 dropped, none */
    out->prefix = words && !last_empty;
    return words > 0;
}

/* A hit: phrase ip of the query at word position off. */
typedef struct {
    size_t ip;
    long off;
} inst_t;

static int word_is(const hs__word_t *t, const hs__word_t *pw, int prefix)
{
    if (prefix)
        return t->len >= pw->len && memcmp(t->w, pw->w, pw->len) == 0;
    return t->len == pw->len && memcmp(t->w, pw->w, pw->len) == 0;
}

/* Every hit of q in the words ts[0..nt), by position (then phrase), and
 * whether each phrase was found. */
static size_t find_hits(hs_arena_t *a, const hs__query_t *q, const hs__word_t *ts, size_t nt,
                        inst_t **out, int *all)
{
    inst_t *in = NULL;
    size_t n = 0, cap = 0;
    unsigned char *seen = hs_arena_alloc(a, q->n + 1);
    memset(seen, 0, q->n + 1);
    for (size_t i = 0; i < nt; i++)
        for (size_t ip = 0; ip < q->n; ip++) {
            const hs__phrase_t *ph = &q->p[ip];
            if (i + ph->n > nt)
                continue;
            size_t j = 0;
            for (; j < ph->n; j++)
                if (!word_is(&ts[i + j], &ph->w[j], q->prefix && ip == q->n - 1 && j == ph->n - 1))
                    break;
            if (j < ph->n)
                continue;
            in = hs_arena_grow(a, in, n, &cap, sizeof *in);
            in[n].ip = ip;
            in[n++].off = (long)i;
            seen[ip] = 1;
        }
    *all = 1;
    for (size_t ip = 0; ip < q->n; ip++)
        *all &= seen[ip];
    *out = in;
    return n;
}

/* FTS5's fts5SnippetScore: the window of ntok words from pos. */
static long score(const hs__query_t *q, const inst_t *in, size_t n, unsigned char *seen, long pos,
                  long ntok, long ndoc, long *adj)
{
    long sc = 0, first = -1, last = 0;
    memset(seen, 0, q->n + 1);
    for (size_t i = 0; i < n; i++)
        if (in[i].off >= pos && in[i].off < pos + ntok) {
            sc += seen[in[i].ip] ? 1 : 1000;
            seen[in[i].ip] = 1;
            if (first < 0)
                first = in[i].off;
            last = in[i].off + (long)q->p[in[i].ip].n;
        }
    if (adj) {
        long x = first - (ntok - (last - first)) / 2;
        if (x + ntok > ndoc)
            x = ndoc - ntok;
        *adj = x < 0 ? 0 : x;
    }
    return sc;
}

/* FTS5's CInstIter: hits that overlap, merged into runs [start, end]. */
typedef struct {
    const hs__query_t *q;
    const inst_t *in;
    size_t n, i;
    long start, end;
} runs_t;

static void runs_next(runs_t *r)
{
    r->start = r->end = -1;
    while (r->i < r->n) {
        long s = r->in[r->i].off, e = s - 1 + (long)r->q->p[r->in[r->i].ip].n;
        if (r->start < 0) {
            r->start = s;
            r->end = e;
        } else if (s <= r->end) {
            if (e > r->end)
                r->end = e;
        } else {
            break;
        }
        r->i++;
    }
}

typedef struct {
    char *o;
    const char *text;
    size_t off;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    memcpy(o->o, s, n);
    o->o += n;
}

static const char *snippet(hs_arena_t *a, const hs__query_t *q, const char *text,
                           const hs__word_t *ts, size_t nt, const inst_t *in, size_t n)
{
    const long ntok = 12, ndoc = (long)nt;
    unsigned char *seen = hs_arena_alloc(a, q->n + 1);
    /* sentence starts: the first word, and each word after ". " or ": " */
    long *firsts = hs_arena_alloc(a, sizeof *firsts * (nt + 1));
    size_t nfirst = 0;
    for (size_t i = 0; i < nt; i++) {
        if (i == 0) {
            firsts[nfirst++] = 0;
            continue;
        }
        long k = (long)ts[i].start - 1;
        char c = 0;
        for (; k >= 0; k--) {
            c = text[k];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
                break;
        }
        if (k != (long)ts[i].start - 1 && (c == '.' || c == ':'))
            firsts[nfirst++] = (long)i;
    }
    long best = 0, best_start = 0;
    for (size_t i = 0; i < n; i++) {
        long io = in[i].off, adj;
        long sc = score(q, in, n, seen, io, ntok, ndoc, &adj);
        if (sc > best) {
            best = sc;
            best_start = adj;
        }
        if (nfirst && ndoc > ntok) {
            size_t jj = 0;
            for (; jj + 1 < nfirst; jj++)
                if (firsts[jj + 1] > io)
                    break;
            if (firsts[jj] < io) {
                sc = score(q, in, n, seen, firsts[jj], ntok, ndoc, NULL);
                sc += firsts[jj] == 0 ? 120 : 100;
                if (sc > best) {
                    best = sc;
                    best_start = firsts[jj];
                }
            }
        }
    }
    size_t tlen = strlen(text);
    /* the text, two marks per hit and two ellipses at most */
    out_t o = {.text = text};
    o.o = hs_arena_alloc(a, tlen + 2 * n + 16);
    char *begin = o.o;
    static const char ell[] = "\xE2\x80\xA6";
    long range_start = best_start, range_end = best_start + ntok - 1;
    runs_t r = {.q = q, .in = in, .n = n};
    runs_next(&r);
    if (best_start > 0)
        put(&o, ell, 3);
    while (r.start >= 0 && r.start < best_start)
        runs_next(&r);
    for (long pos = 0; pos < ndoc; pos++) {
        size_t s = ts[pos].start, e = ts[pos].end;
        if (pos < range_start || pos > range_end)
            continue;
        if (range_start && pos == range_start)
            o.off = s;
        if (pos == r.start) {
            put(&o, text + o.off, s - o.off);
            put(&o, "\x02", 1);
            o.off = s;
        }
        if (pos == r.end) {
            if (r.start < range_start)
                put(&o, "\x02", 1);
            put(&o, text + o.off, e - o.off);
            put(&o, "\x03", 1);
            o.off = e;
            runs_next(&r);
        }
        if (pos == range_end) {
            put(&o, text + o.off, e - o.off);
            o.off = e;
            if (pos >= r.start && pos < r.end)
                put(&o, "\x03", 1);
        }
    }
    if (range_end >= ndoc - 1)
        put(&o, text + o.off, tlen - o.off);
    else
        put(&o, ell, 3);
    *o.o = '\0';
    return begin;
}

int hs__query_match(hs_arena_t *a, const hs__query_t *q, const char *text, const char **snip)
{
    if (!q->n || !text)
        return 0;
    hs__word_t *ts;
    size_t nt = hs__words_cut(a, text, strlen(text), &ts);
    inst_t *in;
    int all;
    size_t n = find_hits(a, q, ts, nt, &in, &all);
    if (!all)
        return 0;
    if (snip)
        *snip = snippet(a, q, text, ts, nt, in, n);
    return 1;
}

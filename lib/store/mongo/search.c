/* MongoDB message search: the SQLite backend's rules and answers without a
 * server-side text index (FerretDB has none; docs/mongo-status.md).
 *
 *   message_tokens  {_id: "<message>:<word>", t: word, p: its first two
 *                   characters, c: chat, m: message}, one per distinct word
 *                   of a message (words.c cuts them as SQLite's FTS5
 *                   `unicode61 remove_diacritics 2` does), index (t, c,
 *                   m desc). A word longer than WORD_MAX bytes
 *                   is stored cut there (an index entry has a size limit);
 *                   every candidate is checked against its content anyway.
 *
 * A search reads the searcher's chats (chat_members), then walks one word's
 * entries over those chats newest first (m desc, below the cursor): the
 * longest exact word of the query, else the last word's prefix range. Each
 * batch of candidates is read from `messages` and checked in C (every
 * phrase present, in order, the last word a prefix: words.c), and its
 * snippet made there as FTS5's snippet() makes it, until a page and one
 * more are found. Answers depend on nothing outside the searcher's chats,
 * as in SQLite (no ranking; the cursor is the last hit's id, which must be
 * a message of theirs).
 *
 * The message fields read (agreed with messages.c, mongo.h): _id, chat_id,
 * sender_id, content, reply_to, client_id, created_at, edited_at, deleted_at
 * (non-zero: deleted, never a hit), files (ids), read by messages.c's
 * hs__mg_read_message. */
#include <string.h>

#include "hs/util.h"
#include "mongo.h"
#include "words.h"

/* The stored form of a word: at most this many bytes (cut at a character). */
#define WORD_MAX 200
/* Candidates read per round trip. */
#define BATCH 256
/* The characters of a word's head (p): a prefix search of at least this
 * many characters asks for it by equality, which FerretDB 1.24 hands to
 * PostgreSQL (it filters ranges itself, after reading every document). */
#define HEAD_CHARS 2

/* The length of w's first HEAD_CHARS characters (all of w if shorter). */
static size_t head_len(const char *w, size_t len)
{
    size_t n = 0;
    for (int chars = 0; n < len; n++)
        if (((unsigned char)w[n] & 0xC0) != 0x80 && chars++ == HEAD_CHARS)
            break;
    return n;
}

/* The length of w's stored form: at most WORD_MAX bytes, whole characters. */
static size_t stored_len(const char *w, size_t len)
{
    if (len <= WORD_MAX)
        return len;
    size_t n = WORD_MAX;
    while (n > 0 && ((unsigned char)w[n] & 0xC0) == 0x80)
        n--;
    return n;
}

typedef struct {
    hs_arena_t *a;
    const char **s;
    size_t n, cap;
    const char *key;
} strs_t;

static void collect_str(const bson_t *doc, void *arg)
{
    strs_t *l = arg;
    const char *v = hs__mg_str(l->a, doc, l->key);
    if (!v)
        return;
    l->s = hs_arena_grow(l->a, l->s, l->n, &l->cap, sizeof *l->s);
    l->s[l->n++] = v;
}

/* Order: read the words stored, delete those the content no longer has,
 * insert the new ones (a duplicate: written already). A retry redoes
 * what is missing. */
int hs__mg_tokens_put(hs__mg_op_t *op, const char *chat_id, const char *msg_id, const char *content,
                      hs_err_t *err)
{
    hs_arena_t a = {0};
    hs__word_t *ws = NULL;
    size_t nw = content ? hs__words_cut(&a, content, strlen(content), &ws) : 0;
    /* the distinct stored forms */
    const char **want = hs_arena_alloc(&a, sizeof *want * (nw + 1));
    size_t nwant = 0;
    for (size_t i = 0; i < nw; i++) {
        const char *t = hs_arena_strndup(&a, ws[i].w, stored_len(ws[i].w, ws[i].len));
        size_t j = 0;
        while (j < nwant && strcmp(want[j], t))
            j++;
        if (j == nwant)
            want[nwant++] = t;
    }
    strs_t have = {.a = &a, .key = "t"};
    bson_t *f = BCON_NEW("m", BCON_UTF8(msg_id));
    bson_t *o = BCON_NEW("projection", "{", "t", BCON_INT32(1), "}");
    int rc = hs__mg_find_each(op, HS__MG_TOKENS, f, o, collect_str, &have, err);
    bson_destroy(o);
    /* the words to drop */
    const char **gone = hs_arena_alloc(&a, sizeof *gone * (have.n + 1));
    size_t ngone = 0;
    for (size_t i = 0; i < have.n; i++) {
        size_t j = 0;
        while (j < nwant && strcmp(want[j], have.s[i]))
            j++;
        if (j == nwant)
            gone[ngone++] = have.s[i];
    }
    if (!rc && ngone) {
        hs__mg_put_in(f, "t", gone, ngone);
        rc = hs__mg_delete(op, HS__MG_TOKENS, 1, f, NULL, err);
    }
    bson_destroy(f);
    bson_t **docs = hs_arena_alloc(&a, sizeof *docs * (nwant + 1));
    size_t nd = 0;
    for (size_t i = 0; !rc && i < nwant; i++) {
        size_t j = 0;
        while (j < have.n && strcmp(want[i], have.s[j]))
            j++;
        if (j < have.n)
            continue;
        const char *id = hs_arena_printf(&a, "%s:%s", msg_id, want[i]);
        const char *head = hs_arena_strndup(&a, want[i], head_len(want[i], strlen(want[i])));
        docs[nd++] = BCON_NEW("_id", BCON_UTF8(id), "t", BCON_UTF8(want[i]), "p", BCON_UTF8(head),
                              "c", BCON_UTF8(chat_id), "m", BCON_UTF8(msg_id));
    }
    if (!rc)
        rc = hs__mg_insert_many(op, HS__MG_TOKENS, docs, nd, NULL, err);
    for (size_t i = 0; i < nd; i++)
        bson_destroy(docs[i]);
    hs_arena_free(&a);
    return rc;
}

/* The word whose entries the search walks: the longest exact one, else
 * the prefix (*prefix = 1). */
static const hs__word_t *driver(const hs__query_t *q, int *prefix)
{
    const hs__word_t *best = NULL;
    for (size_t i = 0; i < q->n; i++)
        for (size_t j = 0; j < q->p[i].n; j++) {
            int pre = q->prefix && i == q->n - 1 && j == q->p[i].n - 1;
            if (!pre && (!best || q->p[i].w[j].len > best->len))
                best = &q->p[i].w[j];
        }
    *prefix = !best;
    return best ? best : &q->p[q->n - 1].w[q->p[q->n - 1].n - 1];
}

typedef struct {
    hs_arena_t *a;
    const char **ids; /* candidates in walk order, each once */
    size_t n, cap, got;
    char last[HS_ID_LEN + 1]; /* the walk's position: the last entry's m */
} walk_t;

static void collect_entry(const bson_t *doc, void *arg)
{
    walk_t *w = arg;
    char m[HS_ID_LEN + 1];
    hs__mg_id(m, doc, "m");
    w->got++;
    if (w->n && strcmp(w->ids[w->n - 1], m) == 0) /* a prefix: several words of one message */
        return;
    memcpy(w->last, m, sizeof m);
    w->ids = hs_arena_grow(w->a, w->ids, w->n, &w->cap, sizeof *w->ids);
    w->ids[w->n++] = hs_arena_strdup(w->a, m);
}

typedef struct {
    hs_arena_t *a;
    bson_t **docs;
    size_t n, cap;
} docs_t;

static void collect_doc(const bson_t *doc, void *arg)
{
    docs_t *l = arg;
    l->docs = hs_arena_grow(l->a, l->docs, l->n, &l->cap, sizeof *l->docs);
    l->docs[l->n++] = bson_copy(doc);
}

/* The searcher's chats (only chat_id when given, and when theirs). */
static int my_chats(hs__mg_op_t *op, const char *user_id, hs_arena_t *a, strs_t *out, hs_err_t *err)
{
    bson_t *f = BCON_NEW("user_id", BCON_UTF8(user_id));
    bson_t *o = BCON_NEW("projection", "{", "chat_id", BCON_INT32(1), "}");
    memset(out, 0, sizeof *out);
    out->a = a;
    out->key = "chat_id";
    int rc = hs__mg_find_each(op, HS__MG_MEMBERS, f, o, collect_str, out, err);
    bson_destroy(f);
    bson_destroy(o);
    return rc;
}

static int has(const strs_t *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->s[i], s) == 0)
            return 1;
    return 0;
}

/* One batch of the walk: the next candidates below w->last (or all). */
static int walk_batch(hs__mg_op_t *op, const hs__word_t *dw, int prefix, const strs_t *chats,
                      walk_t *w, hs_err_t *err)
{
    size_t sl = stored_len(dw->w, dw->len);
    char *t = hs_arena_strndup(w->a, dw->w, sl);
    bson_t *f = bson_new(), r;
    if (prefix) {
        if (hs_utf8_len(t) >= HEAD_CHARS)
            BSON_APPEND_UTF8(f, "p", hs_arena_strndup(w->a, t, head_len(t, sl)));
        BSON_APPEND_DOCUMENT_BEGIN(f, "t", &r);
        BSON_APPEND_UTF8(&r, "$gte", t);
        /* U+10FFFF: above every character a word can hold */
        BSON_APPEND_UTF8(&r, "$lt", hs_arena_printf(w->a, "%s\xF4\x8F\xBF\xBF", t));
        bson_append_document_end(f, &r);
    } else {
        BSON_APPEND_UTF8(f, "t", t);
    }
    hs__mg_put_in(f, "c", chats->s, chats->n);
    if (w->last[0]) {
        BSON_APPEND_DOCUMENT_BEGIN(f, "m", &r);
        BSON_APPEND_UTF8(&r, "$lt", w->last);
        bson_append_document_end(f, &r);
    }
    bson_t *o = BCON_NEW("sort", "{", "m", BCON_INT32(-1), "}", "projection", "{", "m",
                         BCON_INT32(1), "}", "limit", BCON_INT64(BATCH));
    w->got = 0;
    int rc = hs__mg_find_each(op, HS__MG_TOKENS, f, o, collect_entry, w, err);
    bson_destroy(f);
    bson_destroy(o);
    return rc;
}

static int search(hs__mg_op_t *op, const char *user_id, const char *chat_id, const char *query,
                  const char *after, int limit, hs_arena_t *a, hs_message_page_t *out,
                  hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    hs__query_t q;
    if (!hs__query_parse(a, query, &q))
        return 0; /* no word: SQLite answers nothing, whatever the cursor */
    if (after && !hs_id_valid(after))
        return hs_err_set(err, HS_EINVAL, "invalid_cursor", "The cursor is not valid");
    strs_t chats;
    int rc = my_chats(op, user_id, a, &chats, err);
    if (!rc && after) { /* a message of the searcher's chats, deleted or not */
        bson_t *f = BCON_NEW("_id", BCON_UTF8(after));
        bson_t *o = BCON_NEW("projection", "{", "chat_id", BCON_INT32(1), "}");
        bson_t doc;
        int found = 0;
        rc = hs__mg_find_one(op, HS__MG_MESSAGES, f, o, &doc, &found, err);
        bson_destroy(f);
        bson_destroy(o);
        char c[HS_ID_LEN + 1] = "";
        if (found) {
            hs__mg_id(c, &doc, "chat_id");
            bson_destroy(&doc);
        }
        if (!rc && !has(&chats, c))
            return hs_err_set(err, HS_EINVAL, "invalid_cursor", "The cursor is not valid");
    }
    if (rc || !q.n || limit <= 0)
        return rc;
    if (chat_id) {
        if (!has(&chats, chat_id))
            return 0;
        chats.s = &chat_id;
        chats.n = 1;
    }
    if (!chats.n)
        return 0;
    int prefix;
    const hs__word_t *dw = driver(&q, &prefix);
    walk_t w = {.a = a};
    if (after)
        memcpy(w.last, after, HS_ID_LEN + 1);
    out->items = hs_arena_alloc(a, sizeof *out->items * (size_t)limit);
    while (!rc && !out->next_cursor) {
        size_t from = w.n;
        if ((rc = walk_batch(op, dw, prefix, &chats, &w, err)) || w.n == from)
            break;
        docs_t l = {.a = a};
        bson_t *f = bson_new();
        hs__mg_put_in(f, "_id", w.ids + from, w.n - from);
        rc = hs__mg_find_each(op, HS__MG_MESSAGES, f, NULL, collect_doc, &l, err);
        bson_destroy(f);
        /* in the walk's order (newest first) */
        for (size_t i = from; !rc && i < w.n && !out->next_cursor; i++) {
            const bson_t *doc = NULL;
            for (size_t j = 0; j < l.n && !doc; j++) {
                bson_iter_t it;
                if (bson_iter_init_find(&it, l.docs[j], "_id") && BSON_ITER_HOLDS_UTF8(&it) &&
                    strcmp(bson_iter_utf8(&it, NULL), w.ids[i]) == 0)
                    doc = l.docs[j];
            }
            if (!doc || hs__mg_i64(doc, "deleted_at"))
                continue;
            hs_message_t m;
            hs__mg_read_message(a, doc, &m);
            const char *snip;
            if (!has(&chats, m.chat_id) || !hs__query_match(a, &q, m.content, &snip))
                continue;
            if ((int)out->n == limit) {
                out->next_cursor = hs_arena_strdup(a, out->items[out->n - 1].id);
                break;
            }
            m.snippet = snip;
            out->items[out->n++] = m;
        }
        for (size_t j = 0; j < l.n; j++)
            bson_destroy(l.docs[j]);
        if (w.got < BATCH)
            break; /* the walk reached its end */
    }
    if (!rc)
        rc = hs__mg_message_extras(op, user_id, 1, a, out->items, out->n, err);
    return rc;
}

int hs__mg_message_search(hs_store_t *st, const char *user_id, const char *chat_id,
                          const char *query, const char *after, int limit, hs_arena_t *a,
                          hs_message_page_t *out, hs_err_t *err)
{
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = search(&op, user_id, chat_id, query, after, limit, a, out, err);
    hs__mg_end(&op);
    return rc;
}

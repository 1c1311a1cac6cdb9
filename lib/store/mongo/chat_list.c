/* MongoDB: the viewer's list of chats (chat_page) and what a chat is shown
 * with besides its own fields (chat_get full): the viewer's unread count
 * and the last message. Without $lookup: the memberships first, then
 * their chats in one read sorted by activity, then the last messages in
 * one read and one count per chat (as SQLite's subquery). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mongo.h"

/* Messages after the viewer's marker, not theirs, not deleted, counted up
 * to this many (the same cap as SQLite). */
#define UNREAD_CAP 1000

static int unread(hs__mg_op_t *op, const char *viewer, hs_chat_t *c, hs_err_t *err)
{
    c->my_unread = 0;
    if (!c->my_role || !viewer)
        return 0;
    bson_t *f = BCON_NEW("chat_id", BCON_UTF8(c->id), "_id", "{", "$gt",
                         BCON_UTF8(c->my_last_read_id ? c->my_last_read_id : ""), "}", "sender_id",
                         "{", "$ne", BCON_UTF8(viewer), "}", "deleted_at", BCON_INT64(0));
    bson_t *o = BCON_NEW("limit", BCON_INT64(UNREAD_CAP));
    bson_error_t e;
    int64_t n =
        mongoc_collection_count_documents(hs__mg_c(op, HS__MG_MESSAGES), f, o, NULL, NULL, &e);
    bson_destroy(f);
    bson_destroy(o);
    if (n < 0)
        return hs__mg_fail(op->st, &e, err);
    c->my_unread = n;
    return 0;
}

typedef struct {
    hs_arena_t *a;
    hs_chat_t *chats;
    size_t n;
} last_fill_t;

static void fill_last(const bson_t *doc, void *arg)
{
    last_fill_t *l = arg;
    hs_message_t *m = hs_arena_alloc(l->a, sizeof *m);
    memset(m, 0, sizeof *m);
    hs__mg_id(m->id, doc, "_id");
    hs__mg_id(m->chat_id, doc, "chat_id");
    hs__mg_id(m->sender_id, doc, "sender_id");
    m->content = hs__mg_preview(l->a, hs__mg_str(l->a, doc, "content"));
    m->created_at = hs__mg_i64(doc, "created_at");
    m->deleted_at = hs__mg_i64(doc, "deleted_at");
    for (size_t i = 0; i < l->n; i++)
        if (l->chats[i].last_message_id && strcmp(l->chats[i].last_message_id, m->id) == 0)
            l->chats[i].last_message = m;
}

/* The unread counts and last messages of chats[0..n). */
static int fill_full(hs__mg_op_t *op, const char *viewer, hs_arena_t *a, hs_chat_t *chats, size_t n,
                     hs_err_t *err)
{
    int rc = 0;
    const char **ids = hs_arena_alloc(a, sizeof *ids * (n ? n : 1));
    size_t k = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        chats[i].last_message = NULL;
        if (chats[i].last_message_id && *chats[i].last_message_id)
            ids[k++] = chats[i].last_message_id;
        rc = unread(op, viewer, &chats[i], err);
    }
    if (rc || !k)
        return rc;
    last_fill_t l = {a, chats, n};
    bson_t *f = bson_new();
    bson_t *o =
        BCON_NEW("projection", "{", "chat_id", BCON_INT32(1), "sender_id", BCON_INT32(1), "content",
                 BCON_INT32(1), "created_at", BCON_INT32(1), "deleted_at", BCON_INT32(1), "}");
    hs__mg_put_in(f, "_id", ids, k);
    rc = hs__mg_find_each(op, HS__MG_MESSAGES, f, o, fill_last, &l, err);
    bson_destroy(f);
    bson_destroy(o);
    return rc;
}

int hs__mg_chat_full(hs__mg_op_t *op, const char *viewer, hs_arena_t *a, hs_chat_t *c,
                     hs_err_t *err)
{
    return fill_full(op, viewer, a, c, 1, err);
}

typedef struct {
    hs_arena_t *a;
    hs_member_t *ms;
    const char **chat_ids;
    size_t n, cap;
    hs_chat_t *chats;
    size_t nchats, chats_cap;
} page_t;

static void collect_membership(const bson_t *doc, void *arg)
{
    page_t *p = arg;
    size_t cap = p->cap;
    p->ms = hs_arena_grow(p->a, p->ms, p->n, &cap, sizeof *p->ms);
    p->chat_ids = hs_arena_grow(p->a, p->chat_ids, p->n, &p->cap, sizeof *p->chat_ids);
    hs__mg_read_member(p->a, doc, &p->ms[p->n]);
    char chat[HS_ID_LEN + 1];
    hs__mg_id(chat, doc, "chat_id");
    p->chat_ids[p->n++] = hs_arena_strdup(p->a, chat);
}

static void collect_chat(const bson_t *doc, void *arg)
{
    page_t *p = arg;
    p->chats = hs_arena_grow(p->a, p->chats, p->nchats, &p->chats_cap, sizeof *p->chats);
    hs_chat_t *c = &p->chats[p->nchats++];
    hs__mg_read_chat(p->a, doc, c);
    c->my_last_read_id = "";
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->chat_ids[i], c->id) == 0) {
            c->my_role = p->ms[i].role;
            c->my_muted = p->ms[i].muted;
            c->my_last_read_id = p->ms[i].last_read_id ? p->ms[i].last_read_id : "";
        }
}

static const char *cursor_of(hs_arena_t *a, const hs_chat_t *c)
{
    return hs_arena_printf(a, "%020" PRId64 "_%s", c->last_activity_at, c->id);
}

/* The viewer's memberships, then their chats by activity and id, newest
 * first, after the cursor "<activity, 20 digits>_<id>" (SQLite's); chat
 * documents are read as written (a change whose writer died between claim
 * and write shows once a get or a write of that chat applied it). */
int hs__mg_chat_page(hs_store_t *st, const char *user_id, const char *before, int limit,
                     hs_arena_t *a, hs_chat_page_t *out, hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    page_t p = {.a = a};
    bson_t *f = BCON_NEW("user_id", BCON_UTF8(user_id));
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_MEMBERS, f, NULL, collect_membership, &p, err);
    bson_destroy(f);
    if (!rc && p.n) {
        bson_t *q = bson_new();
        hs__mg_put_in(q, "_id", p.chat_ids, p.n);
        if (before && strlen(before) > 21) {
            int64_t at = strtoll(before, NULL, 10);
            bson_t or, alt;
            BSON_APPEND_ARRAY_BEGIN(q, "$or", & or);
            BSON_APPEND_DOCUMENT_BEGIN(& or, "0", &alt);
            BCON_APPEND(&alt, "last_activity_at", "{", "$lt", BCON_INT64(at), "}");
            bson_append_document_end(& or, &alt);
            BSON_APPEND_DOCUMENT_BEGIN(& or, "1", &alt);
            BCON_APPEND(&alt, "last_activity_at", BCON_INT64(at), "_id", "{", "$lt",
                        BCON_UTF8(before + 21), "}");
            bson_append_document_end(& or, &alt);
            bson_append_array_end(q, & or);
        }
        bson_t *o = BCON_NEW("sort", "{", "last_activity_at", BCON_INT32(-1), "_id", BCON_INT32(-1),
                             "}", "limit", BCON_INT64((int64_t)limit + 1));
        rc = hs__mg_find_each(&op, HS__MG_CHATS, q, o, collect_chat, &p, err);
        bson_destroy(q);
        bson_destroy(o);
    }
    int more = !rc && p.nchats > (size_t)limit;
    if (more)
        p.nchats = (size_t)limit;
    if (!rc)
        rc = fill_full(&op, user_id, a, p.chats, p.nchats, err);
    hs__mg_end(&op);
    if (rc)
        return rc;
    out->items = p.chats;
    out->n = p.nchats;
    if (more && p.nchats)
        out->next_cursor = cursor_of(a, &p.chats[p.nchats - 1]);
    return 0;
}

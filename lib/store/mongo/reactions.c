/* MongoDB operations around messages: reactions, receipts, the grants of
 * attached files, and the extras a message is shown with (sender names,
 * reply preview, attachments, reactions, delivery state), each filled for a
 * whole page in one read (no read per message).
 *
 *   reactions  one document per (message, user, emoji): {_id:
 *              "<message>:<user>:<emoji>", message_id, user_id, emoji,
 *              created_at}; toggled by a delete (exact) or else an insert
 *              (the unique _id) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mongo.h"

/* Distinct non-empty strings of n items (at offset off of each item of
 * size size) into a, for an $in. */
static const char **distinct(hs_arena_t *a, const void *items, size_t n, size_t size, size_t off,
                             int ptr, size_t *count)
{
    const char **out = hs_arena_alloc(a, sizeof *out * (n ? n : 1));
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = (const char *)items + i * size + off;
        const char *s = ptr ? *(const char *const *)p : p;
        if (!s || !*s)
            continue;
        size_t j = 0;
        while (j < *count && strcmp(out[j], s) != 0)
            j++;
        if (j == *count)
            out[(*count)++] = s;
    }
    return out;
}

typedef struct {
    hs_arena_t *a;
    hs_message_t *ms;
    size_t n;
    const char *viewer;
    hs_message_t *last; /* reactions: the message being filled, its capacity */
    size_t cap;
} fill_t;

static void fill_names(const bson_t *doc, void *arg)
{
    fill_t *f = arg;
    char id[HS_ID_LEN + 1];
    hs__mg_id(id, doc, "_id");
    const char *username = hs__mg_str(f->a, doc, "username");
    const char *display = hs__mg_str(f->a, doc, "display_name");
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->ms[i].sender_id, id) == 0) {
            f->ms[i].sender_username = username;
            f->ms[i].sender_display_name = display;
        }
}

static void fill_reply(const bson_t *doc, void *arg)
{
    fill_t *f = arg;
    char id[HS_ID_LEN + 1];
    hs__mg_id(id, doc, "_id");
    const char *sender = hs__mg_str(f->a, doc, "sender_id");
    const char *content =
        hs__mg_i64(doc, "deleted_at") ? "" : hs__mg_preview(f->a, hs__mg_str(f->a, doc, "content"));
    for (size_t i = 0; i < f->n; i++)
        if (f->ms[i].reply_to && strcmp(f->ms[i].reply_to, id) == 0) {
            f->ms[i].reply_sender_id = sender;
            f->ms[i].reply_content = content;
        }
}

/* A read file replaces the id it was named by, in every message. */
static void fill_file(const bson_t *doc, void *arg)
{
    fill_t *f = arg;
    hs_file_t file;
    hs__mg_read_file(f->a, doc, &file);
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = 0; j < f->ms[i].nfiles; j++)
            if (strcmp(f->ms[i].files[j].id, file.id) == 0)
                f->ms[i].files[j] = file;
}

static int by_file_id(const void *x, const void *y)
{
    return strcmp(((const hs_file_t *)x)->id, ((const hs_file_t *)y)->id);
}

/* Reactions come sorted by message, time, emoji: an emoji's first
 * appearance is its place (SQLite's order by min(created_at), emoji). */
static void fill_reaction(const bson_t *doc, void *arg)
{
    fill_t *f = arg;
    char mid[HS_ID_LEN + 1], uid[HS_ID_LEN + 1];
    hs__mg_id(mid, doc, "message_id");
    hs__mg_id(uid, doc, "user_id");
    const char *emoji = hs__mg_str(f->a, doc, "emoji");
    if (!emoji)
        return;
    hs_message_t *m = NULL;
    for (size_t i = 0; i < f->n && !m; i++)
        if (strcmp(f->ms[i].id, mid) == 0)
            m = &f->ms[i];
    if (!m)
        return;
    if (m != f->last) {
        f->last = m;
        f->cap = m->nreactions;
    }
    hs_reaction_t *r = NULL;
    for (size_t i = 0; i < m->nreactions && !r; i++)
        if (strcmp(m->reactions[i].emoji, emoji) == 0)
            r = &m->reactions[i];
    if (!r) {
        m->reactions = hs_arena_grow(f->a, m->reactions, m->nreactions, &f->cap, sizeof *r);
        r = &m->reactions[m->nreactions++];
        memset(r, 0, sizeof *r);
        r->emoji = emoji;
    }
    r->count++;
    if (f->viewer && strcmp(uid, f->viewer) == 0)
        r->mine = 1;
}

/* The highest marker key among the chat's members other than viewer. */
static int highest(hs__mg_op_t *op, const char *chat_id, const char *viewer, const char *key,
                   hs_arena_t *a, const char **out, hs_err_t *err)
{
    bson_t *f = BCON_NEW("chat_id", BCON_UTF8(chat_id), "user_id", "{", "$ne",
                         BCON_UTF8(viewer ? viewer : ""), "}");
    bson_t *o =
        BCON_NEW("sort", "{", key, BCON_INT32(-1), "}", "projection", "{", key, BCON_INT32(1), "}");
    bson_t doc;
    int found = 0;
    int rc = hs__mg_find_one(op, HS__MG_MEMBERS, f, o, &doc, &found, err);
    bson_destroy(f);
    bson_destroy(o);
    *out = "";
    if (found) {
        const char *v = hs__mg_str(a, &doc, key);
        *out = v ? v : "";
        bson_destroy(&doc);
    }
    return rc;
}

/* sent, delivered or read, for the viewer's own messages: what the most
 * advanced other member's markers reached (per chat). */
static int fill_state(hs__mg_op_t *op, const char *viewer, hs_arena_t *a, hs_message_t *ms,
                      size_t n, hs_err_t *err)
{
    const char *chat = NULL, *read = "", *delivered = "";
    for (size_t i = 0; i < n; i++) {
        if (!viewer || strcmp(ms[i].sender_id, viewer) != 0)
            continue;
        if (!chat || strcmp(chat, ms[i].chat_id) != 0) {
            int rc;
            chat = ms[i].chat_id;
            if ((rc = highest(op, chat, viewer, "last_read_id", a, &read, err)) ||
                (rc = highest(op, chat, viewer, "last_delivered_id", a, &delivered, err)))
                return rc;
        }
        ms[i].state = strcmp(read, ms[i].id) >= 0        ? "read"
                      : strcmp(delivered, ms[i].id) >= 0 ? "delivered"
                                                         : "sent";
    }
    return 0;
}

/* One find of c where key is in ids, each document to each. */
static int find_in(hs__mg_op_t *op, hs__mg_coll_t c, const char *key, const char **ids, size_t n,
                   const bson_t *opts, hs__mg_each_fn each, fill_t *f, hs_err_t *err)
{
    if (!n)
        return 0;
    bson_t *q = bson_new();
    hs__mg_put_in(q, key, ids, n);
    int rc = hs__mg_find_each(op, c, q, opts, each, f, err);
    bson_destroy(q);
    return rc;
}

int hs__mg_message_extras(hs__mg_op_t *op, const char *viewer, int full, hs_arena_t *a,
                          hs_message_t *ms, size_t n, hs_err_t *err)
{
    if (!n)
        return 0;
    fill_t f = {.a = a, .ms = ms, .n = n, .viewer = viewer};
    size_t k;
    const char **ids = distinct(a, ms, n, sizeof *ms, offsetof(hs_message_t, sender_id), 0, &k);
    bson_t *names =
        BCON_NEW("projection", "{", "username", BCON_INT32(1), "display_name", BCON_INT32(1), "}");
    int rc = find_in(op, HS__MG_USERS, "_id", ids, k, names, fill_names, &f, err);
    bson_destroy(names);
    ids = distinct(a, ms, n, sizeof *ms, offsetof(hs_message_t, reply_to), 1, &k);
    if (!rc)
        rc = find_in(op, HS__MG_MESSAGES, "_id", ids, k, NULL, fill_reply, &f, err);
    if (rc || !full) {
        for (size_t i = 0; i < n; i++) {
            ms[i].files = NULL;
            ms[i].nfiles = 0;
        }
        return rc;
    }
    /* attachments: their ids are in m->files; a file gone is left out */
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += ms[i].nfiles;
    const char **fids = hs_arena_alloc(a, sizeof *fids * (total ? total : 1));
    k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ms[i].nfiles; j++)
            fids[k++] = hs_arena_strdup(a, ms[i].files[j].id);
    if ((rc = find_in(op, HS__MG_FILES, "_id", fids, k, NULL, fill_file, &f, err)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        size_t w = 0;
        for (size_t j = 0; j < ms[i].nfiles; j++)
            if (ms[i].files[j].filename) /* read */
                ms[i].files[w++] = ms[i].files[j];
        ms[i].nfiles = w;
        if (w)
            qsort(ms[i].files, w, sizeof *ms[i].files, by_file_id);
        else
            ms[i].files = NULL;
    }
    ids = distinct(a, ms, n, sizeof *ms, offsetof(hs_message_t, id), 0, &k);
    bson_t *o = BCON_NEW("sort", "{", "message_id", BCON_INT32(1), "created_at", BCON_INT32(1),
                         "emoji", BCON_INT32(1), "}");
    rc = find_in(op, HS__MG_REACTIONS, "message_id", ids, k, o, fill_reaction, &f, err);
    bson_destroy(o);
    return rc ? rc : fill_state(op, viewer, a, ms, n, err);
}

int hs__mg_reaction_toggle(hs_store_t *st, const char *message_id, const char *user_id,
                           const char *emoji, int64_t now, int *on, hs_err_t *err)
{
    char *key = NULL;
    long deleted = 0;
    int claimed = 0;
    hs_arena_t tmp = {0};
    key = hs_arena_printf(&tmp, "%s:%s:%s", message_id, user_id, emoji);
    bson_t *f = BCON_NEW("_id", BCON_UTF8(key));
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_delete(&op, HS__MG_REACTIONS, 0, f, &deleted, err);
    if (!rc && !deleted) {
        bson_t *doc =
            BCON_NEW("_id", BCON_UTF8(key), "message_id", BCON_UTF8(message_id), "user_id",
                     BCON_UTF8(user_id), "emoji", BCON_UTF8(emoji), "created_at", BCON_INT64(now));
        rc = hs__mg_insert(&op, HS__MG_REACTIONS, doc, &claimed, err);
        bson_destroy(doc);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    hs_arena_free(&tmp);
    if (!rc)
        *on = !deleted; /* inserted, or a racing twin of this toggle did */
    return rc;
}

typedef struct {
    hs_arena_t *a;
    hs_member_t *items;
    size_t n, cap;
} member_list_t;

static void collect_member(const bson_t *doc, void *arg)
{
    member_list_t *l = arg;
    l->items = hs_arena_grow(l->a, l->items, l->n, &l->cap, sizeof *l->items);
    hs__mg_read_member(l->a, doc, &l->items[l->n++]);
}

static void name_member(const bson_t *doc, void *arg)
{
    member_list_t *l = arg;
    char id[HS_ID_LEN + 1];
    hs__mg_id(id, doc, "_id");
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].user_id, id) == 0) {
            l->items[i].username = hs__mg_str(l->a, doc, "username");
            l->items[i].display_name = hs__mg_str(l->a, doc, "display_name");
        }
}

/* The members (other than the sender) whose read marker reached the
 * message, by user id, then their names in one read. */
int hs__mg_receipts(hs_store_t *st, const char *chat_id, const char *message_id,
                    const char *sender_id, hs_arena_t *a, hs_member_t **out, size_t *n,
                    hs_err_t *err)
{
    bson_t *f = BCON_NEW("chat_id", BCON_UTF8(chat_id), "user_id", "{", "$ne", BCON_UTF8(sender_id),
                         "}", "last_read_id", "{", "$gte", BCON_UTF8(message_id), "}");
    bson_t *o = BCON_NEW("sort", "{", "user_id", BCON_INT32(1), "}", "limit", BCON_INT64(10000));
    member_list_t l = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_MEMBERS, f, o, collect_member, &l, err);
    if (!rc && l.n) {
        const char **ids = hs_arena_alloc(a, sizeof *ids * l.n);
        for (size_t i = 0; i < l.n; i++)
            ids[i] = l.items[i].user_id;
        bson_t *fu = bson_new();
        hs__mg_put_in(fu, "_id", ids, l.n);
        rc = hs__mg_find_each(&op, HS__MG_USERS, fu, NULL, name_member, &l, err);
        bson_destroy(fu);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    if (rc)
        return rc;
    *out = l.items;
    *n = l.n;
    return 0;
}

typedef struct {
    hs_arena_t *a;
    const char *user_id;
    const char **keys; /* "<chat>:<user>" of each chat the file is granted in */
    size_t n, cap;
} grant_list_t;

static void collect_grant(const bson_t *doc, void *arg)
{
    grant_list_t *l = arg;
    char chat[HS_ID_LEN + 1], key[64];
    hs__mg_id(chat, doc, "chat_id");
    hs__mg_member_key(key, chat, l->user_id);
    l->keys = hs_arena_grow(l->a, l->keys, l->n, &l->cap, sizeof *l->keys);
    l->keys[l->n++] = hs_arena_strdup(l->a, key);
}

/* The chats the file is granted in (at most 1000), then whether the user is
 * a member of one of them. */
int hs__mg_file_shared_with(hs_store_t *st, const char *file_id, const char *user_id, int *yes,
                            hs_err_t *err)
{
    hs_arena_t tmp = {0};
    grant_list_t l = {.a = &tmp, .user_id = user_id};
    bson_t *f = BCON_NEW("file_id", BCON_UTF8(file_id));
    bson_t *o =
        BCON_NEW("projection", "{", "chat_id", BCON_INT32(1), "}", "limit", BCON_INT64(1000));
    int found = 0;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_GRANTS, f, o, collect_grant, &l, err);
    if (!rc && l.n) {
        bson_t *q = bson_new(), doc;
        bson_t *p = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}");
        hs__mg_put_in(q, "_id", l.keys, l.n);
        rc = hs__mg_find_one(&op, HS__MG_MEMBERS, q, p, &doc, &found, err);
        if (found)
            bson_destroy(&doc);
        bson_destroy(q);
        bson_destroy(p);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    hs_arena_free(&tmp);
    if (!rc)
        *yes = found;
    return rc;
}

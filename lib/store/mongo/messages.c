/* MongoDB operations on messages: sending (the chain that orders a chat's
 * messages, idempotent sends, attachment grants), reading one or a page,
 * editing and deleting (reactions, receipts and the extras of a page:
 * reactions.c).
 *
 *   messages    one document per message (mongo.h lists its fields); unique
 *               (chat_id, prev): each message names the chat's newest
 *               message when it was written, so two sends after the same
 *               one collide and the loser sends again after the winner,
 *               and a message is only written once its predecessor was
 *               visible: ids follow commit order within a chat and a
 *               client polling "after X" misses nothing (events.c does the
 *               same for events). Unique (sender_id, client_key) makes a
 *               client id's send happen once. Edits and deletes go through
 *               compare-and-set (v), so an edit racing a delete on
 *               FerretDB cannot bring the deleted content back.
 *   chat_files  a grant: {_id: "<file>:<chat>:<origin>", file_id, chat_id,
 *               origin}, one per attachment of a send, written before the
 *               message and removed with it (by its origin). */
#include <stdio.h>
#include <string.h>

#include "hs/util.h"
#include "mongo.h"

/* How many times a send tries again after another send to the same chat
 * went first (each lost round means another message went through). */
#define SEND_TRIES 256

const char *hs__mg_preview(hs_arena_t *a, const char *s)
{
    if (!s)
        return NULL;
    const char *p = s;
    for (int i = 0; i < 100 && *p; i++) {
        const char *q = p;
        if (hs_utf8_next(&q) < 0)
            break;
        p = q;
    }
    return hs_arena_strndup(a, s, (size_t)(p - s));
}

void hs__mg_read_message(hs_arena_t *a, const bson_t *doc, hs_message_t *m)
{
    memset(m, 0, sizeof *m);
    hs__mg_id(m->id, doc, "_id");
    hs__mg_id(m->chat_id, doc, "chat_id");
    hs__mg_id(m->sender_id, doc, "sender_id");
    m->content = hs__mg_str(a, doc, "content");
    m->reply_to = hs__mg_str(a, doc, "reply_to");
    m->client_id = hs__mg_str(a, doc, "client_id");
    m->created_at = hs__mg_i64(doc, "created_at");
    m->edited_at = hs__mg_i64(doc, "edited_at");
    m->deleted_at = hs__mg_i64(doc, "deleted_at");
    /* the attachments' ids, until hs__mg_message_extras reads the files */
    bson_iter_t it, arr;
    if (bson_iter_init_find(&it, doc, "files") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &arr)) {
        size_t cap = 0;
        while (bson_iter_next(&arr)) {
            if (!BSON_ITER_HOLDS_UTF8(&arr))
                continue;
            m->files = hs_arena_grow(a, m->files, m->nfiles, &cap, sizeof *m->files);
            hs_file_t *f = &m->files[m->nfiles++];
            memset(f, 0, sizeof *f);
            snprintf(f->id, sizeof f->id, "%s", bson_iter_utf8(&arr, NULL));
        }
    }
}

/* Adds one to a 24-hex id, in place. */
static void id_increment(char *id)
{
    for (int i = HS_ID_LEN - 1; i >= 0; i--) {
        char c = id[i];
        if (c == 'f') {
            id[i] = '0';
            continue;
        }
        id[i] = c == '9' ? 'a' : (char)(c + 1);
        return;
    }
}

/* Where the chat's chain ends: a hint to start from, the chat's last
 * message (the activity moves it after each insert, so it lags behind by at
 * most the sends in flight; "" before the first), into id and at. */
static int chain_hint(hs__mg_op_t *op, const char *chat_id, char id[HS_ID_LEN + 1], int64_t *at,
                      hs_err_t *err)
{
    bson_t *f = BCON_NEW("_id", BCON_UTF8(chat_id));
    bson_t *o = BCON_NEW("projection", "{", "last_message_id", BCON_INT32(1), "last_activity_at",
                         BCON_INT32(1), "}");
    bson_t doc;
    int found = 0;
    int rc = hs__mg_find_one(op, HS__MG_CHATS, f, o, &doc, &found, err);
    bson_destroy(f);
    bson_destroy(o);
    id[0] = '\0';
    *at = 0;
    if (found) {
        hs__mg_id(id, &doc, "last_message_id");
        *at = id[0] ? hs__mg_i64(&doc, "last_activity_at") : 0;
        bson_destroy(&doc);
    }
    return rc;
}

/* Walks the chain from id (and its time at) to the chat's newest message:
 * each step an equality lookup of the successor on the unique (chat_id,
 * prev) index. Not "the highest _id" with a sort: FerretDB 1.24 sorts in
 * Go over every message of the chat (measured: 570 ms a send at 2,000
 * messages in the chat, against a lookup that returns one document). */
static int chain_tail(hs__mg_op_t *op, const char *chat_id, char id[HS_ID_LEN + 1], int64_t *at,
                      hs_err_t *err)
{
    bson_t *o = BCON_NEW("projection", "{", "created_at", BCON_INT32(1), "}");
    int rc = 0, found = 1;
    while (!rc && found) {
        bson_t *f = BCON_NEW("chat_id", BCON_UTF8(chat_id), "prev", BCON_UTF8(id));
        bson_t doc;
        rc = hs__mg_find_one(op, HS__MG_MESSAGES, f, o, &doc, &found, err);
        bson_destroy(f);
        if (!rc && found) {
            hs__mg_id(id, &doc, "_id");
            *at = hs__mg_i64(&doc, "created_at");
            bson_destroy(&doc);
        }
    }
    bson_destroy(o);
    return rc;
}

/* The id of sender's message with client key key, if there is one. */
static int find_by_client(hs__mg_op_t *op, const char *sender, const char *key,
                          char id[HS_ID_LEN + 1], int *found, hs_err_t *err)
{
    bson_t *f = BCON_NEW("sender_id", BCON_UTF8(sender), "client_key", BCON_UTF8(key));
    bson_t *o = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}");
    bson_t doc;
    int rc = hs__mg_find_one(op, HS__MG_MESSAGES, f, o, &doc, found, err);
    bson_destroy(f);
    bson_destroy(o);
    if (*found) {
        hs__mg_id(id, &doc, "_id");
        bson_destroy(&doc);
    }
    return rc;
}

static int grant(hs__mg_op_t *op, const char *chat_id, const char *origin, const char **file_ids,
                 size_t n, hs_err_t *err)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char key[96];
        int claimed;
        snprintf(key, sizeof key, "%s:%s:%s", file_ids[i], chat_id, origin);
        bson_t *doc = BCON_NEW("_id", BCON_UTF8(key), "file_id", BCON_UTF8(file_ids[i]), "chat_id",
                               BCON_UTF8(chat_id), "origin", BCON_UTF8(origin));
        rc = hs__mg_insert(op, HS__MG_GRANTS, doc, &claimed, err);
        bson_destroy(doc);
    }
    return rc;
}

static int ungrant(hs__mg_op_t *op, const char *origin, hs_err_t *err)
{
    bson_t *f = BCON_NEW("origin", BCON_UTF8(origin));
    int rc = hs__mg_delete(op, HS__MG_GRANTS, 1, f, NULL, err);
    bson_destroy(f);
    return rc;
}

static bson_t *message_doc(const hs_message_t *m, const char *prev, const char *origin,
                           const char **file_ids, size_t nfiles)
{
    char key[160];
    if (m->client_id)
        snprintf(key, sizeof key, "c:%s", m->client_id);
    else
        snprintf(key, sizeof key, "%s", m->id);
    bson_t *doc = BCON_NEW("_id", BCON_UTF8(m->id), "chat_id", BCON_UTF8(m->chat_id), "prev",
                           BCON_UTF8(prev), "sender_id", BCON_UTF8(m->sender_id), "client_key",
                           BCON_UTF8(key), "content", BCON_UTF8(m->content ? m->content : ""));
    hs__mg_put_str(doc, "client_id", m->client_id);
    hs__mg_put_str(doc, "reply_to", m->reply_to);
    bson_t files;
    BSON_APPEND_ARRAY_BEGIN(doc, "files", &files);
    for (size_t i = 0; i < nfiles; i++) {
        char k[16];
        const char *idx;
        bson_uint32_to_string((uint32_t)i, &idx, k, sizeof k);
        bson_append_utf8(&files, idx, -1, file_ids[i], -1);
    }
    bson_append_array_end(doc, &files);
    BSON_APPEND_UTF8(doc, "origin", origin);
    BSON_APPEND_INT64(doc, "created_at", m->created_at);
    BSON_APPEND_INT64(doc, "edited_at", 0);
    BSON_APPEND_INT64(doc, "deleted_at", 0);
    BSON_APPEND_INT64(doc, "v", 0);
    return doc;
}

static int decide_activity(const bson_t *current, void *arg, bson_t *set)
{
    const hs_message_t *m = arg;
    bson_iter_t it;
    if (bson_iter_init_find(&it, current, "last_message_id") && BSON_ITER_HOLDS_UTF8(&it) &&
        strcmp(bson_iter_utf8(&it, NULL), m->id) >= 0)
        return 0; /* a later message is there already */
    BSON_APPEND_UTF8(set, "last_message_id", m->id);
    BSON_APPEND_INT64(set, "last_activity_at", m->created_at);
    return 1;
}

typedef struct {
    const char *read, *delivered; /* NULL: leave */
} marks_t;

/* 1 when the member document's marker key is before id (absent: ""). */
static int before(const bson_t *doc, const char *key, const char *id)
{
    bson_iter_t it;
    const char *at = "";
    if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
        at = bson_iter_utf8(&it, NULL);
    return strcmp(at, id) < 0;
}

static int decide_marks(const bson_t *current, void *arg, bson_t *set)
{
    const marks_t *k = arg;
    int moved = 0;
    if (k->read && before(current, "last_read_id", k->read)) {
        BSON_APPEND_UTF8(set, "last_read_id", k->read);
        moved = 1;
    }
    if (k->delivered && before(current, "last_delivered_id", k->delivered)) {
        BSON_APPEND_UTF8(set, "last_delivered_id", k->delivered);
        moved = 1;
    }
    return moved;
}

int hs__mg_marks_forward(hs__mg_op_t *op, const char *chat_id, const char *user_id,
                         const char *read, const char *delivered, hs_err_t *err)
{
    char key[64];
    int moved;
    marks_t k = {read, delivered};
    hs__mg_member_key(key, chat_id, user_id);
    return hs__mg_cas(op, HS__MG_MEMBERS, key, decide_marks, &k, &moved, err);
}

/* Order: the grants (so a visible message's files are readable), then the
 * message (the chain decides its place: it goes after the chain's end, and
 * after a collision walks on from there; a client id's twin that got there
 * first makes this one a retry: its grants go again), then the chat's
 * activity and the sender's markers (whoever writes has read everything
 * before), then the search words. A crash after the message leaves the chat
 * one message behind in the list, never a message missing from its
 * history; one before it leaves a grant without a message. */
int hs__mg_message_create(hs_store_t *st, hs_message_t *m, const char **file_ids, size_t nfiles,
                          int *existed, hs_err_t *err)
{
    hs__mg_op_t op;
    char origin[HS_ID_LEN + 1], found_id[HS_ID_LEN + 1], ckey[160];
    int rc = 0, claimed = 0, found = 0;
    *existed = 0;
    hs__mg_begin(st, &op);
    snprintf(ckey, sizeof ckey, "c:%s", m->client_id ? m->client_id : "");
    if (m->client_id)
        rc = find_by_client(&op, m->sender_id, ckey, found_id, &found, err);
    if (!rc && found) {
        hs__mg_end(&op);
        memcpy(m->id, found_id, sizeof found_id);
        *existed = 1;
        return 0;
    }
    hs_message_t w = *m;
    memcpy(origin, m->id, sizeof origin);
    if (!rc)
        rc = grant(&op, m->chat_id, origin, file_ids, nfiles, err);
    char prev[HS_ID_LEN + 1];
    int64_t prev_at;
    if (!rc)
        rc = chain_hint(&op, m->chat_id, prev, &prev_at, err);
    for (int i = 0; i < SEND_TRIES && !rc && !claimed && !found; i++) {
        if ((rc = chain_tail(&op, m->chat_id, prev, &prev_at, err)))
            break;
        if (strcmp(prev, w.id) >= 0) { /* raised above the newest */
            memcpy(w.id, prev, sizeof w.id);
            id_increment(w.id);
        }
        int64_t now = hs_now_ms();
        w.created_at = now > prev_at ? now : prev_at; /* never back down a history */
        bson_t *doc = message_doc(&w, prev, origin, file_ids, nfiles);
        rc = hs__mg_insert(&op, HS__MG_MESSAGES, doc, &claimed, err);
        bson_destroy(doc);
        if (rc || claimed)
            break;
        /* another message took this place (or, rarely, this id); or the
         * same client id's send got there first */
        if (m->client_id && (rc = find_by_client(&op, m->sender_id, ckey, found_id, &found, err)))
            break;
        id_increment(w.id);
    }
    if (!rc && !claimed && !found)
        rc = hs_err_set(err, HS_EUNAVAIL, "store_busy", "too many messages at once; try again");
    if (rc || found) {
        ungrant(&op, origin, NULL);
        hs__mg_end(&op);
        if (!rc) {
            memcpy(m->id, found_id, sizeof found_id);
            *existed = 1;
        }
        return rc;
    }
    memcpy(m->id, w.id, sizeof m->id);
    m->created_at = w.created_at;
    int moved;
    rc = hs__mg_cas(&op, HS__MG_CHATS, m->chat_id, decide_activity, m, &moved, err);
    if (!rc)
        rc = hs__mg_marks_forward(&op, m->chat_id, m->sender_id, m->id, m->id, err);
    if (!rc)
        rc = hs__mg_tokens_put(&op, m->chat_id, m->id, m->content ? m->content : "", err);
    hs__mg_end(&op);
    return rc;
}

static int load_message(hs__mg_op_t *op, const char *id, hs_arena_t *a, hs_message_t *out,
                        hs_err_t *err)
{
    bson_t doc;
    int found = 0;
    int rc = hs__mg_cas_read(op, HS__MG_MESSAGES, id, &doc, &found, err);
    if (rc)
        return rc;
    if (!found)
        return hs_err_set(err, HS_ENOTFOUND, "message_not_found", "No such message");
    hs__mg_read_message(a, &doc, out);
    bson_destroy(&doc);
    return 0;
}

int hs__mg_message_get(hs_store_t *st, const char *id, const char *viewer, int full, hs_arena_t *a,
                       hs_message_t *out, hs_err_t *err)
{
    hs__mg_op_t op;
    hs_message_t m;
    hs__mg_begin(st, &op);
    int rc = load_message(&op, id, a, &m, err);
    if (!rc)
        rc = hs__mg_message_extras(&op, viewer, full, a, &m, 1, err);
    hs__mg_end(&op);
    if (!rc)
        *out = m;
    return rc;
}

typedef struct {
    hs_arena_t *a;
    hs_message_t *items;
    size_t n, cap;
} message_list_t;

static void collect_message(const bson_t *doc, void *arg)
{
    message_list_t *l = arg;
    l->items = hs_arena_grow(l->a, l->items, l->n, &l->cap, sizeof *l->items);
    hs__mg_read_message(l->a, doc, &l->items[l->n++]);
}

/* Reads documents as written: an edit whose writer died between its claim
 * and its write shows here once a get or a write of that message applied
 * it. */
int hs__mg_message_page(hs_store_t *st, const char *chat_id, const char *viewer, const char *before,
                        const char *after, int limit, hs_arena_t *a, hs_message_page_t *out,
                        hs_err_t *err)
{
    int older = !after;
    memset(out, 0, sizeof *out);
    bson_t *f = BCON_NEW("chat_id", BCON_UTF8(chat_id), "_id", "{", older ? "$lt" : "$gt",
                         BCON_UTF8(older ? (before ? before : "g") : after), "}");
    bson_t *o = BCON_NEW("sort", "{", "_id", BCON_INT32(older ? -1 : 1), "}", "limit",
                         BCON_INT64((int64_t)limit + 1));
    message_list_t l = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_MESSAGES, f, o, collect_message, &l, err);
    bson_destroy(f);
    bson_destroy(o);
    int more = !rc && l.n > (size_t)limit;
    if (more)
        l.n = (size_t)limit;
    if (!older) /* fetched oldest first: pages are always newest first */
        for (size_t i = 0; i < l.n / 2; i++) {
            hs_message_t t = l.items[i];
            l.items[i] = l.items[l.n - 1 - i];
            l.items[l.n - 1 - i] = t;
        }
    if (!rc)
        rc = hs__mg_message_extras(&op, viewer, 1, a, l.items, l.n, err);
    /* The viewer has now received everything up to the newest message shown. */
    if (!rc && l.n)
        hs__mg_marks_forward(&op, chat_id, viewer, NULL, l.items[0].id, NULL);
    hs__mg_end(&op);
    if (rc)
        return rc;
    out->items = l.items;
    out->n = l.n;
    /* The cursor continues in the direction asked: older from the oldest
     * message of this page, newer from the newest. */
    if (more && l.n)
        out->next_cursor = hs_arena_strdup(a, older ? l.items[l.n - 1].id : l.items[0].id);
    return 0;
}

typedef struct {
    const char *content; /* NULL: delete */
    int64_t now;
    char origin[HS_ID_LEN + 1]; /* out */
    char chat_id[HS_ID_LEN + 1];
} change_t;

static int decide_change(const bson_t *current, void *arg, bson_t *set)
{
    change_t *c = arg;
    if (hs__mg_i64(current, "deleted_at"))
        return 0; /* a tombstone stays one */
    hs__mg_id(c->origin, current, "origin");
    hs__mg_id(c->chat_id, current, "chat_id");
    if (c->content) {
        BSON_APPEND_UTF8(set, "content", c->content);
        BSON_APPEND_INT64(set, "edited_at", c->now);
    } else {
        bson_t files;
        BSON_APPEND_UTF8(set, "content", "");
        BSON_APPEND_INT64(set, "deleted_at", c->now);
        BSON_APPEND_ARRAY_BEGIN(set, "files", &files);
        bson_append_array_end(set, &files);
    }
    return 1;
}

/* The content (or, content NULL, the tombstone) by compare-and-set: one of
 * an edit and a delete racing is first, and the other sees its result. */
static int change(hs__mg_op_t *op, const char *id, change_t *c, hs_err_t *err)
{
    int moved = 0;
    int rc = hs__mg_cas(op, HS__MG_MESSAGES, id, decide_change, c, &moved, err);
    if (!rc && !moved)
        rc = hs_err_set(err, HS_ENOTFOUND, "message_not_found", "No such message");
    return rc;
}

int hs__mg_message_edit(hs_store_t *st, const char *id, const char *content, int64_t now,
                        hs_err_t *err)
{
    change_t c = {.content = content ? content : "", .now = now};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = change(&op, id, &c, err);
    if (!rc)
        rc = hs__mg_tokens_put(&op, c.chat_id, id, c.content, err);
    hs__mg_end(&op);
    return rc;
}

/* Order: the tombstone (decides; its attachments go with it), then its
 * reactions, its grants and its search words: a crash midway leaves
 * reactions or grants of a deleted message, never a deleted message that
 * shows its content. */
int hs__mg_message_delete(hs_store_t *st, const char *id, int64_t now, hs_err_t *err)
{
    change_t c = {.content = NULL, .now = now};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = change(&op, id, &c, err);
    if (!rc) {
        bson_t *f = BCON_NEW("message_id", BCON_UTF8(id));
        rc = hs__mg_delete(&op, HS__MG_REACTIONS, 1, f, NULL, err);
        bson_destroy(f);
    }
    if (!rc)
        rc = ungrant(&op, c.origin, err);
    if (!rc)
        rc = hs__mg_tokens_put(&op, c.chat_id, id, NULL, err);
    hs__mg_end(&op);
    return rc;
}

int hs__mg_chat_messages_drop(hs__mg_op_t *op, const char *chat_id, hs_err_t *err)
{
    bson_t *f = BCON_NEW("chat_id", BCON_UTF8(chat_id));
    int rc = hs__mg_delete(op, HS__MG_MESSAGES, 1, f, NULL, err);
    if (!rc)
        rc = hs__mg_delete(op, HS__MG_GRANTS, 1, f, NULL, err);
    bson_destroy(f);
    return rc;
}

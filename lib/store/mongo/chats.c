/* MongoDB operations on chats and their members (messages: messages.c;
 * chat_page and what chat_get full adds: chat_list.c).
 *
 *   chats         one document per chat, versioned ("v"): the member count,
 *                 the owner and the editable fields change only through
 *                 compare-and-set (cas.c), so a count and an edit racing on
 *                 FerretDB cannot lose each other; direct_key unique (direct
 *                 chats without it store their own id there: no partial
 *                 indexes in FerretDB)
 *   chat_members  {_id: "<chat>:<user>", chat_id, user_id, role, muted,
 *                 joined_at, last_read_id}: the unique _id makes a member
 *                 once */
#include <stdio.h>
#include <string.h>

#include "mongo.h"

void hs__mg_member_key(char out[64], const char *chat_id, const char *user_id)
{
    snprintf(out, 64, "%s:%s", chat_id, user_id);
}

void hs__mg_read_chat(hs_arena_t *a, const bson_t *doc, hs_chat_t *c)
{
    memset(c, 0, sizeof *c);
    hs__mg_id(c->id, doc, "_id");
    c->kind = hs__mg_str(a, doc, "kind");
    c->name = hs__mg_str(a, doc, "name");
    c->description = hs__mg_str(a, doc, "description");
    c->avatar_file_id = hs__mg_str(a, doc, "avatar_file_id");
    c->is_public = hs__mg_i64(doc, "is_public") != 0;
    hs__mg_id(c->owner_id, doc, "owner_id");
    c->member_count = hs__mg_i64(doc, "member_count");
    c->created_at = hs__mg_i64(doc, "created_at");
    c->updated_at = hs__mg_i64(doc, "updated_at");
    c->last_activity_at = hs__mg_i64(doc, "last_activity_at");
    c->last_message_id = hs__mg_str(a, doc, "last_message_id");
}

void hs__mg_read_member(hs_arena_t *a, const bson_t *doc, hs_member_t *m)
{
    memset(m, 0, sizeof *m);
    hs__mg_id(m->user_id, doc, "user_id");
    m->role = hs__mg_str(a, doc, "role");
    m->muted = hs__mg_i64(doc, "muted") != 0;
    m->joined_at = hs__mg_i64(doc, "joined_at");
    m->last_read_id = hs__mg_str(a, doc, "last_read_id");
}

static int insert_member(hs__mg_op_t *op, const char *chat_id, const char *user_id,
                         const char *role, int64_t now, int *claimed, hs_err_t *err)
{
    char key[64];
    hs__mg_member_key(key, chat_id, user_id);
    bson_t *doc =
        BCON_NEW("_id", BCON_UTF8(key), "chat_id", BCON_UTF8(chat_id), "user_id",
                 BCON_UTF8(user_id), "role", BCON_UTF8(role), "muted", BCON_INT32(0), "joined_at",
                 BCON_INT64(now), "last_read_id", BCON_UTF8(""), "v", BCON_INT64(0));
    int rc = hs__mg_insert(op, HS__MG_MEMBERS, doc, claimed, err);
    bson_destroy(doc);
    return rc;
}

static int delete_members(hs__mg_op_t *op, const char *chat_id, hs_err_t *err)
{
    bson_t *f = BCON_NEW("chat_id", BCON_UTF8(chat_id));
    int rc = hs__mg_delete(op, HS__MG_MEMBERS, 1, f, NULL, err);
    bson_destroy(f);
    return rc;
}

/* Order: the members, then the chat (the write that makes it exist, and
 * that a direct chat's unique key decides); a refused chat takes its members
 * away again. Members of a chat that does not exist are seen nowhere: every
 * read goes through the chat. */
int hs__mg_chat_create(hs_store_t *st, const hs_chat_t *c, const char *direct_key,
                       const char **members, size_t n, hs_err_t *err)
{
    hs__mg_op_t op;
    int rc = 0, direct = strcmp(c->kind, "direct") == 0;
    hs__mg_begin(st, &op);
    for (size_t i = 0; i < n && !rc; i++) {
        int claimed;
        rc = insert_member(&op, c->id, members[i], !direct && i == 0 ? "owner" : "member",
                           c->created_at, &claimed, err);
    }
    bson_t *doc = BCON_NEW(
        "_id", BCON_UTF8(c->id), "kind", BCON_UTF8(c->kind), "name",
        BCON_UTF8(c->name ? c->name : ""), "description",
        BCON_UTF8(c->description ? c->description : ""), "is_public",
        BCON_INT32(c->is_public ? 1 : 0), "owner_id", BCON_UTF8(c->owner_id), "direct_key",
        BCON_UTF8(direct_key ? direct_key : c->id), "has_direct_key",
        BCON_INT32(direct_key ? 1 : 0), "member_count", BCON_INT64((int64_t)n), "last_activity_at",
        BCON_INT64(c->created_at), "created_at", BCON_INT64(c->created_at), "updated_at",
        BCON_INT64(c->created_at), "last_message_id", BCON_NULL, "v", BCON_INT64(0));
    hs__mg_put_str(doc, "avatar_file_id", c->avatar_file_id);
    int claimed = 0;
    if (!rc)
        rc = hs__mg_insert(&op, HS__MG_CHATS, doc, &claimed, err);
    if (!rc && !claimed)
        rc = hs_err_set(err, HS_ECONFLICT, "direct_exists", "This direct chat exists");
    if (rc)
        delete_members(&op, c->id, NULL);
    hs__mg_end(&op);
    bson_destroy(doc);
    return rc;
}

int hs__mg_chat_find_direct(hs_store_t *st, const char *direct_key, char id[HS_ID_LEN + 1],
                            hs_err_t *err)
{
    bson_t *f = BCON_NEW("direct_key", BCON_UTF8(direct_key), "has_direct_key", BCON_INT32(1));
    bson_t *o = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}");
    bson_t doc;
    int found = 0;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_one(&op, HS__MG_CHATS, f, o, &doc, &found, err);
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    if (rc)
        return rc;
    if (!found)
        return hs_err_set(err, HS_ENOTFOUND, "chat_not_found", "No such chat");
    hs__mg_id(id, &doc, "_id");
    bson_destroy(&doc);
    return 0;
}

/* The chat (newest version) and the viewer's membership. */
static int load_chat(hs__mg_op_t *op, const char *id, const char *viewer, hs_arena_t *a,
                     hs_chat_t *out, hs_err_t *err)
{
    bson_t doc;
    int found = 0;
    int rc = hs__mg_cas_read(op, HS__MG_CHATS, id, &doc, &found, err);
    if (rc)
        return rc;
    if (!found)
        return hs_err_set(err, HS_ENOTFOUND, "chat_not_found", "No such chat");
    hs__mg_read_chat(a, &doc, out);
    bson_destroy(&doc);
    if (!viewer)
        return 0;
    char key[64];
    hs__mg_member_key(key, id, viewer);
    bson_t *f = BCON_NEW("_id", BCON_UTF8(key));
    rc = hs__mg_find_one(op, HS__MG_MEMBERS, f, NULL, &doc, &found, err);
    bson_destroy(f);
    out->my_last_read_id = "";
    if (found) {
        hs_member_t m;
        hs__mg_read_member(a, &doc, &m);
        out->my_role = m.role;
        out->my_muted = m.muted;
        out->my_last_read_id = m.last_read_id ? m.last_read_id : "";
        bson_destroy(&doc);
    }
    return rc;
}

/* full adds the viewer's unread count and the last message (chat_list.c). */
int hs__mg_chat_get(hs_store_t *st, const char *id, const char *viewer, int full, hs_arena_t *a,
                    hs_chat_t *out, hs_err_t *err)
{
    hs__mg_op_t op;
    hs_chat_t c;
    hs__mg_begin(st, &op);
    int rc = load_chat(&op, id, viewer, a, &c, err);
    if (!rc && full)
        rc = hs__mg_chat_full(&op, viewer, a, &c, err);
    hs__mg_end(&op);
    if (!rc)
        *out = c;
    return rc;
}

static int decide_update(const bson_t *current, void *arg, bson_t *set)
{
    (void)current;
    const hs_chat_t *c = arg;
    BSON_APPEND_UTF8(set, "name", c->name ? c->name : "");
    BSON_APPEND_UTF8(set, "description", c->description ? c->description : "");
    hs__mg_put_str(set, "avatar_file_id", c->avatar_file_id);
    BSON_APPEND_INT32(set, "is_public", c->is_public ? 1 : 0);
    BSON_APPEND_INT64(set, "updated_at", c->updated_at);
    return 1;
}

int hs__mg_chat_update(hs_store_t *st, const hs_chat_t *c, hs_err_t *err)
{
    hs__mg_op_t op;
    int moved = 0;
    hs__mg_begin(st, &op);
    int rc = hs__mg_cas(&op, HS__MG_CHATS, c->id, decide_update, (void *)c, &moved, err);
    hs__mg_end(&op);
    if (!rc && !moved)
        rc = hs_err_set(err, HS_ENOTFOUND, "chat_not_found", "No such chat");
    return rc;
}

typedef struct {
    int64_t delta, limit; /* limit <= 0: none */
    int64_t count;        /* out: before the change */
} count_change_t;

static int decide_count(const bson_t *current, void *arg, bson_t *set)
{
    count_change_t *c = arg;
    c->count = hs__mg_i64(current, "member_count");
    if (c->delta > 0 && c->limit > 0 && c->count >= c->limit)
        return 0;
    BSON_APPEND_INT64(set, "member_count", c->count + c->delta);
    return 1;
}

/* Adds delta to the chat's member count; *moved = 0 when the chat is gone
 * or (delta > 0) at limit. */
static int count_add(hs__mg_op_t *op, const char *chat_id, int64_t delta, int64_t limit, int *moved,
                     int64_t *before, hs_err_t *err)
{
    count_change_t c = {delta, limit, -1};
    int rc = hs__mg_cas(op, HS__MG_CHATS, chat_id, decide_count, &c, moved, err);
    if (before)
        *before = c.count;
    return rc;
}

/* Order: reserve a place in the count (the limit is decided there), then
 * insert the member (the unique _id decides "already a member"), giving the
 * place back when refused. A crash between leaves the count one high. */
int hs__mg_member_add(hs_store_t *st, const char *chat_id, const char *user_id, const char *role,
                      int64_t now, int64_t limit, hs_err_t *err)
{
    hs__mg_op_t op;
    int moved = 0, claimed = 0;
    int64_t before = -1;
    hs__mg_begin(st, &op);
    int rc = count_add(&op, chat_id, 1, limit, &moved, &before, err);
    if (!rc && !moved)
        rc = before < 0 ? hs_err_set(err, HS_ENOTFOUND, "chat_not_found", "No such chat")
                        : hs_err_set(err, HS_ECONFLICT, "member_limit",
                                     "The chat has %lld members, its limit", (long long)before);
    if (!rc)
        rc = insert_member(&op, chat_id, user_id, role, now, &claimed, err);
    if (!rc && !claimed) {
        count_add(&op, chat_id, -1, 0, &moved, NULL, NULL);
        rc = hs_err_set(err, HS_ECONFLICT, "already_member", "The user is already a member");
    }
    hs__mg_end(&op);
    return rc;
}

/* Deletes the membership (exact: of two racing removals one does it), then
 * gives its place back in the count. */
static int remove_member(hs__mg_op_t *op, const char *chat_id, const char *user_id, hs_err_t *err)
{
    char key[64];
    long deleted = 0;
    int moved;
    hs__mg_member_key(key, chat_id, user_id);
    bson_t *f = BCON_NEW("_id", BCON_UTF8(key));
    int rc = hs__mg_delete(op, HS__MG_MEMBERS, 0, f, &deleted, err);
    bson_destroy(f);
    if (!rc && !deleted)
        rc = hs_err_set(err, HS_ENOTFOUND, "member_not_found", "Not a member of this chat");
    if (!rc)
        rc = count_add(op, chat_id, -1, 0, &moved, NULL, err);
    return rc;
}

int hs__mg_member_remove(hs_store_t *st, const char *chat_id, const char *user_id, hs_err_t *err)
{
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = remove_member(&op, chat_id, user_id, err);
    hs__mg_end(&op);
    return rc;
}

typedef struct {
    const char *role; /* NULL: unchanged */
    int muted;        /* -1: unchanged */
} member_change_t;

static int decide_member(const bson_t *current, void *arg, bson_t *set)
{
    (void)current;
    const member_change_t *c = arg;
    if (c->role)
        BSON_APPEND_UTF8(set, "role", c->role);
    if (c->muted >= 0)
        BSON_APPEND_INT32(set, "muted", c->muted ? 1 : 0);
    return 1;
}

/* By compare-and-set, like read_mark, the other writer of a member
 * document: on FerretDB two plain updates of it could undo each other. */
int hs__mg_member_set(hs_store_t *st, const char *chat_id, const char *user_id, const char *role,
                      int muted, hs_err_t *err)
{
    char key[64];
    hs__mg_member_key(key, chat_id, user_id);
    member_change_t c = {role, muted};
    int moved = 0;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_cas(&op, HS__MG_MEMBERS, key, decide_member, &c, &moved, err);
    hs__mg_end(&op);
    if (!rc && !moved)
        rc = hs_err_set(err, HS_ENOTFOUND, "member_not_found", "Not a member of this chat");
    return rc;
}

static int decide_read(const bson_t *current, void *arg, bson_t *set)
{
    const char *message_id = arg;
    bson_iter_t it;
    uint32_t len;
    const char *at = "";
    if (bson_iter_init_find(&it, current, "last_read_id") && BSON_ITER_HOLDS_UTF8(&it))
        at = bson_iter_utf8(&it, &len);
    if (strcmp(at, message_id) >= 0)
        return 0; /* never back */
    BSON_APPEND_UTF8(set, "last_read_id", message_id);
    return 1;
}

/* Forward only, by compare-and-set on the member document. Not a member:
 * nothing moves (as SQLite's UPDATE finds no row). */
int hs__mg_read_mark(hs_store_t *st, const char *chat_id, const char *user_id,
                     const char *message_id, int *moved, hs_err_t *err)
{
    char key[64];
    hs__mg_member_key(key, chat_id, user_id);
    int m = 0;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_cas(&op, HS__MG_MEMBERS, key, decide_read, (void *)message_id, &m, err);
    hs__mg_end(&op);
    if (!rc)
        *moved = m;
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

/* The members by user id after the cursor, then their names in one read. */
int hs__mg_member_page(hs_store_t *st, const char *chat_id, const char *after, int limit,
                       hs_arena_t *a, hs_member_page_t *out, hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    bson_t *f = BCON_NEW("chat_id", BCON_UTF8(chat_id), "user_id", "{", "$gt",
                         BCON_UTF8(after ? after : ""), "}");
    bson_t *o = BCON_NEW("sort", "{", "user_id", BCON_INT32(1), "}", "limit",
                         BCON_INT64((int64_t)limit + 1));
    member_list_t l = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_MEMBERS, f, o, collect_member, &l, err);
    if (!rc && l.n) {
        bson_t *fu = bson_new(), in, ids;
        BSON_APPEND_DOCUMENT_BEGIN(fu, "_id", &in);
        BSON_APPEND_ARRAY_BEGIN(&in, "$in", &ids);
        for (size_t i = 0; i < l.n; i++) {
            char k[16];
            const char *idx;
            bson_uint32_to_string((uint32_t)i, &idx, k, sizeof k);
            bson_append_utf8(&ids, idx, -1, l.items[i].user_id, -1);
        }
        bson_append_array_end(&in, &ids);
        bson_append_document_end(fu, &in);
        rc = hs__mg_find_each(&op, HS__MG_USERS, fu, NULL, name_member, &l, err);
        bson_destroy(fu);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    if (rc)
        return rc;
    if (l.n > (size_t)limit) {
        l.n = (size_t)limit;
        out->next_cursor = limit > 0 ? hs_arena_strdup(a, l.items[limit - 1].user_id) : NULL;
    }
    out->items = l.items;
    out->n = l.n;
    return 0;
}

typedef struct {
    hs_arena_t *a;
    hs_chat_ref_t *items;
    size_t n, cap;
} ref_list_t;

static void collect_ref(const bson_t *doc, void *arg)
{
    ref_list_t *l = arg;
    l->items = hs_arena_grow(l->a, l->items, l->n, &l->cap, sizeof *l->items);
    hs_chat_ref_t *r = &l->items[l->n++];
    memset(r, 0, sizeof *r);
    hs__mg_id(r->id, doc, "chat_id");
}

static void fill_ref(const bson_t *doc, void *arg)
{
    ref_list_t *l = arg;
    char id[HS_ID_LEN + 1];
    hs__mg_id(id, doc, "_id");
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].id, id) == 0) {
            l->items[i].kind = hs__mg_str(l->a, doc, "kind");
            l->items[i].member_count = hs__mg_i64(doc, "member_count");
        }
}

/* The user's memberships by chat id, then their chats in one read; a
 * membership whose chat does not exist (a create or delete midway) is left
 * out. */
int hs__mg_member_chats(hs_store_t *st, const char *user_id, hs_arena_t *a, hs_chat_ref_t **out,
                        size_t *n, hs_err_t *err)
{
    bson_t *f = BCON_NEW("user_id", BCON_UTF8(user_id));
    bson_t *o = BCON_NEW("sort", "{", "chat_id", BCON_INT32(1), "}");
    ref_list_t l = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_MEMBERS, f, o, collect_ref, &l, err);
    if (!rc && l.n) {
        bson_t *fc = bson_new(), in, ids;
        BSON_APPEND_DOCUMENT_BEGIN(fc, "_id", &in);
        BSON_APPEND_ARRAY_BEGIN(&in, "$in", &ids);
        for (size_t i = 0; i < l.n; i++) {
            char k[16];
            const char *idx;
            bson_uint32_to_string((uint32_t)i, &idx, k, sizeof k);
            bson_append_utf8(&ids, idx, -1, l.items[i].id, -1);
        }
        bson_append_array_end(&in, &ids);
        bson_append_document_end(fc, &in);
        rc = hs__mg_find_each(&op, HS__MG_CHATS, fc, NULL, fill_ref, &l, err);
        bson_destroy(fc);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    if (rc)
        return rc;
    size_t w = 0;
    for (size_t i = 0; i < l.n; i++)
        if (l.items[i].kind)
            l.items[w++] = l.items[i];
    *out = l.items;
    *n = w;
    return 0;
}

/* Order: delete the chat (the write that makes it gone for every read;
 * exact against a racing delete), then its members, then its messages and
 * their grants. */
int hs__mg_chat_delete(hs_store_t *st, const char *id, hs_err_t *err)
{
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id));
    long deleted = 0;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_delete(&op, HS__MG_CHATS, 0, f, &deleted, err);
    if (!rc && deleted)
        rc = delete_members(&op, id, err);
    if (!rc && deleted)
        rc = hs__mg_chat_messages_drop(&op, id, err);
    hs__mg_end(&op);
    bson_destroy(f);
    if (!rc && !deleted)
        rc = hs_err_set(err, HS_ENOTFOUND, "chat_not_found", "No such chat");
    return rc;
}

static int decide_owner(const bson_t *current, void *arg, bson_t *set)
{
    (void)current;
    BSON_APPEND_UTF8(set, "owner_id", (const char *)arg);
    return 1;
}

/* The longest-standing admin, else member, of the chat into heir ("" when
 * nobody is left). */
static int find_heir(hs__mg_op_t *op, const char *chat_id, char heir[HS_ID_LEN + 1], hs_err_t *err)
{
    bson_t *o = BCON_NEW("sort", "{", "joined_at", BCON_INT32(1), "user_id", BCON_INT32(1), "}");
    bson_t doc;
    int found = 0, rc = 0;
    heir[0] = '\0';
    for (int pass = 0; pass < 2 && !rc && !found; pass++) {
        bson_t *f = pass == 0 ? BCON_NEW("chat_id", BCON_UTF8(chat_id), "role", BCON_UTF8("admin"))
                              : BCON_NEW("chat_id", BCON_UTF8(chat_id));
        rc = hs__mg_find_one(op, HS__MG_MEMBERS, f, o, &doc, &found, err);
        bson_destroy(f);
    }
    bson_destroy(o);
    if (found) {
        hs__mg_id(heir, &doc, "user_id");
        bson_destroy(&doc);
    }
    return rc;
}

/* Order: remove the member (exact), then, if nobody is left, delete the
 * chat, else if the owner left, make the heir owner: its member role, then
 * the chat's owner_id (compare-and-set). A crash midway leaves a chat whose
 * owner left, which the next leave or an admin can still settle. */
int hs__mg_chat_leave(hs_store_t *st, const char *chat_id, const char *user_id,
                      char new_owner[HS_ID_LEN + 1], int *deleted, hs_err_t *err)
{
    new_owner[0] = '\0';
    *deleted = 0;
    hs_arena_t tmp = {0};
    char key[64];
    bson_t doc;
    int found = 0, owner = 0;
    hs__mg_member_key(key, chat_id, user_id);
    bson_t *f = BCON_NEW("_id", BCON_UTF8(key));
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_one(&op, HS__MG_MEMBERS, f, NULL, &doc, &found, err);
    bson_destroy(f);
    if (found) {
        const char *role = hs__mg_str(&tmp, &doc, "role");
        owner = role && strcmp(role, "owner") == 0;
        bson_destroy(&doc);
    }
    if (!rc)
        rc = remove_member(&op, chat_id, user_id, err);
    hs_chat_t c;
    if (!rc)
        rc = load_chat(&op, chat_id, NULL, &tmp, &c, err);
    if (!rc && c.member_count <= 0) {
        *deleted = 1;
        hs__mg_end(&op);
        hs_arena_free(&tmp);
        return hs__mg_chat_delete(st, chat_id, err);
    }
    char heir[HS_ID_LEN + 1] = "";
    if (!rc && owner)
        rc = find_heir(&op, chat_id, heir, err);
    hs__mg_end(&op);
    hs_arena_free(&tmp);
    if (rc || !heir[0])
        return rc;
    if ((rc = hs__mg_member_set(st, chat_id, heir, "owner", -1, err)))
        return rc;
    int moved = 0;
    hs__mg_begin(st, &op);
    rc = hs__mg_cas(&op, HS__MG_CHATS, chat_id, decide_owner, heir, &moved, err);
    hs__mg_end(&op);
    if (!rc)
        memcpy(new_owner, heir, HS_ID_LEN + 1);
    return rc;
}

/* SQLite queries for chats, their members and read markers. */
#include <stdio.h>
#include <string.h>

#include "sqlite.h"

/* A chat, the viewer's membership (?1 is the viewer) and the last message,
 * in the column order read_chat expects. */
#define CHAT_SELECT                                                                                \
    "SELECT c.id, c.kind, c.name, c.description, c.avatar_file_id, c.is_public, c.owner_id,"       \
    " c.member_count, c.created_at, c.updated_at, c.last_activity_at, c.last_message_id,"          \
    " cm.role, cm.muted, cm.last_read_id,"                                                         \
    " CASE WHEN cm.role IS NULL THEN 0 ELSE (SELECT count(*) FROM (SELECT 1 FROM messages m"       \
    "  WHERE m.chat_id = c.id AND m.id > cm.last_read_id AND m.sender_id != ?1"                    \
    "  AND m.deleted_at = 0 LIMIT 1000)) END,"                                                     \
    " lm.id, lm.sender_id, substr(lm.content, 1, 100), lm.created_at, lm.deleted_at,"              \
    " printf('%020d_%s', c.last_activity_at, c.id)"                                                \
    " FROM chats c LEFT JOIN chat_members cm ON cm.chat_id = c.id AND cm.user_id = ?1"             \
    " LEFT JOIN messages lm ON lm.id = c.last_message_id "

static void read_chat(hs_arena_t *a, sqlite3_stmt *s, void *out)
{
    hs_chat_t *c = out;
    memset(c, 0, sizeof *c);
    hs__sq_id(c->id, s, 0);
    c->kind = hs__sq_text(a, s, 1);
    c->name = hs__sq_text(a, s, 2);
    c->description = hs__sq_text(a, s, 3);
    c->avatar_file_id = hs__sq_text(a, s, 4);
    c->is_public = sqlite3_column_int(s, 5);
    hs__sq_id(c->owner_id, s, 6);
    c->member_count = sqlite3_column_int64(s, 7);
    c->created_at = sqlite3_column_int64(s, 8);
    c->updated_at = sqlite3_column_int64(s, 9);
    c->last_activity_at = sqlite3_column_int64(s, 10);
    c->last_message_id = hs__sq_text(a, s, 11);
    c->my_role = hs__sq_text(a, s, 12);
    c->my_muted = sqlite3_column_int(s, 13);
    c->my_last_read_id = hs__sq_text(a, s, 14);
    c->my_unread = sqlite3_column_int64(s, 15);
    if (sqlite3_column_type(s, 16) != SQLITE_NULL) {
        hs_message_t *m = hs_arena_alloc(a, sizeof *m);
        hs__sq_id(m->id, s, 16);
        hs__sq_id(m->chat_id, s, 0);
        hs__sq_id(m->sender_id, s, 17);
        m->content = hs__sq_text(a, s, 18);
        m->created_at = sqlite3_column_int64(s, 19);
        m->deleted_at = sqlite3_column_int64(s, 20);
        c->last_message = m;
    }
}

static const char SQL_CHAT[] =
    "INSERT INTO chats (id, kind, name, description, avatar_file_id, is_public, owner_id,"
    " direct_key, member_count, last_activity_at, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?10)";
static const char SQL_MEMBER[] = "INSERT INTO chat_members (chat_id, user_id, role, joined_at)"
                                 " VALUES (?1, ?2, ?3, ?4)";

static int insert_member(hs_store_t *st, const char *chat_id, const char *user_id, const char *role,
                         int64_t now, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_MEMBER, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, chat_id);
    hs__sq_bind_text(s, 2, user_id);
    hs__sq_bind_text(s, 3, role);
    sqlite3_bind_int64(s, 4, now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc == SQLITE_CONSTRAINT)
        return hs_err_set(err, HS_ECONFLICT, "already_member", "The user is already a member");
    return hs__sq_fail(st, rc, err);
}

int hs__sq_chat_create(hs_store_t *st, const hs_chat_t *c, const char *direct_key,
                       const char **members, size_t n, hs_err_t *err)
{
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_CHAT, err);
    if (!s) {
        hs__sq_rollback(st);
        return HS_EINTERNAL;
    }
    hs__sq_bind_text(s, 1, c->id);
    hs__sq_bind_text(s, 2, c->kind);
    hs__sq_bind_text(s, 3, c->name ? c->name : "");
    hs__sq_bind_text(s, 4, c->description ? c->description : "");
    hs__sq_bind_text(s, 5, c->avatar_file_id);
    sqlite3_bind_int(s, 6, c->is_public);
    hs__sq_bind_text(s, 7, c->owner_id);
    hs__sq_bind_text(s, 8, direct_key);
    sqlite3_bind_int64(s, 9, (int64_t)n);
    sqlite3_bind_int64(s, 10, c->created_at);
    int step = sqlite3_step(s);
    sqlite3_reset(s);
    if (step != SQLITE_DONE) {
        hs__sq_rollback(st);
        if (step == SQLITE_CONSTRAINT)
            return hs_err_set(err, HS_ECONFLICT, "direct_exists", "This direct chat exists");
        return hs__sq_fail(st, step, err);
    }
    int direct = strcmp(c->kind, "direct") == 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = insert_member(st, c->id, members[i], !direct && i == 0 ? "owner" : "member",
                           c->created_at, err);
    if (rc || (rc = hs__sq_commit(st, err)))
        hs__sq_rollback(st);
    return rc;
}

static const char SQL_DIRECT[] = "SELECT id FROM chats WHERE direct_key = ?1";

int hs__sq_chat_find_direct(hs_store_t *st, const char *direct_key, char id[HS_ID_LEN + 1],
                            hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_DIRECT, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, direct_key);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        hs__sq_id(id, s, 0);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return hs_err_set(err, HS_ENOTFOUND, "chat_not_found", "No such chat");
    return hs__sq_fail(st, rc, err);
}

static const char SQL_GET[] = CHAT_SELECT "WHERE c.id = ?2";
/* The same columns without the unread count and last message, for the
 * membership checks every message operation makes. */
static const char SQL_GET_LIGHT[] =
    "SELECT c.id, c.kind, c.name, c.description, c.avatar_file_id, c.is_public, c.owner_id,"
    " c.member_count, c.created_at, c.updated_at, c.last_activity_at, c.last_message_id,"
    " cm.role, cm.muted, cm.last_read_id, 0, NULL, NULL, NULL, NULL, NULL, NULL"
    " FROM chats c LEFT JOIN chat_members cm ON cm.chat_id = c.id AND cm.user_id = ?1"
    " WHERE c.id = ?2";

int hs__sq_chat_get(hs_store_t *st, const char *id, const char *viewer, int full, hs_arena_t *a,
                    hs_chat_t *out, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, full ? SQL_GET : SQL_GET_LIGHT, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, viewer);
    hs__sq_bind_text(s, 2, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_chat(a, s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return hs_err_set(err, HS_ENOTFOUND, "chat_not_found", "No such chat");
    return hs__sq_fail(st, rc, err);
}

static const char SQL_UPDATE[] = "UPDATE chats SET name = ?2, description = ?3,"
                                 " avatar_file_id = ?4, is_public = ?5, updated_at = ?6"
                                 " WHERE id = ?1";

int hs__sq_chat_update(hs_store_t *st, const hs_chat_t *c, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_UPDATE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, c->id);
    hs__sq_bind_text(s, 2, c->name ? c->name : "");
    hs__sq_bind_text(s, 3, c->description ? c->description : "");
    hs__sq_bind_text(s, 4, c->avatar_file_id);
    sqlite3_bind_int(s, 5, c->is_public);
    sqlite3_bind_int64(s, 6, c->updated_at);
    return hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "chat_not_found", "No such chat",
                             err);
}

static const char SQL_DELETE[] = "DELETE FROM chats WHERE id = ?1";

int hs__sq_chat_delete(hs_store_t *st, const char *id, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_DELETE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    return hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "chat_not_found", "No such chat",
                             err);
}

/* Column 21 is the cursor: activity time and id, newest first. */
static const char SQL_PAGE[] =
    CHAT_SELECT "WHERE c.id IN (SELECT chat_id FROM chat_members WHERE user_id = ?1)"
                " AND printf('%020d_%s', c.last_activity_at, c.id) < ?2"
                " ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?3";

int hs__sq_chat_page(hs_store_t *st, const char *user_id, const char *before, int limit,
                     hs_arena_t *a, hs_chat_page_t *out, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_page_query(st, SQL_PAGE, user_id, before, "~", limit, err);
    if (!s)
        return HS_EINTERNAL;
    return hs__sq_page(st, s, limit, sizeof *out->items, read_chat, 21, a, (void **)&out->items,
                       &out->n, &out->next_cursor, NULL, err);
}

static const char SQL_COUNT[] = "SELECT member_count FROM chats WHERE id = ?1";
static const char SQL_COUNT_ADD[] =
    "UPDATE chats SET member_count = member_count + ?2 WHERE id = ?1";

static int count_add(hs_store_t *st, const char *chat_id, int delta, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_COUNT_ADD, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, chat_id);
    sqlite3_bind_int(s, 2, delta);
    return hs__sq_step_done(st, s, err);
}

int hs__sq_member_add(hs_store_t *st, const char *chat_id, const char *user_id, const char *role,
                      int64_t now, int64_t limit, hs_err_t *err)
{
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_COUNT, err);
    if (!s) {
        hs__sq_rollback(st);
        return HS_EINTERNAL;
    }
    hs__sq_bind_text(s, 1, chat_id);
    int step = sqlite3_step(s);
    int64_t count = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    if (count < 0)
        rc = step == SQLITE_DONE ? hs_err_set(err, HS_ENOTFOUND, "chat_not_found", "No such chat")
                                 : hs__sq_fail(st, step, err);
    else if (count >= limit)
        rc = hs_err_set(err, HS_ECONFLICT, "member_limit", "The chat has %lld members, its limit",
                        (long long)count);
    if (rc || (rc = insert_member(st, chat_id, user_id, role, now, err)) ||
        (rc = count_add(st, chat_id, 1, err)) || (rc = hs__sq_commit(st, err)))
        hs__sq_rollback(st);
    return rc;
}

static const char SQL_REMOVE[] = "DELETE FROM chat_members WHERE chat_id = ?1 AND user_id = ?2";

static int remove_member(hs_store_t *st, const char *chat_id, const char *user_id, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_REMOVE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, chat_id);
    hs__sq_bind_text(s, 2, user_id);
    int rc = hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "member_not_found",
                               "Not a member of this chat", err);
    return rc ? rc : count_add(st, chat_id, -1, err);
}

int hs__sq_member_remove(hs_store_t *st, const char *chat_id, const char *user_id, hs_err_t *err)
{
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    if ((rc = remove_member(st, chat_id, user_id, err)) || (rc = hs__sq_commit(st, err)))
        hs__sq_rollback(st);
    return rc;
}

static const char SQL_SET[] = "UPDATE chat_members SET role = coalesce(?3, role),"
                              " muted = CASE WHEN ?4 < 0 THEN muted ELSE ?4 END"
                              " WHERE chat_id = ?1 AND user_id = ?2";
static const char SQL_OWNER[] = "UPDATE chats SET owner_id = ?2 WHERE id = ?1";

int hs__sq_member_set(hs_store_t *st, const char *chat_id, const char *user_id, const char *role,
                      int muted, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_SET, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, chat_id);
    hs__sq_bind_text(s, 2, user_id);
    hs__sq_bind_text(s, 3, role);
    sqlite3_bind_int(s, 4, muted);
    return hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "member_not_found",
                             "Not a member of this chat", err);
}

static const char SQL_MEMBERS[] =
    "SELECT cm.user_id, u.username, u.display_name, cm.role, cm.muted, cm.joined_at,"
    " cm.last_read_id FROM chat_members cm JOIN users u ON u.id = cm.user_id"
    " WHERE cm.chat_id = ?1 AND cm.user_id > ?2 ORDER BY cm.user_id LIMIT ?3";

static void read_member(hs_arena_t *a, sqlite3_stmt *s, void *out)
{
    hs_member_t *m = out;
    memset(m, 0, sizeof *m);
    hs__sq_id(m->user_id, s, 0);
    m->username = hs__sq_text(a, s, 1);
    m->display_name = hs__sq_text(a, s, 2);
    m->role = hs__sq_text(a, s, 3);
    m->muted = sqlite3_column_int(s, 4);
    m->joined_at = sqlite3_column_int64(s, 5);
    m->last_read_id = hs__sq_text(a, s, 6);
}

int hs__sq_member_page(hs_store_t *st, const char *chat_id, const char *after, int limit,
                       hs_arena_t *a, hs_member_page_t *out, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_page_query(st, SQL_MEMBERS, chat_id, after, "", limit, err);
    if (!s)
        return HS_EINTERNAL;
    return hs__sq_page(st, s, limit, sizeof *out->items, read_member, 0, a, (void **)&out->items,
                       &out->n, &out->next_cursor, NULL, err);
}

static const char SQL_ROLE[] = "SELECT role FROM chat_members WHERE chat_id = ?1 AND user_id = ?2";
static const char SQL_HEIR[] = "SELECT user_id FROM chat_members WHERE chat_id = ?1"
                               " ORDER BY role = 'admin' DESC, joined_at, user_id LIMIT 1";

/* After the owner left: the longest-standing admin, else member, owns it. */
static int pass_ownership(hs_store_t *st, const char *chat_id, char new_owner[HS_ID_LEN + 1],
                          hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_HEIR, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, chat_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        hs__sq_id(new_owner, s, 0);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return hs__sq_fail(st, rc, err);
    if ((rc = hs__sq_member_set(st, chat_id, new_owner, "owner", -1, err)) ||
        !(s = hs__sq_prepare(st, SQL_OWNER, err)))
        return rc ? rc : HS_EINTERNAL;
    hs__sq_bind_text(s, 1, chat_id);
    hs__sq_bind_text(s, 2, new_owner);
    return hs__sq_step_done(st, s, err);
}

int hs__sq_chat_leave(hs_store_t *st, const char *chat_id, const char *user_id,
                      char new_owner[HS_ID_LEN + 1], int *deleted, hs_err_t *err)
{
    new_owner[0] = '\0';
    *deleted = 0;
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_ROLE, err);
    if (!s) {
        hs__sq_rollback(st);
        return HS_EINTERNAL;
    }
    hs__sq_bind_text(s, 1, chat_id);
    hs__sq_bind_text(s, 2, user_id);
    int step = sqlite3_step(s);
    int owner = step == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(s, 0), "owner") == 0;
    sqlite3_reset(s);
    if ((rc = remove_member(st, chat_id, user_id, err)))
        goto done;
    if (!(s = hs__sq_prepare(st, SQL_COUNT, err))) {
        rc = HS_EINTERNAL;
        goto done;
    }
    hs__sq_bind_text(s, 1, chat_id);
    step = sqlite3_step(s);
    int64_t left = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (left == 0) {
        *deleted = 1;
        rc = hs__sq_chat_delete(st, chat_id, err);
    } else if (owner) {
        rc = pass_ownership(st, chat_id, new_owner, err);
    }
    if (!rc)
        rc = hs__sq_commit(st, err);
done:
    if (rc)
        hs__sq_rollback(st);
    return rc;
}

static const char SQL_READ[] = "UPDATE chat_members SET last_read_id = ?3"
                               " WHERE chat_id = ?1 AND user_id = ?2 AND last_read_id < ?3";

int hs__sq_read_mark(hs_store_t *st, const char *chat_id, const char *user_id,
                     const char *message_id, int *moved, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_READ, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, chat_id);
    hs__sq_bind_text(s, 2, user_id);
    hs__sq_bind_text(s, 3, message_id);
    int rc = hs__sq_step_done(st, s, err);
    hs__sq_t *q = st->impl;
    *moved = !rc && sqlite3_changes(q->db) > 0;
    return rc;
}

static const char SQL_RECEIPTS[] =
    "SELECT cm.user_id, u.username, u.display_name, cm.role, cm.muted, cm.joined_at,"
    " cm.last_read_id FROM chat_members cm JOIN users u ON u.id = cm.user_id"
    " WHERE cm.chat_id = ?1 AND cm.user_id != ?3 AND cm.last_read_id >= ?2"
    " ORDER BY cm.user_id LIMIT 10000";

int hs__sq_receipts(hs_store_t *st, const char *chat_id, const char *message_id,
                    const char *sender_id, hs_arena_t *a, hs_member_t **out, size_t *n,
                    hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_RECEIPTS, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, chat_id);
    hs__sq_bind_text(s, 2, message_id);
    hs__sq_bind_text(s, 3, sender_id);
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = hs_arena_grow(a, *out, *n, &cap, sizeof **out);
        read_member(a, s, &(*out)[(*n)++]);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : hs__sq_fail(st, rc, err);
}

static const char SQL_MEMBER_CHATS[] =
    "SELECT c.id, c.kind, c.member_count FROM chat_members cm JOIN chats c ON c.id = cm.chat_id"
    " WHERE cm.user_id = ?1 ORDER BY cm.chat_id";

int hs__sq_member_chats(hs_store_t *st, const char *user_id, hs_arena_t *a, hs_chat_ref_t **out,
                        size_t *n, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_MEMBER_CHATS, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, user_id);
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = hs_arena_grow(a, *out, *n, &cap, sizeof **out);
        hs_chat_ref_t *r = &(*out)[(*n)++];
        snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(s, 0));
        r->kind = hs__sq_text(a, s, 1);
        r->member_count = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : hs__sq_fail(st, rc, err);
}

static const char SQL_SHARED[] =
    "SELECT EXISTS (SELECT 1 FROM chat_files cf JOIN chat_members cm ON cm.chat_id = cf.chat_id"
    " WHERE cf.file_id = ?1 AND cm.user_id = ?2)";

int hs__sq_file_shared_with(hs_store_t *st, const char *file_id, const char *user_id, int *yes,
                            hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_SHARED, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, file_id);
    hs__sq_bind_text(s, 2, user_id);
    int rc = sqlite3_step(s);
    *yes = rc == SQLITE_ROW && sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : hs__sq_fail(st, rc, err);
}

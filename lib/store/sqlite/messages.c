/* SQLite queries for messages: history pages with their extras filled in a
 * constant number of queries (no query per message), reactions, search. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hs/util.h"
#include "sqlite.h"

/* Message columns, the sender's names and the reply preview; MSG_JOINS
 * brings in the users (u) and replied-to messages (r) they come from. */
#define MSG_COLS                                                                                   \
    "m.id, m.chat_id, m.sender_id, u.username, u.display_name, m.content, m.reply_to,"             \
    " m.client_id, m.created_at, m.edited_at, m.deleted_at, r.sender_id,"                          \
    " CASE WHEN r.deleted_at THEN '' ELSE substr(r.content, 1, 100) END"
#define MSG_JOINS                                                                                  \
    " LEFT JOIN users u ON u.id = m.sender_id LEFT JOIN messages r ON r.id = m.reply_to "
#define MSG_SELECT "SELECT " MSG_COLS " FROM messages m" MSG_JOINS

static void read_message(hs_arena_t *a, sqlite3_stmt *s, void *out)
{
    hs_message_t *m = out;
    memset(m, 0, sizeof *m);
    hs__sq_id(m->id, s, 0);
    hs__sq_id(m->chat_id, s, 1);
    hs__sq_id(m->sender_id, s, 2);
    m->sender_username = hs__sq_text(a, s, 3);
    m->sender_display_name = hs__sq_text(a, s, 4);
    m->content = hs__sq_text(a, s, 5);
    m->reply_to = hs__sq_text(a, s, 6);
    m->client_id = hs__sq_text(a, s, 7);
    m->created_at = sqlite3_column_int64(s, 8);
    m->edited_at = sqlite3_column_int64(s, 9);
    m->deleted_at = sqlite3_column_int64(s, 10);
    m->reply_sender_id = hs__sq_text(a, s, 11);
    m->reply_content = hs__sq_text(a, s, 12);
}

/* The ids of ms as a JSON array, for `IN (SELECT value FROM json_each(?))`. */
static const char *ids_json(hs_arena_t *a, const hs_message_t *ms, size_t n)
{
    char *out = hs_arena_alloc(a, n * (HS_ID_LEN + 3) + 3), *p = out;
    *p++ = '[';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\"%s\"", i ? "," : "", ms[i].id);
    *p++ = ']';
    *p = '\0';
    return out;
}

static hs_message_t *find(hs_message_t *ms, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ms[i].id, id) == 0)
            return &ms[i];
    return NULL;
}

static const char SQL_FILES[] =
    "SELECT f.id, f.owner_id, f.filename, f.content_type, f.sniffed_type, f.sha256, f.chat_id,"
    " f.size, f.created_at, f.expires_at, mf.message_id FROM message_files mf"
    " JOIN files f ON f.id = mf.file_id"
    " WHERE mf.message_id IN (SELECT value FROM json_each(?1)) ORDER BY mf.message_id, f.id";
static const char SQL_REACTIONS[] =
    "SELECT message_id, emoji, count(*), max(user_id = ?2) FROM reactions"
    " WHERE message_id IN (SELECT value FROM json_each(?1))"
    " GROUP BY message_id, emoji ORDER BY message_id, min(created_at), emoji";
static const char SQL_SEEN[] =
    "SELECT coalesce(max(last_read_id), ''), coalesce(max(last_delivered_id), '')"
    " FROM chat_members WHERE chat_id = ?1 AND user_id != ?2";

/* Attachments, reactions and (for the viewer's own messages) the delivery
 * state of ms: three queries whatever the page size. */
static int fill_extras(hs_store_t *st, const char *viewer, hs_arena_t *a, hs_message_t *ms,
                       size_t n, hs_err_t *err)
{
    if (!n)
        return 0;
    const char *ids = ids_json(a, ms, n);
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_FILES, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, ids);
    int rc;
    size_t cap = 0;
    hs_message_t *last = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        hs_message_t *m = find(ms, n, (const char *)sqlite3_column_text(s, 10));
        if (!m)
            continue;
        if (m != last)
            cap = 0;
        last = m;
        m->files = hs_arena_grow(a, m->files, m->nfiles, &cap, sizeof *m->files);
        hs__sq_read_file(a, s, &m->files[m->nfiles++]);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE || !(s = hs__sq_prepare(st, SQL_REACTIONS, err)))
        return rc != SQLITE_DONE ? hs__sq_fail(st, rc, err) : HS_EINTERNAL;
    hs__sq_bind_text(s, 1, ids);
    hs__sq_bind_text(s, 2, viewer);
    last = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        hs_message_t *m = find(ms, n, (const char *)sqlite3_column_text(s, 0));
        if (!m)
            continue;
        if (m != last)
            cap = 0;
        last = m;
        m->reactions = hs_arena_grow(a, m->reactions, m->nreactions, &cap, sizeof *m->reactions);
        hs_reaction_t *r = &m->reactions[m->nreactions++];
        r->emoji = hs__sq_text(a, s, 1);
        r->count = sqlite3_column_int64(s, 2);
        r->mine = sqlite3_column_int(s, 3);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE || !(s = hs__sq_prepare(st, SQL_SEEN, err)))
        return rc != SQLITE_DONE ? hs__sq_fail(st, rc, err) : HS_EINTERNAL;
    hs__sq_bind_text(s, 1, ms[0].chat_id);
    hs__sq_bind_text(s, 2, viewer);
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *read = hs__sq_text(a, s, 0), *delivered = hs__sq_text(a, s, 1);
        for (size_t i = 0; i < n; i++)
            if (strcmp(ms[i].sender_id, viewer) == 0)
                ms[i].state = strcmp(read, ms[i].id) >= 0        ? "read"
                              : strcmp(delivered, ms[i].id) >= 0 ? "delivered"
                                                                 : "sent";
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : hs__sq_fail(st, rc, err);
}

static const char SQL_BY_CLIENT[] = MSG_SELECT "WHERE m.sender_id = ?1 AND m.client_id = ?2";
static const char SQL_MAX_ID[] = "SELECT id, created_at FROM messages ORDER BY id DESC LIMIT 1";

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

/* ObjectIds from several processes interleave within a second (their
 * middle bytes are per process), so a new message's id is raised above the
 * newest one (one lookup at the end of the primary key's index). Writers
 * are serialized here (IMMEDIATE transaction): ids then follow commit order,
 * and a client polling "after" its newest id misses nothing. */
static int order_id(hs_store_t *st, hs_message_t *m, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_MAX_ID, err);
    if (!s)
        return HS_EINTERNAL;
    int rc = sqlite3_step(s);
    /* The time is taken here too, under the same lock, so created_at never
     * goes backwards down a history either. */
    m->created_at = hs_now_ms();
    if (rc == SQLITE_ROW) {
        const char *max = (const char *)sqlite3_column_text(s, 0);
        if (strcmp(max, m->id) >= 0) {
            snprintf(m->id, sizeof m->id, "%s", max);
            id_increment(m->id);
        }
        if (sqlite3_column_int64(s, 1) > m->created_at)
            m->created_at = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : hs__sq_fail(st, rc, err);
}

static const char SQL_INSERT[] =
    "INSERT INTO messages (id, chat_id, sender_id, content, reply_to, client_id, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_ATTACH[] = "INSERT INTO message_files (message_id, file_id) VALUES (?1, ?2)";
static const char SQL_GRANT[] =
    "INSERT OR IGNORE INTO chat_files (file_id, chat_id) VALUES (?1, ?2)";
static const char SQL_ACTIVITY[] =
    "UPDATE chats SET last_message_id = ?2, last_activity_at = ?3 WHERE id = ?1";
/* Whoever writes has read everything before: this also keeps counting a
 * member's unread messages short (it starts after their last message). */
static const char SQL_SENDER_READ[] =
    "UPDATE chat_members SET last_read_id = ?3, last_delivered_id = max(last_delivered_id, ?3)"
    " WHERE chat_id = ?1 AND user_id = ?2 AND last_read_id < ?3";

static int bind2_step(hs_store_t *st, const char *sql, const char *a1, const char *a2,
                      hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, sql, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, a1);
    hs__sq_bind_text(s, 2, a2);
    return hs__sq_step_done(st, s, err);
}

int hs__sq_message_create(hs_store_t *st, hs_message_t *m, const char **file_ids, size_t nfiles,
                          int *existed, hs_err_t *err)
{
    *existed = 0;
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *s;
    if (m->client_id) {
        if (!(s = hs__sq_prepare(st, SQL_BY_CLIENT, err)))
            goto fail;
        hs__sq_bind_text(s, 1, m->sender_id);
        hs__sq_bind_text(s, 2, m->client_id);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            char id[HS_ID_LEN + 1];
            hs__sq_id(id, s, 0);
            sqlite3_reset(s);
            hs__sq_rollback(st);
            memcpy(m->id, id, sizeof id);
            *existed = 1;
            return 0;
        }
        sqlite3_reset(s);
    }
    if ((rc = order_id(st, m, err)) || !(s = hs__sq_prepare(st, SQL_INSERT, err)))
        goto fail;
    hs__sq_bind_text(s, 1, m->id);
    hs__sq_bind_text(s, 2, m->chat_id);
    hs__sq_bind_text(s, 3, m->sender_id);
    hs__sq_bind_text(s, 4, m->content);
    hs__sq_bind_text(s, 5, m->reply_to);
    hs__sq_bind_text(s, 6, m->client_id);
    sqlite3_bind_int64(s, 7, m->created_at);
    if ((rc = hs__sq_step_done(st, s, err)))
        goto fail;
    for (size_t i = 0; i < nfiles; i++)
        if ((rc = bind2_step(st, SQL_ATTACH, m->id, file_ids[i], err)) ||
            (rc = bind2_step(st, SQL_GRANT, file_ids[i], m->chat_id, err)))
            goto fail;
    if (!(s = hs__sq_prepare(st, SQL_ACTIVITY, err)))
        goto fail;
    hs__sq_bind_text(s, 1, m->chat_id);
    hs__sq_bind_text(s, 2, m->id);
    sqlite3_bind_int64(s, 3, m->created_at);
    if ((rc = hs__sq_step_done(st, s, err)) || !(s = hs__sq_prepare(st, SQL_SENDER_READ, err)))
        goto fail;
    hs__sq_bind_text(s, 1, m->chat_id);
    hs__sq_bind_text(s, 2, m->sender_id);
    hs__sq_bind_text(s, 3, m->id);
    if ((rc = hs__sq_step_done(st, s, err)) || (rc = hs__sq_commit(st, err)))
        goto fail;
    return 0;
fail:
    hs__sq_rollback(st);
    return err && err->rc ? err->rc : HS_EINTERNAL;
}

static const char SQL_GET[] = MSG_SELECT "WHERE m.id = ?1";

static int message_get(hs_store_t *st, const char *id, const char *viewer, int full, hs_arena_t *a,
                       hs_message_t *out, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_GET, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_message(a, s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return hs_err_set(err, HS_ENOTFOUND, "message_not_found", "No such message");
    if (rc != SQLITE_ROW)
        return hs__sq_fail(st, rc, err);
    return full ? fill_extras(st, viewer, a, out, 1, err) : 0;
}

int hs__sq_message_get(hs_store_t *st, const char *id, const char *viewer, int full, hs_arena_t *a,
                       hs_message_t *out, hs_err_t *err)
{
    int began = full && hs__sq_read_begin(st); /* the row and its extras: one read */
    int rc = message_get(st, id, viewer, full, a, out, err);
    hs__sq_read_end(st, began);
    return rc;
}

static const char SQL_BEFORE[] =
    MSG_SELECT "WHERE m.chat_id = ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3";
static const char SQL_AFTER[] =
    MSG_SELECT "WHERE m.chat_id = ?1 AND m.id > ?2 ORDER BY m.id ASC LIMIT ?3";
static const char SQL_DELIVERED[] =
    "UPDATE chat_members SET last_delivered_id = ?3"
    " WHERE chat_id = ?1 AND user_id = ?2 AND last_delivered_id < ?3";

int hs__sq_message_page(hs_store_t *st, const char *chat_id, const char *viewer, const char *before,
                        const char *after, int limit, hs_arena_t *a, hs_message_page_t *out,
                        hs_err_t *err)
{
    int older = !after;
    sqlite3_stmt *s = hs__sq_page_query(st, older ? SQL_BEFORE : SQL_AFTER, chat_id,
                                        older ? before : after, "g", limit, err);
    if (!s)
        return HS_EINTERNAL;
    memset(out, 0, sizeof *out);
    int began = hs__sq_read_begin(st); /* the page and its extras; not the UPDATE */
    int more, rc = hs__sq_page(st, s, limit, sizeof *out->items, read_message, -1, a,
                               (void **)&out->items, &out->n, NULL, &more, err);
    if (rc) {
        hs__sq_read_end(st, began);
        return rc;
    }
    if (!older) /* fetched oldest first: pages are always newest first */
        for (size_t i = 0; i < out->n / 2; i++) {
            hs_message_t t = out->items[i];
            out->items[i] = out->items[out->n - 1 - i];
            out->items[out->n - 1 - i] = t;
        }
    /* The cursor continues in the direction asked: older from the oldest
     * message of this page, newer from the newest. */
    if (more && out->n)
        out->next_cursor = hs_arena_strdup(a, older ? out->items[out->n - 1].id : out->items[0].id);
    rc = fill_extras(st, viewer, a, out->items, out->n, err);
    hs__sq_read_end(st, began);
    if (rc)
        return rc;
    /* The viewer has now received everything up to the newest message shown. */
    if (out->n && (s = hs__sq_prepare(st, SQL_DELIVERED, err))) {
        hs__sq_bind_text(s, 1, chat_id);
        hs__sq_bind_text(s, 2, viewer);
        hs__sq_bind_text(s, 3, out->items[0].id);
        hs__sq_step_done(st, s, NULL);
    }
    return 0;
}

static const char SQL_EDIT[] =
    "UPDATE messages SET content = ?2, edited_at = ?3 WHERE id = ?1 AND deleted_at = 0";

int hs__sq_message_edit(hs_store_t *st, const char *id, const char *content, int64_t now,
                        hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_EDIT, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    hs__sq_bind_text(s, 2, content);
    sqlite3_bind_int64(s, 3, now);
    return hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "message_not_found",
                             "No such message", err);
}

static const char SQL_TOMBSTONE[] =
    "UPDATE messages SET content = '', deleted_at = ?2 WHERE id = ?1 AND deleted_at = 0";
static const char SQL_UNREACT[] = "DELETE FROM reactions WHERE message_id = ?1";
static const char SQL_UNATTACH[] = "DELETE FROM message_files WHERE message_id = ?1";
/* A file stays readable in the chat only while another message there
 * carries it. */
static const char SQL_UNGRANT[] =
    "DELETE FROM chat_files WHERE chat_id = (SELECT chat_id FROM messages WHERE id = ?1)"
    " AND file_id IN (SELECT file_id FROM message_files WHERE message_id = ?1)"
    " AND NOT EXISTS (SELECT 1 FROM message_files mf JOIN messages m ON m.id = mf.message_id"
    "  WHERE mf.file_id = chat_files.file_id AND m.chat_id = chat_files.chat_id"
    "  AND mf.message_id != ?1)";

int hs__sq_message_delete(hs_store_t *st, const char *id, int64_t now, hs_err_t *err)
{
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_TOMBSTONE, err);
    if (!s) {
        hs__sq_rollback(st);
        return HS_EINTERNAL;
    }
    hs__sq_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    if ((rc = hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "message_not_found",
                                "No such message", err)) ||
        (rc = bind2_step(st, SQL_UNREACT, id, NULL, err)) ||
        (rc = bind2_step(st, SQL_UNGRANT, id, NULL, err)) ||
        (rc = bind2_step(st, SQL_UNATTACH, id, NULL, err)) || (rc = hs__sq_commit(st, err)))
        hs__sq_rollback(st);
    return rc;
}

static const char SQL_REACT_DEL[] =
    "DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3";
static const char SQL_REACT_ADD[] =
    "INSERT INTO reactions (message_id, emoji, user_id, created_at) VALUES (?1, ?2, ?3, ?4)";

int hs__sq_reaction_toggle(hs_store_t *st, const char *message_id, const char *user_id,
                           const char *emoji, int64_t now, int *on, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_REACT_DEL, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, message_id);
    hs__sq_bind_text(s, 2, emoji);
    hs__sq_bind_text(s, 3, user_id);
    int rc = hs__sq_step_done(st, s, err);
    hs__sq_t *q = st->impl;
    if (rc || sqlite3_changes(q->db) > 0) {
        *on = 0;
        return rc;
    }
    if (!(s = hs__sq_prepare(st, SQL_REACT_ADD, err)))
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, message_id);
    hs__sq_bind_text(s, 2, emoji);
    hs__sq_bind_text(s, 3, user_id);
    sqlite3_bind_int64(s, 4, now);
    *on = 1;
    return hs__sq_step_done(st, s, err);
}

/* Turns what a person typed into an FTS5 query: each word quoted (so no
 * character of theirs is FTS5 syntax), all required, the last one a prefix. */
static const char *fts_query(hs_arena_t *a, const char *q)
{
    size_t n = strlen(q);
    char *out = hs_arena_alloc(a, 3 * n + 8), *p = out;
    int words = 0;
    for (const unsigned char *s = (const unsigned char *)q; *s;) {
        while (*s && !hs_word_byte(*s))
            s++;
        if (!*s)
            break;
        if (words++)
            *p++ = ' ';
        *p++ = '"';
        while (*s && hs_word_byte(*s))
            *p++ = (char)*s++;
        *p++ = '"';
    }
    if (words)
        *p++ = '*';
    *p = '\0';
    return words ? out : NULL;
}

/* Search answers only from the searcher's own chats, newest first (by
 * rowid, the order messages were written), with no ranking: bm25 uses
 * statistics of the whole index, so scores, and any order or cursor made
 * from them, would tell what other people's chats hold. Nothing in the
 * answer depends on messages the searcher cannot read; the cursor is the
 * last hit's id, a position in the searcher's own results. FTS5 walks the
 * matches from the newest (rowid DESC), so a page stops as soon as it has
 * its hits; each term has at least 2 characters (lib/messages.c), which
 * keeps prefix expansion small, and searches are rate-limited per user. */
static const char SQL_SEARCH[] =
    "SELECT " MSG_COLS ", snippet(messages_fts, 0, char(2), char(3), '…', 12)"
    " FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid" MSG_JOINS
    " WHERE messages_fts MATCH ?1 AND messages_fts.rowid < ?2 AND m.deleted_at = 0"
    " AND m.chat_id IN (SELECT chat_id FROM chat_members WHERE user_id = ?3)"
    " AND (?4 IS NULL OR m.chat_id = ?4)"
    " ORDER BY messages_fts.rowid DESC LIMIT ?5";
/* Where a cursor points: a message of the searcher's chats, or nothing,
 * so a cursor naming someone else's message is as invalid as garbage. */
static const char SQL_SEARCH_CURSOR[] =
    "SELECT m.rowid FROM messages m WHERE m.id = ?1"
    " AND m.chat_id IN (SELECT chat_id FROM chat_members WHERE user_id = ?2)";

static int message_search(hs_store_t *st, const char *user_id, const char *chat_id,
                          const char *query, const char *after, int limit, hs_arena_t *a,
                          hs_message_page_t *out, hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *match = fts_query(a, query);
    if (!match)
        return 0;
    long long below = INT64_MAX;
    sqlite3_stmt *s;
    int rc;
    if (after && !hs_id_valid(after))
        return hs_err_set(err, HS_EINVAL, "invalid_cursor", "The cursor is not valid");
    if (after) {
        if (!(s = hs__sq_prepare(st, SQL_SEARCH_CURSOR, err)))
            return HS_EINTERNAL;
        hs__sq_bind_text(s, 1, after);
        hs__sq_bind_text(s, 2, user_id);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            below = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        if (rc == SQLITE_DONE)
            return hs_err_set(err, HS_EINVAL, "invalid_cursor", "The cursor is not valid");
        if (rc != SQLITE_ROW)
            return hs__sq_fail(st, rc, err);
    }
    if (!(s = hs__sq_prepare(st, SQL_SEARCH, err)))
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, match);
    sqlite3_bind_int64(s, 2, below);
    hs__sq_bind_text(s, 3, user_id);
    hs__sq_bind_text(s, 4, chat_id);
    sqlite3_bind_int(s, 5, limit + 1);
    out->items = hs_arena_alloc(a, sizeof(hs_message_t) * (size_t)limit);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((int)out->n == limit) {
            out->next_cursor = hs_arena_strdup(a, out->items[out->n - 1].id);
            break;
        }
        read_message(a, s, &out->items[out->n]);
        out->items[out->n++].snippet = hs__sq_text(a, s, 13);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return hs__sq_fail(st, rc, err);
    return fill_extras(st, user_id, a, out->items, out->n, err);
}

int hs__sq_message_search(hs_store_t *st, const char *user_id, const char *chat_id,
                          const char *query, const char *after, int limit, hs_arena_t *a,
                          hs_message_page_t *out, hs_err_t *err)
{
    int began = hs__sq_read_begin(st); /* cursor, hits and extras: one read */
    int rc = message_search(st, user_id, chat_id, query, after, limit, a, out, err);
    hs__sq_read_end(st, began);
    return rc;
}

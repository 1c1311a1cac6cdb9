/* SQLite backend: connection, schema migrations and the statement cache.
 * One connection per process; WAL lets the processes lighttpd spawns read
 * concurrently while one writes, and a short busy handler (on_busy)
 * absorbs writer overlap. */
#include "sqlite.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Forward-only migrations: entry i brings the schema to user_version i+1.
 * Never edit a shipped entry; append a new one. */
static const char *const migrations[] = {
    /* 1: accounts, sessions, follows */
    "CREATE TABLE users ("
    " id TEXT PRIMARY KEY,"
    " username TEXT NOT NULL UNIQUE,"
    " email TEXT NOT NULL UNIQUE,"
    " password_hash TEXT NOT NULL,"
    " display_name TEXT NOT NULL DEFAULT '',"
    " bio TEXT NOT NULL DEFAULT '',"
    " avatar_file_id TEXT,"
    " settings TEXT NOT NULL DEFAULT '{}',"
    " role TEXT NOT NULL DEFAULT 'user',"
    " disabled INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX users_display_name ON users(display_name COLLATE NOCASE);"
    "CREATE TABLE sessions ("
    " id TEXT PRIMARY KEY,"
    " user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " user_agent TEXT NOT NULL DEFAULT '',"
    " ip TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " last_used_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX sessions_user ON sessions(user_id, revoked_at);"
    "CREATE TABLE refresh_tokens ("
    " hash TEXT PRIMARY KEY,"
    " session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
    " expires_at INTEGER NOT NULL,"
    " used_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);"
    "CREATE TABLE follows ("
    " id TEXT PRIMARY KEY,"
    " follower_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " followee_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " created_at INTEGER NOT NULL,"
    " UNIQUE (follower_id, followee_id));"
    "CREATE INDEX follows_followee ON follows(followee_id, id);"
    "CREATE INDEX follows_follower ON follows(follower_id, id);",
    /* 2: uploads, files, share links */
    "CREATE TABLE uploads ("
    " id TEXT PRIMARY KEY,"
    " owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " protocol TEXT NOT NULL,"
    " filename TEXT NOT NULL,"
    " content_type TEXT NOT NULL,"
    " sha256 TEXT,"
    " chat_id TEXT,"
    " concat TEXT NOT NULL DEFAULT '',"
    " metadata TEXT NOT NULL DEFAULT '',"
    " size INTEGER NOT NULL,"
    " chunk_size INTEGER NOT NULL,"
    " chunk_count INTEGER NOT NULL,"
    " upload_offset INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " completed_at INTEGER NOT NULL DEFAULT 0,"
    " file_ttl INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX uploads_owner ON uploads(owner_id);"
    "CREATE INDEX uploads_expires ON uploads(expires_at);"
    "CREATE TABLE upload_chunks ("
    " upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,"
    " n INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " PRIMARY KEY (upload_id, n)) WITHOUT ROWID;"
    "CREATE TABLE files ("
    " id TEXT PRIMARY KEY,"
    " owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " filename TEXT NOT NULL,"
    " content_type TEXT NOT NULL,"
    " sniffed_type TEXT NOT NULL,"
    " sha256 TEXT,"
    " chat_id TEXT,"
    " size INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX files_owner ON files(owner_id, id);"
    "CREATE INDEX files_expires ON files(expires_at) WHERE expires_at > 0;"
    "CREATE TABLE share_links ("
    " id TEXT PRIMARY KEY,"
    " token_hash TEXT NOT NULL UNIQUE,"
    " file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,"
    " password_hash TEXT,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL DEFAULT 0,"
    " max_downloads INTEGER NOT NULL DEFAULT 0,"
    " downloads INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX share_links_file ON share_links(file_id);",
    /* 3: chats, members, messages, attachments, reactions, search */
    "CREATE TABLE chats ("
    " id TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " name TEXT NOT NULL DEFAULT '',"
    " description TEXT NOT NULL DEFAULT '',"
    " avatar_file_id TEXT,"
    " is_public INTEGER NOT NULL DEFAULT 0,"
    " owner_id TEXT NOT NULL DEFAULT '',"
    " direct_key TEXT UNIQUE,"
    " member_count INTEGER NOT NULL DEFAULT 0,"
    " last_message_id TEXT,"
    " last_activity_at INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE chat_members ("
    " chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
    " user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " role TEXT NOT NULL,"
    " muted INTEGER NOT NULL DEFAULT 0,"
    " joined_at INTEGER NOT NULL,"
    " last_read_id TEXT NOT NULL DEFAULT '',"
    " last_delivered_id TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (chat_id, user_id)) WITHOUT ROWID;"
    "CREATE INDEX chat_members_user ON chat_members(user_id, chat_id);"
    "CREATE TABLE messages ("
    " id TEXT PRIMARY KEY,"
    " chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
    " sender_id TEXT NOT NULL,"
    " content TEXT NOT NULL,"
    " reply_to TEXT,"
    " client_id TEXT,"
    " created_at INTEGER NOT NULL,"
    " edited_at INTEGER NOT NULL DEFAULT 0,"
    " deleted_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX messages_chat ON messages(chat_id, id);"
    "CREATE UNIQUE INDEX messages_client ON messages(sender_id, client_id)"
    " WHERE client_id IS NOT NULL;"
    "CREATE TABLE message_files ("
    " message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    " file_id TEXT NOT NULL,"
    " PRIMARY KEY (message_id, file_id)) WITHOUT ROWID;"
    "CREATE TABLE chat_files ("
    " file_id TEXT NOT NULL,"
    " chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
    " PRIMARY KEY (file_id, chat_id)) WITHOUT ROWID;"
    "CREATE TABLE reactions ("
    " message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    " emoji TEXT NOT NULL,"
    " user_id TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (message_id, emoji, user_id)) WITHOUT ROWID;"
    /* The search index holds no copy of the text (external content); the
     * triggers keep it in step with every insert, edit and delete. */
    "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages',"
    " content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');"
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN"
    " INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END;"
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN"
    " INSERT INTO messages_fts(messages_fts, rowid, content)"
    " VALUES ('delete', old.rowid, old.content); END;"
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF content ON messages BEGIN"
    " INSERT INTO messages_fts(messages_fts, rowid, content)"
    " VALUES ('delete', old.rowid, old.content);"
    " INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END;",
    /* 4: P2P transfers; files bound to one as its relay copy */
    "CREATE TABLE p2p_transfers ("
    " id TEXT PRIMARY KEY,"
    " sender_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " recipient_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " filename TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " sha256 TEXT,"
    " mode TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " reason TEXT,"
    " bytes INTEGER NOT NULL DEFAULT 0,"
    " relay_file_id TEXT,"
    " received_sha256 TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " progress_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX p2p_sender ON p2p_transfers(sender_id, id);"
    "CREATE INDEX p2p_recipient ON p2p_transfers(recipient_id, id);"
    "CREATE INDEX p2p_pending ON p2p_transfers(expires_at) WHERE state = 'pending';"
    "CREATE INDEX p2p_live ON p2p_transfers(updated_at)"
    " WHERE state IN ('accepted', 'transferring');"
    "CREATE TABLE p2p_blocks ("
    " blocker_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " blocked_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (blocker_id, blocked_id)) WITHOUT ROWID;"
    "ALTER TABLE files ADD COLUMN transfer_id TEXT;",
    /* 5: events and rate limits kept in the store (events = store) */
    "CREATE TABLE events ("
    " ms INTEGER NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL,"
    " type TEXT NOT NULL, data TEXT NOT NULL,"
    " PRIMARY KEY (ms, seq)) WITHOUT ROWID;"
    "CREATE INDEX events_key ON events(key, ms, seq);"
    "CREATE TABLE event_last (ms INTEGER NOT NULL, seq INTEGER NOT NULL);"
    "INSERT INTO event_last (ms, seq) VALUES (0, 0);"
    "CREATE TABLE rate_limits (key TEXT PRIMARY KEY, tat INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX rate_limits_tat ON rate_limits(tat);"
    "CREATE TABLE slots (key TEXT NOT NULL, holder TEXT NOT NULL, until INTEGER NOT NULL,"
    " PRIMARY KEY (key, holder)) WITHOUT ROWID;",
};

static int exec(sqlite3 *db, const char *sql, hs_err_t *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        hs_err_set(err, HS_EINTERNAL, "store_error", "sqlite: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return HS_EINTERNAL;
    }
    return 0;
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    return v;
}

/* Runs the missing migrations in one IMMEDIATE transaction, so processes
 * starting together migrate once and the others then see the new version. */
static int migrate(sqlite3 *db, hs_err_t *err)
{
    int target = (int)(sizeof migrations / sizeof migrations[0]);
    if (exec(db, "BEGIN IMMEDIATE", err))
        return HS_EINTERNAL;
    int v = user_version(db);
    if (v > target) {
        exec(db, "ROLLBACK", NULL);
        return hs_err_set(err, HS_EINTERNAL, "store_too_new",
                          "the database schema (version %d) is newer than this build (%d)", v,
                          target);
    }
    for (; v < target; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (exec(db, migrations[v], err) || exec(db, pragma, err)) {
            exec(db, "ROLLBACK", NULL);
            return HS_EINTERNAL;
        }
    }
    return exec(db, "COMMIT", err);
}

int hs__sq_release(hs__sq_t *q)
{
    for (size_t i = 0; i < q->cap; i++)
        if (q->cache[i].sql)
            sqlite3_finalize(q->cache[i].stmt);
    free(q->cache);
    q->cache = NULL;
    q->ncache = q->cap = 0;
    int rc = sqlite3_close(q->db);
    if (rc != SQLITE_OK) {
        /* A statement outside the cache is still open: a bug, said loudly,
         * and the handle is released once it is finalized. */
        fprintf(stderr, "hypersend: sqlite: close failed: %s\n", sqlite3_errmsg(q->db));
        sqlite3_close_v2(q->db);
    }
    q->db = NULL;
    return rc;
}

static void sq_close(hs_store_t *st)
{
    hs__sq_t *q = st->impl;
    hs__sq_release(q);
    free(q);
    free(st);
}

int hs__sq_ping(hs_store_t *st, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, "SELECT 1", err);
    if (!s)
        return err ? err->rc : HS_EINTERNAL;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : hs__sq_fail(st, rc, err);
}

#define HS__SQ_OP_INIT(name, params, args, contract) .name = hs__sq_##name,
/* clang-format off */
static const hs_store_ops_t sqlite_ops = {
    .name = "sqlite",
    .embedded = 1,
    .close = sq_close,
    HS_STORE_OPS(HS__SQ_OP_INIT)
};
/* clang-format on */

/* Another process holds the write lock: a writer holds it for a fraction
 * of a millisecond (one message), but SQLite's busy_timeout sleeps 1, 2,
 * 5, 10... ms between tries, so two apps sending at once mostly slept.
 * Tries again after 50 us, doubling up to 2 ms, for 5 s in all. */
static int on_busy(void *arg, int tries)
{
    (void)arg;
    long waited = tries < 6 ? 50L * ((1L << tries) - 1) : 3150 + 2000L * (tries - 6);
    if (waited >= 5000000)
        return 0;
    usleep(tries < 6 ? 50U << tries : 2000U);
    return 1;
}

int hs__sqlite_open(hs_store_t **out, const char *path, hs_err_t *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        hs_err_set(err, HS_EUNAVAIL, "store_unavailable", "cannot open SQLite database %s: %s",
                   path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return HS_EUNAVAIL;
    }
    sqlite3_busy_handler(db, on_busy, NULL);
    if (exec(db,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
             "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
             err) ||
        migrate(db, err)) {
        sqlite3_close(db);
        return err ? err->rc : HS_EINTERNAL;
    }
    hs_store_t *st = calloc(1, sizeof *st);
    hs__sq_t *q = calloc(1, sizeof *q);
    if (!st || !q) {
        free(st);
        free(q);
        sqlite3_close(db);
        return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
    }
    q->db = db;
    st->ops = &sqlite_ops;
    st->impl = q;
    *out = st;
    return 0;
}

/* The slot of sql in a table of cap (a power of two) slots: its own or
 * the empty one where it goes. */
static hs__sq_stmt_t *slot(hs__sq_stmt_t *cache, size_t cap, const char *sql)
{
    size_t i = (size_t)(((uintptr_t)sql >> 3) * 0x9E3779B97F4A7C15ull) & (cap - 1);
    while (cache[i].sql && cache[i].sql != sql)
        i = (i + 1) & (cap - 1);
    return &cache[i];
}

/* Doubles the table (half full at most, so probes stay short); -1 on OOM. */
static int grow(hs__sq_t *q)
{
    size_t cap = q->cap ? q->cap * 2 : 128;
    hs__sq_stmt_t *cache = calloc(cap, sizeof *cache);
    if (!cache)
        return -1;
    for (size_t i = 0; i < q->cap; i++)
        if (q->cache[i].sql)
            *slot(cache, cap, q->cache[i].sql) = q->cache[i];
    free(q->cache);
    q->cache = cache;
    q->cap = cap;
    return 0;
}

sqlite3_stmt *hs__sq_prepare(hs_store_t *st, const char *sql, hs_err_t *err)
{
    hs__sq_t *q = st->impl;
    hs__sq_stmt_t *e = q->cap ? slot(q->cache, q->cap, sql) : NULL;
    if (e && e->sql) {
        sqlite3_reset(e->stmt);
        sqlite3_clear_bindings(e->stmt);
        return e->stmt;
    }
    if ((q->ncache + 1) * 2 > q->cap) {
        if (grow(q)) {
            hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
            return NULL;
        }
    }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        hs__sq_fail(st, rc, err);
        return NULL;
    }
    /* Every statement is kept: one left out would be prepared again on each
     * call and never finalized. */
    e = slot(q->cache, q->cap, sql);
    e->sql = sql;
    e->stmt = s;
    q->ncache++;
    return s;
}

int hs__sq_fail(hs_store_t *st, int rc, hs_err_t *err)
{
    hs__sq_t *q = st->impl;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return hs_err_set(err, HS_EUNAVAIL, "store_busy", "the database is busy; try again");
    return hs_err_set(err, HS_EINTERNAL, "store_error", "sqlite: %s", sqlite3_errmsg(q->db));
}

int hs__sq_step_done(hs_store_t *st, sqlite3_stmt *s, hs_err_t *err)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : hs__sq_fail(st, rc, err);
}

int hs__sq_begin(hs_store_t *st, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, "BEGIN IMMEDIATE", err);
    return s ? hs__sq_step_done(st, s, err) : HS_EINTERNAL;
}

int hs__sq_commit(hs_store_t *st, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, "COMMIT", err);
    return s ? hs__sq_step_done(st, s, err) : HS_EINTERNAL;
}

int hs__sq_read_begin(hs_store_t *st)
{
    hs__sq_t *q = st->impl;
    if (!sqlite3_get_autocommit(q->db))
        return 0; /* inside a transaction already: its snapshot serves */
    sqlite3_stmt *s = hs__sq_prepare(st, "BEGIN DEFERRED", NULL);
    return s && hs__sq_step_done(st, s, NULL) == 0;
}

void hs__sq_read_end(hs_store_t *st, int began)
{
    sqlite3_stmt *s = began ? hs__sq_prepare(st, "COMMIT", NULL) : NULL;
    if (began && (!s || hs__sq_step_done(st, s, NULL)))
        hs__sq_rollback(st);
}

void hs__sq_rollback(hs_store_t *st)
{
    hs__sq_t *q = st->impl;
    if (!sqlite3_get_autocommit(q->db))
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

void hs__sq_id(char dst[HS_ID_LEN + 1], sqlite3_stmt *s, int i)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    snprintf(dst, HS_ID_LEN + 1, "%s", v ? v : "");
}

const char *hs__sq_text(hs_arena_t *a, sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    if (!t)
        return NULL;
    return hs_arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(s, i));
}

int hs__sq_get_one(hs_store_t *st, const char *sql, const char *key, hs__sq_reader_fn read,
                   hs_arena_t *a, void *out, const char *code, const char *what, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, sql, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, key);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read(a, s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return hs_err_set(err, HS_ENOTFOUND, code, "No such %s", what);
    return hs__sq_fail(st, rc, err);
}

sqlite3_stmt *hs__sq_page_query(hs_store_t *st, const char *sql, const char *key,
                                const char *cursor, const char *from, int limit, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, sql, err);
    if (s) {
        hs__sq_bind_text(s, 1, key);
        hs__sq_bind_text(s, 2, cursor ? cursor : from);
        sqlite3_bind_int(s, 3, limit + 1);
    }
    return s;
}

int hs__sq_page(hs_store_t *st, sqlite3_stmt *s, int limit, size_t size, hs__sq_reader_fn read,
                int cursor_col, hs_arena_t *a, void **items, size_t *n, const char **cursor,
                int *more, hs_err_t *err)
{
    char *out = hs_arena_alloc(a, size * (size_t)(limit > 0 ? limit : 1));
    const char *last = NULL;
    int rc, next = 0;
    *items = out;
    *n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((int)*n == limit) {
            next = 1; /* one row past the page: there is a next page */
            break;
        }
        read(a, s, out + size * (*n)++);
        if (cursor_col >= 0)
            last = hs__sq_text(a, s, cursor_col);
    }
    sqlite3_reset(s);
    if (cursor)
        *cursor = next ? last : NULL;
    if (more)
        *more = next;
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : hs__sq_fail(st, rc, err);
}

int hs__sq_collect_ids(hs_store_t *st, sqlite3_stmt *s, hs_arena_t *a, char ***ids, size_t *n,
                       hs_err_t *err)
{
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *ids = hs_arena_grow(a, *ids, *n, &cap, sizeof **ids);
        (*ids)[(*n)++] = (char *)hs__sq_text(a, s, 0);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : hs__sq_fail(st, rc, err);
}

int hs__sq_changed_or(hs_store_t *st, int rc, const char *code, const char *msg, hs_err_t *err)
{
    hs__sq_t *q = st->impl;
    if (rc)
        return rc;
    if (sqlite3_changes(q->db) == 0)
        return hs_err_set(err, HS_ENOTFOUND, code, "%s", msg);
    return 0;
}

int hs__sq_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, i);
}

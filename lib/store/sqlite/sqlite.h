/* Internals shared by the files of the SQLite backend. Nothing here is
 * visible outside lib/store/sqlite/. */
#ifndef HS_STORE_SQLITE_H
#define HS_STORE_SQLITE_H

#include <sqlite3.h>

#include "hs/store.h"

/* A prepared statement, cached under the address of its SQL text. */
typedef struct hs__sq_stmt {
    const char *sql; /* identity of the statement: a static string */
    sqlite3_stmt *stmt;
} hs__sq_stmt_t;

typedef struct hs__sq {
    sqlite3 *db;
    /* Open addressing on the SQL's address, grown to hold every statement
     * the code has (there is no eviction: the SQL constants are a fixed
     * set), so each is prepared once and finalized once, at close. */
    hs__sq_stmt_t *cache;
    size_t ncache, cap;
} hs__sq_t;

/* Finalizes every cached statement and closes the database; the result of
 * sqlite3_close (SQLITE_OK, or SQLITE_BUSY when a statement was leaked).
 * q->db is NULL afterwards. */
int hs__sq_release(hs__sq_t *q);

/* Opens (creating and migrating) the database at path. */
int hs__sqlite_open(hs_store_t **out, const char *path, hs_err_t *err);

/* A cached prepared statement for the static string sql, reset and with its
 * bindings cleared; NULL with err filled on failure. */
sqlite3_stmt *hs__sq_prepare(hs_store_t *st, const char *sql, hs_err_t *err);
/* Maps a failed sqlite3 call to an hs error (busy: 503, others: 500). */
int hs__sq_fail(hs_store_t *st, int rc, hs_err_t *err);
/* Runs one statement with no result rows; 0 or an error. */
int hs__sq_step_done(hs_store_t *st, sqlite3_stmt *s, hs_err_t *err);
int hs__sq_begin(hs_store_t *st, hs_err_t *err);
int hs__sq_commit(hs_store_t *st, hs_err_t *err);
void hs__sq_rollback(hs_store_t *st);
/* Several reads as one read transaction: one WAL read lock taken and
 * dropped (two fcntl calls) instead of one per statement, and one snapshot.
 * Returns whether it began one (not inside a transaction, and BEGIN worked;
 * if not, the reads simply run on their own); hs__sq_read_end(st, began)
 * ends it. Never around a write: upgrading a read transaction can fail. */
int hs__sq_read_begin(hs_store_t *st);
void hs__sq_read_end(hs_store_t *st, int began);
/* Column i (an id) into dst; "" for SQL NULL. */
void hs__sq_id(char dst[HS_ID_LEN + 1], sqlite3_stmt *s, int i);
/* Column i as an arena string; NULL for SQL NULL. */
const char *hs__sq_text(hs_arena_t *a, sqlite3_stmt *s, int i);
/* Reads one row's columns into out (a struct of the reader's type). */
typedef void (*hs__sq_reader_fn)(hs_arena_t *a, sqlite3_stmt *s, void *out);
/* Runs sql with key bound to ?1 and reads the first row with read; no row
 * is HS_ENOTFOUND with code and the message "No such <what>". */
int hs__sq_get_one(hs_store_t *st, const char *sql, const char *key, hs__sq_reader_fn read,
                   hs_arena_t *a, void *out, const char *code, const char *what, hs_err_t *err);
/* Prepares sql, a keyset page query, with ?1 bound to key, ?2 to cursor
 * (from when there is none: a value that sorts before or after every real
 * cursor) and ?3 to limit + 1 (the row past the page says a next page
 * exists); further parameters are the caller's. NULL with err set. */
sqlite3_stmt *hs__sq_page_query(hs_store_t *st, const char *sql, const char *key,
                                const char *cursor, const char *from, int limit, hs_err_t *err);
/* Steps s, reading at most limit rows with read into *items (an arena
 * array of size-byte elements). *more (when not NULL) says whether another
 * row followed; *cursor (when not NULL) is then column cursor_col of the
 * last row read, else NULL: the cursor of the next page. */
int hs__sq_page(hs_store_t *st, sqlite3_stmt *s, int limit, size_t size, hs__sq_reader_fn read,
                int cursor_col, hs_arena_t *a, void **items, size_t *n, const char **cursor,
                int *more, hs_err_t *err);
/* Steps s and collects column 0 of every row as arena strings. */
int hs__sq_collect_ids(hs_store_t *st, sqlite3_stmt *s, hs_arena_t *a, char ***ids, size_t *n,
                       hs_err_t *err);
/* rc, or HS_ENOTFOUND with code and msg when the last statement changed no
 * row: for UPDATE/DELETE of one named row. */
int hs__sq_changed_or(hs_store_t *st, int rc, const char *code, const char *msg, hs_err_t *err);
/* Binds a C string (NULL binds SQL NULL). */
int hs__sq_bind_text(sqlite3_stmt *s, int i, const char *v);

/* The user columns and their reader, shared by users.c and follows.c. */
#define HS__SQ_USER_COLS                                                                           \
    "u.id, u.username, u.email, u.password_hash, u.display_name, u.bio, u.avatar_file_id, "        \
    "u.settings, u.role, u.disabled, u.created_at, u.updated_at"
/* Reads the HS__SQ_USER_COLS columns starting at column 0. */
void hs__sq_read_user(hs_arena_t *a, sqlite3_stmt *s, void *out);

/* Reads the file columns (files.c's FILE_COLS order) starting at column 0. */
void hs__sq_read_file(hs_arena_t *a, sqlite3_stmt *s, void *out);

/* The backend's operations: hs__sq_<name> for each entry of hs/store_ops.h,
 * defined in the file of its domain (users.c, sessions.c, ...) and wired
 * into the vtable in sqlite.c. */
#define HS__SQ_OP_PROTO(name, params, args, contract) int hs__sq_##name params;
HS_STORE_OPS(HS__SQ_OP_PROTO)

#endif

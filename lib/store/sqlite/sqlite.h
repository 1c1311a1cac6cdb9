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
/* Steps s, reading at most limit rows with read into *items (an arena
 * array of size-byte elements). *more says whether another row followed;
 * *cursor (when not NULL) is then column cursor_col of the last row read,
 * else NULL: the cursor of the next page. */
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

/* The users.c part of the ops table, used by follows.c too. */
#define HS__SQ_USER_COLS                                                                           \
    "u.id, u.username, u.email, u.password_hash, u.display_name, u.bio, u.avatar_file_id, "        \
    "u.settings, u.role, u.disabled, u.created_at, u.updated_at"
/* Reads the HS__SQ_USER_COLS columns starting at column 0. */
void hs__sq_read_user(hs_arena_t *a, sqlite3_stmt *s, void *out);
int hs__sq_user_create(hs_store_t *st, hs_user_t *u, hs_err_t *err);
int hs__sq_user_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_user_t *out, hs_err_t *err);
int hs__sq_user_find_login(hs_store_t *st, const char *login, hs_arena_t *a, hs_user_t *out,
                           hs_err_t *err);
int hs__sq_user_update_profile(hs_store_t *st, const hs_user_t *u, hs_err_t *err);
int hs__sq_user_set_password(hs_store_t *st, const char *id, const char *hash, int64_t now,
                             hs_err_t *err);
int hs__sq_user_set_role(hs_store_t *st, const char *id, const char *role, int64_t now,
                         hs_err_t *err);
int hs__sq_user_set_disabled(hs_store_t *st, const char *id, int disabled, int64_t now,
                             hs_err_t *err);
int hs__sq_user_search(hs_store_t *st, const char *prefix, const char *after, int limit,
                       hs_arena_t *a, hs_user_page_t *out, hs_err_t *err);
int hs__sq_follow_set(hs_store_t *st, const char *follower, const char *followee, int on,
                      int64_t now, hs_err_t *err);
int hs__sq_follow_state(hs_store_t *st, const char *follower, const char *followee, int *on,
                        hs_err_t *err);
int hs__sq_follow_counts(hs_store_t *st, const char *id, long *followers, long *following,
                         hs_err_t *err);
int hs__sq_follow_page(hs_store_t *st, const char *id, int followers, const char *before, int limit,
                       hs_arena_t *a, hs_user_page_t *out, hs_err_t *err);
int hs__sq_session_create(hs_store_t *st, const hs_session_t *s, const char *refresh_hash,
                          int64_t refresh_expires, hs_err_t *err);
int hs__sq_session_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_session_t *out,
                       hs_err_t *err);
int hs__sq_session_list(hs_store_t *st, const char *user_id, const char *cursor, int limit,
                        hs_arena_t *a, hs_session_page_t *out, hs_err_t *err);
int hs__sq_session_revoked_since(hs_store_t *st, int64_t since, hs_arena_t *a, hs_session_t **out,
                                 size_t *n, hs_err_t *err);
int hs__sq_session_revoke(hs_store_t *st, const char *id, const char *user_id, int64_t now,
                          hs_err_t *err);
int hs__sq_session_revoke_others(hs_store_t *st, const char *user_id, const char *keep_id,
                                 int64_t now, hs_arena_t *a, char ***ids, size_t *n, hs_err_t *err);
int hs__sq_refresh_rotate(hs_store_t *st, const char *old_hash, const char *new_hash,
                          int64_t new_expires, int64_t now, const char *user_agent, const char *ip,
                          hs_arena_t *a, hs_session_t *out, hs_err_t *err);

int hs__sq_upload_create(hs_store_t *st, const hs_upload_t *u, int64_t quota, hs_err_t *err);
int hs__sq_upload_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_upload_t *out,
                      hs_err_t *err);
int hs__sq_chunk_get(hs_store_t *st, const char *upload_id, int64_t n, char sha256[65], int *found,
                     hs_err_t *err);
int hs__sq_chunk_add(hs_store_t *st, const char *upload_id, int64_t n, int64_t size,
                     const char *sha256, hs_err_t *err);
int hs__sq_chunk_list(hs_store_t *st, const char *upload_id, hs_arena_t *a, int64_t **ns,
                      size_t *count, hs_err_t *err);
int hs__sq_upload_advance(hs_store_t *st, const char *id, int64_t from, int64_t to, int64_t now,
                          hs_err_t *err);
int hs__sq_upload_finish(hs_store_t *st, const char *upload_id, const hs_file_t *f, hs_err_t *err);
int hs__sq_upload_delete(hs_store_t *st, const char *id, hs_err_t *err);
int hs__sq_upload_expired(hs_store_t *st, int64_t now, int limit, hs_arena_t *a, char ***ids,
                          size_t *n, hs_err_t *err);
int hs__sq_storage_used(hs_store_t *st, const char *owner_id, int64_t *bytes, hs_err_t *err);
int hs__sq_file_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_file_t *out, hs_err_t *err);
int hs__sq_file_page(hs_store_t *st, const char *owner_id, const char *before, int limit,
                     int64_t now, hs_arena_t *a, hs_file_page_t *out, hs_err_t *err);
int hs__sq_file_delete(hs_store_t *st, const char *id, hs_err_t *err);
int hs__sq_file_expired(hs_store_t *st, int64_t now, int limit, hs_arena_t *a, char ***ids,
                        size_t *n, hs_err_t *err);
int hs__sq_link_create(hs_store_t *st, const hs_link_t *l, const char *token_hash, hs_err_t *err);
int hs__sq_link_get(hs_store_t *st, const char *token_hash, hs_arena_t *a, hs_link_t *out,
                    hs_err_t *err);
int hs__sq_link_take(hs_store_t *st, const char *id, int64_t now, hs_err_t *err);
int hs__sq_link_list(hs_store_t *st, const char *file_id, hs_arena_t *a, hs_link_t **out, size_t *n,
                     hs_err_t *err);
int hs__sq_link_revoke(hs_store_t *st, const char *id, const char *file_id, int64_t now,
                       hs_err_t *err);

/* Reads the file columns (files.c's FILE_COLS order) starting at column 0. */
void hs__sq_read_file(hs_arena_t *a, sqlite3_stmt *s, void *out);

int hs__sq_file_shared_with(hs_store_t *st, const char *file_id, const char *user_id, int *yes,
                            hs_err_t *err);
int hs__sq_chat_create(hs_store_t *st, const hs_chat_t *c, const char *direct_key,
                       const char **members, size_t n, hs_err_t *err);
int hs__sq_chat_find_direct(hs_store_t *st, const char *direct_key, char id[HS_ID_LEN + 1],
                            hs_err_t *err);
int hs__sq_chat_get(hs_store_t *st, const char *id, const char *viewer, int full, hs_arena_t *a,
                    hs_chat_t *out, hs_err_t *err);
int hs__sq_chat_update(hs_store_t *st, const hs_chat_t *c, hs_err_t *err);
int hs__sq_chat_delete(hs_store_t *st, const char *id, hs_err_t *err);
int hs__sq_chat_page(hs_store_t *st, const char *user_id, const char *before, int limit,
                     hs_arena_t *a, hs_chat_page_t *out, hs_err_t *err);
int hs__sq_member_add(hs_store_t *st, const char *chat_id, const char *user_id, const char *role,
                      int64_t now, int64_t limit, hs_err_t *err);
int hs__sq_member_remove(hs_store_t *st, const char *chat_id, const char *user_id, hs_err_t *err);
int hs__sq_member_set(hs_store_t *st, const char *chat_id, const char *user_id, const char *role,
                      int muted, hs_err_t *err);
int hs__sq_member_page(hs_store_t *st, const char *chat_id, const char *after, int limit,
                       hs_arena_t *a, hs_member_page_t *out, hs_err_t *err);
int hs__sq_chat_leave(hs_store_t *st, const char *chat_id, const char *user_id,
                      char new_owner[HS_ID_LEN + 1], int *deleted, hs_err_t *err);
int hs__sq_read_mark(hs_store_t *st, const char *chat_id, const char *user_id,
                     const char *message_id, int *moved, hs_err_t *err);
int hs__sq_receipts(hs_store_t *st, const char *chat_id, const char *message_id,
                    const char *sender_id, hs_arena_t *a, hs_member_t **out, size_t *n,
                    hs_err_t *err);
int hs__sq_transfer_create(hs_store_t *st, const hs_transfer_t *t, hs_err_t *err);
int hs__sq_transfer_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_transfer_t *out,
                        hs_err_t *err);
int hs__sq_transfer_update(hs_store_t *st, const hs_transfer_t *t, const char *from_states,
                           int *moved, hs_err_t *err);
int hs__sq_transfer_page(hs_store_t *st, const char *user_id, const char *state, const char *before,
                         int limit, hs_arena_t *a, hs_transfer_page_t *out, hs_err_t *err);
int hs__sq_transfer_stale(hs_store_t *st, int64_t pending_before, int64_t live_before, int limit,
                          hs_arena_t *a, char ***ids, size_t *n, hs_err_t *err);
int hs__sq_p2p_block_set(hs_store_t *st, const char *blocker, const char *blocked, int on,
                         int64_t now, hs_err_t *err);
int hs__sq_p2p_blocked(hs_store_t *st, const char *blocker, const char *blocked, int *yes,
                       hs_err_t *err);
int hs__sq_p2p_block_list(hs_store_t *st, const char *blocker, hs_arena_t *a, char ***ids,
                          size_t *n, hs_err_t *err);
int hs__sq_file_bind_transfer(hs_store_t *st, const char *file_id, const char *owner_id,
                              const char *transfer_id, hs_err_t *err);
int hs__sq_member_chats(hs_store_t *st, const char *user_id, hs_arena_t *a, hs_chat_ref_t **out,
                        size_t *n, hs_err_t *err);
int hs__sq_message_create(hs_store_t *st, hs_message_t *m, const char **file_ids, size_t nfiles,
                          int *existed, hs_err_t *err);
int hs__sq_message_get(hs_store_t *st, const char *id, const char *viewer, int full, hs_arena_t *a,
                       hs_message_t *out, hs_err_t *err);
int hs__sq_message_page(hs_store_t *st, const char *chat_id, const char *viewer, const char *before,
                        const char *after, int limit, hs_arena_t *a, hs_message_page_t *out,
                        hs_err_t *err);
int hs__sq_message_edit(hs_store_t *st, const char *id, const char *content, int64_t now,
                        hs_err_t *err);
int hs__sq_message_delete(hs_store_t *st, const char *id, int64_t now, hs_err_t *err);
int hs__sq_reaction_toggle(hs_store_t *st, const char *message_id, const char *user_id,
                           const char *emoji, int64_t now, int *on, hs_err_t *err);
int hs__sq_message_search(hs_store_t *st, const char *user_id, const char *chat_id,
                          const char *query, const char *after, int limit, hs_arena_t *a,
                          hs_message_page_t *out, hs_err_t *err);

#endif

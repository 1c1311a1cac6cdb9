/* SQLite queries for P2P transfers and offer blocks. */
#include <stdio.h>
#include <string.h>

#include "sqlite.h"

#define TRANSFER_COLS                                                                              \
    "id, sender_id, recipient_id, filename, size, sha256, mode, state, reason, bytes,"             \
    " relay_file_id, received_sha256, created_at, updated_at, expires_at, progress_at"

static void read_transfer(hs_arena_t *a, sqlite3_stmt *s, void *out)
{
    hs_transfer_t *t = out;
    hs__sq_id(t->id, s, 0);
    hs__sq_id(t->sender_id, s, 1);
    hs__sq_id(t->recipient_id, s, 2);
    t->filename = hs__sq_text(a, s, 3);
    t->size = sqlite3_column_int64(s, 4);
    t->sha256 = hs__sq_text(a, s, 5);
    t->mode = hs__sq_text(a, s, 6);
    t->state = hs__sq_text(a, s, 7);
    t->reason = hs__sq_text(a, s, 8);
    t->bytes = sqlite3_column_int64(s, 9);
    t->relay_file_id = hs__sq_text(a, s, 10);
    t->received_sha256 = hs__sq_text(a, s, 11);
    t->created_at = sqlite3_column_int64(s, 12);
    t->updated_at = sqlite3_column_int64(s, 13);
    t->expires_at = sqlite3_column_int64(s, 14);
    t->progress_at = sqlite3_column_int64(s, 15);
}

static const char SQL_INSERT[] = "INSERT INTO p2p_transfers (" TRANSFER_COLS ")"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
                                 " ?13, ?14, ?15, ?16)";

int hs__sq_transfer_create(hs_store_t *st, const hs_transfer_t *t, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_INSERT, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, t->id);
    hs__sq_bind_text(s, 2, t->sender_id);
    hs__sq_bind_text(s, 3, t->recipient_id);
    hs__sq_bind_text(s, 4, t->filename);
    sqlite3_bind_int64(s, 5, t->size);
    hs__sq_bind_text(s, 6, t->sha256);
    hs__sq_bind_text(s, 7, t->mode);
    hs__sq_bind_text(s, 8, t->state);
    hs__sq_bind_text(s, 9, t->reason);
    sqlite3_bind_int64(s, 10, t->bytes);
    hs__sq_bind_text(s, 11, t->relay_file_id);
    hs__sq_bind_text(s, 12, t->received_sha256);
    sqlite3_bind_int64(s, 13, t->created_at);
    sqlite3_bind_int64(s, 14, t->updated_at);
    sqlite3_bind_int64(s, 15, t->expires_at);
    sqlite3_bind_int64(s, 16, t->progress_at);
    return hs__sq_step_done(st, s, err);
}

static const char SQL_GET[] = "SELECT " TRANSFER_COLS " FROM p2p_transfers WHERE id = ?1";

int hs__sq_transfer_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_transfer_t *out,
                        hs_err_t *err)
{
    return hs__sq_get_one(st, SQL_GET, id, read_transfer, a, out, "transfer_not_found", "transfer",
                          err);
}

/* ?9 is ",state,state,": the states this change may start from. */
static const char SQL_UPDATE[] =
    "UPDATE p2p_transfers SET state = ?2, reason = ?3, bytes = ?4, relay_file_id = ?5,"
    " received_sha256 = ?6, updated_at = ?7, expires_at = ?8, progress_at = ?10"
    " WHERE id = ?1 AND instr(?9, ',' || state || ',') > 0";

int hs__sq_transfer_update(hs_store_t *st, const hs_transfer_t *t, const char *from_states,
                           int *moved, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_UPDATE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, t->id);
    hs__sq_bind_text(s, 2, t->state);
    hs__sq_bind_text(s, 3, t->reason);
    sqlite3_bind_int64(s, 4, t->bytes);
    hs__sq_bind_text(s, 5, t->relay_file_id);
    hs__sq_bind_text(s, 6, t->received_sha256);
    sqlite3_bind_int64(s, 7, t->updated_at);
    sqlite3_bind_int64(s, 8, t->expires_at);
    hs__sq_bind_text(s, 9, from_states);
    sqlite3_bind_int64(s, 10, t->progress_at);
    int rc = hs__sq_step_done(st, s, err);
    hs__sq_t *q = st->impl;
    *moved = !rc && sqlite3_changes(q->db) > 0;
    return rc;
}

/* Both indexes (as sender, as recipient) feed one ordered page. */
static const char SQL_PAGE[] =
    "SELECT " TRANSFER_COLS " FROM p2p_transfers WHERE id IN ("
    " SELECT id FROM p2p_transfers WHERE sender_id = ?1 AND id < ?2"
    " UNION ALL SELECT id FROM p2p_transfers WHERE recipient_id = ?1 AND id < ?2)"
    " AND (?4 IS NULL OR state = ?4) ORDER BY id DESC LIMIT ?3";

int hs__sq_transfer_page(hs_store_t *st, const char *user_id, const char *state, const char *before,
                         int limit, hs_arena_t *a, hs_transfer_page_t *out, hs_err_t *err)
{
    /* "g" sorts after every hex id */
    sqlite3_stmt *s = hs__sq_page_query(st, SQL_PAGE, user_id, before, "g", limit, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 4, state);
    return hs__sq_page(st, s, limit, sizeof *out->items, read_transfer, 0, a, (void **)&out->items,
                       &out->n, &out->next_cursor, NULL, err);
}

static const char SQL_STALE[] =
    "SELECT id FROM p2p_transfers WHERE state = 'pending' AND expires_at <= ?1"
    " UNION ALL SELECT id FROM p2p_transfers WHERE state IN ('accepted', 'transferring')"
    " AND updated_at <= ?2 LIMIT ?3";

int hs__sq_transfer_stale(hs_store_t *st, int64_t pending_before, int64_t live_before, int limit,
                          hs_arena_t *a, char ***ids, size_t *n, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_STALE, err);
    if (!s)
        return HS_EINTERNAL;
    sqlite3_bind_int64(s, 1, pending_before);
    sqlite3_bind_int64(s, 2, live_before);
    sqlite3_bind_int(s, 3, limit);
    return hs__sq_collect_ids(st, s, a, ids, n, err);
}

static const char SQL_BLOCK[] = "INSERT OR IGNORE INTO p2p_blocks (blocker_id, blocked_id,"
                                " created_at) VALUES (?1, ?2, ?3)";
static const char SQL_UNBLOCK[] = "DELETE FROM p2p_blocks WHERE blocker_id = ?1"
                                  " AND blocked_id = ?2";

int hs__sq_p2p_block_set(hs_store_t *st, const char *blocker, const char *blocked, int on,
                         int64_t now, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, on ? SQL_BLOCK : SQL_UNBLOCK, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, blocker);
    hs__sq_bind_text(s, 2, blocked);
    if (on)
        sqlite3_bind_int64(s, 3, now);
    return hs__sq_step_done(st, s, err);
}

static const char SQL_BLOCKED[] = "SELECT EXISTS (SELECT 1 FROM p2p_blocks WHERE blocker_id = ?1"
                                  " AND blocked_id = ?2)";

int hs__sq_p2p_blocked(hs_store_t *st, const char *blocker, const char *blocked, int *yes,
                       hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_BLOCKED, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, blocker);
    hs__sq_bind_text(s, 2, blocked);
    int rc = sqlite3_step(s);
    *yes = rc == SQLITE_ROW && sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : hs__sq_fail(st, rc, err);
}

static const char SQL_BLOCK_LIST[] = "SELECT blocked_id FROM p2p_blocks WHERE blocker_id = ?1"
                                     " ORDER BY created_at DESC LIMIT 1000";

int hs__sq_p2p_block_list(hs_store_t *st, const char *blocker, hs_arena_t *a, char ***ids,
                          size_t *n, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_BLOCK_LIST, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, blocker);
    return hs__sq_collect_ids(st, s, a, ids, n, err);
}

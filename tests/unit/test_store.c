/* The store contract: every backend must pass these. They run against
 * SQLite here; a new backend adds its opener to `backends` below. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/store/sqlite/sqlite.h"
#include "hs/store.h"

static char dbpath[64];
static hs_store_t *st;
static hs_arena_t arena;

static int open_sqlite(void **state)
{
    (void)state;
    snprintf(dbpath, sizeof dbpath, "/tmp/hs-store-test-%d.db", (int)getpid());
    unlink(dbpath);
    hs_config_t cfg;
    hs_err_t err;
    assert_int_equal(hs_config_load(&cfg, NULL, 0, &err), 0);
    assert_int_equal(hs_config_set(&cfg, "sqlite_path", dbpath, &err), 0);
    int rc = hs_store_open(&st, &cfg, &err);
    hs_config_free(&cfg);
    assert_int_equal(rc, 0);
    return 0;
}

/* The statements open on db (prepared and not finalized). */
static size_t live_statements(sqlite3 *db)
{
    size_t n = 0;
    for (sqlite3_stmt *s = sqlite3_next_stmt(db, NULL); s; s = sqlite3_next_stmt(db, s))
        n++;
    return n;
}

static int close_store(void **state)
{
    (void)state;
    /* After every contract test the database closes cleanly: no statement
     * was prepared and left unfinalized (sqlite3_close is then SQLITE_BUSY).
     * FTS5's own statements are not counted: it finalizes them at close. */
    assert_int_equal(hs__sq_release(st->impl), SQLITE_OK);
    hs_store_close(st);
    st = NULL;
    hs_arena_free(&arena);
    char p[80];
    unlink(dbpath);
    snprintf(p, sizeof p, "%s-wal", dbpath);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", dbpath);
    unlink(p);
    return 0;
}

static void make_user(hs_user_t *u, const char *name, const char *display)
{
    memset(u, 0, sizeof *u);
    hs_id_new(u->id);
    u->username = name;
    u->email = hs_arena_printf(&arena, "%s@example.com", name);
    u->password_hash = "$argon2id$x";
    u->display_name = display;
    u->created_at = u->updated_at = hs_now_ms();
    hs_err_t err;
    assert_int_equal(hs_store_user_create(st, u, &err), 0);
}

static void users(void **state)
{
    (void)state;
    hs_user_t a, b, dup, got;
    hs_err_t err;
    make_user(&a, "alice", "Alice A");
    make_user(&b, "bob", "Bobby");
    /* being first makes nobody admin; the role is set on purpose */
    assert_string_equal(a.role, "user");
    assert_string_equal(b.role, "user");
    assert_int_equal(hs_store_user_set_role(st, a.id, "admin", 5, &err), 0);
    assert_int_equal(hs_store_user_get(st, a.id, &arena, &got, &err), 0);
    assert_string_equal(got.role, "admin");
    assert_int_equal(hs_store_user_set_role(st, "0123456789abcdef01234567", "admin", 5, &err),
                     HS_ENOTFOUND);

    dup = b;
    hs_id_new(dup.id);
    dup.email = "new@example.com";
    assert_int_equal(hs_store_user_create(st, &dup, &err), HS_ECONFLICT);
    assert_string_equal(err.code, "username_taken");
    dup.username = "bob2";
    dup.email = b.email;
    assert_int_equal(hs_store_user_create(st, &dup, &err), HS_ECONFLICT);
    assert_string_equal(err.code, "email_taken");

    assert_int_equal(hs_store_user_get(st, a.id, &arena, &got, &err), 0);
    assert_string_equal(got.username, "alice");
    assert_string_equal(got.settings, "{}");
    assert_null(got.avatar_file_id);
    assert_int_equal(hs_store_user_find_login(st, "bob@example.com", &arena, &got, &err), 0);
    assert_string_equal(got.id, b.id);
    assert_int_equal(hs_store_user_find_login(st, "bob", &arena, &got, &err), 0);
    assert_int_equal(hs_store_user_find_login(st, "carol", &arena, &got, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_user_get(st, "000000000000000000000000", &arena, &got, &err),
                     HS_ENOTFOUND);
    assert_string_equal(err.code, "user_not_found");

    got.display_name = "Robert";
    got.bio = "hi";
    got.avatar_file_id = "6b0172ba5db2a0a07d08d110";
    got.settings = "{\"theme\":\"dark\"}";
    assert_int_equal(hs_store_user_update_profile(st, &got, &err), 0);
    assert_int_equal(hs_store_user_set_password(st, b.id, "$argon2id$new", 5, &err), 0);
    assert_int_equal(hs_store_user_get(st, b.id, &arena, &got, &err), 0);
    assert_string_equal(got.display_name, "Robert");
    assert_string_equal(got.avatar_file_id, "6b0172ba5db2a0a07d08d110");
    assert_string_equal(got.settings, "{\"theme\":\"dark\"}");
    assert_string_equal(got.password_hash, "$argon2id$new");

    assert_int_equal(hs_store_user_set_disabled(st, b.id, 1, 6, &err), 0);
    assert_int_equal(hs_store_user_get(st, b.id, &arena, &got, &err), 0);
    assert_true(got.disabled);
    assert_int_equal(hs_store_user_set_disabled(st, "000000000000000000000000", 1, 6, &err),
                     HS_ENOTFOUND);
}

static void search(void **state)
{
    (void)state;
    hs_user_t u;
    hs_err_t err;
    hs_user_page_t page;
    make_user(&u, "sam", "Sam");
    make_user(&u, "samantha", "S");
    make_user(&u, "zed", "Samuel Z");
    make_user(&u, "x_y", "percent");
    make_user(&u, "xay", "other");

    /* prefix of username or display name, case-insensitive, by username */
    assert_int_equal(hs_store_user_search(st, "SAM", NULL, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 3);
    assert_string_equal(page.items[0].username, "sam");
    assert_string_equal(page.items[2].username, "zed");
    assert_null(page.next_cursor);

    /* walking pages of one visits each once */
    const char *cursor = NULL;
    int seen = 0;
    do {
        assert_int_equal(hs_store_user_search(st, "sam", cursor, 1, &arena, &page, &err), 0);
        seen += (int)page.n;
        cursor = page.next_cursor;
    } while (cursor);
    assert_int_equal(seen, 3);

    /* _ and % match themselves */
    assert_int_equal(hs_store_user_search(st, "x_", NULL, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].username, "x_y");
    assert_int_equal(hs_store_user_search(st, "%", NULL, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 0);

    /* disabled users are not found */
    assert_int_equal(hs_store_user_set_disabled(st, u.id, 1, 1, &err), 0);
    assert_int_equal(hs_store_user_search(st, "xay", NULL, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 0);
}

static void follows(void **state)
{
    (void)state;
    hs_user_t a, b, c;
    hs_err_t err;
    hs_user_page_t page;
    long followers, following;
    int on;
    make_user(&a, "fa", "");
    make_user(&b, "fb", "");
    make_user(&c, "fc", "");
    assert_int_equal(hs_store_follow_set(st, b.id, a.id, 1, 1, &err), 0);
    assert_int_equal(hs_store_follow_set(st, b.id, a.id, 1, 2, &err), 0); /* idempotent */
    assert_int_equal(hs_store_follow_set(st, c.id, a.id, 1, 3, &err), 0);
    assert_int_equal(hs_store_follow_counts(st, a.id, &followers, &following, &err), 0);
    assert_int_equal(followers, 2);
    assert_int_equal(following, 0);
    assert_int_equal(hs_store_follow_state(st, b.id, a.id, &on, &err), 0);
    assert_true(on);
    assert_int_equal(hs_store_follow_state(st, a.id, b.id, &on, &err), 0);
    assert_false(on);

    /* newest follower first, one per page */
    assert_int_equal(hs_store_follow_page(st, a.id, 1, NULL, 1, &arena, &page, &err), 0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].id, c.id);
    assert_non_null(page.next_cursor);
    assert_int_equal(hs_store_follow_page(st, a.id, 1, page.next_cursor, 1, &arena, &page, &err),
                     0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].id, b.id);
    assert_null(page.next_cursor);
    assert_int_equal(hs_store_follow_page(st, b.id, 0, NULL, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].id, a.id);

    assert_int_equal(hs_store_follow_set(st, b.id, a.id, 0, 4, &err), 0);
    assert_int_equal(hs_store_follow_set(st, b.id, a.id, 0, 4, &err), 0);
    assert_int_equal(hs_store_follow_counts(st, a.id, &followers, &following, &err), 0);
    assert_int_equal(followers, 1);
}

static hs_session_t new_session(const hs_user_t *u, const char *refresh_hash)
{
    hs_session_t s = {0};
    hs_err_t err;
    hs_id_new(s.id);
    memcpy(s.user_id, u->id, sizeof s.user_id);
    s.user_agent = "test";
    s.ip = "127.0.0.1";
    s.created_at = s.last_used_at = hs_now_ms();
    s.expires_at = s.created_at + 3600000;
    assert_int_equal(hs_store_session_create(st, &s, refresh_hash, s.expires_at, &err), 0);
    return s;
}

static void sessions(void **state)
{
    (void)state;
    hs_user_t u, other;
    hs_err_t err;
    hs_session_t got;
    hs_session_page_t list;
    size_t n;
    char **ids;
    make_user(&u, "sess", "");
    make_user(&other, "sess2", "");
    hs_session_t s1 = new_session(&u, "h1"), s2 = new_session(&u, "h2"), s3 = new_session(&u, "h3");
    assert_int_equal(hs_store_session_list(st, u.id, NULL, 2, &arena, &list, &err), 0);
    assert_int_equal(list.n, 2);
    assert_non_null(list.next_cursor);
    const char *first = list.items[0].id, *second = list.items[1].id;
    assert_int_equal(hs_store_session_list(st, u.id, list.next_cursor, 2, &arena, &list, &err), 0);
    assert_int_equal(list.n, 1);
    assert_null(list.next_cursor);
    assert_string_not_equal(list.items[0].id, first);
    assert_string_not_equal(list.items[0].id, second);
    assert_int_equal(hs_store_session_list(st, u.id, "12.zz", 2, &arena, &list, &err), HS_EINVAL);

    /* someone else cannot revoke it */
    assert_int_equal(hs_store_session_revoke(st, s1.id, other.id, 9, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_session_revoke(st, s1.id, u.id, 9, &err), 0);
    assert_int_equal(hs_store_session_revoke(st, s1.id, u.id, 9, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_session_get(st, s1.id, &arena, &got, &err), 0);
    assert_int_equal(got.revoked_at, 9);

    assert_int_equal(hs_store_session_revoke_others(st, u.id, s3.id, 10, &arena, &ids, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], s2.id);
    assert_int_equal(hs_store_session_list(st, u.id, NULL, 100, &arena, &list, &err), 0);
    assert_int_equal(list.n, 1);
    assert_string_equal(list.items[0].id, s3.id);
    /* other tests revoke sessions now: only these two are revoked at 9 and 10 */
    hs_session_t *gone;
    int seen1 = 0, seen2 = 0;
    assert_int_equal(hs_store_session_revoked_since(st, 9, &arena, &gone, &n, &err), 0);
    for (size_t i = 0; i < n; i++) {
        seen1 += strcmp(gone[i].id, s1.id) == 0;
        seen2 += strcmp(gone[i].id, s2.id) == 0;
    }
    assert_true(seen1 == 1 && seen2 == 1);
    assert_int_equal(hs_store_session_revoked_since(st, 10, &arena, &gone, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        assert_string_not_equal(gone[i].id, s1.id);
}

static void refresh_rotation(void **state)
{
    (void)state;
    hs_user_t u;
    hs_err_t err;
    hs_session_t out, s;
    int64_t now = hs_now_ms(), later = now + 3600000;
    make_user(&u, "rot", "");
    s = new_session(&u, "r0");

    assert_int_equal(
        hs_store_refresh_rotate(st, "r0", "r1", later, now, "ua2", "10.0.0.2", &arena, &out, &err),
        0);
    assert_string_equal(out.id, s.id);
    assert_string_equal(out.user_agent, "ua2");
    assert_int_equal(
        hs_store_refresh_rotate(st, "r1", "r2", later, now, "", "", &arena, &out, &err), 0);

    /* unknown token: refused, session untouched */
    assert_int_equal(
        hs_store_refresh_rotate(st, "nope", "x", later, now, "", "", &arena, &out, &err), HS_EAUTH);
    assert_string_equal(err.code, "invalid_refresh_token");
    assert_int_equal(hs_store_session_get(st, s.id, &arena, &out, &err), 0);
    assert_int_equal(out.revoked_at, 0);

    /* replaying r0 revokes the session and names it */
    assert_int_equal(hs_store_refresh_rotate(st, "r0", "x", later, now, "", "", &arena, &out, &err),
                     HS_EAUTH);
    assert_string_equal(err.code, "refresh_token_reused");
    assert_string_equal(out.id, s.id);
    /* so the live token of the chain is dead too */
    assert_int_equal(
        hs_store_refresh_rotate(st, "r2", "r3", later, now, "", "", &arena, &out, &err), HS_EAUTH);
    assert_string_equal(err.code, "session_revoked");

    /* expiry */
    s = new_session(&u, "e0");
    assert_int_equal(
        hs_store_refresh_rotate(st, "e0", "e1", now - 1, now, "", "", &arena, &out, &err), 0);
    assert_int_equal(
        hs_store_refresh_rotate(st, "e1", "e2", later, now, "", "", &arena, &out, &err), HS_EAUTH);
    assert_string_equal(err.code, "refresh_token_expired");
}

static hs_upload_t new_upload(const hs_user_t *u, int64_t size, int64_t expires_at)
{
    hs_upload_t up = {0};
    hs_err_t err;
    hs_id_new(up.id);
    memcpy(up.owner_id, u->id, sizeof up.owner_id);
    up.protocol = "chunks";
    up.filename = "a.bin";
    up.content_type = "application/octet-stream";
    up.size = size;
    up.chunk_size = 10;
    up.chunk_count = (size + 9) / 10;
    up.created_at = hs_now_ms();
    up.expires_at = expires_at;
    assert_int_equal(hs_store_upload_create(st, &up, 0, &err), 0);
    return up;
}

static void uploads_and_files(void **state)
{
    (void)state;
    hs_user_t u;
    hs_err_t err;
    hs_upload_t got;
    make_user(&u, "up", "");
    int64_t now = hs_now_ms();
    hs_upload_t up = new_upload(&u, 25, now + 60000);

    assert_int_equal(hs_store_upload_get(st, up.id, &arena, &got, &err), 0);
    assert_int_equal(got.chunk_count, 3);
    assert_null(got.sha256);
    assert_string_equal(got.concat, "");

    /* chunks: once each, listed in order */
    char sha[65];
    int found;
    int64_t *ns;
    size_t n;
    assert_int_equal(hs_store_chunk_add(st, up.id, 2, 5, "bb", &err), 0);
    assert_int_equal(hs_store_chunk_add(st, up.id, 0, 10, "aa", &err), 0);
    assert_int_equal(hs_store_chunk_add(st, up.id, 0, 10, "zz", &err), HS_ECONFLICT);
    assert_int_equal(hs_store_chunk_get(st, up.id, 0, sha, &found, &err), 0);
    assert_true(found);
    assert_string_equal(sha, "aa");
    assert_int_equal(hs_store_chunk_get(st, up.id, 1, sha, &found, &err), 0);
    assert_false(found);
    /* no upload (completed, aborted): not "missing", which would invite a write */
    assert_int_equal(hs_store_chunk_get(st, "000000000000000000000000", 1, sha, &found, &err),
                     HS_ENOTFOUND);
    assert_int_equal(hs_store_chunk_list(st, up.id, &arena, &ns, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ns[0], 0);
    assert_int_equal(ns[1], 2);

    /* the offset moves only from where it is */
    assert_int_equal(hs_store_upload_advance(st, up.id, 0, 10, now, &err), 0);
    assert_int_equal(hs_store_upload_advance(st, up.id, 0, 20, now, &err), HS_ECONFLICT);
    assert_string_equal(err.code, "offset_mismatch");
    assert_int_equal(hs_store_upload_advance(st, up.id, 10, 25, now, &err), 0);
    assert_int_equal(hs_store_upload_get(st, up.id, &arena, &got, &err), 0);
    assert_int_equal(got.offset, 25);
    assert_int_equal(got.completed_at, now);

    /* open uploads count toward the quota, then the file does */
    int64_t used;
    assert_int_equal(hs_store_storage_used(st, u.id, &used, &err), 0);
    assert_int_equal(used, 25);
    hs_file_t f = {0}, fg;
    memcpy(f.id, up.id, sizeof f.id);
    memcpy(f.owner_id, u.id, sizeof f.owner_id);
    f.filename = "a.bin";
    f.content_type = "application/octet-stream";
    f.sniffed_type = "application/octet-stream";
    f.size = 25;
    f.created_at = now;
    assert_int_equal(hs_store_upload_finish(st, up.id, &f, &err), 0);
    assert_int_equal(hs_store_upload_finish(st, up.id, &f, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_upload_get(st, up.id, &arena, &got, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_chunk_list(st, up.id, &arena, &ns, &n, &err), 0);
    assert_int_equal(n, 0); /* chunks went with the upload */
    assert_int_equal(hs_store_storage_used(st, u.id, &used, &err), 0);
    assert_int_equal(used, 25);
    assert_int_equal(hs_store_file_get(st, f.id, &arena, &fg, &err), 0);
    assert_int_equal(fg.size, 25);
    assert_null(fg.sha256);

    /* pages, newest first */
    hs_file_t f2 = f;
    hs_id_new(f2.id);
    hs_upload_t up2 = new_upload(&u, 1, now + 60000);
    memcpy(f2.id, up2.id, sizeof f2.id);
    assert_int_equal(hs_store_upload_finish(st, up2.id, &f2, &err), 0);
    hs_file_page_t page;
    assert_int_equal(hs_store_file_page(st, u.id, NULL, 1, now, &arena, &page, &err), 0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].id, f2.id);
    assert_non_null(page.next_cursor);
    assert_int_equal(hs_store_file_page(st, u.id, page.next_cursor, 1, now, &arena, &page, &err),
                     0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].id, f.id);
    assert_null(page.next_cursor);

    assert_int_equal(hs_store_file_delete(st, f2.id, &err), 0);
    assert_int_equal(hs_store_file_delete(st, f2.id, &err), HS_ENOTFOUND);
}

static void quota(void **state)
{
    (void)state;
    hs_user_t u;
    hs_err_t err;
    make_user(&u, "quota", "");
    hs_upload_t up = {0};
    hs_id_new(up.id);
    memcpy(up.owner_id, u.id, sizeof up.owner_id);
    up.protocol = "chunks";
    up.filename = "q";
    up.content_type = "x";
    up.size = 60;
    up.expires_at = hs_now_ms() + 60000;
    assert_int_equal(hs_store_upload_create(st, &up, 100, &err), 0);
    /* 60 + 60 > 100: refused, and nothing recorded */
    hs_id_new(up.id);
    assert_int_equal(hs_store_upload_create(st, &up, 100, &err), HS_ENOSPACE);
    assert_string_equal(err.code, "quota_exceeded");
    int64_t used;
    assert_int_equal(hs_store_storage_used(st, u.id, &used, &err), 0);
    assert_int_equal(used, 60);
    up.size = 40;
    assert_int_equal(hs_store_upload_create(st, &up, 100, &err), 0);
}

static void expiry(void **state)
{
    (void)state;
    hs_user_t u;
    hs_err_t err;
    char **ids;
    size_t n;
    int64_t now = hs_now_ms();
    make_user(&u, "exp", "");
    hs_upload_t old = new_upload(&u, 5, now - 1);
    new_upload(&u, 5, now + 60000);
    assert_int_equal(hs_store_upload_expired(st, now, 10, &arena, &ids, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], old.id);

    hs_upload_t up = new_upload(&u, 5, now + 60000);
    hs_file_t f = {
        .filename = "e", .content_type = "x", .size = 5, .created_at = now, .expires_at = now - 1};
    memcpy(f.id, up.id, sizeof f.id);
    memcpy(f.owner_id, u.id, sizeof f.owner_id);
    assert_int_equal(hs_store_upload_finish(st, up.id, &f, &err), 0);
    assert_int_equal(hs_store_file_expired(st, now, 10, &arena, &ids, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], f.id);
}

static void links(void **state)
{
    (void)state;
    hs_user_t u;
    hs_err_t err;
    int64_t now = hs_now_ms();
    make_user(&u, "lnk", "");
    hs_upload_t up = new_upload(&u, 5, now + 60000);
    hs_file_t f = {.filename = "l", .content_type = "x", .size = 5, .created_at = now};
    memcpy(f.id, up.id, sizeof f.id);
    memcpy(f.owner_id, u.id, sizeof f.owner_id);
    assert_int_equal(hs_store_upload_finish(st, up.id, &f, &err), 0);

    hs_link_t l = {0}, got, *list;
    size_t n;
    hs_id_new(l.id);
    memcpy(l.file_id, f.id, sizeof l.file_id);
    l.created_at = now;
    l.expires_at = now + 60000;
    l.max_downloads = 2;
    assert_int_equal(hs_store_link_create(st, &l, "tokhash", &err), 0);
    assert_int_equal(hs_store_link_get(st, "tokhash", &arena, &got, &err), 0);
    assert_string_equal(got.id, l.id);
    assert_null(got.password_hash);
    assert_int_equal(hs_store_link_get(st, "other", &arena, &got, &err), HS_ENOTFOUND);

    /* exactly max_downloads takes succeed */
    assert_int_equal(hs_store_link_take(st, l.id, now, &err), 0);
    assert_int_equal(hs_store_link_take(st, l.id, now, &err), 0);
    assert_int_equal(hs_store_link_take(st, l.id, now, &err), HS_EGONE);
    assert_string_equal(err.code, "link_exhausted");
    /* expiry, then revocation */
    hs_link_t l2 = l;
    hs_id_new(l2.id);
    l2.max_downloads = 0;
    assert_int_equal(hs_store_link_create(st, &l2, "tokhash2", &err), 0);
    assert_int_equal(hs_store_link_take(st, l2.id, now + 60000, &err), HS_EGONE);
    assert_string_equal(err.code, "link_expired");
    assert_int_equal(hs_store_link_list(st, f.id, &arena, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(hs_store_link_revoke(st, l2.id, "000000000000000000000000", now, &err),
                     HS_ENOTFOUND);
    assert_int_equal(hs_store_link_revoke(st, l2.id, f.id, now, &err), 0);
    assert_int_equal(hs_store_link_take(st, l2.id, now, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_link_list(st, f.id, &arena, &list, &n, &err), 0);
    assert_int_equal(n, 1);
}

static void messages_in_commit_order(void **state)
{
    (void)state;
    hs_user_t u;
    hs_err_t err;
    int existed;
    make_user(&u, "chatter", "");
    hs_chat_t c = {.kind = "group", .name = "g", .created_at = hs_now_ms()};
    hs_id_new(c.id);
    memcpy(c.owner_id, u.id, sizeof c.owner_id);
    const char *members[] = {u.id};
    assert_int_equal(hs_store_chat_create(st, &c, NULL, members, 1, &err), 0);

    /* a message whose id was made earlier (another process) commits later */
    hs_message_t early = {.content = "first made", .created_at = hs_now_ms()};
    hs_message_t late = {.content = "made second", .created_at = hs_now_ms()};
    hs_id_new(early.id);
    hs_id_new(late.id);
    memcpy(early.chat_id, c.id, sizeof early.chat_id);
    memcpy(late.chat_id, c.id, sizeof late.chat_id);
    memcpy(early.sender_id, u.id, sizeof early.sender_id);
    memcpy(late.sender_id, u.id, sizeof late.sender_id);
    assert_int_equal(hs_store_message_create(st, &late, NULL, 0, &existed, &err), 0);
    assert_int_equal(hs_store_message_create(st, &early, NULL, 0, &existed, &err), 0);
    assert_true(hs_id_valid(early.id));
    assert_true(strcmp(early.id, late.id) > 0); /* raised above the newest */

    hs_message_page_t page;
    assert_int_equal(hs_store_message_page(st, c.id, u.id, NULL, NULL, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 2);
    assert_string_equal(page.items[0].content, "first made"); /* newest first */
    assert_int_equal(hs_store_message_page(st, c.id, u.id, NULL, late.id, 10, &arena, &page, &err),
                     0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].id, early.id);
}

/* What the real-time bridge routes by: every chat of a user, with its kind,
 * and nothing after the user left it. */
static void member_chats(void **state)
{
    (void)state;
    hs_user_t u, other;
    hs_err_t err;
    make_user(&u, "router", "");
    make_user(&other, "bystander", "");
    hs_chat_t g = {.kind = "group", .name = "g", .created_at = hs_now_ms()};
    hs_chat_t ch = {.kind = "channel", .name = "c", .created_at = hs_now_ms()};
    hs_chat_t theirs = {.kind = "group", .name = "t", .created_at = hs_now_ms()};
    hs_id_new(g.id);
    hs_id_new(ch.id);
    hs_id_new(theirs.id);
    memcpy(g.owner_id, u.id, sizeof g.owner_id);
    memcpy(ch.owner_id, u.id, sizeof ch.owner_id);
    memcpy(theirs.owner_id, other.id, sizeof theirs.owner_id);
    const char *both[] = {u.id, other.id}, *mine[] = {u.id}, *only_other[] = {other.id};
    assert_int_equal(hs_store_chat_create(st, &g, NULL, both, 2, &err), 0);
    assert_int_equal(hs_store_chat_create(st, &ch, NULL, mine, 1, &err), 0);
    assert_int_equal(hs_store_chat_create(st, &theirs, NULL, only_other, 1, &err), 0);

    hs_chat_ref_t *refs;
    size_t n;
    assert_int_equal(hs_store_member_chats(st, u.id, &arena, &refs, &n, &err), 0);
    assert_int_equal(n, 2);
    int saw_group = 0, saw_channel = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(refs[i].id, g.id) == 0)
            saw_group = strcmp(refs[i].kind, "group") == 0;
        if (strcmp(refs[i].id, ch.id) == 0)
            saw_channel = strcmp(refs[i].kind, "channel") == 0;
    }
    assert_true(saw_group && saw_channel);

    assert_int_equal(hs_store_member_remove(st, g.id, u.id, &err), 0);
    assert_int_equal(hs_store_member_chats(st, u.id, &arena, &refs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(refs[0].id, ch.id);
    assert_int_equal(hs_store_member_chats(st, other.id, &arena, &refs, &n, &err), 0);
    assert_int_equal(n, 2);
}

/* P2P transfers: a state change is a compare-and-set, so two racing steps
 * cannot both win; history pages cover both roles, newest first. */
static void transfers(void **state)
{
    (void)state;
    hs_user_t a, b, c;
    hs_err_t err;
    make_user(&a, "sender", "");
    make_user(&b, "receiver", "");
    make_user(&c, "other", "");
    hs_transfer_t t[3];
    for (int i = 0; i < 3; i++) {
        memset(&t[i], 0, sizeof t[i]);
        hs_id_new(t[i].id);
        memcpy(t[i].sender_id, i == 2 ? c.id : a.id, sizeof t[i].sender_id);
        memcpy(t[i].recipient_id, i == 1 ? a.id : b.id, sizeof t[i].recipient_id);
        t[i].filename = "f.bin";
        t[i].size = 10 + i;
        t[i].mode = "auto";
        t[i].state = "pending";
        t[i].created_at = t[i].updated_at = hs_now_ms();
        t[i].expires_at = t[i].created_at + 600000;
        assert_int_equal(hs_store_transfer_create(st, &t[i], &err), 0);
    }
    hs_transfer_t got;
    assert_int_equal(hs_store_transfer_get(st, t[0].id, &arena, &got, &err), 0);
    assert_string_equal(got.state, "pending");
    assert_null(got.sha256);

    int moved;
    hs_transfer_t acc = got;
    acc.state = "accepted";
    assert_int_equal(hs_store_transfer_update(st, &acc, ",pending,", &moved, &err), 0);
    assert_int_equal(moved, 1);
    hs_transfer_t rej = got; /* a reject racing the accept loses */
    rej.state = "rejected";
    assert_int_equal(hs_store_transfer_update(st, &rej, ",pending,", &moved, &err), 0);
    assert_int_equal(moved, 0);
    assert_int_equal(hs_store_transfer_get(st, t[0].id, &arena, &got, &err), 0);
    assert_string_equal(got.state, "accepted");

    hs_transfer_page_t page;
    assert_int_equal(hs_store_transfer_page(st, a.id, NULL, NULL, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 2); /* sent t0, received t1; not c's t2 */
    assert_string_equal(page.items[0].id, t[1].id);
    assert_int_equal(hs_store_transfer_page(st, a.id, NULL, NULL, 1, &arena, &page, &err), 0);
    assert_int_equal(page.n, 1);
    assert_non_null(page.next_cursor);
    assert_int_equal(
        hs_store_transfer_page(st, a.id, NULL, page.next_cursor, 1, &arena, &page, &err), 0);
    assert_string_equal(page.items[0].id, t[0].id);
    assert_int_equal(hs_store_transfer_page(st, a.id, "accepted", NULL, 10, &arena, &page, &err),
                     0);
    assert_int_equal(page.n, 1);

    char **ids;
    size_t n;
    assert_int_equal(
        hs_store_transfer_stale(st, hs_now_ms() + 700000, 0, 10, &arena, &ids, &n, &err), 0);
    assert_int_equal(n, 2); /* the two still pending, once their offers ran out */

    int yes;
    assert_int_equal(hs_store_p2p_block_set(st, b.id, a.id, 1, hs_now_ms(), &err), 0);
    assert_int_equal(hs_store_p2p_blocked(st, b.id, a.id, &yes, &err), 0);
    assert_true(yes);
    assert_int_equal(hs_store_p2p_blocked(st, a.id, b.id, &yes, &err), 0);
    assert_false(yes);
    assert_int_equal(hs_store_p2p_block_set(st, b.id, a.id, 0, hs_now_ms(), &err), 0);
    assert_int_equal(hs_store_p2p_blocked(st, b.id, a.id, &yes, &err), 0);
    assert_false(yes);
}

static void search_pages_newest_first(void **state)
{
    (void)state;
    hs_user_t u, other;
    hs_err_t err;
    int existed;
    make_user(&u, "finder", "");
    make_user(&other, "stranger", "");
    hs_chat_t c = {.kind = "group", .name = "g", .created_at = hs_now_ms()};
    hs_chat_t elsewhere = c;
    hs_id_new(c.id);
    hs_id_new(elsewhere.id);
    memcpy(c.owner_id, u.id, sizeof c.owner_id);
    memcpy(elsewhere.owner_id, other.id, sizeof elsewhere.owner_id);
    const char *mine[] = {u.id}, *theirs[] = {other.id};
    assert_int_equal(hs_store_chat_create(st, &c, NULL, mine, 1, &err), 0);
    assert_int_equal(hs_store_chat_create(st, &elsewhere, NULL, theirs, 1, &err), 0);
    /* many hits, every third in a chat the searcher is not in */
    enum { N = 4500 };
    char theirs_id[HS_ID_LEN + 1] = "";
    for (int i = 0, n = 0; n < N; i++) {
        hs_message_t m = {.content = i % 7 ? "common word here" : "common common word"};
        int mine_now = i % 3 != 2;
        n += mine_now;
        hs_id_new(m.id);
        memcpy(m.chat_id, mine_now ? c.id : elsewhere.id, sizeof m.chat_id);
        memcpy(m.sender_id, mine_now ? u.id : other.id, sizeof m.sender_id);
        if (!mine_now)
            memcpy(theirs_id, m.id, sizeof theirs_id);
        assert_int_equal(hs_store_message_create(st, &m, NULL, 0, &existed, &err), 0);
    }
    hs_message_page_t page;
    const char *cursor = NULL;
    size_t seen = 0, pages = 0;
    char **ids = hs_arena_alloc(&arena, sizeof *ids * N);
    do {
        assert_int_equal(
            hs_store_message_search(st, u.id, NULL, "common", cursor, 100, &arena, &page, &err), 0);
        for (size_t i = 0; i < page.n; i++) {
            assert_string_equal(page.items[i].chat_id, c.id);
            assert_non_null(strstr(page.items[i].snippet, "\x02"
                                                          "common"
                                                          "\x03"));
            assert_true(seen < N);
            ids[seen++] = hs_arena_strdup(&arena, page.items[i].id);
        }
        cursor = page.next_cursor;
        assert_true(++pages < 200);
    } while (cursor);
    assert_int_equal(seen, N);
    assert_int_equal(pages, N / 100); /* full pages; no empty one at the end */
    for (size_t i = 1; i < seen; i++) /* newest first, no hit twice */
        assert_true(strcmp(ids[i - 1], ids[i]) > 0);
    /* a cursor is a message of the searcher's own: another chat's is refused
     * like garbage, so it tells nothing about that message */
    assert_int_equal(
        hs_store_message_search(st, u.id, NULL, "common", theirs_id, 10, &arena, &page, &err),
        HS_EINVAL);
    assert_string_equal(err.code, "invalid_cursor");
    /* the searcher never sees the other chat, and a bad cursor is refused */
    assert_int_equal(
        hs_store_message_search(st, u.id, elsewhere.id, "common", NULL, 10, &arena, &page, &err),
        0);
    assert_int_equal(page.n, 0);
    assert_int_equal(
        hs_store_message_search(st, u.id, NULL, "common", "12 x", 10, &arena, &page, &err),
        HS_EINVAL);
}

/* More distinct statements than the cache once held (64; the store has
 * about 100): each is prepared once, whatever the number of calls, and the
 * close finalizes them all. */
static void statement_cache_holds_every_statement(void **state)
{
    (void)state;
    static char sqls[300][32];
    hs__sq_t *q = st->impl;
    hs_err_t err;
    size_t before = live_statements(q->db);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 300; i++) {
            snprintf(sqls[i], sizeof sqls[i], "SELECT %d", i);
            sqlite3_stmt *s = hs__sq_prepare(st, sqls[i], &err);
            assert_non_null(s);
            assert_int_equal(sqlite3_step(s), SQLITE_ROW);
            assert_int_equal(sqlite3_column_int(s, 0), i);
            sqlite3_reset(s);
        }
    assert_int_equal(live_statements(q->db), before + 300);
    /* Once the cache is finalized nothing is left open (the teardown then
     * asserts that sqlite3_close succeeds). */
    assert_int_equal(hs_store_ping(st, &err), 0);
    for (size_t i = 0; i < q->cap; i++)
        if (q->cache[i].sql) {
            sqlite3_finalize(q->cache[i].stmt);
            q->cache[i].sql = NULL;
        }
    q->ncache = 0;
    assert_null(sqlite3_next_stmt(q->db, NULL));
}

static void reopen_keeps_data(void **state)
{
    (void)state;
    hs_user_t u, got;
    hs_err_t err;
    hs_config_t cfg;
    make_user(&u, "persist", "");
    hs_store_close(st);
    assert_int_equal(hs_config_load(&cfg, NULL, 0, &err), 0);
    assert_int_equal(hs_config_set(&cfg, "sqlite_path", dbpath, &err), 0);
    assert_int_equal(hs_store_open(&st, &cfg, &err), 0); /* migrations are idempotent */
    hs_config_free(&cfg);
    assert_int_equal(hs_store_ping(st, &err), 0);
    assert_int_equal(hs_store_user_get(st, u.id, &arena, &got, &err), 0);
    assert_string_equal(got.username, "persist");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, open_sqlite, close_store)
    const struct CMUnitTest backends[] = {
        T(users),
        T(search),
        T(follows),
        T(sessions),
        T(refresh_rotation),
        T(uploads_and_files),
        T(quota),
        T(messages_in_commit_order),
        T(member_chats),
        T(transfers),
        T(search_pages_newest_first),
        T(expiry),
        T(links),
        T(reopen_keeps_data),
        T(statement_cache_holds_every_statement),
    };
    return cmocka_run_group_tests_name("store contract (sqlite)", backends, NULL, NULL);
}

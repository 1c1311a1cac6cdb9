/* The store contract: every backend must pass the tests of `contract`
 * below, which reach the store only through the hs_store_* interface. They
 * run against SQLite here; a second backend runs this same file by
 * replacing the backend section (open and release) and the backend's own
 * tests at the end, and nothing else.
 * Each test names the operations whose contract it asserts (COVERS), and
 * the last test fails when an operation of hs/store_ops.h has no test or a
 * test names an operation it never calls. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/store/sqlite/sqlite.h" /* the backend sections only */
#include "hs/store.h"

/* ---- Coverage: which operations the tests assert, and which they call. -- */

enum {
#define OP_ENUM(name, params, args, contract) OP_##name,
    HS_STORE_OPS(OP_ENUM)
#undef OP_ENUM
        OP_COUNT
};
static const char *const op_names[OP_COUNT] = {
#define OP_NAME(name, params, args, contract) #name,
    HS_STORE_OPS(OP_NAME)
#undef OP_NAME
};
static const char *const op_contracts[OP_COUNT] = {
#define OP_CONTRACT(name, params, args, contract) contract,
    HS_STORE_OPS(OP_CONTRACT)
#undef OP_CONTRACT
};
static int covered[OP_COUNT];     /* named by a test's COVERS */
static unsigned called[OP_COUNT]; /* reached the backend */
static int contract_tests_run, contract_tests_total;

/* A test declares the operations whose contract it asserts. */
#define COVERS(...)                                                                                \
    covers((const int[]){__VA_ARGS__}, sizeof((const int[]){__VA_ARGS__}) / sizeof(int))
static void covers(const int *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        covered[ops[i]] = 1;
}

/* The backend's vtable behind one that counts each call: generated from the
 * same list, so a new operation is counted without touching this file. */
static const hs_store_ops_t *backend_ops;
#define OP_COUNTED(name, params, args, contract)                                                   \
    static int counted_##name params                                                               \
    {                                                                                              \
        called[OP_##name]++;                                                                       \
        return backend_ops->name args;                                                             \
    }
HS_STORE_OPS(OP_COUNTED)
#undef OP_COUNTED
static hs_store_ops_t counting_ops = {
#define OP_COUNTED_INIT(name, params, args, contract) .name = counted_##name,
    HS_STORE_OPS(OP_COUNTED_INIT)
#undef OP_COUNTED_INIT
};

static hs_store_t *counted(hs_store_t *s)
{
    backend_ops = s->ops;
    counting_ops.name = backend_ops->name;
    counting_ops.close = backend_ops->close;
    s->ops = &counting_ops;
    return s;
}

/* The store under test (its calls counted) and the arena of its reads.
 * Declared after the generated wrappers, whose parameter is also `st`. */
static hs_store_t *st;
static hs_arena_t arena;

/* ---- The backend under test: the only part another backend replaces. --- */

static char dbpath[64];

/* Opens the backend on the test database; fresh empties it first. */
static hs_store_t *backend_open(int fresh)
{
    hs_store_t *out = NULL;
    hs_config_t cfg;
    hs_err_t err;
    if (fresh) {
        snprintf(dbpath, sizeof dbpath, "/tmp/hs-store-test-%d.db", (int)getpid());
        unlink(dbpath);
    }
    assert_int_equal(hs_config_load(&cfg, NULL, 0, &err), 0);
    assert_int_equal(hs_config_set(&cfg, "store", "sqlite", &err), 0);
    assert_int_equal(hs_config_set(&cfg, "sqlite_path", dbpath, &err), 0);
    int rc = hs_store_open(&out, &cfg, &err);
    hs_config_free(&cfg);
    assert_int_equal(rc, 0);
    return out;
}

/* Closes the backend and removes the test database. */
static void backend_release(hs_store_t *s)
{
    /* After every test the database closes cleanly: no statement was
     * prepared and left unfinalized (sqlite3_close is then SQLITE_BUSY).
     * FTS5's own statements are not counted: it finalizes them at close. */
    assert_int_equal(hs__sq_release(s->impl), SQLITE_OK);
    hs_store_close(s);
    char p[80];
    unlink(dbpath);
    snprintf(p, sizeof p, "%s-wal", dbpath);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", dbpath);
    unlink(p);
}

static int open_store(void **state)
{
    (void)state;
    st = counted(backend_open(1));
    contract_tests_run++;
    return 0;
}

static int close_store(void **state)
{
    (void)state;
    backend_release(st);
    st = NULL;
    hs_arena_free(&arena);
    return 0;
}

/* ---- The contract. ------------------------------------------------------ */

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
    COVERS(OP_user_create, OP_user_get, OP_user_find_login, OP_user_update_profile,
           OP_user_set_password, OP_user_set_role, OP_user_set_disabled);
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
    COVERS(OP_user_search);
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
    COVERS(OP_follow_set, OP_follow_state, OP_follow_counts, OP_user_with_counts, OP_follow_page);
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
    hs_user_t got;
    assert_int_equal(
        hs_store_user_with_counts(st, a.id, &arena, &got, &followers, &following, &err), 0);
    assert_string_equal(got.id, a.id);
    assert_string_equal(got.username, a.username);
    assert_int_equal(followers, 2);
    assert_int_equal(following, 0);
    assert_int_equal(
        hs_store_user_with_counts(st, b.id, &arena, &got, &followers, &following, &err), 0);
    assert_int_equal(followers, 0);
    assert_int_equal(following, 1);
    char none[HS_ID_LEN + 1];
    hs_id_new(none);
    assert_int_equal(
        hs_store_user_with_counts(st, none, &arena, &got, &followers, &following, &err),
        HS_ENOTFOUND);
    assert_string_equal(err.code, "user_not_found");
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
    COVERS(OP_session_create, OP_session_get, OP_session_list, OP_session_revoke,
           OP_session_revoke_others, OP_session_revoked_since);
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
    COVERS(OP_refresh_rotate);
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
    COVERS(OP_upload_create, OP_upload_get, OP_chunk_add, OP_chunk_get, OP_chunk_list,
           OP_upload_advance, OP_upload_finish, OP_storage_used, OP_file_get, OP_file_page,
           OP_file_delete);
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
    COVERS(OP_upload_create, OP_storage_used);
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
    COVERS(OP_upload_expired, OP_file_expired);
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
    COVERS(OP_link_create, OP_link_get, OP_link_take, OP_link_list, OP_link_revoke);
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
    COVERS(OP_message_create, OP_message_page);
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
    COVERS(OP_member_chats);
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
    COVERS(OP_transfer_create, OP_transfer_get, OP_transfer_update, OP_transfer_page,
           OP_transfer_stale, OP_p2p_block_set, OP_p2p_blocked);
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
    COVERS(OP_message_search);
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

/* A file of u's, finished from a fresh upload. */
static hs_file_t make_file(const hs_user_t *u)
{
    hs_err_t err;
    hs_upload_t up = new_upload(u, 5, hs_now_ms() + 60000);
    hs_file_t f = {.filename = "f", .content_type = "x", .size = 5, .created_at = hs_now_ms()};
    memcpy(f.id, up.id, sizeof f.id);
    memcpy(f.owner_id, u->id, sizeof f.owner_id);
    assert_int_equal(hs_store_upload_finish(st, up.id, &f, &err), 0);
    return f;
}

/* A chat of kind with n members; members[0] owns groups and channels. */
static hs_chat_t make_chat(const char *kind, const char *direct_key, const char **members, size_t n,
                           int64_t at)
{
    hs_chat_t c = {.kind = kind, .name = kind, .created_at = at};
    hs_err_t err;
    hs_id_new(c.id);
    memcpy(c.owner_id, members[0], sizeof c.owner_id);
    assert_int_equal(hs_store_chat_create(st, &c, direct_key, members, n, &err), 0);
    return c;
}

static hs_message_t send_message(const char *chat_id, const char *sender_id, const char *content,
                                 const char **files, size_t nfiles)
{
    hs_message_t m = {.content = content};
    hs_err_t err;
    int existed;
    hs_id_new(m.id);
    snprintf(m.chat_id, sizeof m.chat_id, "%s", chat_id);
    snprintf(m.sender_id, sizeof m.sender_id, "%s", sender_id);
    assert_int_equal(hs_store_message_create(st, &m, files, nfiles, &existed, &err), 0);
    assert_false(existed);
    return m;
}

/* The lower and the higher of two ids. */
static void id_order(const char *x, const char *y, const char **lo, const char **hi)
{
    *lo = strcmp(x, y) < 0 ? x : y;
    *hi = *lo == x ? y : x;
}

static const char NO_ID[] = "000000000000000000000000";

/* An aborted upload is gone with its chunks, and its quota share freed. */
static void upload_abort(void **state)
{
    (void)state;
    COVERS(OP_upload_delete);
    hs_user_t u;
    hs_err_t err;
    hs_upload_t got;
    int64_t used;
    make_user(&u, "aborter", "");
    hs_upload_t up = new_upload(&u, 25, hs_now_ms() + 60000);
    assert_int_equal(hs_store_chunk_add(st, up.id, 0, 10, "aa", &err), 0);
    assert_int_equal(hs_store_upload_delete(st, up.id, &err), 0);
    assert_int_equal(hs_store_upload_get(st, up.id, &arena, &got, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_chunk_add(st, up.id, 1, 10, "bb", &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "upload_not_found");
    assert_int_equal(hs_store_storage_used(st, u.id, &used, &err), 0);
    assert_int_equal(used, 0);
    assert_int_equal(hs_store_upload_delete(st, up.id, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "upload_not_found");
}

/* Chats: one direct chat per key, each viewer sees their own membership,
 * pages follow activity, and a deleted chat is gone whole. */
static void chats(void **state)
{
    (void)state;
    COVERS(OP_chat_create, OP_chat_find_direct, OP_chat_get, OP_chat_update, OP_chat_delete,
           OP_chat_page);
    hs_user_t a, b, c;
    hs_err_t err;
    hs_chat_t got;
    hs_message_t mg;
    char id[HS_ID_LEN + 1];
    make_user(&a, "ca", "");
    make_user(&b, "cb", "");
    make_user(&c, "cc", "");
    const char *ab[] = {a.id, b.id};
    hs_chat_t d = make_chat("direct", "ab", ab, 2, 1000);
    hs_chat_t g = make_chat("group", NULL, ab, 2, 2000);

    assert_int_equal(hs_store_chat_find_direct(st, "ab", id, &err), 0);
    assert_string_equal(id, d.id);
    hs_chat_t again = d;
    hs_id_new(again.id);
    assert_int_equal(hs_store_chat_create(st, &again, "ab", ab, 2, &err), HS_ECONFLICT);
    assert_string_equal(err.code, "direct_exists");
    /* nothing of the refused chat was kept */
    assert_int_equal(hs_store_chat_get(st, again.id, a.id, 0, &arena, &got, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_chat_find_direct(st, "ba", id, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "chat_not_found");

    assert_int_equal(hs_store_chat_get(st, g.id, a.id, 0, &arena, &got, &err), 0);
    assert_string_equal(got.kind, "group");
    assert_int_equal(got.member_count, 2);
    assert_string_equal(got.owner_id, a.id);
    assert_string_equal(got.my_role, "owner");
    assert_int_equal(hs_store_chat_get(st, d.id, b.id, 0, &arena, &got, &err), 0);
    assert_string_equal(got.my_role, "member"); /* direct chats have no owner */
    assert_int_equal(hs_store_chat_get(st, g.id, c.id, 0, &arena, &got, &err), 0);
    assert_null(got.my_role);
    assert_int_equal(hs_store_chat_get(st, NO_ID, a.id, 0, &arena, &got, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "chat_not_found");

    /* full: the viewer's unread count and the last message */
    hs_message_t m = send_message(d.id, a.id, "hello", NULL, 0);
    assert_int_equal(hs_store_chat_get(st, d.id, b.id, 1, &arena, &got, &err), 0);
    assert_int_equal(got.my_unread, 1);
    assert_non_null(got.last_message);
    assert_string_equal(got.last_message->id, m.id);
    assert_string_equal(got.last_message->content, "hello");
    assert_int_equal(hs_store_chat_get(st, d.id, a.id, 1, &arena, &got, &err), 0);
    assert_int_equal(got.my_unread, 0); /* one's own messages are read */

    /* most recent activity first: the message moved the older chat up */
    hs_chat_page_t page;
    assert_int_equal(hs_store_chat_page(st, a.id, NULL, 1, &arena, &page, &err), 0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].id, d.id);
    assert_non_null(page.next_cursor);
    assert_int_equal(hs_store_chat_page(st, a.id, page.next_cursor, 1, &arena, &page, &err), 0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].id, g.id);
    assert_null(page.next_cursor);
    assert_int_equal(hs_store_chat_page(st, c.id, NULL, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 0);

    g.name = "renamed";
    g.description = "about";
    g.is_public = 1;
    g.updated_at = 3000;
    assert_int_equal(hs_store_chat_update(st, &g, &err), 0);
    assert_int_equal(hs_store_chat_get(st, g.id, a.id, 0, &arena, &got, &err), 0);
    assert_string_equal(got.name, "renamed");
    assert_string_equal(got.description, "about");
    assert_true(got.is_public);
    assert_int_equal(got.updated_at, 3000);
    hs_chat_t ghost = g;
    hs_id_new(ghost.id);
    assert_int_equal(hs_store_chat_update(st, &ghost, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "chat_not_found");

    /* delete takes the members, the messages and the direct key with it */
    assert_int_equal(hs_store_chat_delete(st, d.id, &err), 0);
    assert_int_equal(hs_store_chat_get(st, d.id, a.id, 0, &arena, &got, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_message_get(st, m.id, a.id, 0, &arena, &mg, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_chat_find_direct(st, "ab", id, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_chat_page(st, a.id, NULL, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 1);
    assert_int_equal(hs_store_chat_delete(st, d.id, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "chat_not_found");
}

/* Members: the limit and duplicates are refused without a trace; role
 * and mute change apart; pages go by user id. */
static void members(void **state)
{
    (void)state;
    COVERS(OP_member_add, OP_member_remove, OP_member_set, OP_member_page);
    hs_user_t a, b, c;
    hs_err_t err;
    hs_chat_t got;
    make_user(&a, "ma", "");
    make_user(&b, "mb", "Bee");
    make_user(&c, "mc", "");
    const char *owner[] = {a.id};
    hs_chat_t g = make_chat("group", NULL, owner, 1, 1000);

    assert_int_equal(hs_store_member_add(st, g.id, b.id, "member", 2000, 10, &err), 0);
    assert_int_equal(hs_store_member_add(st, g.id, b.id, "member", 2000, 10, &err), HS_ECONFLICT);
    assert_string_equal(err.code, "already_member");
    assert_int_equal(hs_store_member_add(st, g.id, c.id, "member", 2000, 2, &err), HS_ECONFLICT);
    assert_string_equal(err.code, "member_limit");
    assert_int_equal(hs_store_member_add(st, NO_ID, c.id, "member", 2000, 10, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "chat_not_found");
    assert_int_equal(hs_store_chat_get(st, g.id, c.id, 0, &arena, &got, &err), 0);
    assert_int_equal(got.member_count, 2);
    assert_null(got.my_role);

    assert_int_equal(hs_store_member_set(st, g.id, b.id, "admin", -1, &err), 0);
    assert_int_equal(hs_store_member_set(st, g.id, b.id, NULL, 1, &err), 0);
    assert_int_equal(hs_store_chat_get(st, g.id, b.id, 0, &arena, &got, &err), 0);
    assert_string_equal(got.my_role, "admin");
    assert_true(got.my_muted);
    assert_int_equal(hs_store_member_set(st, g.id, c.id, "admin", -1, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "member_not_found");

    const char *lo, *hi;
    id_order(a.id, b.id, &lo, &hi);
    hs_member_page_t page;
    assert_int_equal(hs_store_member_page(st, g.id, NULL, 1, &arena, &page, &err), 0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].user_id, lo);
    assert_non_null(page.next_cursor);
    hs_member_t first = page.items[0];
    assert_int_equal(hs_store_member_page(st, g.id, page.next_cursor, 1, &arena, &page, &err), 0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].user_id, hi);
    assert_null(page.next_cursor);
    hs_member_t *mb = strcmp(first.user_id, b.id) == 0 ? &first : &page.items[0];
    assert_string_equal(mb->username, "mb");
    assert_string_equal(mb->display_name, "Bee");
    assert_string_equal(mb->role, "admin");
    assert_int_equal(mb->joined_at, 2000);

    assert_int_equal(hs_store_member_remove(st, g.id, b.id, &err), 0);
    assert_int_equal(hs_store_member_remove(st, g.id, b.id, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "member_not_found");
    assert_int_equal(hs_store_chat_get(st, g.id, b.id, 0, &arena, &got, &err), 0);
    assert_int_equal(got.member_count, 1);
    assert_null(got.my_role);
}

/* Leaving: an owner's chat passes to an admin before a plain member; the
 * last one out deletes it. */
static void leaving(void **state)
{
    (void)state;
    COVERS(OP_chat_leave);
    hs_user_t a, b, c;
    hs_err_t err;
    hs_chat_t got;
    char heir[HS_ID_LEN + 1];
    int deleted;
    make_user(&a, "la", "");
    make_user(&b, "lb", "");
    make_user(&c, "lc", "");
    const char *abc[] = {a.id, b.id, c.id};
    hs_chat_t g = make_chat("group", NULL, abc, 3, 1000);
    /* b and c joined together; c, an admin, comes first */
    assert_int_equal(hs_store_member_set(st, g.id, c.id, "admin", -1, &err), 0);

    assert_int_equal(hs_store_chat_leave(st, g.id, a.id, heir, &deleted, &err), 0);
    assert_string_equal(heir, c.id);
    assert_false(deleted);
    assert_int_equal(hs_store_chat_get(st, g.id, c.id, 0, &arena, &got, &err), 0);
    assert_string_equal(got.my_role, "owner");
    assert_string_equal(got.owner_id, c.id);
    assert_int_equal(got.member_count, 2);

    assert_int_equal(hs_store_chat_leave(st, g.id, b.id, heir, &deleted, &err), 0);
    assert_string_equal(heir, ""); /* b owned nothing */
    assert_false(deleted);
    assert_int_equal(hs_store_chat_leave(st, g.id, b.id, heir, &deleted, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "member_not_found");

    assert_int_equal(hs_store_chat_leave(st, g.id, c.id, heir, &deleted, &err), 0);
    assert_true(deleted);
    assert_int_equal(hs_store_chat_get(st, g.id, c.id, 0, &arena, &got, &err), HS_ENOTFOUND);
}

/* Read markers only move forward, and receipts list who reached a message
 * (never its sender), by user id. */
static void read_marks_and_receipts(void **state)
{
    (void)state;
    COVERS(OP_read_mark, OP_receipts);
    hs_user_t a, b, c;
    hs_err_t err;
    hs_member_t *r;
    size_t n;
    int moved;
    make_user(&a, "ra", "");
    make_user(&b, "rb", "");
    make_user(&c, "rc", "");
    const char *abc[] = {a.id, b.id, c.id};
    hs_chat_t g = make_chat("group", NULL, abc, 3, 1000);
    hs_message_t m1 = send_message(g.id, a.id, "one", NULL, 0);
    hs_message_t m2 = send_message(g.id, a.id, "two", NULL, 0);

    assert_int_equal(hs_store_receipts(st, g.id, m1.id, a.id, &arena, &r, &n, &err), 0);
    assert_int_equal(n, 0); /* the sender's own marker does not count */

    assert_int_equal(hs_store_read_mark(st, g.id, b.id, m2.id, &moved, &err), 0);
    assert_true(moved);
    assert_int_equal(hs_store_read_mark(st, g.id, b.id, m1.id, &moved, &err), 0);
    assert_false(moved); /* never back */
    assert_int_equal(hs_store_read_mark(st, g.id, b.id, m2.id, &moved, &err), 0);
    assert_false(moved);
    assert_int_equal(hs_store_read_mark(st, g.id, c.id, m1.id, &moved, &err), 0);
    assert_true(moved);

    assert_int_equal(hs_store_receipts(st, g.id, m2.id, a.id, &arena, &r, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].user_id, b.id);
    assert_string_equal(r[0].last_read_id, m2.id);
    const char *lo, *hi;
    id_order(b.id, c.id, &lo, &hi);
    assert_int_equal(hs_store_receipts(st, g.id, m1.id, a.id, &arena, &r, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(r[0].user_id, lo);
    assert_string_equal(r[1].user_id, hi);
}

/* A message's life: sent once per client id, attachments readable in the
 * chat, reactions toggled, edited, then a tombstone with nothing left. */
static void message_lifecycle(void **state)
{
    (void)state;
    COVERS(OP_message_create, OP_message_get, OP_message_edit, OP_message_delete,
           OP_reaction_toggle, OP_file_shared_with);
    static const char THUMBS[] = "\xf0\x9f\x91\x8d";
    hs_user_t a, b, outsider;
    hs_err_t err;
    hs_message_t got;
    int yes, on, existed;
    make_user(&a, "sa", "Ay");
    make_user(&b, "sb", "");
    make_user(&outsider, "so", "");
    const char *ab[] = {a.id, b.id};
    hs_chat_t g = make_chat("group", NULL, ab, 2, 1000);
    hs_file_t f = make_file(&a);
    assert_int_equal(hs_store_file_shared_with(st, f.id, b.id, &yes, &err), 0);
    assert_false(yes);
    const char *files[] = {f.id};
    hs_message_t m = send_message(g.id, a.id, "hello", files, 1);
    assert_int_equal(hs_store_file_shared_with(st, f.id, b.id, &yes, &err), 0);
    assert_true(yes);
    assert_int_equal(hs_store_file_shared_with(st, f.id, outsider.id, &yes, &err), 0);
    assert_false(yes);

    /* a retry with the same client id returns the first message */
    hs_message_t r1 = {.content = "once", .client_id = "c-1"}, r2 = r1;
    hs_id_new(r1.id);
    hs_id_new(r2.id);
    memcpy(r1.chat_id, g.id, sizeof r1.chat_id);
    memcpy(r2.chat_id, g.id, sizeof r2.chat_id);
    memcpy(r1.sender_id, b.id, sizeof r1.sender_id);
    memcpy(r2.sender_id, b.id, sizeof r2.sender_id);
    assert_int_equal(hs_store_message_create(st, &r1, NULL, 0, &existed, &err), 0);
    assert_false(existed);
    assert_int_equal(hs_store_message_create(st, &r2, NULL, 0, &existed, &err), 0);
    assert_true(existed);
    assert_string_equal(r2.id, r1.id);

    assert_int_equal(hs_store_message_get(st, m.id, b.id, 1, &arena, &got, &err), 0);
    assert_string_equal(got.content, "hello");
    assert_string_equal(got.chat_id, g.id);
    assert_string_equal(got.sender_id, a.id);
    assert_string_equal(got.sender_username, "sa");
    assert_string_equal(got.sender_display_name, "Ay");
    assert_int_equal(got.nfiles, 1);
    assert_string_equal(got.files[0].id, f.id);
    assert_int_equal(got.nreactions, 0);
    assert_int_equal(got.deleted_at, 0);
    assert_int_equal(hs_store_message_get(st, NO_ID, b.id, 0, &arena, &got, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "message_not_found");

    assert_int_equal(hs_store_reaction_toggle(st, m.id, b.id, THUMBS, 1, &on, &err), 0);
    assert_true(on);
    assert_int_equal(hs_store_reaction_toggle(st, m.id, a.id, THUMBS, 2, &on, &err), 0);
    assert_true(on);
    assert_int_equal(hs_store_message_get(st, m.id, b.id, 1, &arena, &got, &err), 0);
    assert_int_equal(got.nreactions, 1);
    assert_string_equal(got.reactions[0].emoji, THUMBS);
    assert_int_equal(got.reactions[0].count, 2);
    assert_true(got.reactions[0].mine);
    assert_int_equal(hs_store_reaction_toggle(st, m.id, b.id, THUMBS, 3, &on, &err), 0);
    assert_false(on);
    assert_int_equal(hs_store_message_get(st, m.id, b.id, 1, &arena, &got, &err), 0);
    assert_int_equal(got.reactions[0].count, 1);
    assert_false(got.reactions[0].mine);

    assert_int_equal(hs_store_message_edit(st, m.id, "hello again", 5000, &err), 0);
    assert_int_equal(hs_store_message_get(st, m.id, b.id, 0, &arena, &got, &err), 0);
    assert_string_equal(got.content, "hello again");
    assert_int_equal(got.edited_at, 5000);
    assert_int_equal(hs_store_message_edit(st, NO_ID, "x", 5000, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "message_not_found");

    assert_int_equal(hs_store_message_delete(st, m.id, 6000, &err), 0);
    assert_int_equal(hs_store_message_get(st, m.id, b.id, 1, &arena, &got, &err), 0);
    assert_string_equal(got.content, "");
    assert_int_equal(got.deleted_at, 6000);
    assert_int_equal(got.nreactions, 0);
    assert_int_equal(got.nfiles, 0);
    assert_int_equal(hs_store_file_shared_with(st, f.id, b.id, &yes, &err), 0);
    assert_false(yes); /* no message in the chat carries the file now */
    assert_int_equal(hs_store_message_delete(st, m.id, 7000, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "message_not_found");
    assert_int_equal(hs_store_message_edit(st, m.id, "back", 7000, &err), HS_ENOTFOUND);
}

/* A relay copy is bound once, by its owner, and leaves the owner's list;
 * block lists come newest first. */
static void relay_files_and_block_lists(void **state)
{
    (void)state;
    COVERS(OP_file_bind_transfer, OP_p2p_block_list);
    hs_user_t a, b, c;
    hs_err_t err;
    hs_file_t got;
    hs_file_page_t page;
    char **ids;
    size_t n;
    char tid[HS_ID_LEN + 1];
    make_user(&a, "pa", "");
    make_user(&b, "pb", "");
    make_user(&c, "pc", "");
    hs_file_t kept = make_file(&a), relay = make_file(&a);
    hs_id_new(tid);
    assert_int_equal(hs_store_file_bind_transfer(st, relay.id, b.id, tid, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "file_not_found");
    assert_int_equal(hs_store_file_bind_transfer(st, relay.id, a.id, tid, &err), 0);
    assert_int_equal(hs_store_file_bind_transfer(st, relay.id, a.id, tid, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_file_page(st, a.id, NULL, 10, hs_now_ms(), &arena, &page, &err), 0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].id, kept.id);
    assert_int_equal(hs_store_file_get(st, relay.id, &arena, &got, &err), 0);

    assert_int_equal(hs_store_p2p_block_set(st, b.id, a.id, 1, 1000, &err), 0);
    assert_int_equal(hs_store_p2p_block_set(st, b.id, c.id, 1, 2000, &err), 0);
    assert_int_equal(hs_store_p2p_block_set(st, b.id, a.id, 1, 3000, &err), 0); /* idempotent */
    assert_int_equal(hs_store_p2p_block_list(st, b.id, &arena, &ids, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], c.id);
    assert_string_equal(ids[1], a.id);
    assert_int_equal(hs_store_p2p_block_list(st, a.id, &arena, &ids, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(hs_store_p2p_block_set(st, b.id, c.id, 0, 4000, &err), 0);
    assert_int_equal(hs_store_p2p_block_list(st, b.id, &arena, &ids, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], a.id);
}

/* Reads and single-row writes of an id that does not exist fail with
 * HS_ENOTFOUND and the documented code, whatever the operation. */
static void unknown_ids_are_not_found(void **state)
{
    (void)state;
    COVERS(OP_user_get, OP_user_update_profile, OP_user_set_password, OP_session_get, OP_upload_get,
           OP_file_get, OP_file_delete, OP_link_get, OP_transfer_get);
    hs_err_t err;
    hs_user_t u = {0};
    hs_session_t s;
    hs_upload_t up;
    hs_file_t f;
    hs_link_t l;
    hs_transfer_t t;
    memcpy(u.id, NO_ID, sizeof u.id);
    u.updated_at = 1;
#define NOT_FOUND(call, want)                                                                      \
    do {                                                                                           \
        assert_int_equal((call), HS_ENOTFOUND);                                                    \
        assert_string_equal(err.code, want);                                                       \
    } while (0)
    NOT_FOUND(hs_store_user_get(st, NO_ID, &arena, &u, &err), "user_not_found");
    NOT_FOUND(hs_store_user_update_profile(st, &u, &err), "user_not_found");
    NOT_FOUND(hs_store_user_set_password(st, NO_ID, "$argon2id$x", 1, &err), "user_not_found");
    NOT_FOUND(hs_store_session_get(st, NO_ID, &arena, &s, &err), "session_not_found");
    NOT_FOUND(hs_store_upload_get(st, NO_ID, &arena, &up, &err), "upload_not_found");
    NOT_FOUND(hs_store_file_get(st, NO_ID, &arena, &f, &err), "file_not_found");
    NOT_FOUND(hs_store_file_delete(st, NO_ID, &err), "file_not_found");
    NOT_FOUND(hs_store_link_get(st, "no such hash", &arena, &l, &err), "link_not_found");
    NOT_FOUND(hs_store_transfer_get(st, NO_ID, &arena, &t, &err), "transfer_not_found");
#undef NOT_FOUND
}

static void reopen_keeps_data(void **state)
{
    (void)state;
    COVERS(OP_ping);
    hs_user_t u, got;
    hs_err_t err;
    make_user(&u, "persist", "");
    hs_store_close(st);
    st = counted(backend_open(0)); /* the schema set-up is idempotent */
    assert_int_equal(hs_store_ping(st, &err), 0);
    assert_int_equal(hs_store_user_get(st, u.id, &arena, &got, &err), 0);
    assert_string_equal(got.username, "persist");
}

/* Runs last: every operation of hs/store_ops.h has a test that names it
 * (COVERS) and calls it. Skipped when only some tests ran (a filter). */
static void every_operation_has_a_contract_test(void **state)
{
    (void)state;
    if (contract_tests_run < contract_tests_total)
        skip();
    int missing = 0;
    for (int i = 0; i < OP_COUNT; i++) {
        if (!covered[i])
            print_error("store operation %s has no contract test: %s\n", op_names[i],
                        op_contracts[i]);
        else if (!called[i])
            print_error("store operation %s is named by COVERS but never called\n", op_names[i]);
        missing += !covered[i] || !called[i];
    }
    assert_int_equal(missing, 0);
}

/* ---- The SQLite backend's own tests (not part of the contract). -------- */

/* The statements open on db (prepared and not finalized). */
static size_t live_statements(sqlite3 *db)
{
    size_t n = 0;
    for (sqlite3_stmt *s = sqlite3_next_stmt(db, NULL); s; s = sqlite3_next_stmt(db, s))
        n++;
    return n;
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

static int open_sqlite(void **state)
{
    (void)state;
    st = backend_open(1);
    return 0;
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, open_store, close_store)
    const struct CMUnitTest contract[] = {
        T(users),
        T(search),
        T(follows),
        T(sessions),
        T(refresh_rotation),
        T(uploads_and_files),
        T(upload_abort),
        T(quota),
        T(expiry),
        T(links),
        T(chats),
        T(members),
        T(leaving),
        T(member_chats),
        T(read_marks_and_receipts),
        T(messages_in_commit_order),
        T(message_lifecycle),
        T(search_pages_newest_first),
        T(transfers),
        T(relay_files_and_block_lists),
        T(unknown_ids_are_not_found),
        T(reopen_keeps_data),
        cmocka_unit_test(every_operation_has_a_contract_test), /* last */
    };
#undef T
    const struct CMUnitTest sqlite_only[] = {
        cmocka_unit_test_setup_teardown(statement_cache_holds_every_statement, open_sqlite,
                                        close_store),
    };
    contract_tests_total = (int)(sizeof contract / sizeof contract[0]) - 1;
    int failed = cmocka_run_group_tests_name("store contract (sqlite)", contract, NULL, NULL);
    return failed + cmocka_run_group_tests_name("sqlite backend", sqlite_only, NULL, NULL);
}

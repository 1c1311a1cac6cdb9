/* The store contract of uploads, chunks, files, the quota, expiry and share links. */
#include <stdio.h>
#include <string.h>

#include "store_test.h"

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

/* A child of quota_race: starts a 30-byte upload of the owner in arg
 * against a quota of 100. 0: started; 1: quota_exceeded; 2: error. */
static int upload_once(hs_store_t *s, int i, void *arg)
{
    (void)i;
    const hs_user_t *u = arg;
    hs_upload_t up = {0};
    hs_err_t err;
    hs_id_new(up.id);
    memcpy(up.owner_id, u->id, sizeof up.owner_id);
    up.protocol = "chunks";
    up.filename = "q";
    up.content_type = "x";
    up.size = 30;
    up.expires_at = hs_now_ms() + 60000;
    int rc = hs_store_upload_create(s, &up, 100, &err);
    if (rc == 0)
        return 0;
    return rc == HS_ENOSPACE && strcmp(err.code, "quota_exceeded") == 0 ? 1 : 2;
}

/* Four uploads of one owner start at once on several hosts, room for three:
 * exactly three start, and the quota holds what they took. */
static void quota_race(void **state)
{
    (void)state;
    COVERS(OP_upload_create, OP_storage_used);
    hs_user_t u;
    hs_err_t err;
    make_user(&u, "quotarace", "");
    int codes[4], refused = 0;
    store_test_race(4, upload_once, &u, codes);
    for (int i = 0; i < 4; i++) {
        assert_true(codes[i] == 0 || codes[i] == 1);
        refused += codes[i];
    }
    assert_int_equal(refused, 1);
    int64_t used;
    assert_int_equal(hs_store_storage_used(st, u.id, &used, &err), 0);
    assert_int_equal(used, 90);
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

/* A child of link_take_race: one download of the link in arg. 0: counted;
 * 1: link_exhausted; 2: anything else. */
static int take_link(hs_store_t *s, int i, void *arg)
{
    (void)i;
    hs_err_t err;
    int rc = hs_store_link_take(s, arg, hs_now_ms(), &err);
    if (rc == 0)
        return 0;
    return rc == HS_EGONE && strcmp(err.code, "link_exhausted") == 0 ? 1 : 2;
}

/* Five hosts download a two-download link at once: exactly two get it. */
static void link_take_race(void **state)
{
    (void)state;
    COVERS(OP_link_take);
    hs_user_t u;
    hs_err_t err;
    int64_t now = hs_now_ms();
    make_user(&u, "lnkrace", "");
    hs_file_t f = make_file(&u);
    hs_link_t l = {0};
    hs_id_new(l.id);
    memcpy(l.file_id, f.id, sizeof l.file_id);
    l.created_at = now;
    l.expires_at = now + 600000;
    l.max_downloads = 2;
    assert_int_equal(hs_store_link_create(st, &l, "racehash", &err), 0);
    int codes[5], refused = 0;
    store_test_race(5, take_link, l.id, codes);
    for (int i = 0; i < 5; i++) {
        assert_true(codes[i] == 0 || codes[i] == 1);
        refused += codes[i];
    }
    assert_int_equal(refused, 3);
}

STORE_SUITE(store_files_suite, STORE_TEST(uploads_and_files), STORE_TEST(upload_abort),
            STORE_TEST(quota), STORE_TEST(quota_race), STORE_TEST(expiry), STORE_TEST(links),
            STORE_TEST(link_take_race));

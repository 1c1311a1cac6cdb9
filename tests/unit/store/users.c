/* The store contract of accounts: create and read, profile, password,
 * role, disabled; search; follows. */
#include <stdio.h>
#include <string.h>

#include "store_test.h"

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

STORE_SUITE(store_users_suite, STORE_TEST(users), STORE_TEST(search), STORE_TEST(follows));

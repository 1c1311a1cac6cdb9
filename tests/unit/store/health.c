/* The store contract as a whole: ping, reopening, and unknown ids failing
 * alike across operations. */
#include <stdio.h>
#include <string.h>

#include "store_test.h"

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
    store_test_reopen(); /* the schema set-up is idempotent */
    assert_int_equal(hs_store_ping(st, &err), 0);
    assert_int_equal(hs_store_user_get(st, u.id, &arena, &got, &err), 0);
    assert_string_equal(got.username, "persist");
}

STORE_SUITE(store_health_suite, STORE_TEST(unknown_ids_are_not_found),
            STORE_TEST(reopen_keeps_data));

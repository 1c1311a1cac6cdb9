/* The store contract of sessions and refresh-token rotation (reuse detection, expiry). */
#include <stdio.h>
#include <string.h>

#include "store_test.h"

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

/* A child of refresh_rotation_race: exchanges the round's token. 0: it got
 * the next one; 1: refused as a reuse; 2: anything else. */
static int rotate_once(hs_store_t *s, int i, void *arg)
{
    const char *tok = arg;
    char next[32];
    hs_arena_t a = {0};
    hs_session_t out;
    hs_err_t err;
    int64_t now = hs_now_ms();
    snprintf(next, sizeof next, "%s-%d", tok, i);
    int rc = hs_store_refresh_rotate(s, tok, next, now + 3600000, now, "", "", &a, &out, &err);
    hs_arena_free(&a);
    if (rc == 0)
        return 0;
    if (rc == HS_EAUTH && strcmp(err.code, "refresh_token_reused") == 0)
        return 1;
    return 2;
}

/* Requests on several hosts exchange one refresh token at the same moment:
 * exactly one gets the next token, the other is a reuse that revokes the
 * session, so the winner's token dies too. Each round races two processes,
 * each with its own connection. */
static void refresh_rotation_race(void **state)
{
    (void)state;
    COVERS(OP_refresh_rotate);
    hs_user_t u;
    hs_err_t err;
    make_user(&u, "racer", "");
    for (int round = 0; round < 6; round++) {
        char tok[32], won[40];
        int codes[2];
        snprintf(tok, sizeof tok, "race%d", round);
        hs_session_t s = new_session(&u, tok);
        store_test_race(2, rotate_once, tok, codes);
        assert_int_equal(codes[0] + codes[1], 1); /* one 0, one 1 */
        hs_session_t got;
        assert_int_equal(hs_store_session_get(st, s.id, &arena, &got, &err), 0);
        assert_true(got.revoked_at != 0);
        snprintf(won, sizeof won, "%s-%d", tok, codes[0] == 0 ? 0 : 1);
        int64_t now = hs_now_ms();
        assert_int_equal(
            hs_store_refresh_rotate(st, won, "x", now + 1000, now, "", "", &arena, &got, &err),
            HS_EAUTH);
        assert_string_equal(err.code, "session_revoked");
    }
}

/* The exact revocation check of every authenticated request. */
static void session_active(void **state)
{
    (void)state;
    COVERS(OP_session_active);
    hs_user_t u, other;
    hs_err_t err;
    make_user(&u, "act", "");
    make_user(&other, "act2", "");
    hs_session_t s = new_session(&u, "a0"), t = new_session(&u, "a1");
    assert_int_equal(hs_store_session_active(st, s.id, u.id, &err), 0);
    /* a session is not another user's, and an unknown one is not active */
    assert_int_equal(hs_store_session_active(st, s.id, other.id, &err), HS_ENOTFOUND);
    assert_string_equal(err.code, "session_not_found");
    assert_int_equal(hs_store_session_active(st, NO_ID, u.id, &err), HS_ENOTFOUND);
    /* revoking one leaves the other */
    assert_int_equal(hs_store_session_revoke(st, s.id, u.id, 5, &err), 0);
    assert_int_equal(hs_store_session_active(st, s.id, u.id, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_session_active(st, t.id, u.id, &err), 0);
    /* a disabled account has no active session, and has it back when enabled */
    assert_int_equal(hs_store_user_set_disabled(st, u.id, 1, 6, &err), 0);
    assert_int_equal(hs_store_session_active(st, t.id, u.id, &err), HS_ENOTFOUND);
    assert_int_equal(hs_store_user_set_disabled(st, u.id, 0, 7, &err), 0);
    assert_int_equal(hs_store_session_active(st, t.id, u.id, &err), 0);
}

STORE_SUITE(store_sessions_suite, STORE_TEST(sessions), STORE_TEST(refresh_rotation),
            STORE_TEST(refresh_rotation_race), STORE_TEST(session_active));

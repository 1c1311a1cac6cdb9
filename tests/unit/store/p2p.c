/* The store contract of P2P: transfers, block lists and relay files. */
#include <stdio.h>
#include <string.h>

#include "store_test.h"

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

/* A child of transfer_cas_race: moves the round's transfer out of pending
 * with its own index as the reason. 1: it moved it; 0: it lost; 2: error. */
static int move_once(hs_store_t *s, int i, void *arg)
{
    hs_transfer_t t = *(const hs_transfer_t *)arg;
    char reason[16];
    hs_err_t err;
    int moved = 0;
    snprintf(reason, sizeof reason, "r%d", i);
    t.state = i % 2 ? "rejected" : "accepted";
    t.reason = reason;
    t.updated_at = hs_now_ms();
    if (hs_store_transfer_update(s, &t, ",pending,", &moved, &err))
        return 2;
    return moved;
}

/* Four hosts answer one offer at the same moment (accept, reject): one
 * compare-and-set wins, the others see moved = 0, and the stored transfer
 * is the winner's. */
static void transfer_cas_race(void **state)
{
    (void)state;
    COVERS(OP_transfer_update);
    hs_user_t a, b;
    hs_err_t err;
    make_user(&a, "casa", "");
    make_user(&b, "casb", "");
    for (int round = 0; round < 4; round++) {
        hs_transfer_t t = {0}, got;
        hs_id_new(t.id);
        memcpy(t.sender_id, a.id, sizeof t.sender_id);
        memcpy(t.recipient_id, b.id, sizeof t.recipient_id);
        t.filename = "f";
        t.size = 1;
        t.mode = "auto";
        t.state = "pending";
        t.created_at = t.updated_at = hs_now_ms();
        t.expires_at = t.created_at + 60000;
        assert_int_equal(hs_store_transfer_create(st, &t, &err), 0);
        int codes[4], winner = -1, wins = 0;
        store_test_race(4, move_once, &t, codes);
        for (int i = 0; i < 4; i++) {
            assert_true(codes[i] == 0 || codes[i] == 1);
            if (codes[i] == 1) {
                wins++;
                winner = i;
            }
        }
        assert_int_equal(wins, 1);
        assert_int_equal(hs_store_transfer_get(st, t.id, &arena, &got, &err), 0);
        char want[16];
        snprintf(want, sizeof want, "r%d", winner);
        assert_string_equal(got.reason, want);
        assert_string_equal(got.state, winner % 2 ? "rejected" : "accepted");
    }
}

STORE_SUITE(store_p2p_suite, STORE_TEST(transfers), STORE_TEST(transfer_cas_race),
            STORE_TEST(relay_files_and_block_lists));

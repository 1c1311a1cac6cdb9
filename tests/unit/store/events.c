/* The store contract of events and rate limits (events = store): ids of
 * one counter that only grow, reads after a cursor across keys in id
 * order, trimming by age, and the GCRA limiter. */
#include <stdio.h>
#include <string.h>

#include "store_test.h"

static void append(const char *key, const char *type, int64_t now, int64_t retention, int64_t *ms,
                   int64_t *seq)
{
    hs_err_t err;
    assert_int_equal(hs_store_event_append(st, key, type, "{}", now, retention, ms, seq, &err), 0);
}

/* Ids are <ms>-<seq> of one counter over all keys: a new ms starts at seq
 * 0, the same ms counts on, and a clock that goes back reuses the last ms
 * with the next seq (the order a long-poll cursor relies on). */
static void event_ids_only_grow(void **state)
{
    (void)state;
    COVERS(OP_event_append, OP_event_last);
    hs_err_t err;
    int64_t ms, seq;
    assert_int_equal(hs_store_event_last(st, &ms, &seq, &err), 0);
    assert_true(ms == 0 && seq == 0);
    append("k:a", "t", 1000, 600000, &ms, &seq);
    assert_true(ms == 1000 && seq == 0);
    append("k:b", "t", 1000, 600000, &ms, &seq); /* another key: the same counter */
    assert_true(ms == 1000 && seq == 1);
    append("k:a", "t", 900, 600000, &ms, &seq); /* the clock went back */
    assert_true(ms == 1000 && seq == 2);
    append("k:a", "t", 2000, 600000, &ms, &seq);
    assert_true(ms == 2000 && seq == 0);
    assert_int_equal(hs_store_event_last(st, &ms, &seq, &err), 0);
    assert_true(ms == 2000 && seq == 0);
    store_test_reopen(); /* the counter is data, kept */
    append("k:a", "t", 1500, 600000, &ms, &seq);
    assert_true(ms == 2000 && seq == 1);
}

/* A read returns the events of the named keys only, after the cursor
 * (exclusive), merged in id order, at most limit. */
static void event_read_after_cursor(void **state)
{
    (void)state;
    COVERS(OP_event_read);
    hs_err_t err;
    int64_t ms, seq;
    append("k:a", "a1", 1000, 600000, &ms, &seq);
    append("k:b", "b1", 1000, 600000, &ms, &seq);
    append("k:c", "c1", 1001, 600000, &ms, &seq);
    append("k:a", "a2", 1002, 600000, &ms, &seq);
    const char *keys[] = {"k:a", "k:b"};
    hs_event_row_t *rows;
    size_t n;
    assert_int_equal(hs_store_event_read(st, keys, 2, 0, 0, 10, &arena, &rows, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].type, "a1");
    assert_string_equal(rows[1].type, "b1");
    assert_string_equal(rows[2].type, "a2");
    assert_string_equal(rows[1].key, "k:b");
    assert_string_equal(rows[1].data, "{}");
    assert_true(rows[1].ms == 1000 && rows[1].seq == 1);
    /* after 1000-0: b1 and a2; limit 1: b1 only */
    assert_int_equal(hs_store_event_read(st, keys, 2, 1000, 0, 1, &arena, &rows, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].type, "b1");
    /* after the last: nothing */
    assert_int_equal(hs_store_event_read(st, keys, 2, 1002, 0, 10, &arena, &rows, &n, &err), 0);
    assert_int_equal(n, 0);
    /* a key with quotes is only a key */
    const char *odd[] = {"k:\"a"};
    assert_int_equal(hs_store_event_read(st, odd, 1, 0, 0, 10, &arena, &rows, &n, &err), 0);
    assert_int_equal(n, 0);
}

/* Retention is by age: an append drops what is older than its window, a
 * trim what is older than its bound; the last id survives either. */
static void events_trim_by_age(void **state)
{
    (void)state;
    COVERS(OP_event_trim, OP_event_append, OP_event_read, OP_event_last);
    hs_err_t err;
    int64_t ms, seq;
    append("k:a", "old", 1000, 10000, &ms, &seq);
    append("k:b", "mid", 5000, 10000, &ms, &seq);
    append("k:a", "new", 12000, 10000, &ms, &seq); /* drops ms < 2000 */
    const char *keys[] = {"k:a", "k:b"};
    hs_event_row_t *rows;
    size_t n;
    assert_int_equal(hs_store_event_read(st, keys, 2, 0, 0, 10, &arena, &rows, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].type, "mid");
    assert_int_equal(hs_store_event_trim(st, 20000, &err), 0);
    assert_int_equal(hs_store_event_read(st, keys, 2, 0, 0, 10, &arena, &rows, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(hs_store_event_last(st, &ms, &seq, &err), 0);
    assert_true(ms == 12000 && seq == 0);
    append("k:a", "after", 100, 10000, &ms, &seq);
    assert_true(ms == 12000 && seq == 1);
}

/* GCRA: burst at once, then one more every period; cost 0 only looks;
 * keys are independent. */
static void limit_take_gcra(void **state)
{
    (void)state;
    COVERS(OP_limit_take);
    hs_err_t err;
    int64_t wait;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hs_store_limit_take(st, "rl:a", 3, 1000, 1, 10000, &wait, &err), 0);
        assert_int_equal(wait, 0);
    }
    assert_int_equal(hs_store_limit_take(st, "rl:a", 3, 1000, 0, 10000, &wait, &err), 0);
    assert_int_equal(wait, 1000); /* looking: refused, and nothing spent */
    assert_int_equal(hs_store_limit_take(st, "rl:a", 3, 1000, 1, 10000, &wait, &err), 0);
    assert_int_equal(wait, 1000);
    assert_int_equal(hs_store_limit_take(st, "rl:b", 3, 1000, 1, 10000, &wait, &err), 0);
    assert_int_equal(wait, 0); /* another key */
    assert_int_equal(hs_store_limit_take(st, "rl:a", 3, 1000, 1, 11000, &wait, &err), 0);
    assert_int_equal(wait, 0); /* one period later: one more */
    assert_int_equal(hs_store_limit_take(st, "rl:a", 3, 1000, 1, 11000, &wait, &err), 0);
    assert_int_equal(wait, 1000);
    /* a cost of 2 needs two tokens */
    assert_int_equal(hs_store_limit_take(st, "rl:c", 3, 1000, 2, 10000, &wait, &err), 0);
    assert_int_equal(wait, 0);
    assert_int_equal(hs_store_limit_take(st, "rl:c", 3, 1000, 2, 10000, &wait, &err), 0);
    assert_int_equal(wait, 1000);
}

/* Slots: at most max holders at once; a hold that ended frees its slot,
 * and so does a drop. */
static void slots_hold_at_most_max(void **state)
{
    (void)state;
    COVERS(OP_slot_take, OP_slot_drop);
    hs_err_t err;
    int taken;
    assert_int_equal(hs_store_slot_take(st, "s:u", "h1", 2, 5000, 1000, &taken, &err), 0);
    assert_int_equal(taken, 1);
    assert_int_equal(hs_store_slot_take(st, "s:u", "h2", 2, 1500, 1000, &taken, &err), 0);
    assert_int_equal(taken, 1);
    assert_int_equal(hs_store_slot_take(st, "s:u", "h3", 2, 5000, 1000, &taken, &err), 0);
    assert_int_equal(taken, 0); /* full */
    assert_int_equal(hs_store_slot_take(st, "s:v", "h3", 2, 5000, 1000, &taken, &err), 0);
    assert_int_equal(taken, 1); /* another key */
    /* h2's hold ended at 1500: its slot is free at 2000 */
    assert_int_equal(hs_store_slot_take(st, "s:u", "h3", 2, 5000, 2000, &taken, &err), 0);
    assert_int_equal(taken, 1);
    assert_int_equal(hs_store_slot_take(st, "s:u", "h4", 2, 5000, 2000, &taken, &err), 0);
    assert_int_equal(taken, 0);
    assert_int_equal(hs_store_slot_drop(st, "s:u", "h1", &err), 0);
    assert_int_equal(hs_store_slot_drop(st, "s:u", "h1", &err), 0); /* idempotent */
    assert_int_equal(hs_store_slot_take(st, "s:u", "h4", 2, 5000, 2000, &taken, &err), 0);
    assert_int_equal(taken, 1);
}

/* A child of event_append_race: ten events on its own key, the clock of
 * child i at 5000 + i (so the children's ms collide and cross). */
static int append_ten(hs_store_t *s, int i, void *arg)
{
    (void)arg;
    char key[16];
    hs_err_t err;
    int64_t ms, seq, last_ms = 0, last_seq = -1;
    snprintf(key, sizeof key, "k:%d", i);
    for (int j = 0; j < 10; j++) {
        if (hs_store_event_append(s, key, "t", "{}", 5000 + i, 600000, &ms, &seq, &err))
            return 2;
        if (ms < last_ms || (ms == last_ms && seq <= last_seq))
            return 3; /* one appender's ids went back */
        last_ms = ms;
        last_seq = seq;
    }
    return 0;
}

/* Four hosts append at once to one counter: 40 events, 40 distinct ids,
 * every one read back in id order, the last one the counter's. */
static void event_append_race(void **state)
{
    (void)state;
    COVERS(OP_event_append, OP_event_read, OP_event_last);
    hs_err_t err;
    int codes[4];
    store_test_race(4, append_ten, NULL, codes);
    for (int i = 0; i < 4; i++)
        assert_int_equal(codes[i], 0);
    const char *keys[] = {"k:0", "k:1", "k:2", "k:3"};
    hs_event_row_t *rows;
    size_t n;
    assert_int_equal(hs_store_event_read(st, keys, 4, 0, 0, 100, &arena, &rows, &n, &err), 0);
    assert_int_equal(n, 40);
    for (size_t i = 1; i < n; i++)
        assert_true(rows[i].ms > rows[i - 1].ms ||
                    (rows[i].ms == rows[i - 1].ms && rows[i].seq > rows[i - 1].seq));
    int64_t ms, seq;
    assert_int_equal(hs_store_event_last(st, &ms, &seq, &err), 0);
    assert_true(ms == rows[n - 1].ms && seq == rows[n - 1].seq);
}

/* A child of slots_race: holder h<i> asks for a slot of "s:race". */
static int take_once(hs_store_t *s, int i, void *arg)
{
    (void)arg;
    char holder[16];
    hs_err_t err;
    int taken = 0;
    snprintf(holder, sizeof holder, "h%d", i);
    if (hs_store_slot_take(s, "s:race", holder, 2, 10000, 1000, &taken, &err))
        return 2;
    return taken;
}

/* Six hosts ask for one of two slots at once: exactly two get one. */
static void slots_race(void **state)
{
    (void)state;
    COVERS(OP_slot_take);
    int codes[6], taken = 0;
    store_test_race(6, take_once, NULL, codes);
    for (int i = 0; i < 6; i++) {
        assert_true(codes[i] == 0 || codes[i] == 1);
        taken += codes[i];
    }
    assert_int_equal(taken, 2);
}

/* A child of limit_take_race: one take from "rl:race" (burst 3, one more
 * a minute), at the same instant as the others. */
static int limit_once(hs_store_t *s, int i, void *arg)
{
    (void)i;
    (void)arg;
    hs_err_t err;
    int64_t wait = -1;
    if (hs_store_limit_take(s, "rl:race", 3, 60000, 1, 10000, &wait, &err))
        return 2;
    return wait == 0;
}

/* Eight hosts take from one limit of three at once: exactly three pass,
 * and the limit then counts all three (the next take waits a period). */
static void limit_take_race(void **state)
{
    (void)state;
    COVERS(OP_limit_take);
    int codes[8], passed = 0;
    hs_err_t err;
    int64_t wait;
    store_test_race(8, limit_once, NULL, codes);
    for (int i = 0; i < 8; i++) {
        assert_true(codes[i] == 0 || codes[i] == 1);
        passed += codes[i];
    }
    assert_int_equal(passed, 3);
    assert_int_equal(hs_store_limit_take(st, "rl:race", 3, 60000, 0, 10000, &wait, &err), 0);
    assert_int_equal(wait, 60000);
}

STORE_SUITE(store_events_suite, STORE_TEST(event_ids_only_grow),
            STORE_TEST(event_read_after_cursor), STORE_TEST(events_trim_by_age),
            STORE_TEST(limit_take_gcra), STORE_TEST(slots_hold_at_most_max), STORE_TEST(slots_race),
            STORE_TEST(event_append_race), STORE_TEST(limit_take_race));

/* The store contract of messages: commit order, read marks and receipts,
 * edit, delete, reactions, attachments, search. */
#include <stdio.h>
#include <string.h>

#include "store_test.h"

static void messages_in_commit_order(void **state)
{
    (void)state;
    COVERS(OP_message_create, OP_message_page);
    hs_user_t u;
    hs_err_t err;
    int existed;
    make_user(&u, "chatter", "");
    const char *members[] = {u.id};
    hs_chat_t c = make_chat("group", NULL, members, 1, hs_now_ms());

    /* a message whose id was made earlier (another process) commits later */
    hs_message_t early = new_message(c.id, u.id, "first made");
    hs_message_t late = new_message(c.id, u.id, "made second");
    early.created_at = late.created_at = hs_now_ms();
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
    hs_message_t r1 = new_message(g.id, b.id, "once"), r2 = new_message(g.id, b.id, "once");
    r1.client_id = r2.client_id = "c-1";
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

static void search_pages_newest_first(void **state)
{
    (void)state;
    COVERS(OP_message_search);
    hs_user_t u, other;
    hs_err_t err;
    make_user(&u, "finder", "");
    make_user(&other, "stranger", "");
    const char *mine[] = {u.id}, *theirs[] = {other.id};
    hs_chat_t c = make_chat("group", NULL, mine, 1, hs_now_ms());
    hs_chat_t elsewhere = make_chat("group", NULL, theirs, 1, hs_now_ms());
    /* many hits, every third in a chat the searcher is not in */
    enum { N = 4500 };
    char theirs_id[HS_ID_LEN + 1] = "";
    for (int i = 0, n = 0; n < N; i++) {
        int mine_now = i % 3 != 2;
        n += mine_now;
        hs_message_t m = send_message(mine_now ? c.id : elsewhere.id, mine_now ? u.id : other.id,
                                      i % 7 ? "common word here" : "common common word", NULL, 0);
        if (!mine_now)
            memcpy(theirs_id, m.id, sizeof theirs_id);
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

enum { RACE_SENDERS = 6, RACE_EACH = 15 };

typedef struct {
    const char *chat_id;
    hs_user_t users[RACE_SENDERS];
} send_race_t;

/* A child of messages_race: children 1.. send RACE_EACH messages each;
 * child 0 polls "after" the newest id it saw meanwhile, as a client does,
 * until it has seen every message (ids only growing). 0: done; 1: a
 * send failed; 2: the poller saw an id out of order; 3: it missed one. */
static int send_or_poll(hs_store_t *s, int i, void *arg)
{
    const send_race_t *r = arg;
    hs_arena_t a = {0};
    hs_err_t err;
    int rc = 0;
    if (i > 0) {
        for (int j = 0; j < RACE_EACH && !rc; j++) {
            char text[32];
            int existed;
            snprintf(text, sizeof text, "s%d-%02d", i, j);
            hs_message_t m = {.content = text};
            hs_id_new(m.id);
            snprintf(m.chat_id, sizeof m.chat_id, "%s", r->chat_id);
            snprintf(m.sender_id, sizeof m.sender_id, "%s", r->users[i].id);
            rc = hs_store_message_create(s, &m, NULL, 0, &existed, &err) || existed ? 1 : 0;
        }
        return rc;
    }
    char after[HS_ID_LEN + 1] = "000000000000000000000000";
    int seen = 0, want = (RACE_SENDERS - 1) * RACE_EACH;
    for (int64_t end = hs_now_ms() + 30000; seen < want && hs_now_ms() < end && !rc;) {
        hs_message_page_t page;
        if (hs_store_message_page(s, r->chat_id, r->users[0].id, NULL, after, 7, &a, &page, &err))
            rc = 1;
        for (size_t k = page.n; k-- > 0 && !rc;) { /* oldest first */
            if (strcmp(page.items[k].id, after) <= 0)
                rc = 2;
            snprintf(after, sizeof after, "%s", page.items[k].id);
            seen++;
        }
        hs_arena_reset(&a);
    }
    hs_arena_free(&a);
    return rc ? rc : seen == want ? 0 : 3;
}

/* Senders on several hosts (processes) into one chat at once, and a client
 * polling "after" the newest message it has: it sees every message once,
 * in id order, while they are being sent; afterwards a walk from the start
 * sees them all once too, each sender's in the order it sent them. */
static void messages_race(void **state)
{
    (void)state;
    COVERS(OP_message_create, OP_message_page);
    hs_err_t err;
    send_race_t r;
    for (int i = 0; i < RACE_SENDERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "race%d", i);
        make_user(&r.users[i], hs_arena_strdup(&arena, name), "");
    }
    const char *ids[RACE_SENDERS];
    for (int i = 0; i < RACE_SENDERS; i++)
        ids[i] = r.users[i].id;
    hs_chat_t g = make_chat("group", NULL, ids, RACE_SENDERS, hs_now_ms());
    r.chat_id = g.id;
    int codes[RACE_SENDERS];
    store_test_race(RACE_SENDERS, send_or_poll, &r, codes);
    for (int i = 0; i < RACE_SENDERS; i++)
        assert_int_equal(codes[i], 0);

    char after[HS_ID_LEN + 1] = "000000000000000000000000";
    int seen = 0, next[RACE_SENDERS] = {0};
    hs_message_page_t page;
    do {
        assert_int_equal(
            hs_store_message_page(st, g.id, r.users[0].id, NULL, after, 10, &arena, &page, &err),
            0);
        for (size_t k = page.n; k-- > 0;) {
            const hs_message_t *m = &page.items[k];
            int who, j;
            assert_true(strcmp(m->id, after) > 0);
            snprintf(after, sizeof after, "%s", m->id);
            assert_int_equal(sscanf(m->content, "s%d-%d", &who, &j), 2);
            assert_true(who > 0 && who < RACE_SENDERS);
            assert_int_equal(j, next[who]++); /* each sender's in its order, once */
            seen++;
        }
    } while (page.n);
    assert_int_equal(seen, (RACE_SENDERS - 1) * RACE_EACH);
    hs_chat_t got;
    assert_int_equal(hs_store_chat_get(st, g.id, r.users[0].id, 1, &arena, &got, &err), 0);
    assert_string_equal(got.last_message_id, after); /* the activity follows the newest */
}

typedef struct {
    const char *chat_id, *sender_id;
} twin_race_t;

/* A child of client_id_race: sends the same client id. 0: stored it; 1:
 * found the first; 2: failed. */
static int send_twin(hs_store_t *s, int i, void *arg)
{
    (void)i;
    const twin_race_t *r = arg;
    hs_err_t err;
    int existed = 0;
    hs_message_t m = {.content = "only once", .client_id = "twin-1"};
    hs_id_new(m.id);
    snprintf(m.chat_id, sizeof m.chat_id, "%s", r->chat_id);
    snprintf(m.sender_id, sizeof m.sender_id, "%s", r->sender_id);
    if (hs_store_message_create(s, &m, NULL, 0, &existed, &err))
        return 2;
    return existed ? 1 : 0;
}

/* A client retrying one send on several hosts at once (the same client
 * id): exactly one message is stored, and every retry is told it existed. */
static void client_id_race(void **state)
{
    (void)state;
    COVERS(OP_message_create);
    hs_user_t u;
    hs_err_t err;
    make_user(&u, "twins", "");
    const char *one[] = {u.id};
    hs_chat_t g = make_chat("group", NULL, one, 1, hs_now_ms());
    send_message(g.id, u.id, "before", NULL, 0);
    twin_race_t r = {g.id, u.id};
    enum { N = 8 };
    int codes[N], stored = 0;
    store_test_race(N, send_twin, &r, codes);
    for (int i = 0; i < N; i++) {
        assert_true(codes[i] == 0 || codes[i] == 1);
        stored += codes[i] == 0;
    }
    assert_int_equal(stored, 1);
    hs_message_page_t page;
    assert_int_equal(hs_store_message_page(st, g.id, u.id, NULL, NULL, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 2);
    assert_string_equal(page.items[0].content, "only once");
    assert_string_equal(page.items[0].client_id, "twin-1");
}

STORE_SUITE(store_messages_suite, STORE_TEST(messages_in_commit_order),
            STORE_TEST(read_marks_and_receipts), STORE_TEST(message_lifecycle),
            STORE_TEST(search_pages_newest_first), STORE_TEST(messages_race),
            STORE_TEST(client_id_race));

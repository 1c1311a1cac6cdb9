/* The store contract of chats and their members: direct chats, roles,
 * leaving, and what the real-time bridge routes by. */
#include <stdio.h>
#include <string.h>

#include "store_test.h"

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
    const char *both[] = {u.id, other.id}, *mine[] = {u.id}, *only_other[] = {other.id};
    hs_chat_t g = make_chat("group", NULL, both, 2, hs_now_ms());
    hs_chat_t ch = make_chat("channel", NULL, mine, 1, hs_now_ms());
    make_chat("group", NULL, only_other, 1, hs_now_ms()); /* theirs */

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

typedef struct {
    const char *chat_id;
    hs_user_t users[5];
} join_race_t;

/* A child of member_limit_race: user i joins the chat (limit 3). 0: joined;
 * 1: member_limit; 2: anything else. */
static int join_once(hs_store_t *s, int i, void *arg)
{
    const join_race_t *r = arg;
    hs_err_t err;
    int rc = hs_store_member_add(s, r->chat_id, r->users[i].id, "member", hs_now_ms(), 3, &err);
    if (rc == 0)
        return 0;
    return rc == HS_ECONFLICT && strcmp(err.code, "member_limit") == 0 ? 1 : 2;
}

/* Five people join a group of one with room for two more, on several hosts
 * at once: exactly two get in, and the count says three. */
static void member_limit_race(void **state)
{
    (void)state;
    COVERS(OP_member_add);
    hs_user_t owner;
    hs_err_t err;
    join_race_t r;
    make_user(&owner, "lim0", "");
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "lim%d", i + 1);
        make_user(&r.users[i], hs_arena_strdup(&arena, name), "");
    }
    const char *one[] = {owner.id};
    hs_chat_t g = make_chat("group", NULL, one, 1, hs_now_ms());
    r.chat_id = g.id;
    int codes[5], refused = 0;
    store_test_race(5, join_once, &r, codes);
    for (int i = 0; i < 5; i++) {
        assert_true(codes[i] == 0 || codes[i] == 1);
        refused += codes[i];
    }
    assert_int_equal(refused, 3);
    hs_chat_t got;
    assert_int_equal(hs_store_chat_get(st, g.id, owner.id, 0, &arena, &got, &err), 0);
    assert_int_equal(got.member_count, 3);
    hs_member_page_t page;
    assert_int_equal(hs_store_member_page(st, g.id, NULL, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 3);
}

STORE_SUITE(store_chats_suite, STORE_TEST(chats), STORE_TEST(members), STORE_TEST(leaving),
            STORE_TEST(member_chats), STORE_TEST(member_limit_race));

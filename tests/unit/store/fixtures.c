/* Fixtures of the store contract tests: each makes one object through the
 * store interface and asserts that the store took it. */
#include <stdio.h>
#include <string.h>

#include "store_test.h"

const char NO_ID[] = "000000000000000000000000";

void make_user(hs_user_t *u, const char *name, const char *display)
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

hs_upload_t new_upload(const hs_user_t *u, int64_t size, int64_t expires_at)
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

hs_file_t make_file(const hs_user_t *u)
{
    hs_err_t err;
    hs_upload_t up = new_upload(u, 5, hs_now_ms() + 60000);
    hs_file_t f = {.filename = "f", .content_type = "x", .size = 5, .created_at = hs_now_ms()};
    memcpy(f.id, up.id, sizeof f.id);
    memcpy(f.owner_id, u->id, sizeof f.owner_id);
    assert_int_equal(hs_store_upload_finish(st, up.id, &f, &err), 0);
    return f;
}

hs_chat_t make_chat(const char *kind, const char *direct_key, const char **members, size_t n,
                    int64_t at)
{
    hs_chat_t c = {.kind = kind, .name = kind, .created_at = at};
    hs_err_t err;
    hs_id_new(c.id);
    memcpy(c.owner_id, members[0], sizeof c.owner_id);
    assert_int_equal(hs_store_chat_create(st, &c, direct_key, members, n, &err), 0);
    return c;
}

hs_message_t new_message(const char *chat_id, const char *sender_id, const char *content)
{
    hs_message_t m = {.content = content};
    hs_id_new(m.id);
    snprintf(m.chat_id, sizeof m.chat_id, "%s", chat_id);
    snprintf(m.sender_id, sizeof m.sender_id, "%s", sender_id);
    return m;
}

hs_message_t send_message(const char *chat_id, const char *sender_id, const char *content,
                          const char **files, size_t nfiles)
{
    hs_message_t m = new_message(chat_id, sender_id, content);
    hs_err_t err;
    int existed;
    assert_int_equal(hs_store_message_create(st, &m, files, nfiles, &existed, &err), 0);
    assert_false(existed);
    return m;
}

void id_order(const char *x, const char *y, const char **lo, const char **hi)
{
    *lo = strcmp(x, y) < 0 ? x : y;
    *hi = *lo == x ? y : x;
}

/* Presence across bridges. Redis holds, per user, the set of bridges the
 * user is connected to (hs:online:<user>), and each bridge keeps a liveness
 * key (hs:bridge:<id>, 30 s, renewed every 10 s): a bridge that dies stops
 * counting by itself. A user's first connection anywhere publishes
 * "online", their last "offline" with last_seen, on each direct chat and
 * small group they are in (see hub.c, wants_presence). These are ephemeral
 * publications ("-<user> presence <json>", hs_event_pub_ephemeral() makes
 * the part before the JSON), not stored. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "hs/chats.h"
#include "hs/log.h"

#define ALIVE_TTL "30"
#define QUERY_MAX 1000

/* KEYS[1] the user's bridge set, KEYS[2..] chat channels.
 * ARGV: bridge id, +1/-1, now (ms), user id, the publication up to its
 * JSON. Returns how many live bridges have the user; publishes when that
 * crossed 0. */
static const char change_script[] =
    "if tonumber(ARGV[2]) > 0 then redis.call('HSET', KEYS[1], ARGV[1], 1)\n"
    "else redis.call('HDEL', KEYS[1], ARGV[1]) end\n"
    "local total = 0\n"
    "for _, bid in ipairs(redis.call('HKEYS', KEYS[1])) do\n"
    "  if redis.call('EXISTS', 'hs:bridge:' .. bid) == 1 then total = total + 1\n"
    "  else redis.call('HDEL', KEYS[1], bid) end\n"
    "end\n"
    "local msg = nil\n"
    "if tonumber(ARGV[2]) > 0 and total == 1 then\n"
    "  msg = '{\"user_id\":\"' .. ARGV[4] .. '\",\"status\":\"online\",\"last_seen\":null}'\n"
    "elseif tonumber(ARGV[2]) < 0 and total == 0 then\n"
    "  redis.call('SET', 'hs:seen:' .. ARGV[4], ARGV[3])\n"
    "  msg = '{\"user_id\":\"' .. ARGV[4] .. '\",\"status\":\"offline\",\"last_seen\":' .. ARGV[3] "
    ".. '}'\n"
    "end\n"
    "if msg then\n"
    "  for i = 2, #KEYS do redis.call('PUBLISH', KEYS[i], ARGV[5] .. msg) end\n"
    "end\n"
    "return total\n";

/* KEYS: hs:online:<user> for each user; ARGV the user ids.
 * Returns {online 0/1, last seen or ""} per user. */
static const char query_script[] =
    "local r = {}\n"
    "for i, k in ipairs(KEYS) do\n"
    "  local on = 0\n"
    "  for _, bid in ipairs(redis.call('HKEYS', k)) do\n"
    "    if redis.call('EXISTS', 'hs:bridge:' .. bid) == 1 then on = 1; break end\n"
    "  end\n"
    "  r[i] = {on, redis.call('GET', 'hs:seen:' .. ARGV[i]) or ''}\n"
    "end\n"
    "return r\n";

void hs_presence_change(hs_bridge_t *b, hs_buser_t *u, int delta)
{
    size_t n = 0;
    const char **argv = malloc((u->chats.n + 10) * sizeof *argv);
    char *head = hs_event_pub_ephemeral(u->id, HS_EV_PRESENCE, ""); /* "-<user> presence " */
    if (!argv || !head) {
        free(argv);
        free(head);
        return;
    }
    char key[64], nkeys[24], now[24];
    snprintf(key, sizeof key, "hs:online:%s", u->id);
    snprintf(now, sizeof now, "%lld", (long long)hs_now_ms());
    argv[n++] = "EVAL";
    argv[n++] = change_script;
    argv[n++] = nkeys;
    argv[n++] = key;
    size_t k = 1;
    for (size_t i = 0; i < u->chats.n; i++)
        if (u->chats.items[i]->chan->presence) {
            argv[n++] = u->chats.items[i]->chan->name;
            k++;
        }
    snprintf(nkeys, sizeof nkeys, "%zu", k);
    argv[n++] = b->bridge_id;
    argv[n++] = delta > 0 ? "1" : "-1";
    argv[n++] = now;
    argv[n++] = u->id;
    argv[n++] = head;
    hs_err_t err = {0};
    redisReply *r = hs_redis_argv(b->ctx.redis, (int)n, argv, &err);
    if (!r)
        hs_log_error(&b->ctx, "presence of %s not updated: %s", u->id, err.message);
    hs_redis_reply_free(r);
    free(argv);
    free(head);
}

void hs_presence_alive(hs_bridge_t *b)
{
    char key[48];
    snprintf(key, sizeof key, "hs:bridge:%s", b->bridge_id);
    const char *argv[] = {"SET", key, "1", "EX", ALIVE_TTL};
    hs_err_t err = {0};
    hs_redis_reply_free(hs_redis_argv(b->ctx.redis, 5, argv, &err));
}

void hs_presence_query(hs_ctx_t *ctx, hs_work_t *w)
{
    hs_arena_t a = {0};
    hs_member_page_t page;
    hs_err_t err = {0};
    if (hs_chat_members(ctx, &a, w->user_id, w->chat_id, NULL, QUERY_MAX, &page, &err)) {
        hs_work_fail(w, &err);
        hs_arena_free(&a);
        return;
    }
    const char **argv = hs_arena_alloc(&a, (2 * page.n + 3) * sizeof *argv);
    size_t n = 0;
    argv[n++] = "EVAL";
    argv[n++] = query_script;
    argv[n++] = hs_arena_printf(&a, "%zu", page.n);
    for (size_t i = 0; i < page.n; i++)
        argv[n++] = hs_arena_printf(&a, "hs:online:%s", page.items[i].user_id);
    for (size_t i = 0; i < page.n; i++)
        argv[n++] = page.items[i].user_id;
    redisReply *r = hs_redis_argv(ctx->redis, (int)n, argv, &err);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != page.n) {
        hs_work_error(w, "redis_unavailable", "Presence is unavailable; try again");
        hs_redis_reply_free(r);
        hs_arena_free(&a);
        return;
    }
    cJSON *o = hs_work_obj(w, "presence.state");
    cJSON *data = cJSON_AddObjectToObject(o, "data");
    cJSON_AddStringToObject(data, "chat_id", w->chat_id);
    cJSON *users = cJSON_AddArrayToObject(data, "users");
    for (size_t i = 0; i < page.n; i++) {
        const redisReply *e = r->element[i];
        cJSON *u = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "user_id", page.items[i].user_id);
        int on = e->type == REDIS_REPLY_ARRAY && e->elements == 2 && e->element[0]->integer;
        cJSON_AddStringToObject(u, "status", on ? "online" : "offline");
        const char *seen =
            e->type == REDIS_REPLY_ARRAY && e->elements == 2 ? e->element[1]->str : "";
        if (!on && seen && *seen)
            cJSON_AddNumberToObject(u, "last_seen", strtod(seen, NULL));
        else
            cJSON_AddNullToObject(u, "last_seen");
        cJSON_AddItemToArray(users, u);
    }
    hs_redis_reply_free(r);
    hs_arena_free(&a);
    hs_work_reply(w, o);
}

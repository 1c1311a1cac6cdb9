#include "hs/chats.h"

#include <stdio.h>
#include <string.h>

#include "hs/events.h"
#include "hs/json_util.h"
#include "hs/messages.h"
#include "hs/limit.h"

int hs_chat_is_admin(const char *role)
{
    return role && (strcmp(role, "owner") == 0 || strcmp(role, "admin") == 0);
}

static int not_found(hs_err_t *err)
{
    return hs_err_set(err, HS_ENOTFOUND, "chat_not_found", "No such chat");
}

int hs_chat_load(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, hs_chat_t *out,
                 hs_err_t *err)
{
    if (!hs_id_valid(id))
        return not_found(err);
    int rc = hs_store_chat_get(ctx->store, id, viewer, 0, a, out, err);
    /* Not a member: the chat does not exist, as far as the viewer can tell. */
    if (!rc && !out->my_role)
        return not_found(err);
    return rc;
}

int hs_chat_view(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, hs_chat_t *out,
                 hs_err_t *err)
{
    int rc = hs_chat_load(ctx, a, viewer, id, out, err);
    return rc ? rc : hs_store_chat_get(ctx->store, id, viewer, 1, a, out, err);
}

/* Loads the chat and requires the viewer to be owner or admin of a group
 * or channel. */
static int load_admin(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                      hs_chat_t *c, hs_err_t *err)
{
    int rc = hs_chat_load(ctx, a, viewer, id, c, err);
    if (rc)
        return rc;
    if (strcmp(c->kind, "direct") == 0)
        return hs_err_set(err, HS_EFORBIDDEN, "direct_chat", "Direct chats have no such setting");
    if (!hs_chat_is_admin(c->my_role))
        return hs_err_set(err, HS_EFORBIDDEN, "admin_required",
                          "Only the owner and admins may do this");
    return 0;
}

static void publish(hs_ctx_t *ctx, const char *chat_id, const char *type, cJSON *data)
{
    hs_event_publish(ctx, HS_EV_CHAT, chat_id, type, data, NULL);
}

static void publish_deleted(hs_ctx_t *ctx, const char *chat_id)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "chat_id", chat_id);
    publish(ctx, chat_id, HS_EV_CHAT_DELETED, d);
}

/* The chat as every member may see it: without one viewer's role, read
 * marker and unread count. */
static cJSON *public_json(const hs_chat_t *c)
{
    hs_chat_t pub = *c;
    pub.my_role = NULL;
    cJSON *o = hs_chat_json(&pub);
    cJSON_AddStringToObject(o, "chat_id", c->id);
    return o;
}

/* A membership event goes to the chat and to the member concerned, whose
 * devices do not follow the chat yet (added) or no longer (removed). */
static void publish_member(hs_ctx_t *ctx, const char *chat_id, const char *type, const char *user,
                           const char *role)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "chat_id", chat_id);
    cJSON_AddStringToObject(d, "user_id", user);
    if (role)
        cJSON_AddStringToObject(d, "role", role);
    hs_event_publish(ctx, HS_EV_USER, user, type, cJSON_Duplicate(d, 1), NULL);
    publish(ctx, chat_id, type, d);
}

static int user_exists(hs_ctx_t *ctx, hs_arena_t *a, const char *id, hs_err_t *err)
{
    hs_user_t u;
    if (!hs_id_valid(id) || hs_store_user_get(ctx->store, id, a, &u, NULL) || u.disabled)
        return hs_err_set(err, HS_ENOTFOUND, "user_not_found", "No such user: %.24s", id);
    return 0;
}

/* Whether adder may put user into a group or channel: the user's
 * settings.allow_group_adds says who may ("everyone", the default;
 * "followed": people the user follows; "nobody"). Adding oneself (joining)
 * is always allowed. 403 add_not_allowed otherwise. */
static int may_add(hs_ctx_t *ctx, hs_arena_t *a, const char *adder, const char *id, hs_err_t *err)
{
    hs_user_t u;
    if (!hs_id_valid(id) || hs_store_user_get(ctx->store, id, a, &u, NULL) || u.disabled)
        return hs_err_set(err, HS_ENOTFOUND, "user_not_found", "No such user: %.24s", id);
    if (strcmp(adder, id) == 0)
        return 0;
    cJSON *settings = cJSON_Parse(u.settings ? u.settings : "{}");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(settings, "allow_group_adds");
    const char *who = cJSON_IsString(v) ? v->valuestring : "everyone";
    int ok = strcmp(who, "nobody") != 0, rc = 0;
    if (ok && strcmp(who, "followed") == 0 &&
        (rc = hs_store_follow_state(ctx->store, id, adder, &ok, err)))
        ok = 0;
    cJSON_Delete(settings);
    if (rc)
        return rc;
    if (!ok) {
        hs_err_set(err, HS_EFORBIDDEN, "add_not_allowed",
                   "%.32s does not accept being added to groups or channels by you", u.username);
        hs_err_hint(err, "ask them to join, or to follow you first");
        return HS_EFORBIDDEN;
    }
    return 0;
}

int hs_chat_adds_setting_check(const cJSON *settings, hs_err_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(settings, "allow_group_adds");
    if (!v || (cJSON_IsString(v) &&
               (strcmp(v->valuestring, "everyone") == 0 ||
                strcmp(v->valuestring, "followed") == 0 || strcmp(v->valuestring, "nobody") == 0)))
        return 0;
    return hs_err_set(err, HS_EINVAL, "invalid_value",
                      "settings.allow_group_adds must be \"everyone\", \"followed\" or \"nobody\"");
}

/* Takes cost from one of the sender's per-user budgets (key kind). */
static int spend(hs_ctx_t *ctx, const char *kind, const char *user, long burst, long period_ms,
                 long cost, hs_err_t *err)
{
    char key[96];
    snprintf(key, sizeof key, "hs:rl:%s:%s", kind, user);
    /* a cost above the burst could never pass: it empties the bucket */
    return hs_limit_rate(ctx, key, burst, period_ms, (int)(cost < burst ? cost : burst), err);
}

int hs_chat_create(hs_ctx_t *ctx, hs_arena_t *a, const char *creator, const hs_chat_req_t *r,
                   hs_chat_t *out, int *existed, hs_err_t *err)
{
    *existed = 0;
    int direct = strcmp(r->kind, "direct") == 0;
    if (!direct && strcmp(r->kind, "group") != 0 && strcmp(r->kind, "channel") != 0)
        return hs_err_set(err, HS_EINVAL, "invalid_value", "kind must be direct, group or channel");
    if (direct && r->nmembers != 1)
        return hs_err_set(err, HS_EINVAL, "invalid_members",
                          "A direct chat has exactly one other member");
    if (!direct && (!r->name || !*r->name))
        return hs_err_set(err, HS_EINVAL, "missing_field", "A group or channel needs a name");
    if ((int64_t)r->nmembers + 1 > ctx->cfg.chat_member_limit)
        return hs_err_set(err, HS_ECONFLICT, "member_limit", "Too many members");
    long create_ms = 3600000L / ctx->cfg.chat_create_per_hour;
    int rc;
    const char **members = hs_arena_alloc(a, (r->nmembers + 1) * sizeof *members);
    size_t n = 0;
    members[n++] = creator;
    for (size_t i = 0; i < r->nmembers; i++) {
        if ((rc = direct ? user_exists(ctx, a, r->members[i], err)
                         : may_add(ctx, a, creator, r->members[i], err)))
            return rc;
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            dup |= strcmp(members[j], r->members[i]) == 0;
        if (dup && direct)
            return hs_err_set(err, HS_EINVAL, "invalid_members",
                              "A direct chat needs someone else");
        if (!dup)
            members[n++] = r->members[i];
    }
    char key[2 * HS_ID_LEN + 2] = "";
    if (direct) /* the pair, in order: one direct chat per two people */
        snprintf(key, sizeof key, "%s:%s",
                 strcmp(members[0], members[1]) < 0 ? members[0] : members[1],
                 strcmp(members[0], members[1]) < 0 ? members[1] : members[0]);
    hs_chat_t c = {0};
    char existing[HS_ID_LEN + 1];
    if (direct && !hs_store_chat_find_direct(ctx->store, key, existing, NULL)) {
        *existed = 1;
        return hs_store_chat_get(ctx->store, existing, creator, 1, a, out, err);
    }
    /* Checked here (cost 0) and spent once the chat exists: opening an
     * existing direct chat again costs nothing. */
    if ((rc = spend(ctx, "chat-create", creator, ctx->cfg.chat_create_per_hour, create_ms, 0, err)))
        return rc;
    if (!direct && n > 1 &&
        (rc = spend(ctx, "invite", creator, ctx->cfg.invite_burst, ctx->cfg.invite_period * 1000,
                    (long)n - 1, err)))
        return rc;
    hs_id_new(c.id);
    c.kind = r->kind;
    c.name = direct ? "" : r->name;
    c.description = r->description;
    c.avatar_file_id = r->avatar_file_id;
    c.is_public = strcmp(r->kind, "channel") == 0 && r->is_public;
    snprintf(c.owner_id, sizeof c.owner_id, "%s", direct ? "" : creator);
    c.created_at = hs_now_ms();
    rc = hs_store_chat_create(ctx->store, &c, direct ? key : NULL, members, n, err);
    if (rc == HS_ECONFLICT && direct &&
        !hs_store_chat_find_direct(ctx->store, key, existing, NULL)) {
        /* Created by the other person a moment ago. */
        *existed = 1;
        return hs_store_chat_get(ctx->store, existing, creator, 1, a, out, err);
    }
    if (rc || (rc = hs_store_chat_get(ctx->store, c.id, creator, 1, a, out, err)))
        return rc;
    spend(ctx, "chat-create", creator, ctx->cfg.chat_create_per_hour, create_ms, 1, NULL);
    publish(ctx, out->id, "chat.created", public_json(out));
    for (size_t i = 0; i < n; i++)
        publish_member(ctx, out->id, HS_EV_MEMBER_ADDED, members[i],
                       !direct && i == 0 ? "owner" : "member");
    return 0;
}

int hs_chat_update(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                   const char *name, const char *description, int set_avatar, const char *avatar,
                   int is_public, hs_chat_t *out, hs_err_t *err)
{
    int rc = load_admin(ctx, a, viewer, id, out, err);
    if (rc)
        return rc;
    if (name)
        out->name = name;
    if (description)
        out->description = description;
    if (set_avatar)
        out->avatar_file_id = avatar;
    if (is_public >= 0 && strcmp(out->kind, "channel") == 0)
        out->is_public = is_public;
    out->updated_at = hs_now_ms();
    if ((rc = hs_store_chat_update(ctx->store, out, err)) ||
        (rc = hs_store_chat_get(ctx->store, id, viewer, 1, a, out, err)))
        return rc;
    publish(ctx, id, "chat.updated", public_json(out));
    return 0;
}

int hs_chat_remove(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, hs_err_t *err)
{
    hs_chat_t c;
    int rc = load_admin(ctx, a, viewer, id, &c, err);
    if (rc)
        return rc;
    if (strcmp(c.my_role, "owner") != 0)
        return hs_err_set(err, HS_EFORBIDDEN, "owner_required", "Only the owner may delete it");
    if ((rc = hs_store_chat_delete(ctx->store, id, err)))
        return rc;
    publish_deleted(ctx, id);
    return 0;
}

int hs_chat_leave(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, hs_err_t *err)
{
    hs_chat_t c;
    char heir[HS_ID_LEN + 1];
    int deleted, rc = hs_chat_load(ctx, a, viewer, id, &c, err);
    if (rc)
        return rc;
    if (strcmp(c.kind, "direct") == 0)
        return hs_err_set(err, HS_EFORBIDDEN, "direct_chat", "You cannot leave a direct chat");
    if ((rc = hs_store_chat_leave(ctx->store, id, viewer, heir, &deleted, err)))
        return rc;
    publish_member(ctx, id, HS_EV_MEMBER_REMOVED, viewer, NULL);
    if (heir[0])
        publish_member(ctx, id, "member.role_changed", heir, "owner");
    if (deleted)
        publish_deleted(ctx, id);
    return 0;
}

int hs_chat_join(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, hs_err_t *err)
{
    hs_chat_t c;
    if (!hs_id_valid(id))
        return not_found(err);
    int rc = hs_store_chat_get(ctx->store, id, viewer, 0, a, &c, err);
    /* Only a public channel admits itself exists to a non-member. */
    if (rc || strcmp(c.kind, "channel") != 0 || !c.is_public)
        return rc && rc != HS_ENOTFOUND ? rc : not_found(err);
    if (c.my_role)
        return hs_err_set(err, HS_ECONFLICT, "already_member", "You are already a member");
    if ((rc = hs_store_member_add(ctx->store, id, viewer, "member", hs_now_ms(),
                                  ctx->cfg.chat_member_limit, err)))
        return rc;
    publish_member(ctx, id, HS_EV_MEMBER_ADDED, viewer, "member");
    return 0;
}

int hs_chat_add_member(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                       const char *user, hs_err_t *err)
{
    hs_chat_t c;
    int rc = load_admin(ctx, a, viewer, id, &c, err);
    if (rc || (rc = may_add(ctx, a, viewer, user, err)) ||
        (rc = spend(ctx, "invite", viewer, ctx->cfg.invite_burst, ctx->cfg.invite_period * 1000, 1,
                    err)) ||
        (rc = hs_store_member_add(ctx->store, id, user, "member", hs_now_ms(),
                                  ctx->cfg.chat_member_limit, err)))
        return rc;
    publish_member(ctx, id, HS_EV_MEMBER_ADDED, user, "member");
    return 0;
}

/* The role of user in chat id, or NULL when they are not a member. */
static const char *role_of(hs_ctx_t *ctx, hs_arena_t *a, const char *id, const char *user)
{
    hs_chat_t c;
    if (!hs_id_valid(user) || hs_store_chat_get(ctx->store, id, user, 0, a, &c, NULL))
        return NULL;
    return c.my_role;
}

int hs_chat_remove_member(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                          const char *user, hs_err_t *err)
{
    hs_chat_t c;
    int rc = load_admin(ctx, a, viewer, id, &c, err);
    if (rc)
        return rc;
    const char *role = role_of(ctx, a, id, user);
    if (!role)
        return hs_err_set(err, HS_ENOTFOUND, "member_not_found", "Not a member of this chat");
    if (strcmp(role, "owner") == 0)
        return hs_err_set(err, HS_EFORBIDDEN, "cannot_remove_owner",
                          "The owner cannot be removed; the owner may leave");
    if (strcmp(role, "admin") == 0 && strcmp(c.my_role, "owner") != 0)
        return hs_err_set(err, HS_EFORBIDDEN, "owner_required", "Only the owner removes admins");
    if ((rc = hs_store_member_remove(ctx->store, id, user, err)))
        return rc;
    publish_member(ctx, id, HS_EV_MEMBER_REMOVED, user, NULL);
    return 0;
}

int hs_chat_set_role(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                     const char *user, const char *role, hs_err_t *err)
{
    hs_chat_t c;
    int rc = load_admin(ctx, a, viewer, id, &c, err);
    if (rc)
        return rc;
    if (strcmp(c.my_role, "owner") != 0)
        return hs_err_set(err, HS_EFORBIDDEN, "owner_required", "Only the owner changes roles");
    if (strcmp(role, "admin") != 0 && strcmp(role, "member") != 0)
        return hs_err_set(err, HS_EINVAL, "invalid_value", "role must be admin or member");
    const char *now = role_of(ctx, a, id, user);
    if (!now)
        return hs_err_set(err, HS_ENOTFOUND, "member_not_found", "Not a member of this chat");
    if (strcmp(now, "owner") == 0)
        return hs_err_set(err, HS_EFORBIDDEN, "cannot_change_owner", "The owner's role is fixed");
    if ((rc = hs_store_member_set(ctx->store, id, user, role, -1, err)))
        return rc;
    publish_member(ctx, id, "member.role_changed", user, role);
    return 0;
}

int hs_chat_mute(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, int muted,
                 hs_err_t *err)
{
    hs_chat_t c;
    int rc = hs_chat_load(ctx, a, viewer, id, &c, err);
    return rc ? rc : hs_store_member_set(ctx->store, id, viewer, NULL, muted ? 1 : 0, err);
}

int hs_chat_read(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                 const char *message_id, hs_err_t *err)
{
    hs_chat_t c;
    hs_message_t m;
    int moved, rc = hs_chat_load(ctx, a, viewer, id, &c, err);
    if (rc)
        return rc;
    if (!hs_id_valid(message_id) ||
        hs_store_message_get(ctx->store, message_id, viewer, 0, a, &m, NULL) ||
        strcmp(m.chat_id, id) != 0)
        return hs_err_set(err, HS_ENOTFOUND, "message_not_found", "No such message in this chat");
    if ((rc = hs_store_read_mark(ctx->store, id, viewer, message_id, &moved, err)) || !moved)
        return rc;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "chat_id", id);
    cJSON_AddStringToObject(d, "user_id", viewer);
    cJSON_AddStringToObject(d, "message_id", message_id);
    publish(ctx, id, "read.updated", d);
    return 0;
}

cJSON *hs_chat_json(const hs_chat_t *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", c->id);
    cJSON_AddStringToObject(o, "kind", c->kind);
    cJSON_AddStringToObject(o, "name", c->name ? c->name : "");
    cJSON_AddStringToObject(o, "description", c->description ? c->description : "");
    hs_json_add_string_or_null(o, "avatar_file_id", c->avatar_file_id);
    cJSON_AddBoolToObject(o, "is_public", c->is_public);
    hs_json_add_string_or_null(o, "owner_id", c->owner_id[0] ? c->owner_id : NULL);
    cJSON_AddNumberToObject(o, "member_count", (double)c->member_count);
    hs_json_add_time(o, "created_at", c->created_at);
    hs_json_add_time(o, "updated_at", c->updated_at);
    hs_json_add_time(o, "last_activity_at", c->last_activity_at);
    if (c->my_role) {
        cJSON_AddStringToObject(o, "my_role", c->my_role);
        cJSON_AddBoolToObject(o, "muted", c->my_muted);
        hs_json_add_string_or_null(o, "last_read_id",
                                   c->my_last_read_id && *c->my_last_read_id ? c->my_last_read_id
                                                                             : NULL);
        cJSON_AddNumberToObject(o, "unread_count", (double)c->my_unread);
    }
    if (c->last_message) {
        cJSON *m = cJSON_AddObjectToObject(o, "last_message");
        cJSON_AddStringToObject(m, "id", c->last_message->id);
        cJSON_AddStringToObject(m, "sender_id", c->last_message->sender_id);
        cJSON_AddStringToObject(m, "preview", c->last_message->content);
        cJSON_AddBoolToObject(m, "deleted", c->last_message->deleted_at != 0);
        hs_json_add_time(m, "created_at", c->last_message->created_at);
    } else {
        cJSON_AddNullToObject(o, "last_message");
    }
    return o;
}

cJSON *hs_member_json(const hs_member_t *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user_id", m->user_id);
    cJSON_AddStringToObject(o, "username", m->username ? m->username : "");
    cJSON_AddStringToObject(o, "display_name", m->display_name ? m->display_name : "");
    cJSON_AddStringToObject(o, "role", m->role);
    hs_json_add_time(o, "joined_at", m->joined_at);
    return o;
}

int hs_chat_list(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *cursor, int limit,
                 hs_chat_page_t *out, hs_err_t *err)
{
    if (cursor && (strlen(cursor) != 20 + 1 + HS_ID_LEN || strspn(cursor, "0123456789") != 20 ||
                   cursor[20] != '_' || !hs_id_valid(cursor + 21)))
        return hs_err_set(err, HS_EINVAL, "invalid_cursor", "The cursor is not valid");
    return hs_store_chat_page(ctx->store, viewer, cursor, limit, a, out, err);
}

int hs_chat_members(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                    const char *cursor, int limit, hs_member_page_t *out, hs_err_t *err)
{
    hs_chat_t c;
    int rc = hs_chat_load(ctx, a, viewer, id, &c, err);
    if (rc)
        return rc;
    return hs_store_member_page(ctx->store, id, cursor, limit, a, out, err);
}

int hs_chat_memberships(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id, hs_chat_ref_t **out,
                        size_t *n, hs_err_t *err)
{
    return hs_store_member_chats(ctx->store, user_id, a, out, n, err);
}

int hs_chat_get(hs_ctx_t *ctx, hs_arena_t *a, const char *id, hs_chat_t *out, hs_err_t *err)
{
    if (!hs_id_valid(id))
        return hs_err_set(err, HS_ENOTFOUND, "chat_not_found", "No such chat");
    return hs_store_chat_get(ctx->store, id, NULL, 0, a, out, err);
}

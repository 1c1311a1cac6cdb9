/* Chats: direct chats, groups and channels, their members and roles, read
 * markers. Every change publishes an event on the chat (docs/events.md). */
#ifndef HS_CHATS_H
#define HS_CHATS_H

#include <cjson/cJSON.h>

#include "hs/ctx.h"
#include "hs/store.h"

/* What a client asks for when it creates a chat. */
typedef struct hs_chat_req {
    const char *kind; /* "direct", "group" or "channel" */
    const char *name, *description, *avatar_file_id;
    int is_public;
    const char **members; /* user ids besides the creator */
    size_t nmembers;
} hs_chat_req_t;

/* Creates a chat owned by creator (direct: with exactly one other user; an
 * existing direct chat of the two is returned with *existed = 1). Limited
 * per creator: chat_create_per_hour new chats, and the people put into a
 * group or channel spend the invite budget; each must accept additions by
 * creator (settings.allow_group_adds, 403 add_not_allowed). */
/* 0 when a user's settings object has a valid allow_group_adds (absent,
 * "everyone", "followed" or "nobody"), else HS_EINVAL invalid_value. */
int hs_chat_adds_setting_check(const cJSON *settings, hs_err_t *err);

int hs_chat_create(hs_ctx_t *ctx, hs_arena_t *a, const char *creator, const hs_chat_req_t *r,
                   hs_chat_t *out, int *existed, hs_err_t *err);

/* Loads a chat viewer is a member of; 404 chat_not_found otherwise. */
int hs_chat_load(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, hs_chat_t *out,
                 hs_err_t *err);

/* hs_chat_load plus the viewer's unread count and the last message, for
 * replies that show the chat. */
int hs_chat_view(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, hs_chat_t *out,
                 hs_err_t *err);

/* Changes name, description, avatar (set_avatar: also to NULL) and, for
 * channels, is_public (-1: unchanged). Owner and admins only. */
int hs_chat_update(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                   const char *name, const char *description, int set_avatar, const char *avatar,
                   int is_public, hs_chat_t *out, hs_err_t *err);

/* Deletes a group or channel; owner only. */
int hs_chat_remove(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, hs_err_t *err);

/* The viewer leaves; an owner's chat passes to the longest-standing admin,
 * else member. */
int hs_chat_leave(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, hs_err_t *err);

/* The viewer joins a public channel. */
int hs_chat_join(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, hs_err_t *err);

/* Adds user to a group or channel (owner and admins). */
int hs_chat_add_member(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                       const char *user, hs_err_t *err);

/* Removes user (owner: anyone but themselves; admins: plain members). */
int hs_chat_remove_member(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                          const char *user, hs_err_t *err);

/* Makes user an "admin" or a "member" again; owner only. */
int hs_chat_set_role(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                     const char *user, const char *role, hs_err_t *err);

/* Mutes or unmutes the chat for the viewer. */
int hs_chat_mute(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, int muted,
                 hs_err_t *err);

/* Moves the viewer's read marker to message_id (a message of the chat). */
int hs_chat_read(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                 const char *message_id, hs_err_t *err);

/* JSON views; the caller owns the result. */
cJSON *hs_chat_json(const hs_chat_t *c);
cJSON *hs_member_json(const hs_member_t *m);

/* A page of viewer's chats, most recent activity first; the cursor is
 * "<20 digits of activity time>_<chat id>" (400 invalid_cursor). */
int hs_chat_list(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *cursor, int limit,
                 hs_chat_page_t *out, hs_err_t *err);

/* A page of chat id's members, for viewer who is one of them (else 404). */
int hs_chat_members(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                    const char *cursor, int limit, hs_member_page_t *out, hs_err_t *err);

/* The chats user_id is a member of now (id, kind, member count): the
 * streams a reader of their events follows. Allocated in a. */
int hs_chat_memberships(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id, hs_chat_ref_t **out,
                        size_t *n, hs_err_t *err);

/* Loads chat id as the server sees it (no viewer, no membership fields),
 * for decisions such as the bridge's presence; 404 chat_not_found. */
int hs_chat_get(hs_ctx_t *ctx, hs_arena_t *a, const char *id, hs_chat_t *out, hs_err_t *err);

/* Whether role may manage members and settings. */
int hs_chat_is_admin(const char *role);

#endif

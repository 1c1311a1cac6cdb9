/* Users as others see them: JSON views, profiles, the follow graph. */
#ifndef HS_USERS_H
#define HS_USERS_H

#include <cjson/cJSON.h>

#include "hs/ctx.h"
#include "hs/store.h"

/* The full view of u; self adds email, settings and updated_at. Caller owns
 * the result (cJSON_Delete). */
cJSON *hs_user_json(const hs_user_t *u, int self);
/* The short view used in lists: id, username, display_name, avatar_file_id. */
cJSON *hs_user_brief_json(const hs_user_t *u);
/* A page of users as {"items":[brief...],"next_cursor":...}. */
cJSON *hs_user_page_json(const hs_user_page_t *page);

/* The profile of target as viewer sees it, with follower counts and
 * whether viewer follows target. Disabled users are 404 except to admins
 * and themselves. */
int hs_user_profile(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer_id, const char *target_id,
                    cJSON **out, hs_err_t *err);

/* Loads a user that viewer may see (see hs_user_profile) into out. */
int hs_user_visible(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer_id, const char *target_id,
                    hs_user_t *out, hs_err_t *err);

/* Checks that file_id may be user_id's avatar: one of their own files, a
 * passive image (not SVG) by declared and sniffed type; 400 invalid_avatar. */
int hs_user_avatar_check(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id, const char *file_id,
                         hs_err_t *err);

/* Starts (on=1) or stops following target; following yourself is refused. */
int hs_user_follow(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer_id, const char *target_id,
                   int on, hs_err_t *err);

/* A change of one's own profile: NULL fields stay as they are. */
typedef struct hs_profile_req {
    const char *display_name, *bio;
    int set_avatar;        /* avatar_file_id was sent: set it, NULL clears it */
    const char *avatar;    /* a file id of the user's (hs_user_avatar_check) */
    const cJSON *settings; /* the whole settings object, under 8 KiB */
} hs_profile_req_t;

/* Applies r to user_id's profile and returns the new profile view
 * (hs_user_profile; the caller owns *out). */
int hs_user_update_profile(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id,
                           const hs_profile_req_t *r, cJSON **out, hs_err_t *err);

/* Users whose name starts with q (1 to 64 characters), after cursor. */
int hs_user_search(hs_ctx_t *ctx, hs_arena_t *a, const char *q, const char *cursor, int limit,
                   hs_user_page_t *out, hs_err_t *err);

/* A page of target's followers (followers=1) or of whom they follow, for a
 * viewer who may see target (hs_user_visible). */
int hs_user_follow_page(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer_id, const char *target_id,
                        int followers, const char *cursor, int limit, hs_user_page_t *out,
                        hs_err_t *err);

#endif

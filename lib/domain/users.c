#include "hs/users.h"

#include <string.h>

#include "hs/chats.h"
#include "hs/files.h"
#include "hs/json_util.h"
#include "hs/util.h"

cJSON *hs_user_brief_json(const hs_user_t *u)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", u->id);
    cJSON_AddStringToObject(o, "username", u->username);
    cJSON_AddStringToObject(o, "display_name", u->display_name ? u->display_name : "");
    hs_json_add_string_or_null(o, "avatar_file_id", u->avatar_file_id);
    return o;
}

cJSON *hs_user_json(const hs_user_t *u, int self)
{
    cJSON *o = hs_user_brief_json(u);
    cJSON_AddStringToObject(o, "bio", u->bio ? u->bio : "");
    cJSON_AddStringToObject(o, "role", u->role ? u->role : "user");
    cJSON_AddBoolToObject(o, "disabled", u->disabled);
    hs_json_add_time(o, "created_at", u->created_at);
    if (self) {
        cJSON_AddStringToObject(o, "email", u->email);
        cJSON *settings = cJSON_Parse(u->settings ? u->settings : "{}");
        cJSON_AddItemToObject(o, "settings", settings ? settings : cJSON_CreateObject());
        hs_json_add_time(o, "updated_at", u->updated_at);
    }
    return o;
}

cJSON *hs_user_page_json(const hs_user_page_t *page)
{
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < page->n; i++)
        cJSON_AddItemToArray(items, hs_user_brief_json(&page->items[i]));
    hs_json_add_string_or_null(o, "next_cursor", page->next_cursor);
    return o;
}

int hs_user_visible(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer_id, const char *target_id,
                    hs_user_t *out, hs_err_t *err)
{
    if (!hs_id_valid(target_id))
        return hs_err_set(err, HS_ENOTFOUND, "user_not_found", "No such user");
    int rc = hs_store_user_get(ctx->store, target_id, a, out, err);
    if (rc || !out->disabled || strcmp(viewer_id, target_id) == 0)
        return rc;
    hs_user_t viewer;
    if (hs_store_user_get(ctx->store, viewer_id, a, &viewer, NULL) == 0 &&
        strcmp(viewer.role, "admin") == 0)
        return 0;
    return hs_err_set(err, HS_ENOTFOUND, "user_not_found", "No such user");
}

int hs_user_profile(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer_id, const char *target_id,
                    cJSON **out, hs_err_t *err)
{
    hs_user_t u;
    long followers = 0, following = 0;
    int is_following = 0, rc;
    int self = strcmp(viewer_id, target_id) == 0;
    if (self) {
        /* GET /auth/me on every page load: the row and counts in one read
         * (a user sees themself even when disabled, as hs_user_visible) */
        rc = hs_id_valid(target_id)
                 ? hs_store_user_with_counts(ctx->store, target_id, a, &u, &followers, &following,
                                             err)
                 : hs_err_set(err, HS_ENOTFOUND, "user_not_found", "No such user");
        if (rc)
            return rc;
    } else if ((rc = hs_user_visible(ctx, a, viewer_id, target_id, &u, err)) ||
               (rc = hs_store_follow_counts(ctx->store, u.id, &followers, &following, err)) ||
               (rc = hs_store_follow_state(ctx->store, viewer_id, u.id, &is_following, err))) {
        return rc;
    }
    *out = hs_user_json(&u, self);
    cJSON_AddNumberToObject(*out, "followers_count", (double)followers);
    cJSON_AddNumberToObject(*out, "following_count", (double)following);
    cJSON_AddBoolToObject(*out, "is_following", is_following);
    return 0;
}

int hs_user_follow(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer_id, const char *target_id,
                   int on, hs_err_t *err)
{
    hs_user_t u;
    int rc = hs_user_visible(ctx, a, viewer_id, target_id, &u, err);
    if (rc)
        return rc;
    if (strcmp(viewer_id, target_id) == 0)
        return hs_err_set(err, HS_EINVAL, "cannot_follow_self", "You cannot follow yourself");
    return hs_store_follow_set(ctx->store, viewer_id, target_id, on, hs_now_ms(), err);
}

int hs_user_avatar_check(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id, const char *file_id,
                         hs_err_t *err)
{
    hs_file_t f;
    int rc = hs_file_owned(ctx, a, user_id, file_id, &f, err);
    if (rc && rc != HS_ENOTFOUND && rc != HS_EFORBIDDEN)
        return rc;
    /* An avatar is shown as a picture: a passive image by its declared type
     * and by its bytes (SVG, which can carry script, is not one). */
    if (rc || strncmp(f.content_type, "image/", 6) != 0 ||
        !hs_content_type_passive(hs_file_served_type(f.content_type)) || !f.sniffed_type ||
        strncmp(f.sniffed_type, "image/", 6) != 0 || !hs_content_type_passive(f.sniffed_type)) {
        hs_err_set(err, HS_EINVAL, "invalid_avatar",
                   "avatar_file_id must be one of your own image files (PNG, JPEG, GIF, WebP...)");
        hs_err_hint(err, "upload the picture first, then set its id");
        return HS_EINVAL;
    }
    return 0;
}

int hs_user_update_profile(hs_ctx_t *ctx, hs_arena_t *a, const char *user_id,
                           const hs_profile_req_t *r, cJSON **out, hs_err_t *err)
{
    hs_user_t u;
    if (r->set_avatar && r->avatar && !hs_id_valid(r->avatar))
        return hs_err_set(err, HS_EINVAL, "invalid_value", "avatar_file_id must be a file id");
    int rc;
    if ((r->set_avatar && r->avatar &&
         (rc = hs_user_avatar_check(ctx, a, user_id, r->avatar, err))) ||
        (rc = hs_store_user_get(ctx->store, user_id, a, &u, err)))
        return rc;
    if (r->display_name)
        u.display_name = r->display_name;
    if (r->bio)
        u.bio = r->bio;
    if (r->set_avatar)
        u.avatar_file_id = r->avatar;
    if (r->settings && (rc = hs_chat_adds_setting_check(r->settings, err)))
        return rc;
    if (r->settings) {
        char *s = cJSON_PrintUnformatted(r->settings);
        size_t n = s ? strlen(s) : 0;
        u.settings = hs_arena_strdup(a, s ? s : "{}");
        cJSON_free(s);
        if (n > 8192)
            return hs_err_set(err, HS_ETOOBIG, "settings_too_large",
                              "settings must be under 8 KiB");
    }
    u.updated_at = hs_now_ms();
    if ((rc = hs_store_user_update_profile(ctx->store, &u, err)))
        return rc;
    return hs_user_profile(ctx, a, user_id, user_id, out, err);
}

int hs_user_search(hs_ctx_t *ctx, hs_arena_t *a, const char *q, const char *cursor, int limit,
                   hs_user_page_t *out, hs_err_t *err)
{
    long qlen = q ? hs_utf8_len(q) : -1;
    if (qlen < 1 || qlen > 64)
        return hs_err_set(err, HS_EINVAL, "invalid_value", "q must have 1 to 64 characters");
    if (cursor && strlen(cursor) > 64)
        return hs_err_set(err, HS_EINVAL, "invalid_cursor", "The cursor is not valid");
    return hs_store_user_search(ctx->store, q, cursor, limit, a, out, err);
}

int hs_user_follow_page(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer_id, const char *target_id,
                        int followers, const char *cursor, int limit, hs_user_page_t *out,
                        hs_err_t *err)
{
    hs_user_t u;
    int rc = hs_user_visible(ctx, a, viewer_id, target_id, &u, err);
    if (rc)
        return rc;
    return hs_store_follow_page(ctx->store, target_id, followers, cursor, limit, a, out, err);
}

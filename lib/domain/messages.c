#include "hs/messages.h"

#include <stdio.h>
#include <string.h>

#include "hs/chats.h"
#include "hs/events.h"
#include "hs/files.h"
#include "hs/json_util.h"
#include "hs/limit.h"
#include "hs/util.h"

static int message_not_found(hs_err_t *err)
{
    return hs_err_set(err, HS_ENOTFOUND, "message_not_found", "No such message");
}

static void publish_message(hs_ctx_t *ctx, const char *type, const hs_message_t *m)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "chat_id", m->chat_id);
    cJSON_AddItemToObject(d, "message", hs_message_json(m));
    hs_event_publish(ctx, HS_EV_CHAT, m->chat_id, type, d, NULL);
}

int hs_message_read(hs_ctx_t *ctx, const cJSON *o, hs_message_in_t *in, hs_err_t *err)
{
    memset(in, 0, sizeof *in);
    const cJSON *v, *f;
    int rc;
    /* the content's length is the message rule's (characters, 413) */
    if ((rc = hs_json_get_string(o, "chat_id", 1, 1, 64, &in->chat_id, err)) ||
        (rc = hs_json_get_string(o, "content", 1, 0, SIZE_MAX, &in->content, err)) ||
        (rc = hs_message_content_check(ctx, in->content, err)) ||
        (rc = hs_json_get_string(o, "reply_to", 0, 1, 64, &in->reply_to, err)) ||
        (rc = hs_json_get_string(o, "client_id", 0, 1, 64, &in->client_id, err)))
        return rc;
    v = cJSON_GetObjectItemCaseSensitive(o, "file_ids");
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v))
        return hs_err_set(err, HS_EINVAL, "wrong_type",
                          "The field 'file_ids' must be an array of ids");
    if (cJSON_GetArraySize(v) > HS_MAX_ATTACHMENTS)
        return hs_err_set(err, HS_EINVAL, "invalid_value",
                          "The field 'file_ids' holds at most %d ids", HS_MAX_ATTACHMENTS);
    cJSON_ArrayForEach(f, v)
    {
        if (!cJSON_IsString(f) || !hs_id_valid(f->valuestring))
            return hs_err_set(err, HS_EINVAL, "invalid_value", "'file_ids' must hold 24-hex ids");
        in->file_ids[in->nfiles++] = f->valuestring;
    }
    return 0;
}

/* Stores and publishes a message read by hs_message_read (see
 * hs_message_post for the rules). */
static int message_send(hs_ctx_t *ctx, hs_arena_t *a, const char *sender, const hs_message_in_t *in,
                        hs_message_t *out, int *existed, hs_err_t *err)
{
    const char *chat_id = in->chat_id, *reply_to = in->reply_to;
    const char *const *file_ids = in->file_ids;
    size_t nfiles = in->nfiles;
    hs_chat_t c;
    *existed = 0;
    int rc = hs_chat_load(ctx, a, sender, chat_id, &c, err);
    if (rc)
        return rc;
    if (strcmp(c.kind, "channel") == 0 && !hs_chat_is_admin(c.my_role))
        return hs_err_set(err, HS_EFORBIDDEN, "channel_read_only",
                          "Only the owner and admins post in a channel");
    char key[64];
    snprintf(key, sizeof key, "hs:rl:msg:%s", sender);
    if ((rc =
             hs_limit_rate(ctx, key, ctx->cfg.message_burst, 1000 / ctx->cfg.message_rate, 1, err)))
        return rc;
    hs_message_t r;
    if (reply_to && (!hs_id_valid(reply_to) ||
                     hs_store_message_get(ctx->store, reply_to, sender, 0, a, &r, NULL) ||
                     strcmp(r.chat_id, chat_id) != 0))
        return hs_err_set(err, HS_EINVAL, "invalid_reply",
                          "reply_to is not a message of this chat");
    for (size_t i = 0; i < nfiles; i++) {
        hs_file_t f;
        if (!hs_id_valid(file_ids[i]) || hs_store_file_get(ctx->store, file_ids[i], a, &f, NULL) ||
            strcmp(f.owner_id, sender) != 0)
            return hs_err_set(err, HS_ENOTFOUND, "file_not_found",
                              "file_ids may only name your own files");
    }
    hs_message_t m = {0};
    hs_id_new(m.id);
    memcpy(m.chat_id, chat_id, sizeof m.chat_id);
    memcpy(m.sender_id, sender, sizeof m.sender_id);
    m.content = in->content;
    m.reply_to = reply_to;
    m.client_id = in->client_id;
    m.created_at = hs_now_ms();
    if ((rc = hs_store_message_create(ctx->store, &m, (const char **)file_ids, nfiles, existed,
                                      err)) ||
        (rc = hs_store_message_get(ctx->store, m.id, sender, 1, a, out, err)))
        return rc;
    if (*existed && strcmp(out->chat_id, chat_id) != 0)
        return hs_err_set(err, HS_ECONFLICT, "client_id_reused",
                          "This client_id was used for a message in another chat");
    if (!*existed)
        publish_message(ctx, "message.created", out);
    return 0;
}

int hs_message_post(hs_ctx_t *ctx, hs_arena_t *a, const char *sender, const cJSON *o,
                    hs_message_t *out, int *existed, hs_err_t *err)
{
    hs_message_in_t in;
    *existed = 0;
    int rc = hs_message_read(ctx, o, &in, err);
    if (rc)
        return rc;
    return message_send(ctx, a, sender, &in, out, existed, err);
}

int hs_message_history(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *chat_id,
                       const char *before, const char *after, int limit, hs_message_page_t *out,
                       hs_err_t *err)
{
    hs_chat_t c;
    int rc = hs_chat_load(ctx, a, viewer, chat_id, &c, err);
    if (rc)
        return rc;
    if ((before && !hs_id_valid(before)) || (after && !hs_id_valid(after)) || (before && after))
        return hs_err_set(err, HS_EINVAL, "invalid_cursor",
                          "Send before or after (a message id), not both");
    return hs_store_message_page(ctx->store, chat_id, viewer, before, after, limit, a, out, err);
}

int hs_message_load(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                    hs_message_t *out, hs_chat_t *chat, hs_err_t *err)
{
    hs_chat_t c;
    if (!hs_id_valid(id) || hs_store_message_get(ctx->store, id, viewer, 0, a, out, NULL) ||
        hs_chat_load(ctx, a, viewer, out->chat_id, chat ? chat : &c, NULL))
        return message_not_found(err);
    return 0;
}

int hs_message_edit(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                    const char *content, hs_message_t *out, hs_err_t *err)
{
    int rc = hs_message_content_check(ctx, content, err);
    if (rc || (rc = hs_message_load(ctx, a, viewer, id, out, NULL, err)))
        return rc;
    if (strcmp(out->sender_id, viewer) != 0)
        return hs_err_set(err, HS_EFORBIDDEN, "not_your_message",
                          "You can only edit your messages");
    if (out->deleted_at)
        return hs_err_set(err, HS_EGONE, "message_deleted", "This message was deleted");
    if ((rc = hs_store_message_edit(ctx->store, id, content, hs_now_ms(), err)) ||
        (rc = hs_store_message_get(ctx->store, id, viewer, 1, a, out, err)))
        return rc;
    publish_message(ctx, "message.updated", out);
    return 0;
}

int hs_message_remove(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                      hs_err_t *err)
{
    hs_message_t m;
    hs_chat_t c;
    int rc = hs_message_load(ctx, a, viewer, id, &m, &c, err);
    if (rc)
        return rc;
    int admin = strcmp(c.kind, "direct") != 0 && hs_chat_is_admin(c.my_role);
    if (strcmp(m.sender_id, viewer) != 0 && !admin)
        return hs_err_set(err, HS_EFORBIDDEN, "not_your_message",
                          "You can only delete your messages");
    if (m.deleted_at)
        return hs_err_set(err, HS_EGONE, "message_deleted", "This message was already deleted");
    if ((rc = hs_store_message_delete(ctx->store, id, hs_now_ms(), err)))
        return rc;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "chat_id", m.chat_id);
    cJSON_AddStringToObject(d, "message_id", id);
    cJSON_AddStringToObject(d, "deleted_by", viewer);
    hs_event_publish(ctx, HS_EV_CHAT, m.chat_id, "message.deleted", d, NULL);
    return 0;
}

int hs_message_react(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                     const char *emoji, hs_message_t *out, hs_err_t *err)
{
    int on, rc = hs_message_load(ctx, a, viewer, id, out, NULL, err);
    if (rc)
        return rc;
    if (!hs_emoji_valid(emoji))
        return hs_err_set(err, HS_EINVAL, "invalid_emoji", "emoji must be exactly one emoji");
    if (out->deleted_at)
        return hs_err_set(err, HS_EGONE, "message_deleted", "This message was deleted");
    if ((rc = hs_store_reaction_toggle(ctx->store, id, viewer, emoji, hs_now_ms(), &on, err)) ||
        (rc = hs_store_message_get(ctx->store, id, viewer, 1, a, out, err)))
        return rc;
    cJSON *d = cJSON_CreateObject(), *counts = cJSON_CreateArray();
    cJSON_AddStringToObject(d, "chat_id", out->chat_id);
    cJSON_AddStringToObject(d, "message_id", id);
    cJSON_AddStringToObject(d, "user_id", viewer);
    cJSON_AddStringToObject(d, "emoji", emoji);
    cJSON_AddBoolToObject(d, "added", on);
    for (size_t i = 0; i < out->nreactions; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "emoji", out->reactions[i].emoji);
        cJSON_AddNumberToObject(r, "count", (double)out->reactions[i].count);
        cJSON_AddItemToArray(counts, r);
    }
    cJSON_AddItemToObject(d, "reactions", counts);
    hs_event_publish(ctx, HS_EV_CHAT, out->chat_id, "reaction.updated", d, NULL);
    return 0;
}

int hs_message_receipts(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                        hs_member_t **out, size_t *n, hs_err_t *err)
{
    hs_message_t m;
    hs_chat_t c;
    int rc = hs_message_load(ctx, a, viewer, id, &m, &c, err);
    if (rc)
        return rc;
    if (c.member_count > ctx->cfg.receipts_max_members)
        return hs_err_set(err, HS_EFORBIDDEN, "chat_too_large",
                          "Receipts are kept for chats of up to %ld members",
                          ctx->cfg.receipts_max_members);
    return hs_store_receipts(ctx->store, m.chat_id, id, m.sender_id, a, out, n, err);
}

/* The characters of the shortest word of q, words cut as the store cuts
 * them (runs of ASCII letters and digits and of non-ASCII characters); 0
 * when q has no word. */
static size_t shortest_term(const char *q)
{
    size_t shortest = 0;
    for (const unsigned char *s = (const unsigned char *)q; *s;) {
        size_t n = 0;
        while (*s && hs_word_byte(*s)) {
            n += (*s & 0xC0) != 0x80; /* UTF-8 continuation bytes are not characters */
            s++;
        }
        if (n && (!shortest || n < shortest))
            shortest = n;
        if (*s)
            s++;
    }
    return shortest;
}

int hs_message_search(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *query,
                      const char *chat_id, const char *cursor, int limit, hs_message_page_t *out,
                      hs_err_t *err)
{
    hs_chat_t c;
    int rc;
    /* A one-character prefix matches most of the index: the work it costs
     * is out of proportion to what it can find. */
    size_t shortest = shortest_term(query);
    if (shortest && shortest < HS_SEARCH_MIN_TERM)
        return hs_err_set(err, HS_EINVAL, "search_term_too_short",
                          "Each word of q needs at least %d characters", HS_SEARCH_MIN_TERM);
    char key[64];
    snprintf(key, sizeof key, "hs:rl:search:%s", viewer);
    if ((rc =
             hs_limit_rate(ctx, key, ctx->cfg.search_burst, ctx->cfg.search_period * 1000, 1, err)))
        return rc;
    /* A chat the viewer is not in gives no hits: it does not exist to them. */
    if (chat_id && (rc = hs_chat_load(ctx, a, viewer, chat_id, &c, err)))
        return rc;
    return hs_store_message_search(ctx->store, viewer, chat_id, query, cursor, limit, a, out, err);
}

/* Decodes one UTF-8 code point (the input is valid UTF-8 already). */
static unsigned next_cp(const unsigned char **p)
{
    const unsigned char *s = *p;
    unsigned c = *s++;
    int extra = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    if (extra)
        c &= 0x3F >> extra;
    for (int i = 0; i < extra; i++)
        c = (c << 6) | (*s++ & 0x3F);
    *p = s;
    return c;
}

/* Code points Unicode marks Extended_Pictographic outside the emoji
 * planes (the arrows, dingbats and symbols that are emoji), then the planes. */
static int pictographic(unsigned c)
{
    static const unsigned ranges[][2] = {
        {0xA9, 0xA9},     {0xAE, 0xAE},     {0x203C, 0x203C}, {0x2049, 0x2049},   {0x2122, 0x2122},
        {0x2139, 0x2139}, {0x2194, 0x2199}, {0x21A9, 0x21AA}, {0x231A, 0x231B},   {0x2328, 0x2328},
        {0x23CF, 0x23CF}, {0x23E9, 0x23F3}, {0x23F8, 0x23FA}, {0x24C2, 0x24C2},   {0x25AA, 0x25AB},
        {0x25B6, 0x25B6}, {0x25C0, 0x25C0}, {0x25FB, 0x25FE}, {0x2600, 0x27BF},   {0x2934, 0x2935},
        {0x2B05, 0x2B07}, {0x2B1B, 0x2B1C}, {0x2B50, 0x2B50}, {0x2B55, 0x2B55},   {0x3030, 0x3030},
        {0x303D, 0x303D}, {0x3297, 0x3297}, {0x3299, 0x3299}, {0x1F000, 0x1FAFF},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (c >= ranges[i][0] && c <= ranges[i][1])
            return 1;
    return 0;
}

int hs_emoji_valid(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len > 64 || hs_utf8_len(s) < 0)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    unsigned first = next_cp(&p);
    int regional = first >= 0x1F1E6 && first <= 0x1F1FF;
    int keycap = (first >= '0' && first <= '9') || first == '#' || first == '*';
    if (!pictographic(first) && !keycap)
        return 0;
    int joined = 0, regionals = regional;
    while (*p) {
        unsigned c = next_cp(&p);
        if (c == 0x200D) {
            joined = 1; /* ZWJ: one more pictograph may follow */
        } else if (c == 0xFE0F || c == 0xFE0E || (c >= 0x1F3FB && c <= 0x1F3FF) ||
                   (c >= 0xE0020 && c <= 0xE007F) || c == 0x20E3) {
            /* presentation selectors, skin tones, tag flags, keycap */
        } else if (regional && regionals == 1 && c >= 0x1F1E6 && c <= 0x1F1FF) {
            regionals++; /* a flag is a pair of regional indicators */
        } else if (joined && pictographic(c)) {
            joined = 0;
        } else {
            return 0;
        }
    }
    return !joined && (!keycap || strstr(s, "\xE2\x83\xA3") != NULL);
}

cJSON *hs_message_json(const hs_message_t *m)
{
    cJSON *o = cJSON_CreateObject(), *sender = cJSON_AddObjectToObject(o, "sender");
    cJSON_AddStringToObject(o, "id", m->id);
    cJSON_AddStringToObject(o, "chat_id", m->chat_id);
    cJSON_AddStringToObject(sender, "id", m->sender_id);
    cJSON_AddStringToObject(sender, "username", m->sender_username ? m->sender_username : "");
    cJSON_AddStringToObject(sender, "display_name",
                            m->sender_display_name ? m->sender_display_name : "");
    cJSON_AddBoolToObject(o, "deleted", m->deleted_at != 0);
    if (m->deleted_at)
        cJSON_AddNullToObject(o, "content");
    else
        cJSON_AddStringToObject(o, "content", m->content);
    hs_json_add_time(o, "created_at", m->created_at);
    hs_json_add_time(o, "edited_at", m->edited_at);
    hs_json_add_string_or_null(o, "client_id", m->client_id);
    if (m->reply_to) {
        cJSON *r = cJSON_AddObjectToObject(o, "reply_to");
        cJSON_AddStringToObject(r, "id", m->reply_to);
        hs_json_add_string_or_null(r, "sender_id", m->reply_sender_id);
        hs_json_add_string_or_null(r, "preview", m->reply_content);
    } else {
        cJSON_AddNullToObject(o, "reply_to");
    }
    cJSON *files = cJSON_AddArrayToObject(o, "attachments");
    for (size_t i = 0; i < m->nfiles; i++)
        cJSON_AddItemToArray(files, hs_file_json(&m->files[i]));
    cJSON *reactions = cJSON_AddArrayToObject(o, "reactions");
    for (size_t i = 0; i < m->nreactions; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "emoji", m->reactions[i].emoji);
        cJSON_AddNumberToObject(r, "count", (double)m->reactions[i].count);
        cJSON_AddBoolToObject(r, "me", m->reactions[i].mine);
        cJSON_AddItemToArray(reactions, r);
    }
    hs_json_add_string_or_null(o, "state", m->state);
    if (m->snippet)
        cJSON_AddStringToObject(o, "snippet", m->snippet);
    return o;
}

int hs_message_content_check(hs_ctx_t *ctx, const char *content, hs_err_t *err)
{
    long n = hs_utf8_len(content);
    if (n < 0)
        return hs_err_set(err, HS_EINVAL, "invalid_value",
                          "The field 'content' is not valid UTF-8");
    if (n < 1)
        return hs_err_set(err, HS_EINVAL, "invalid_value",
                          "The field 'content' must have 1 character or more");
    for (const unsigned char *p = (const unsigned char *)content; *p; p++)
        /* C0 controls but tab and newlines, DEL, and C1 (U+0080-U+009F,
         * which UTF-8 writes as C2 80 to C2 9F). */
        if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f ||
            (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
            return hs_err_set(err, HS_EINVAL, "invalid_content",
                              "Messages may not hold control characters");
    /* characters, as a person counts them and as both transports say */
    if (n > ctx->cfg.max_message_length) {
        hs_err_set(err, HS_ETOOBIG, "message_too_long", "A message holds at most %ld characters",
                   ctx->cfg.max_message_length);
        return HS_ETOOBIG;
    }
    return 0;
}

/* Messages: send (idempotent by client_id), history, edit, delete with a
 * tombstone, reactions, receipts and full-text search; each change
 * publishes an event on its chat (docs/events.md). */
#ifndef HS_MESSAGES_H
#define HS_MESSAGES_H

#include <cjson/cJSON.h>

#include "hs/ctx.h"
#include "hs/store.h"

#define HS_MAX_ATTACHMENTS 10

/* A message as a client sends it: the JSON of POST /api/v1/messages or of
 * a chat_message event over the WebSocket. Strings point into that JSON. */
typedef struct hs_message_in {
    const char *chat_id, *content, *reply_to, *client_id;
    const char *file_ids[HS_MAX_ATTACHMENTS];
    size_t nfiles;
} hs_message_in_t;

/* Reads o as a message to send, with every check that needs no store:
 * chat_id (required), reply_to and client_id strings of 1 to 64
 * characters, content (hs_message_content_check), file_ids an array of at
 * most HS_MAX_ATTACHMENTS ids. 400 missing_field, wrong_type or
 * invalid_value naming the field, invalid_content, 413 message_too_long. */
int hs_message_read(hs_ctx_t *ctx, const cJSON *o, hs_message_in_t *in, hs_err_t *err);

/* The one way a client sends a message, REST and WebSocket alike: reads o
 * (hs_message_read), then the sender must be a member (owner or admin to
 * post in a channel), reply_to a message of the same chat (invalid_reply),
 * file_ids the sender's files (file_not_found); rate limited per sender
 * (429). A client_id the sender used before returns that message
 * (*existed = 1). Publishes message.created. */
int hs_message_post(hs_ctx_t *ctx, hs_arena_t *a, const char *sender, const cJSON *o,
                    hs_message_t *out, int *existed, hs_err_t *err);

/* A page of chat_id's history (viewer must be a member). */
int hs_message_history(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *chat_id,
                       const char *before, const char *after, int limit, hs_message_page_t *out,
                       hs_err_t *err);

/* Loads a message (without its extras) of a chat viewer belongs to, and
 * that chat into chat (may be NULL); 404 otherwise. */
int hs_message_load(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                    hs_message_t *out, hs_chat_t *chat, hs_err_t *err);

/* Edits the viewer's own message. */
int hs_message_edit(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                    const char *content, hs_message_t *out, hs_err_t *err);

/* Deletes the viewer's own message, or any message of a group or channel
 * the viewer administers; a tombstone stays in the history. */
int hs_message_remove(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                      hs_err_t *err);

/* Toggles the viewer's reaction (one emoji) and returns the message. */
int hs_message_react(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                     const char *emoji, hs_message_t *out, hs_err_t *err);

/* Who has read message id (groups up to receipts_max_members). */
int hs_message_receipts(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                        hs_member_t **out, size_t *n, hs_err_t *err);

/* The fewest characters a word of a search query may have. */
#define HS_SEARCH_MIN_TERM 2

/* Full-text search over the viewer's chats (or one of them), newest first;
 * nothing in the answer depends on chats the viewer is not in. Each word
 * needs HS_SEARCH_MIN_TERM characters (search_term_too_short); rate-limited
 * per viewer (search_burst, search_period: HS_ERATE). The cursor is the
 * last hit's id. */
int hs_message_search(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *query,
                      const char *chat_id, const char *cursor, int limit, hs_message_page_t *out,
                      hs_err_t *err);

/* 1 when s is exactly one emoji (with its modifiers, ZWJ sequence, flag or
 * keycap). */
int hs_emoji_valid(const char *s);

/* 0 if content may be a message's text: valid UTF-8 of at least one
 * character (else 400 invalid_value), no control characters but tab and
 * newlines (C0, DEL, C1: 400 invalid_content), at most max_message_length
 * characters, not bytes (413 message_too_long). Sending and editing both
 * check it. */
int hs_message_content_check(hs_ctx_t *ctx, const char *content, hs_err_t *err);

/* The message's JSON; the caller owns the result. */
cJSON *hs_message_json(const hs_message_t *m);

#endif

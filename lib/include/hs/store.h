/* The metadata store: domain operations, independent of the backend.
 * Backends (lib/store/<name>/) fill an hs_store_ops_t; callers use the
 * hs_store_* wrappers below. Ids are 24-hex ObjectIds, times are UTC
 * milliseconds, pages are cursor based; no SQL or row id leaves a backend.
 * Every string a read returns is allocated in the arena passed in. */
#ifndef HS_STORE_H
#define HS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "hs/arena.h"
#include "hs/config.h"
#include "hs/err.h"
#include "hs/util.h"

typedef struct hs_user {
    char id[HS_ID_LEN + 1];
    const char *username; /* lowercase */
    const char *email;    /* lowercase */
    const char *password_hash;
    const char *display_name;
    const char *bio;
    const char *avatar_file_id; /* NULL when unset */
    const char *settings;       /* a JSON object as text */
    const char *role;           /* "user" or "admin" */
    int disabled;
    int64_t created_at, updated_at;
} hs_user_t;

typedef struct hs_session {
    char id[HS_ID_LEN + 1];
    char user_id[HS_ID_LEN + 1];
    const char *user_agent;
    const char *ip;
    int64_t created_at, last_used_at, expires_at;
    int64_t revoked_at; /* 0 while active */
} hs_session_t;

/* One page of sessions; next_cursor is NULL on the last page. */
typedef struct hs_session_page {
    hs_session_t *items;
    size_t n;
    const char *next_cursor;
} hs_session_page_t;

/* One page of users; next_cursor is NULL on the last page. */
typedef struct hs_user_page {
    hs_user_t *items;
    size_t n;
    const char *next_cursor;
} hs_user_page_t;

/* An upload in progress. protocol "chunks" (the seed API) or "tus". */
typedef struct hs_upload {
    char id[HS_ID_LEN + 1]; /* also the id of the file it becomes */
    char owner_id[HS_ID_LEN + 1];
    const char *protocol;
    const char *filename;
    const char *content_type;
    const char *sha256;   /* expected whole-file hash, or NULL */
    const char *chat_id;  /* or NULL */
    const char *concat;   /* tus: "", "partial" or "final" */
    const char *metadata; /* tus Upload-Metadata as sent, or "" */
    int64_t size, chunk_size, chunk_count;
    int64_t offset; /* tus: bytes received */
    int64_t created_at, expires_at;
    int64_t completed_at; /* tus partial uploads: when all bytes arrived */
    int64_t file_ttl;     /* ms the finished file is kept after completion; 0: forever */
} hs_upload_t;

/* A complete file. */
typedef struct hs_file {
    char id[HS_ID_LEN + 1];
    char owner_id[HS_ID_LEN + 1];
    const char *filename;
    const char *content_type; /* as declared */
    const char *sniffed_type; /* from the first bytes (libmagic) */
    const char *sha256;       /* or NULL when it was not computed */
    const char *chat_id;      /* or NULL */
    int64_t size, created_at;
    int64_t expires_at; /* 0: never */
} hs_file_t;

typedef struct hs_file_page {
    hs_file_t *items;
    size_t n;
    const char *next_cursor;
} hs_file_page_t;

/* A share link; only the hash of its token is stored. */
typedef struct hs_link {
    char id[HS_ID_LEN + 1];
    char file_id[HS_ID_LEN + 1];
    const char *password_hash; /* or NULL */
    int64_t created_at, expires_at, revoked_at;
    int64_t max_downloads; /* 0: unlimited */
    int64_t downloads;
} hs_link_t;

/* A chat; the my_* fields describe it as one viewer sees it. */
typedef struct hs_chat {
    char id[HS_ID_LEN + 1];
    const char *kind; /* "direct", "group" or "channel" */
    const char *name;
    const char *description;
    const char *avatar_file_id; /* or NULL */
    int is_public;              /* channels: anyone may join */
    char owner_id[HS_ID_LEN + 1];
    int64_t member_count;
    int64_t created_at, updated_at, last_activity_at;
    const char *last_message_id; /* or NULL */
    const char *my_role;         /* NULL when the viewer is not a member */
    int my_muted;
    const char *my_last_read_id;     /* "" when nothing is read */
    int64_t my_unread;               /* counted up to 1000 */
    struct hs_message *last_message; /* a preview, or NULL */
} hs_chat_t;

/* A P2P transfer (docs/p2p.md). */
typedef struct hs_transfer {
    char id[HS_ID_LEN + 1];
    char sender_id[HS_ID_LEN + 1];
    char recipient_id[HS_ID_LEN + 1];
    const char *filename;
    const char *sha256;          /* declared by the sender, or NULL */
    const char *mode;            /* "auto", "direct" or "relay" */
    const char *state;           /* "pending", "accepted", "transferring", "completed", ... */
    const char *reason;          /* why it failed, or NULL */
    const char *relay_file_id;   /* the bound ciphertext, or NULL */
    const char *received_sha256; /* what the recipient computed, or NULL */
    int64_t size, bytes;
    int64_t created_at, updated_at, expires_at, progress_at;
} hs_transfer_t;

typedef struct hs_transfer_page {
    hs_transfer_t *items;
    size_t n;
    const char *next_cursor;
} hs_transfer_page_t;

/* A chat a user belongs to, as the real-time bridge routes by it. */
typedef struct hs_chat_ref {
    char id[HS_ID_LEN + 1];
    const char *kind;
    int64_t member_count;
} hs_chat_ref_t;

typedef struct hs_chat_page {
    hs_chat_t *items;
    size_t n;
    const char *next_cursor;
} hs_chat_page_t;

typedef struct hs_member {
    char user_id[HS_ID_LEN + 1];
    const char *username;
    const char *display_name;
    const char *role; /* "owner", "admin" or "member" */
    int muted;
    int64_t joined_at;
    const char *last_read_id;
} hs_member_t;

typedef struct hs_member_page {
    hs_member_t *items;
    size_t n;
    const char *next_cursor;
} hs_member_page_t;

typedef struct hs_reaction {
    const char *emoji;
    int64_t count;
    int mine; /* the viewer reacted with it */
} hs_reaction_t;

/* A message; the page/get extras (sender names, reply preview, files,
 * reactions, state) are filled by the reads that say so. */
typedef struct hs_message {
    char id[HS_ID_LEN + 1];
    char chat_id[HS_ID_LEN + 1];
    char sender_id[HS_ID_LEN + 1];
    const char *sender_username;
    const char *sender_display_name;
    const char *content;   /* "" once deleted */
    const char *reply_to;  /* a message id, or NULL */
    const char *client_id; /* or NULL */
    int64_t created_at, edited_at, deleted_at;
    /* the message replied to, when reply_to is set */
    const char *reply_sender_id;
    const char *reply_content; /* at most 100 characters; "" if deleted */
    hs_file_t *files;
    size_t nfiles;
    hs_reaction_t *reactions;
    size_t nreactions;
    const char *state;   /* for the viewer's own messages: sent, delivered or read */
    const char *snippet; /* search hits: the match marked with \x02 ... \x03 */
} hs_message_t;

typedef struct hs_message_page {
    hs_message_t *items;
    size_t n;
    const char *next_cursor;
} hs_message_page_t;

typedef struct hs_store hs_store_t;

typedef struct hs_store_ops {
    const char *name;
    void (*close)(hs_store_t *st);
    int (*ping)(hs_store_t *st, hs_err_t *err);
    int (*user_create)(hs_store_t *st, hs_user_t *u, hs_err_t *err);
    int (*user_get)(hs_store_t *st, const char *id, hs_arena_t *a, hs_user_t *out, hs_err_t *err);
    int (*user_find_login)(hs_store_t *st, const char *login, hs_arena_t *a, hs_user_t *out,
                           hs_err_t *err);
    int (*user_update_profile)(hs_store_t *st, const hs_user_t *u, hs_err_t *err);
    int (*user_set_password)(hs_store_t *st, const char *id, const char *hash, int64_t now,
                             hs_err_t *err);
    int (*user_set_role)(hs_store_t *st, const char *id, const char *role, int64_t now,
                         hs_err_t *err);
    int (*user_set_disabled)(hs_store_t *st, const char *id, int disabled, int64_t now,
                             hs_err_t *err);
    int (*user_search)(hs_store_t *st, const char *prefix, const char *after, int limit,
                       hs_arena_t *a, hs_user_page_t *out, hs_err_t *err);
    int (*follow_set)(hs_store_t *st, const char *follower, const char *followee, int on,
                      int64_t now, hs_err_t *err);
    int (*follow_state)(hs_store_t *st, const char *follower, const char *followee, int *on,
                        hs_err_t *err);
    int (*follow_counts)(hs_store_t *st, const char *id, long *followers, long *following,
                         hs_err_t *err);
    int (*follow_page)(hs_store_t *st, const char *id, int followers, const char *before, int limit,
                       hs_arena_t *a, hs_user_page_t *out, hs_err_t *err);
    int (*session_create)(hs_store_t *st, const hs_session_t *s, const char *refresh_hash,
                          int64_t refresh_expires, hs_err_t *err);
    int (*session_get)(hs_store_t *st, const char *id, hs_arena_t *a, hs_session_t *out,
                       hs_err_t *err);
    int (*session_list)(hs_store_t *st, const char *user_id, const char *cursor, int limit,
                        hs_arena_t *a, hs_session_page_t *out, hs_err_t *err);
    int (*session_revoked_since)(hs_store_t *st, int64_t since, hs_arena_t *a, hs_session_t **out,
                                 size_t *n, hs_err_t *err);
    int (*session_revoke)(hs_store_t *st, const char *id, const char *user_id, int64_t now,
                          hs_err_t *err);
    int (*session_revoke_others)(hs_store_t *st, const char *user_id, const char *keep_id,
                                 int64_t now, hs_arena_t *a, char ***ids, size_t *n, hs_err_t *err);
    int (*refresh_rotate)(hs_store_t *st, const char *old_hash, const char *new_hash,
                          int64_t new_expires, int64_t now, const char *user_agent, const char *ip,
                          hs_arena_t *a, hs_session_t *out, hs_err_t *err);
    int (*upload_create)(hs_store_t *st, const hs_upload_t *u, int64_t quota, hs_err_t *err);
    int (*upload_get)(hs_store_t *st, const char *id, hs_arena_t *a, hs_upload_t *out,
                      hs_err_t *err);
    int (*chunk_get)(hs_store_t *st, const char *upload_id, int64_t n, char sha256[65], int *found,
                     hs_err_t *err);
    int (*chunk_add)(hs_store_t *st, const char *upload_id, int64_t n, int64_t size,
                     const char *sha256, hs_err_t *err);
    int (*chunk_list)(hs_store_t *st, const char *upload_id, hs_arena_t *a, int64_t **ns,
                      size_t *count, hs_err_t *err);
    int (*upload_advance)(hs_store_t *st, const char *id, int64_t from, int64_t to, int64_t now,
                          hs_err_t *err);
    int (*upload_finish)(hs_store_t *st, const char *upload_id, const hs_file_t *f, hs_err_t *err);
    int (*upload_delete)(hs_store_t *st, const char *id, hs_err_t *err);
    int (*upload_expired)(hs_store_t *st, int64_t now, int limit, hs_arena_t *a, char ***ids,
                          size_t *n, hs_err_t *err);
    int (*storage_used)(hs_store_t *st, const char *owner_id, int64_t *bytes, hs_err_t *err);
    int (*file_get)(hs_store_t *st, const char *id, hs_arena_t *a, hs_file_t *out, hs_err_t *err);
    int (*file_page)(hs_store_t *st, const char *owner_id, const char *before, int limit,
                     int64_t now, hs_arena_t *a, hs_file_page_t *out, hs_err_t *err);
    int (*file_delete)(hs_store_t *st, const char *id, hs_err_t *err);
    int (*file_expired)(hs_store_t *st, int64_t now, int limit, hs_arena_t *a, char ***ids,
                        size_t *n, hs_err_t *err);
    int (*link_create)(hs_store_t *st, const hs_link_t *l, const char *token_hash, hs_err_t *err);
    int (*link_get)(hs_store_t *st, const char *token_hash, hs_arena_t *a, hs_link_t *out,
                    hs_err_t *err);
    int (*link_take)(hs_store_t *st, const char *id, int64_t now, hs_err_t *err);
    int (*link_list)(hs_store_t *st, const char *file_id, hs_arena_t *a, hs_link_t **out, size_t *n,
                     hs_err_t *err);
    int (*link_revoke)(hs_store_t *st, const char *id, const char *file_id, int64_t now,
                       hs_err_t *err);
    int (*file_shared_with)(hs_store_t *st, const char *file_id, const char *user_id, int *yes,
                            hs_err_t *err);
    int (*chat_create)(hs_store_t *st, const hs_chat_t *c, const char *direct_key,
                       const char **members, size_t n, hs_err_t *err);
    int (*chat_find_direct)(hs_store_t *st, const char *direct_key, char id[HS_ID_LEN + 1],
                            hs_err_t *err);
    int (*chat_get)(hs_store_t *st, const char *id, const char *viewer, int full, hs_arena_t *a,
                    hs_chat_t *out, hs_err_t *err);
    int (*chat_update)(hs_store_t *st, const hs_chat_t *c, hs_err_t *err);
    int (*chat_delete)(hs_store_t *st, const char *id, hs_err_t *err);
    int (*chat_page)(hs_store_t *st, const char *user_id, const char *before, int limit,
                     hs_arena_t *a, hs_chat_page_t *out, hs_err_t *err);
    int (*member_add)(hs_store_t *st, const char *chat_id, const char *user_id, const char *role,
                      int64_t now, int64_t limit, hs_err_t *err);
    int (*member_remove)(hs_store_t *st, const char *chat_id, const char *user_id, hs_err_t *err);
    int (*member_set)(hs_store_t *st, const char *chat_id, const char *user_id, const char *role,
                      int muted, hs_err_t *err);
    int (*member_page)(hs_store_t *st, const char *chat_id, const char *after, int limit,
                       hs_arena_t *a, hs_member_page_t *out, hs_err_t *err);
    int (*chat_leave)(hs_store_t *st, const char *chat_id, const char *user_id,
                      char new_owner[HS_ID_LEN + 1], int *deleted, hs_err_t *err);
    int (*read_mark)(hs_store_t *st, const char *chat_id, const char *user_id,
                     const char *message_id, int *moved, hs_err_t *err);
    int (*message_create)(hs_store_t *st, hs_message_t *m, const char **file_ids, size_t nfiles,
                          int *existed, hs_err_t *err);
    int (*message_get)(hs_store_t *st, const char *id, const char *viewer, int full, hs_arena_t *a,
                       hs_message_t *out, hs_err_t *err);
    int (*message_page)(hs_store_t *st, const char *chat_id, const char *viewer, const char *before,
                        const char *after, int limit, hs_arena_t *a, hs_message_page_t *out,
                        hs_err_t *err);
    int (*message_edit)(hs_store_t *st, const char *id, const char *content, int64_t now,
                        hs_err_t *err);
    int (*message_delete)(hs_store_t *st, const char *id, int64_t now, hs_err_t *err);
    int (*reaction_toggle)(hs_store_t *st, const char *message_id, const char *user_id,
                           const char *emoji, int64_t now, int *on, hs_err_t *err);
    int (*message_search)(hs_store_t *st, const char *user_id, const char *chat_id,
                          const char *query, const char *after, int limit, hs_arena_t *a,
                          hs_message_page_t *out, hs_err_t *err);
    int (*receipts)(hs_store_t *st, const char *chat_id, const char *message_id,
                    const char *sender_id, hs_arena_t *a, hs_member_t **out, size_t *n,
                    hs_err_t *err);
    int (*member_chats)(hs_store_t *st, const char *user_id, hs_arena_t *a, hs_chat_ref_t **out,
                        size_t *n, hs_err_t *err);
    int (*transfer_create)(hs_store_t *st, const hs_transfer_t *t, hs_err_t *err);
    int (*transfer_get)(hs_store_t *st, const char *id, hs_arena_t *a, hs_transfer_t *out,
                        hs_err_t *err);
    int (*transfer_update)(hs_store_t *st, const hs_transfer_t *t, const char *from_states,
                           int *moved, hs_err_t *err);
    int (*transfer_page)(hs_store_t *st, const char *user_id, const char *state, const char *before,
                         int limit, hs_arena_t *a, hs_transfer_page_t *out, hs_err_t *err);
    int (*transfer_stale)(hs_store_t *st, int64_t pending_before, int64_t live_before, int limit,
                          hs_arena_t *a, char ***ids, size_t *n, hs_err_t *err);
    int (*p2p_block_set)(hs_store_t *st, const char *blocker, const char *blocked, int on,
                         int64_t now, hs_err_t *err);
    int (*p2p_blocked)(hs_store_t *st, const char *blocker, const char *blocked, int *yes,
                       hs_err_t *err);
    int (*p2p_block_list)(hs_store_t *st, const char *blocker, hs_arena_t *a, char ***ids,
                          size_t *n, hs_err_t *err);
    int (*file_bind_transfer)(hs_store_t *st, const char *file_id, const char *owner_id,
                              const char *transfer_id, hs_err_t *err);
} hs_store_ops_t;

struct hs_store {
    const hs_store_ops_t *ops;
    void *impl; /* the backend's own state */
};

/* Opens the backend named by cfg->store (creating or migrating its schema).
 * The result is freed with hs_store_close(). */
int hs_store_open(hs_store_t **out, const hs_config_t *cfg, hs_err_t *err);
void hs_store_close(hs_store_t *st);

/* 0 when the store answers. */
static inline int hs_store_ping(hs_store_t *st, hs_err_t *err)
{
    return st->ops->ping(st, err);
}
/* Inserts u (id, username, email, hash, times filled by the caller) with
 * u->role ("admin" only when asked; anything else is "user"). Admins are
 * made on purpose (hs-auth create-admin), never by being first.
 * HS_ECONFLICT with code username_taken / email_taken on duplicates. */
static inline int hs_store_user_create(hs_store_t *st, hs_user_t *u, hs_err_t *err)
{
    return st->ops->user_create(st, u, err);
}
/* HS_ENOTFOUND (user_not_found) when no such id. */
static inline int hs_store_user_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_user_t *out,
                                    hs_err_t *err)
{
    return st->ops->user_get(st, id, a, out, err);
}
/* Finds a user by lowercase username or email; HS_ENOTFOUND otherwise. */
static inline int hs_store_user_find_login(hs_store_t *st, const char *login, hs_arena_t *a,
                                           hs_user_t *out, hs_err_t *err)
{
    return st->ops->user_find_login(st, login, a, out, err);
}
/* Writes display_name, bio, avatar_file_id, settings and updated_at of u. */
static inline int hs_store_user_update_profile(hs_store_t *st, const hs_user_t *u, hs_err_t *err)
{
    return st->ops->user_update_profile(st, u, err);
}
static inline int hs_store_user_set_password(hs_store_t *st, const char *id, const char *hash,
                                             int64_t now, hs_err_t *err)
{
    return st->ops->user_set_password(st, id, hash, now, err);
}
/* Sets the account role ("admin" or "user"); HS_ENOTFOUND when no such id. */
static inline int hs_store_user_set_role(hs_store_t *st, const char *id, const char *role,
                                         int64_t now, hs_err_t *err)
{
    return st->ops->user_set_role(st, id, role, now, err);
}
static inline int hs_store_user_set_disabled(hs_store_t *st, const char *id, int disabled,
                                             int64_t now, hs_err_t *err)
{
    return st->ops->user_set_disabled(st, id, disabled, now, err);
}
/* Enabled users whose username or display name starts with prefix (ASCII
 * case-insensitive), ordered by username, after the cursor `after`. */
static inline int hs_store_user_search(hs_store_t *st, const char *prefix, const char *after,
                                       int limit, hs_arena_t *a, hs_user_page_t *out, hs_err_t *err)
{
    return st->ops->user_search(st, prefix, after, limit, a, out, err);
}
/* Makes follower follow (on=1) or stop following (on=0) followee; idempotent. */
static inline int hs_store_follow_set(hs_store_t *st, const char *follower, const char *followee,
                                      int on, int64_t now, hs_err_t *err)
{
    return st->ops->follow_set(st, follower, followee, on, now, err);
}
static inline int hs_store_follow_state(hs_store_t *st, const char *follower, const char *followee,
                                        int *on, hs_err_t *err)
{
    return st->ops->follow_state(st, follower, followee, on, err);
}
static inline int hs_store_follow_counts(hs_store_t *st, const char *id, long *followers,
                                         long *following, hs_err_t *err)
{
    return st->ops->follow_counts(st, id, followers, following, err);
}
/* The followers (followers=1) of id or the users id follows (followers=0),
 * newest follow first, before the cursor `before`. */
static inline int hs_store_follow_page(hs_store_t *st, const char *id, int followers,
                                       const char *before, int limit, hs_arena_t *a,
                                       hs_user_page_t *out, hs_err_t *err)
{
    return st->ops->follow_page(st, id, followers, before, limit, a, out, err);
}
/* Creates session s with its first refresh token (stored only as a hash). */
static inline int hs_store_session_create(hs_store_t *st, const hs_session_t *s,
                                          const char *refresh_hash, int64_t refresh_expires,
                                          hs_err_t *err)
{
    return st->ops->session_create(st, s, refresh_hash, refresh_expires, err);
}
/* HS_ENOTFOUND (session_not_found) when no such session. */
static inline int hs_store_session_get(hs_store_t *st, const char *id, hs_arena_t *a,
                                       hs_session_t *out, hs_err_t *err)
{
    return st->ops->session_get(st, id, a, out, err);
}
/* One page of the user's active sessions, most recently used first, after
 * cursor (NULL: from the start); HS_EINVAL invalid_cursor for a bad one. */
static inline int hs_store_session_list(hs_store_t *st, const char *user_id, const char *cursor,
                                        int limit, hs_arena_t *a, hs_session_page_t *out,
                                        hs_err_t *err)
{
    return st->ops->session_list(st, user_id, cursor, limit, a, out, err);
}
/* Every session revoked at or after since (ms), whoever's: what a cold
 * revocation cache must learn again. */
static inline int hs_store_session_revoked_since(hs_store_t *st, int64_t since, hs_arena_t *a,
                                                 hs_session_t **out, size_t *n, hs_err_t *err)
{
    return st->ops->session_revoked_since(st, since, a, out, n, err);
}
/* Revokes one active session of user_id; HS_ENOTFOUND if it is not theirs. */
static inline int hs_store_session_revoke(hs_store_t *st, const char *id, const char *user_id,
                                          int64_t now, hs_err_t *err)
{
    return st->ops->session_revoke(st, id, user_id, now, err);
}
/* Revokes every active session of user_id except keep_id (NULL: all) and
 * returns the revoked ids (arena-allocated). */
static inline int hs_store_session_revoke_others(hs_store_t *st, const char *user_id,
                                                 const char *keep_id, int64_t now, hs_arena_t *a,
                                                 char ***ids, size_t *n, hs_err_t *err)
{
    return st->ops->session_revoke_others(st, user_id, keep_id, now, a, ids, n, err);
}
/* Atomically exchanges a refresh token for the next one. Unknown, expired or
 * revoked: HS_EAUTH. A token presented a second time: the whole session is
 * revoked, out->id names it, and HS_EAUTH with code refresh_token_reused. */
static inline int hs_store_refresh_rotate(hs_store_t *st, const char *old_hash,
                                          const char *new_hash, int64_t new_expires, int64_t now,
                                          const char *user_agent, const char *ip, hs_arena_t *a,
                                          hs_session_t *out, hs_err_t *err)
{
    return st->ops->refresh_rotate(st, old_hash, new_hash, new_expires, now, user_agent, ip, a, out,
                                   err);
}

/* Records a new upload (its blob is made by the caller). With quota > 0,
 * the owner's files and open uploads plus this one must fit in quota bytes,
 * checked and recorded atomically (HS_ENOSPACE quota_exceeded otherwise). */
static inline int hs_store_upload_create(hs_store_t *st, const hs_upload_t *u, int64_t quota,
                                         hs_err_t *err)
{
    return st->ops->upload_create(st, u, quota, err);
}
/* HS_ENOTFOUND (upload_not_found) when no such open upload. */
static inline int hs_store_upload_get(hs_store_t *st, const char *id, hs_arena_t *a,
                                      hs_upload_t *out, hs_err_t *err)
{
    return st->ops->upload_get(st, id, a, out, err);
}
/* Whether chunk n was received, and its sha256 hex when it was;
 * HS_ENOTFOUND (upload_not_found) once the upload is completed or gone. */
static inline int hs_store_chunk_get(hs_store_t *st, const char *upload_id, int64_t n,
                                     char sha256[65], int *found, hs_err_t *err)
{
    return st->ops->chunk_get(st, upload_id, n, sha256, found, err);
}
/* Counts chunk n as received; HS_ECONFLICT if it already was. */
static inline int hs_store_chunk_add(hs_store_t *st, const char *upload_id, int64_t n, int64_t size,
                                     const char *sha256, hs_err_t *err)
{
    return st->ops->chunk_add(st, upload_id, n, size, sha256, err);
}
/* The received chunk numbers, ascending. */
static inline int hs_store_chunk_list(hs_store_t *st, const char *upload_id, hs_arena_t *a,
                                      int64_t **ns, size_t *count, hs_err_t *err)
{
    return st->ops->chunk_list(st, upload_id, a, ns, count, err);
}
/* tus: moves the offset from `from` to `to` (and marks the upload complete
 * when `to` is its size); HS_ECONFLICT (offset_mismatch) if it was not at from. */
static inline int hs_store_upload_advance(hs_store_t *st, const char *id, int64_t from, int64_t to,
                                          int64_t now, hs_err_t *err)
{
    return st->ops->upload_advance(st, id, from, to, now, err);
}
/* Atomically records file f and removes the upload it came from. */
static inline int hs_store_upload_finish(hs_store_t *st, const char *upload_id, const hs_file_t *f,
                                         hs_err_t *err)
{
    return st->ops->upload_finish(st, upload_id, f, err);
}
static inline int hs_store_upload_delete(hs_store_t *st, const char *id, hs_err_t *err)
{
    return st->ops->upload_delete(st, id, err);
}
/* Ids of unfinished uploads whose expiry is past (at most limit). */
static inline int hs_store_upload_expired(hs_store_t *st, int64_t now, int limit, hs_arena_t *a,
                                          char ***ids, size_t *n, hs_err_t *err)
{
    return st->ops->upload_expired(st, now, limit, a, ids, n, err);
}
/* Bytes of the owner's files plus the declared sizes of their open uploads. */
static inline int hs_store_storage_used(hs_store_t *st, const char *owner_id, int64_t *bytes,
                                        hs_err_t *err)
{
    return st->ops->storage_used(st, owner_id, bytes, err);
}
/* HS_ENOTFOUND (file_not_found) when no such file. */
static inline int hs_store_file_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_file_t *out,
                                    hs_err_t *err)
{
    return st->ops->file_get(st, id, a, out, err);
}
/* The owner's files that have not expired at now, newest first, before the
 * cursor `before`. */
static inline int hs_store_file_page(hs_store_t *st, const char *owner_id, const char *before,
                                     int limit, int64_t now, hs_arena_t *a, hs_file_page_t *out,
                                     hs_err_t *err)
{
    return st->ops->file_page(st, owner_id, before, limit, now, a, out, err);
}
static inline int hs_store_file_delete(hs_store_t *st, const char *id, hs_err_t *err)
{
    return st->ops->file_delete(st, id, err);
}
/* Ids of files whose expiry is past (at most limit). */
static inline int hs_store_file_expired(hs_store_t *st, int64_t now, int limit, hs_arena_t *a,
                                        char ***ids, size_t *n, hs_err_t *err)
{
    return st->ops->file_expired(st, now, limit, a, ids, n, err);
}
static inline int hs_store_link_create(hs_store_t *st, const hs_link_t *l, const char *token_hash,
                                       hs_err_t *err)
{
    return st->ops->link_create(st, l, token_hash, err);
}
/* The link whose token hashes to token_hash; HS_ENOTFOUND (link_not_found). */
static inline int hs_store_link_get(hs_store_t *st, const char *token_hash, hs_arena_t *a,
                                    hs_link_t *out, hs_err_t *err)
{
    return st->ops->link_get(st, token_hash, a, out, err);
}
/* Counts one download if the link is live and has downloads left, in one
 * atomic step; HS_EGONE (link_expired / link_exhausted) or HS_ENOTFOUND. */
static inline int hs_store_link_take(hs_store_t *st, const char *id, int64_t now, hs_err_t *err)
{
    return st->ops->link_take(st, id, now, err);
}
/* The live links of a file. */
static inline int hs_store_link_list(hs_store_t *st, const char *file_id, hs_arena_t *a,
                                     hs_link_t **out, size_t *n, hs_err_t *err)
{
    return st->ops->link_list(st, file_id, a, out, n, err);
}
/* Revokes link id of file_id; HS_ENOTFOUND if it is not that file's. */
static inline int hs_store_link_revoke(hs_store_t *st, const char *id, const char *file_id,
                                       int64_t now, hs_err_t *err)
{
    return st->ops->link_revoke(st, id, file_id, now, err);
}
/* 1 in *yes when file_id was attached in a chat user_id belongs to. */
static inline int hs_store_file_shared_with(hs_store_t *st, const char *file_id,
                                            const char *user_id, int *yes, hs_err_t *err)
{
    return st->ops->file_shared_with(st, file_id, user_id, yes, err);
}
/* Creates chat c with its members (members[0] is the owner for groups and
 * channels; direct chats have two plain members). direct_key (direct chats
 * only, else NULL) is unique: HS_ECONFLICT (direct_exists) if taken. */
static inline int hs_store_chat_create(hs_store_t *st, const hs_chat_t *c, const char *direct_key,
                                       const char **members, size_t n, hs_err_t *err)
{
    return st->ops->chat_create(st, c, direct_key, members, n, err);
}
/* The id of the direct chat with direct_key; HS_ENOTFOUND if none. */
static inline int hs_store_chat_find_direct(hs_store_t *st, const char *direct_key,
                                            char id[HS_ID_LEN + 1], hs_err_t *err)
{
    return st->ops->chat_find_direct(st, direct_key, id, err);
}
/* The chat with the viewer's membership (my_role NULL if not a member);
 * full also counts the viewer's unread messages and loads the last
 * message preview. HS_ENOTFOUND (chat_not_found). */
static inline int hs_store_chat_get(hs_store_t *st, const char *id, const char *viewer, int full,
                                    hs_arena_t *a, hs_chat_t *out, hs_err_t *err)
{
    return st->ops->chat_get(st, id, viewer, full, a, out, err);
}
/* Writes name, description, avatar_file_id, is_public and updated_at. */
static inline int hs_store_chat_update(hs_store_t *st, const hs_chat_t *c, hs_err_t *err)
{
    return st->ops->chat_update(st, c, err);
}
/* Deletes the chat with its members, messages and reactions. */
static inline int hs_store_chat_delete(hs_store_t *st, const char *id, hs_err_t *err)
{
    return st->ops->chat_delete(st, id, err);
}
/* The user's chats, most recent activity first, after the cursor. */
static inline int hs_store_chat_page(hs_store_t *st, const char *user_id, const char *before,
                                     int limit, hs_arena_t *a, hs_chat_page_t *out, hs_err_t *err)
{
    return st->ops->chat_page(st, user_id, before, limit, a, out, err);
}
/* Adds a member unless the chat already has limit members (HS_ECONFLICT
 * member_limit) or the user is one (HS_ECONFLICT already_member). */
static inline int hs_store_member_add(hs_store_t *st, const char *chat_id, const char *user_id,
                                      const char *role, int64_t now, int64_t limit, hs_err_t *err)
{
    return st->ops->member_add(st, chat_id, user_id, role, now, limit, err);
}
/* HS_ENOTFOUND (member_not_found) if user_id is not a member. */
static inline int hs_store_member_remove(hs_store_t *st, const char *chat_id, const char *user_id,
                                         hs_err_t *err)
{
    return st->ops->member_remove(st, chat_id, user_id, err);
}
/* Sets a member's role (NULL: unchanged) and muted flag (-1: unchanged). */
static inline int hs_store_member_set(hs_store_t *st, const char *chat_id, const char *user_id,
                                      const char *role, int muted, hs_err_t *err)
{
    return st->ops->member_set(st, chat_id, user_id, role, muted, err);
}
/* Members ordered by user id, after the cursor `after`. */
static inline int hs_store_member_page(hs_store_t *st, const char *chat_id, const char *after,
                                       int limit, hs_arena_t *a, hs_member_page_t *out,
                                       hs_err_t *err)
{
    return st->ops->member_page(st, chat_id, after, limit, a, out, err);
}
/* Removes user_id; if they owned the chat, the longest-standing admin (else
 * member) becomes owner (new_owner, else ""). The last member leaving
 * deletes the chat (*deleted = 1). */
static inline int hs_store_chat_leave(hs_store_t *st, const char *chat_id, const char *user_id,
                                      char new_owner[HS_ID_LEN + 1], int *deleted, hs_err_t *err)
{
    return st->ops->chat_leave(st, chat_id, user_id, new_owner, deleted, err);
}
/* Moves the user's read marker forward to message_id (never back). */
static inline int hs_store_read_mark(hs_store_t *st, const char *chat_id, const char *user_id,
                                     const char *message_id, int *moved, hs_err_t *err)
{
    return st->ops->read_mark(st, chat_id, user_id, message_id, moved, err);
}
/* Stores m (id, chat, sender, content, reply_to, client_id set by the
 * caller; the store may raise the id and sets created_at so both follow
 * commit order), its attachments (granting the chat access to the files),
 * the chat's activity and the sender's read marker, in one transaction. A client_id the sender used
 * before returns that message in m instead (*existed = 1). */
static inline int hs_store_message_create(hs_store_t *st, hs_message_t *m, const char **file_ids,
                                          size_t nfiles, int *existed, hs_err_t *err)
{
    return st->ops->message_create(st, m, file_ids, nfiles, existed, err);
}
/* One message as viewer sees it (HS_ENOTFOUND); full also fills the
 * extras (attachments, reactions, delivery state: three more queries). */
static inline int hs_store_message_get(hs_store_t *st, const char *id, const char *viewer, int full,
                                       hs_arena_t *a, hs_message_t *out, hs_err_t *err)
{
    return st->ops->message_get(st, id, viewer, full, a, out, err);
}
/* A page of a chat's messages, newest first: before (older than) or after
 * (newer than) a message id, or the newest. Extras are filled. */
static inline int hs_store_message_page(hs_store_t *st, const char *chat_id, const char *viewer,
                                        const char *before, const char *after, int limit,
                                        hs_arena_t *a, hs_message_page_t *out, hs_err_t *err)
{
    return st->ops->message_page(st, chat_id, viewer, before, after, limit, a, out, err);
}
static inline int hs_store_message_edit(hs_store_t *st, const char *id, const char *content,
                                        int64_t now, hs_err_t *err)
{
    return st->ops->message_edit(st, id, content, now, err);
}
/* Leaves a tombstone: content emptied, deleted_at set, reactions dropped. */
static inline int hs_store_message_delete(hs_store_t *st, const char *id, int64_t now,
                                          hs_err_t *err)
{
    return st->ops->message_delete(st, id, now, err);
}
/* Adds the user's emoji reaction, or removes it if present (*on tells). */
static inline int hs_store_reaction_toggle(hs_store_t *st, const char *message_id,
                                           const char *user_id, const char *emoji, int64_t now,
                                           int *on, hs_err_t *err)
{
    return st->ops->reaction_toggle(st, message_id, user_id, emoji, now, on, err);
}
/* Full-text search over the chats user_id belongs to (or one of them),
 * best match first; the cursor is opaque. */
static inline int hs_store_message_search(hs_store_t *st, const char *user_id, const char *chat_id,
                                          const char *query, const char *after, int limit,
                                          hs_arena_t *a, hs_message_page_t *out, hs_err_t *err)
{
    return st->ops->message_search(st, user_id, chat_id, query, after, limit, a, out, err);
}
/* The members other than the sender whose read marker reached message_id. */
static inline int hs_store_receipts(hs_store_t *st, const char *chat_id, const char *message_id,
                                    const char *sender_id, hs_arena_t *a, hs_member_t **out,
                                    size_t *n, hs_err_t *err)
{
    return st->ops->receipts(st, chat_id, message_id, sender_id, a, out, n, err);
}
/* P2P transfers. */
static inline int hs_store_transfer_create(hs_store_t *st, const hs_transfer_t *t, hs_err_t *err)
{
    return st->ops->transfer_create(st, t, err);
}
/* HS_ENOTFOUND transfer_not_found when there is no such transfer. */
static inline int hs_store_transfer_get(hs_store_t *st, const char *id, hs_arena_t *a,
                                        hs_transfer_t *out, hs_err_t *err)
{
    return st->ops->transfer_get(st, id, a, out, err);
}
/* Writes t's state, reason, bytes, relay file, received hash and times if
 * its stored state is one of from_states (",pending,accepted,"): a compare
 * and set; *moved is 0 when another change came first. */
static inline int hs_store_transfer_update(hs_store_t *st, const hs_transfer_t *t,
                                           const char *from_states, int *moved, hs_err_t *err)
{
    return st->ops->transfer_update(st, t, from_states, moved, err);
}
/* user_id's transfers, as sender or recipient, newest first; state NULL: all. */
static inline int hs_store_transfer_page(hs_store_t *st, const char *user_id, const char *state,
                                         const char *before, int limit, hs_arena_t *a,
                                         hs_transfer_page_t *out, hs_err_t *err)
{
    return st->ops->transfer_page(st, user_id, state, before, limit, a, out, err);
}
/* Ids of pending offers that expired before pending_before and of live
 * transfers untouched since live_before. */
static inline int hs_store_transfer_stale(hs_store_t *st, int64_t pending_before,
                                          int64_t live_before, int limit, hs_arena_t *a,
                                          char ***ids, size_t *n, hs_err_t *err)
{
    return st->ops->transfer_stale(st, pending_before, live_before, limit, a, ids, n, err);
}
/* blocker stops (on) or allows again (off) offers from blocked. */
static inline int hs_store_p2p_block_set(hs_store_t *st, const char *blocker, const char *blocked,
                                         int on, int64_t now, hs_err_t *err)
{
    return st->ops->p2p_block_set(st, blocker, blocked, on, now, err);
}
static inline int hs_store_p2p_blocked(hs_store_t *st, const char *blocker, const char *blocked,
                                       int *yes, hs_err_t *err)
{
    return st->ops->p2p_blocked(st, blocker, blocked, yes, err);
}
static inline int hs_store_p2p_block_list(hs_store_t *st, const char *blocker, hs_arena_t *a,
                                          char ***ids, size_t *n, hs_err_t *err)
{
    return st->ops->p2p_block_list(st, blocker, a, ids, n, err);
}
/* Makes owner's file the relay copy of transfer_id (hidden from the owner's
 * list); HS_ENOTFOUND when it is not theirs or bound already. */
static inline int hs_store_file_bind_transfer(hs_store_t *st, const char *file_id,
                                              const char *owner_id, const char *transfer_id,
                                              hs_err_t *err)
{
    return st->ops->file_bind_transfer(st, file_id, owner_id, transfer_id, err);
}

/* Every chat user_id is a member of (ids and kinds only), in id order. */
static inline int hs_store_member_chats(hs_store_t *st, const char *user_id, hs_arena_t *a,
                                        hs_chat_ref_t **out, size_t *n, hs_err_t *err)
{
    return st->ops->member_chats(st, user_id, a, out, n, err);
}

#endif

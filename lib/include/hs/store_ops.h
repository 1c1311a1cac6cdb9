/* The store interface, written once: every operation of the metadata store
 * is one X(name, params, args, contract) entry below, grouped by domain.
 * From this list follow the hs_store_ops_t vtable and the hs_store_<name>()
 * wrappers (hs/store.h), each backend's prototypes and vtable initializer
 * (lib/store/sqlite/sqlite.h and sqlite.c), and the coverage check of the
 * contract tests (tests/unit/test_store.c, the tests in tests/unit/store/).
 * To add an operation, add its entry here, implement hs__<backend>_<name> in
 * every backend and test its contract: the build and the unit run fail
 * until all three are done.
 *
 * An entry:
 *   name      the operation; the wrapper is hs_store_<name>
 *   params    its full parameter list, st first and err last
 *   args      the same names, as the wrapper passes them on
 *   contract  what every backend guarantees, in one sentence
 *
 * What every operation guarantees besides its own line: it returns 0 or a
 * negative HS_E* code with err filled (err may be NULL); a backend failure
 * is HS_EUNAVAIL (busy, 503) or HS_EINTERNAL; outputs are written only on
 * success and every string or array they hold lives in the arena `a` passed
 * in; ids are 24-hex ObjectIds, times UTC milliseconds; a page holds at most
 * `limit` items and its next_cursor is NULL on the last page; an operation
 * named "atomically" is all or nothing. */
#ifndef HS_STORE_OPS_H
#define HS_STORE_OPS_H

/* clang-format off */
/* The store itself. */
#define HS_STORE_OPS_HEALTH(X)                                                                     \
    X(ping, (hs_store_t *st, hs_err_t *err),                                                       \
      (st, err),                                                                                   \
      "0 when the store answers a trivial query; HS_EUNAVAIL when it cannot.")

/* Accounts. */
#define HS_STORE_OPS_USERS(X)                                                                      \
    X(user_create, (hs_store_t *st, hs_user_t *u, hs_err_t *err),                                  \
      (st, u, err),                                                                                \
      "Inserts u (ids, names, hash, times set by the caller) and sets u->role to \"admin\" "       \
      "only when asked, else \"user\"; HS_ECONFLICT username_taken / email_taken.")                \
    X(user_get, (hs_store_t *st, const char *id, hs_arena_t *a, hs_user_t *out, hs_err_t *err),    \
      (st, id, a, out, err),                                                                       \
      "The user with id; HS_ENOTFOUND user_not_found.")                                            \
    X(user_find_login, (hs_store_t *st, const char *login, hs_arena_t *a, hs_user_t *out,          \
       hs_err_t *err),                                                                             \
      (st, login, a, out, err),                                                                    \
      "The user whose lowercase username or email is login; HS_ENOTFOUND user_not_found.")         \
    X(user_update_profile, (hs_store_t *st, const hs_user_t *u, hs_err_t *err),                    \
      (st, u, err),                                                                                \
      "Writes u's display_name, bio, avatar_file_id, settings and updated_at; HS_ENOTFOUND "       \
      "user_not_found.")                                                                           \
    X(user_set_password, (hs_store_t *st, const char *id, const char *hash, int64_t now,           \
       hs_err_t *err),                                                                             \
      (st, id, hash, now, err),                                                                    \
      "Replaces the password hash; HS_ENOTFOUND user_not_found.")                                  \
    X(user_set_role, (hs_store_t *st, const char *id, const char *role, int64_t now,               \
       hs_err_t *err),                                                                             \
      (st, id, role, now, err),                                                                    \
      "Sets the account role (\"admin\" or \"user\"); HS_ENOTFOUND user_not_found.")               \
    X(user_set_disabled, (hs_store_t *st, const char *id, int disabled, int64_t now,               \
       hs_err_t *err),                                                                             \
      (st, id, disabled, now, err),                                                                \
      "Disables (1) or enables (0) the account; HS_ENOTFOUND user_not_found.")                     \
    X(user_search, (hs_store_t *st, const char *prefix, const char *after, int limit,              \
       hs_arena_t *a, hs_user_page_t *out, hs_err_t *err),                                         \
      (st, prefix, after, limit, a, out, err),                                                     \
      "Enabled users whose username or display name starts with prefix (ASCII "                    \
      "case-insensitive), by username, after the cursor `after`.")

/* Who follows whom. */
#define HS_STORE_OPS_FOLLOWS(X)                                                                    \
    X(follow_set, (hs_store_t *st, const char *follower, const char *followee, int on,             \
       int64_t now, hs_err_t *err),                                                                \
      (st, follower, followee, on, now, err),                                                      \
      "follower follows (on=1) or stops following (on=0) followee; idempotent.")                   \
    X(follow_state, (hs_store_t *st, const char *follower, const char *followee, int *on,          \
       hs_err_t *err),                                                                             \
      (st, follower, followee, on, err),                                                           \
      "*on = 1 when follower follows followee, else 0.")                                           \
    X(follow_counts, (hs_store_t *st, const char *id, long *followers, long *following,            \
       hs_err_t *err),                                                                             \
      (st, id, followers, following, err),                                                         \
      "How many follow id (*followers) and how many id follows (*following).")                     \
    X(user_with_counts, (hs_store_t *st, const char *id, hs_arena_t *a, hs_user_t *out,            \
       long *followers, long *following, hs_err_t *err),                                           \
      (st, id, a, out, followers, following, err),                                                 \
      "user_get and follow_counts of id in one read; user_not_found when there is no such user.")  \
    X(follow_page, (hs_store_t *st, const char *id, int followers, const char *before, int limit,  \
       hs_arena_t *a, hs_user_page_t *out, hs_err_t *err),                                         \
      (st, id, followers, before, limit, a, out, err),                                             \
      "id's followers (followers=1) or followees (0), newest follow first, before the cursor "     \
      "`before`.")

/* Sessions and their refresh tokens. */
#define HS_STORE_OPS_SESSIONS(X)                                                                   \
    X(session_create, (hs_store_t *st, const hs_session_t *s, const char *refresh_hash,            \
       int64_t refresh_expires, hs_err_t *err),                                                    \
      (st, s, refresh_hash, refresh_expires, err),                                                 \
      "Inserts session s with its first refresh token, stored only as its hash.")                  \
    X(session_get, (hs_store_t *st, const char *id, hs_arena_t *a, hs_session_t *out,              \
       hs_err_t *err),                                                                             \
      (st, id, a, out, err),                                                                       \
      "The session with id, revoked or not; HS_ENOTFOUND session_not_found.")                      \
    X(session_active, (hs_store_t *st, const char *id, const char *user_id, hs_err_t *err),        \
      (st, id, user_id, err),                                                                      \
      "0 when session id exists, belongs to user_id, is not revoked and its user is not "          \
      "disabled, in one read; HS_ENOTFOUND session_not_found otherwise.")                          \
    X(session_list, (hs_store_t *st, const char *user_id, const char *cursor, int limit,           \
       hs_arena_t *a, hs_session_page_t *out, hs_err_t *err),                                      \
      (st, user_id, cursor, limit, a, out, err),                                                   \
      "The user's active sessions, most recently used first, after cursor (NULL: the start); "     \
      "HS_EINVAL invalid_cursor.")                                                                 \
    X(session_revoked_since, (hs_store_t *st, int64_t since, hs_arena_t *a, hs_session_t **out,    \
       size_t *n, hs_err_t *err),                                                                  \
      (st, since, a, out, n, err),                                                                 \
      "Every session revoked at or after since, whoever's: what a cold revocation cache must "     \
      "learn again.")                                                                              \
    X(session_revoke, (hs_store_t *st, const char *id, const char *user_id, int64_t now,           \
       hs_err_t *err),                                                                             \
      (st, id, user_id, now, err),                                                                 \
      "Revokes one active session of user_id; HS_ENOTFOUND session_not_found if it is not "        \
      "theirs or not active.")                                                                     \
    X(session_revoke_others, (hs_store_t *st, const char *user_id, const char *keep_id,            \
       int64_t now, hs_arena_t *a, char ***ids, size_t *n, hs_err_t *err),                         \
      (st, user_id, keep_id, now, a, ids, n, err),                                                 \
      "Revokes every active session of user_id but keep_id (NULL: all); *ids are those "           \
      "revoked.")                                                                                  \
    X(refresh_rotate, (hs_store_t *st, const char *old_hash, const char *new_hash,                 \
       int64_t new_expires, int64_t now, const char *user_agent, const char *ip, hs_arena_t *a,    \
       hs_session_t *out, hs_err_t *err),                                                          \
      (st, old_hash, new_hash, new_expires, now, user_agent, ip, a, out, err),                     \
      "Atomically exchanges a refresh token for the next; HS_EAUTH if unknown, expired or "        \
      "revoked; a reused token revokes the session (refresh_token_reused).")

/* Uploads in progress and finished files. */
#define HS_STORE_OPS_FILES(X)                                                                      \
    X(upload_create, (hs_store_t *st, const hs_upload_t *u, int64_t quota, hs_err_t *err),         \
      (st, u, quota, err),                                                                         \
      "Records an upload; with quota > 0 the owner's bytes plus this one must fit, checked and"    \
      " recorded atomically (HS_ENOSPACE quota_exceeded).")                                        \
    X(upload_get, (hs_store_t *st, const char *id, hs_arena_t *a, hs_upload_t *out,                \
       hs_err_t *err),                                                                             \
      (st, id, a, out, err),                                                                       \
      "The open upload with id; HS_ENOTFOUND upload_not_found.")                                   \
    X(chunk_get, (hs_store_t *st, const char *upload_id, int64_t n, char sha256[65], int *found,   \
       hs_err_t *err),                                                                             \
      (st, upload_id, n, sha256, found, err),                                                      \
      "*found = 1 and sha256 filled (\"\" when it was not hashed) when chunk n was received, "   \
      "else 0; HS_ENOTFOUND "              \
      "upload_not_found once the upload is completed or gone (one read: no write after it).") \
    X(chunk_add, (hs_store_t *st, const char *upload_id, int64_t n, int64_t size,                  \
       const char *sha256, hs_err_t *err),                                                         \
      (st, upload_id, n, size, sha256, err),                                                       \
      "Records chunk n as received; HS_ECONFLICT chunk_exists if it was, HS_ENOTFOUND "            \
      "upload_not_found if the upload is gone.")                                                   \
    X(chunk_list, (hs_store_t *st, const char *upload_id, hs_arena_t *a, int64_t **ns,             \
       size_t *count, hs_err_t *err),                                                              \
      (st, upload_id, a, ns, count, err),                                                          \
      "The received chunk numbers of the upload, ascending.")                                      \
    X(upload_advance, (hs_store_t *st, const char *id, int64_t from, int64_t to, int64_t now,      \
       hs_err_t *err),                                                                             \
      (st, id, from, to, now, err),                                                                \
      "tus: moves the offset from `from` to `to` (complete when `to` is the size); "               \
      "HS_ECONFLICT offset_mismatch if it was not at from.")                                       \
    X(upload_finish, (hs_store_t *st, const char *upload_id, const hs_file_t *f, hs_err_t *err),   \
      (st, upload_id, f, err),                                                                     \
      "Atomically records file f and removes upload upload_id; HS_ENOTFOUND upload_not_found.")    \
    X(upload_delete, (hs_store_t *st, const char *id, hs_err_t *err),                              \
      (st, id, err),                                                                               \
      "Removes the upload and its chunks; HS_ENOTFOUND upload_not_found.")                         \
    X(upload_expired, (hs_store_t *st, int64_t now, int limit, hs_arena_t *a, char ***ids,         \
       size_t *n, hs_err_t *err),                                                                  \
      (st, now, limit, a, ids, n, err),                                                            \
      "Ids of open uploads whose expiry is at or before now, at most limit.")                      \
    X(storage_used, (hs_store_t *st, const char *owner_id, int64_t *bytes, hs_err_t *err),         \
      (st, owner_id, bytes, err),                                                                  \
      "Bytes of the owner's files plus the declared sizes of their open uploads.")                 \
    X(file_get, (hs_store_t *st, const char *id, hs_arena_t *a, hs_file_t *out, hs_err_t *err),    \
      (st, id, a, out, err),                                                                       \
      "The file with id; HS_ENOTFOUND file_not_found.")                                            \
    X(file_page, (hs_store_t *st, const char *owner_id, const char *before, int limit,             \
       int64_t now, hs_arena_t *a, hs_file_page_t *out, hs_err_t *err),                            \
      (st, owner_id, before, limit, now, a, out, err),                                             \
      "The owner's files not expired at now (relay copies excluded), newest first, before the "    \
      "cursor `before`.")                                                                          \
    X(file_delete, (hs_store_t *st, const char *id, hs_err_t *err),                                \
      (st, id, err),                                                                               \
      "Removes the file's record; HS_ENOTFOUND file_not_found.")                                   \
    X(file_expired, (hs_store_t *st, int64_t now, int limit, hs_arena_t *a, char ***ids,           \
       size_t *n, hs_err_t *err),                                                                  \
      (st, now, limit, a, ids, n, err),                                                            \
      "Ids of files whose expiry (not 0) is at or before now, at most limit.")                     \
    X(file_shared_with, (hs_store_t *st, const char *file_id, const char *user_id, int *yes,       \
       hs_err_t *err),                                                                             \
      (st, file_id, user_id, yes, err),                                                            \
      "*yes = 1 when file_id is attached in a chat user_id belongs to.")

/* Share links. */
#define HS_STORE_OPS_LINKS(X)                                                                      \
    X(link_create, (hs_store_t *st, const hs_link_t *l, const char *token_hash, hs_err_t *err),    \
      (st, l, token_hash, err),                                                                    \
      "Inserts link l under the hash of its token.")                                               \
    X(link_get, (hs_store_t *st, const char *token_hash, hs_arena_t *a, hs_link_t *out,            \
       hs_err_t *err),                                                                             \
      (st, token_hash, a, out, err),                                                               \
      "The link whose token hashes to token_hash; HS_ENOTFOUND link_not_found.")                   \
    X(link_take, (hs_store_t *st, const char *id, int64_t now, hs_err_t *err),                     \
      (st, id, now, err),                                                                          \
      "Counts one download in one atomic step; HS_EGONE link_expired / link_exhausted, "           \
      "HS_ENOTFOUND if revoked or unknown.")                                                       \
    X(link_list, (hs_store_t *st, const char *file_id, hs_arena_t *a, hs_link_t **out, size_t *n,  \
       hs_err_t *err),                                                                             \
      (st, file_id, a, out, n, err),                                                               \
      "The links of file_id that are not revoked.")                                                \
    X(link_revoke, (hs_store_t *st, const char *id, const char *file_id, int64_t now,              \
       hs_err_t *err),                                                                             \
      (st, id, file_id, now, err),                                                                 \
      "Revokes link id of file_id; HS_ENOTFOUND link_not_found if it is not that file's.")

/* Chats and their members. */
#define HS_STORE_OPS_CHATS(X)                                                                      \
    X(chat_create, (hs_store_t *st, const hs_chat_t *c, const char *direct_key,                    \
       const char **members, size_t n, hs_err_t *err),                                             \
      (st, c, direct_key, members, n, err),                                                        \
      "Atomically creates c and its members (members[0] owns groups and channels); "               \
      "HS_ECONFLICT direct_exists when direct_key is taken.")                                      \
    X(chat_find_direct, (hs_store_t *st, const char *direct_key, char id[HS_ID_LEN + 1],           \
       hs_err_t *err),                                                                             \
      (st, direct_key, id, err),                                                                   \
      "The id of the direct chat with direct_key; HS_ENOTFOUND chat_not_found.")                   \
    X(chat_get, (hs_store_t *st, const char *id, const char *viewer, int full, hs_arena_t *a,      \
       hs_chat_t *out, hs_err_t *err),                                                             \
      (st, id, viewer, full, a, out, err),                                                         \
      "The chat as viewer sees it (my_role NULL if not a member); full adds unread count and "     \
      "last message; HS_ENOTFOUND chat_not_found.")                                                \
    X(chat_update, (hs_store_t *st, const hs_chat_t *c, hs_err_t *err),                            \
      (st, c, err),                                                                                \
      "Writes c's name, description, avatar_file_id, is_public and updated_at; HS_ENOTFOUND "      \
      "chat_not_found.")                                                                           \
    X(chat_delete, (hs_store_t *st, const char *id, hs_err_t *err),                                \
      (st, id, err),                                                                               \
      "Deletes the chat with its members, messages and reactions; HS_ENOTFOUND chat_not_found.")   \
    X(chat_page, (hs_store_t *st, const char *user_id, const char *before, int limit,              \
       hs_arena_t *a, hs_chat_page_t *out, hs_err_t *err),                                         \
      (st, user_id, before, limit, a, out, err),                                                   \
      "The user's chats, most recent activity first, before the cursor `before`.")                 \
    X(chat_leave, (hs_store_t *st, const char *chat_id, const char *user_id,                       \
       char new_owner[HS_ID_LEN + 1], int *deleted, hs_err_t *err),                                \
      (st, chat_id, user_id, new_owner, deleted, err),                                             \
      "Atomically removes user_id, passes ownership on (new_owner, else \"\") and deletes the "    \
      "chat when empty (*deleted); HS_ENOTFOUND member_not_found.")                                \
    X(member_add, (hs_store_t *st, const char *chat_id, const char *user_id, const char *role,     \
       int64_t now, int64_t limit, hs_err_t *err),                                                 \
      (st, chat_id, user_id, role, now, limit, err),                                               \
      "Atomically adds a member; HS_ECONFLICT member_limit at limit members, already_member; "     \
      "HS_ENOTFOUND chat_not_found.")                                                              \
    X(member_remove, (hs_store_t *st, const char *chat_id, const char *user_id, hs_err_t *err),    \
      (st, chat_id, user_id, err),                                                                 \
      "Removes a member and updates the count; HS_ENOTFOUND member_not_found.")                    \
    X(member_set, (hs_store_t *st, const char *chat_id, const char *user_id, const char *role,     \
       int muted, hs_err_t *err),                                                                  \
      (st, chat_id, user_id, role, muted, err),                                                    \
      "Sets a member's role (NULL: unchanged) and muted flag (-1: unchanged); HS_ENOTFOUND "       \
      "member_not_found.")                                                                         \
    X(member_page, (hs_store_t *st, const char *chat_id, const char *after, int limit,             \
       hs_arena_t *a, hs_member_page_t *out, hs_err_t *err),                                       \
      (st, chat_id, after, limit, a, out, err),                                                    \
      "The chat's members ordered by user id, after the cursor `after`.")                          \
    X(member_chats, (hs_store_t *st, const char *user_id, hs_arena_t *a, hs_chat_ref_t **out,      \
       size_t *n, hs_err_t *err),                                                                  \
      (st, user_id, a, out, n, err),                                                               \
      "Every chat user_id is a member of (id, kind, member count), in id order.")                  \
    X(read_mark, (hs_store_t *st, const char *chat_id, const char *user_id,                        \
       const char *message_id, int *moved, hs_err_t *err),                                         \
      (st, chat_id, user_id, message_id, moved, err),                                              \
      "Moves the user's read marker forward to message_id, never back (*moved says whether it "    \
      "moved).")

/* Messages, reactions, receipts and search. */
#define HS_STORE_OPS_MESSAGES(X)                                                                   \
    X(message_create, (hs_store_t *st, hs_message_t *m, const char **file_ids, size_t nfiles,      \
       int *existed, hs_err_t *err),                                                               \
      (st, m, file_ids, nfiles, existed, err),                                                     \
      "Atomically stores m (id raised to commit order, created_at set), attachments and chat "     \
      "activity; a client_id the sender reuses returns the first (*existed = 1).")                 \
    X(message_get, (hs_store_t *st, const char *id, const char *viewer, int full, hs_arena_t *a,   \
       hs_message_t *out, hs_err_t *err),                                                          \
      (st, id, viewer, full, a, out, err),                                                         \
      "One message as viewer sees it; full adds attachments, reactions and state; HS_ENOTFOUND"    \
      " message_not_found.")                                                                       \
    X(message_page, (hs_store_t *st, const char *chat_id, const char *viewer, const char *before,  \
       const char *after, int limit, hs_arena_t *a, hs_message_page_t *out, hs_err_t *err),        \
      (st, chat_id, viewer, before, after, limit, a, out, err),                                    \
      "A chat's messages, newest first: older than before, newer than after, or the newest; "      \
      "extras filled.")                                                                            \
    X(message_edit, (hs_store_t *st, const char *id, const char *content, int64_t now,             \
       hs_err_t *err),                                                                             \
      (st, id, content, now, err),                                                                 \
      "Replaces the content and sets edited_at; HS_ENOTFOUND message_not_found if unknown or "     \
      "deleted.")                                                                                  \
    X(message_delete, (hs_store_t *st, const char *id, int64_t now, hs_err_t *err),                \
      (st, id, now, err),                                                                          \
      "Atomically leaves a tombstone (content \"\", deleted_at) and drops reactions and "          \
      "attachments; HS_ENOTFOUND message_not_found.")                                              \
    X(reaction_toggle, (hs_store_t *st, const char *message_id, const char *user_id,               \
       const char *emoji, int64_t now, int *on, hs_err_t *err),                                    \
      (st, message_id, user_id, emoji, now, on, err),                                              \
      "Adds user_id's emoji reaction, or removes it if present; *on tells which.")                 \
    X(receipts, (hs_store_t *st, const char *chat_id, const char *message_id,                      \
       const char *sender_id, hs_arena_t *a, hs_member_t **out, size_t *n, hs_err_t *err),         \
      (st, chat_id, message_id, sender_id, a, out, n, err),                                        \
      "The members other than sender_id whose read marker reached message_id, by user id.")        \
    X(message_search, (hs_store_t *st, const char *user_id, const char *chat_id,                   \
       const char *query, const char *after, int limit, hs_arena_t *a, hs_message_page_t *out,     \
       hs_err_t *err),                                                                             \
      (st, user_id, chat_id, query, after, limit, a, out, err),                                    \
      "Full-text search over user_id's chats (or chat_id), newest first; HS_EINVAL "               \
      "invalid_cursor for a cursor not in those chats.")

/* Peer-to-peer transfers and blocks. */
#define HS_STORE_OPS_P2P(X)                                                                        \
    X(transfer_create, (hs_store_t *st, const hs_transfer_t *t, hs_err_t *err),                    \
      (st, t, err),                                                                                \
      "Inserts transfer t.")                                                                       \
    X(transfer_get, (hs_store_t *st, const char *id, hs_arena_t *a, hs_transfer_t *out,            \
       hs_err_t *err),                                                                             \
      (st, id, a, out, err),                                                                       \
      "The transfer with id; HS_ENOTFOUND transfer_not_found.")                                    \
    X(transfer_update, (hs_store_t *st, const hs_transfer_t *t, const char *from_states,           \
       int *moved, hs_err_t *err),                                                                 \
      (st, t, from_states, moved, err),                                                            \
      "Compare and set: writes t if its stored state is in from_states "                           \
      "(\",pending,accepted,\"); *moved = 0 when it was not.")                                     \
    X(transfer_page, (hs_store_t *st, const char *user_id, const char *state, const char *before,  \
       int limit, hs_arena_t *a, hs_transfer_page_t *out, hs_err_t *err),                          \
      (st, user_id, state, before, limit, a, out, err),                                            \
      "user_id's transfers as sender or recipient, newest first; state NULL: all.")                \
    X(transfer_stale, (hs_store_t *st, int64_t pending_before, int64_t live_before, int limit,     \
       hs_arena_t *a, char ***ids, size_t *n, hs_err_t *err),                                      \
      (st, pending_before, live_before, limit, a, ids, n, err),                                    \
      "Ids of pending offers expired before pending_before and live transfers untouched since "    \
      "live_before.")                                                                              \
    X(p2p_block_set, (hs_store_t *st, const char *blocker, const char *blocked, int on,            \
       int64_t now, hs_err_t *err),                                                                \
      (st, blocker, blocked, on, now, err),                                                        \
      "blocker blocks (on=1) or unblocks (on=0) offers from blocked; idempotent.")                 \
    X(p2p_blocked, (hs_store_t *st, const char *blocker, const char *blocked, int *yes,            \
       hs_err_t *err),                                                                             \
      (st, blocker, blocked, yes, err),                                                            \
      "*yes = 1 when blocker blocks blocked (one direction only).")                                \
    X(p2p_block_list, (hs_store_t *st, const char *blocker, hs_arena_t *a, char ***ids, size_t *n, \
       hs_err_t *err),                                                                             \
      (st, blocker, a, ids, n, err),                                                               \
      "The ids blocker blocks, newest first.")                                                     \
    X(file_bind_transfer, (hs_store_t *st, const char *file_id, const char *owner_id,              \
       const char *transfer_id, hs_err_t *err),                                                    \
      (st, file_id, owner_id, transfer_id, err),                                                   \
      "Makes owner_id's file the relay copy of transfer_id, hidden from file_page; "               \
      "HS_ENOTFOUND file_not_found if not theirs or bound.")

/* Event streams and rate limits, when they live in the store (events =
 * store) rather than in Redis. */
#define HS_STORE_OPS_EVENTS(X)                                                                     \
    X(event_append, (hs_store_t *st, const char *key, const char *type, const char *data,         \
       int64_t now, int64_t retention_ms, int64_t *ms, int64_t *seq, hs_err_t *err),               \
      (st, key, type, data, now, retention_ms, ms, seq, err),                                      \
      "Atomically gives the event the next id <ms>-<seq> of one counter over all keys (ms = "      \
      "max(now, last ms), never going back; seq 0 on a new ms), stores it under key and drops "   \
      "every event older than now - retention_ms.")                                                \
    X(event_read, (hs_store_t *st, const char *const *keys, size_t n, int64_t after_ms,           \
       int64_t after_seq, int limit, hs_arena_t *a, hs_event_row_t **out, size_t *nout,            \
       hs_err_t *err),                                                                             \
      (st, keys, n, after_ms, after_seq, limit, a, out, nout, err),                                \
      "The events of keys[0..n) with an id after <after_ms>-<after_seq>, in id order, at most "    \
      "limit.")                                                                                    \
    X(event_last, (hs_store_t *st, int64_t *ms, int64_t *seq, hs_err_t *err),                      \
      (st, ms, seq, err),                                                                          \
      "The newest id given out, also after its event was trimmed; 0-0 before the first.")          \
    X(event_trim, (hs_store_t *st, int64_t before, hs_err_t *err),                                 \
      (st, before, err),                                                                           \
      "Drops every event whose ms is before `before`; ids given out later still grow.")            \
    X(limit_take, (hs_store_t *st, const char *key, int64_t burst, int64_t period_ms, int cost,    \
       int64_t now, int64_t *wait_ms, hs_err_t *err),                                              \
      (st, key, burst, period_ms, cost, now, wait_ms, err),                                        \
      "GCRA on key: *wait_ms = 0 when cost more (0: one, only looked at) fit within burst with "   \
      "one more every period_ms, and then cost is atomically counted; else ms until it fits.")   \
    X(slot_take, (hs_store_t *st, const char *key, const char *holder, int64_t max,                \
       int64_t until, int64_t now, int *taken, hs_err_t *err),                                     \
      (st, key, holder, max, until, now, taken, err),                                              \
      "Atomically drops key's slots that ended before now and, when fewer than max are left, "     \
      "takes one for holder until `until` (*taken = 1); else *taken = 0.")                         \
    X(slot_drop, (hs_store_t *st, const char *key, const char *holder, hs_err_t *err),             \
      (st, key, holder, err),                                                                      \
      "Gives holder's slot of key back; idempotent.")
/* clang-format on */

/* Every operation, domain by domain. */
#define HS_STORE_OPS(X)                                                                            \
    HS_STORE_OPS_HEALTH(X)                                                                         \
    HS_STORE_OPS_USERS(X)                                                                          \
    HS_STORE_OPS_FOLLOWS(X)                                                                        \
    HS_STORE_OPS_SESSIONS(X)                                                                       \
    HS_STORE_OPS_FILES(X)                                                                          \
    HS_STORE_OPS_LINKS(X)                                                                          \
    HS_STORE_OPS_CHATS(X)                                                                          \
    HS_STORE_OPS_MESSAGES(X)                                                                       \
    HS_STORE_OPS_P2P(X)                                                                            \
    HS_STORE_OPS_EVENTS(X)

#endif

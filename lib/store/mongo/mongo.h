/* Internals shared by the files of the MongoDB backend (libmongoc/libbson).
 * Nothing here is visible outside lib/store/mongo/. The design, what is done
 * and what is not: docs/mongo-status.md.
 *
 * Documents: ids are the same 24-hex strings as everywhere (a string _id,
 * not a BSON ObjectId: cursors then compare exactly as in SQLite, and a
 * migration copies them unchanged), times int64 UTC milliseconds, flags
 * int32 0/1, absent or null optional strings read back as NULL.
 *
 * No operation uses a multi-document transaction, and no guarantee rests on
 * a conditional update either: FerretDB 1.24 runs an update as a read and
 * then a whole-document replace by _id, so its filter is not checked again
 * at the write and two concurrent updates of one document can lose one of
 * them (MongoDB applies both atomically). What must hold under concurrent
 * requests is therefore decided by the two writes both servers make atomic:
 * an insert into a unique index (a claim: the first wins, the others get
 * a duplicate key) and a delete (deletedCount is exact). A state that is
 * claimed (a revocation, a used refresh token) lives in a document of its
 * own, so no update of another field can overwrite it. Where an operation
 * writes several documents, its comment gives the order, chosen so that a
 * retry is safe and nobody sees a half-done state. */
#ifndef HS_STORE_MONGO_H
#define HS_STORE_MONGO_H

#include <mongoc/mongoc.h>

#include "hs/store.h"

/* The collections, and the name of each. */
typedef enum {
    HS__MG_USERS,
    HS__MG_FOLLOWS,
    HS__MG_SESSIONS,
    HS__MG_REVOCATIONS, /* a session is revoked when its document is here */
    HS__MG_REFRESH,
    HS__MG_CLAIMS, /* a refresh token is used when its document is here */
    HS__MG_TRANSFERS,
    HS__MG_BLOCKS,
    HS__MG_CLAIMS_CAS, /* the claims deciding compare-and-set (cas.c) */
    HS__MG_SLOTS,
    HS__MG_UPLOADS,
    HS__MG_CHUNKS,
    HS__MG_FILES,
    HS__MG_USAGE, /* the bytes of each owner's files and open uploads */
    HS__MG_LINKS,
    HS__MG_LINK_CLAIMS, /* revocations and numbered downloads of links */
    HS__MG_EVENTS,
    HS__MG_CHATS,
    HS__MG_MEMBERS,
    HS__MG_MESSAGES,  /* messages.c */
    HS__MG_REACTIONS, /* messages.c: one document per (message, emoji, user) */
    HS__MG_GRANTS,    /* messages.c: a file attached in a chat (file_shared_with) */
    HS__MG_TOKENS,    /* search.c: the search words of each message */
    HS__MG_LIMITS,    /* limits.c: rate-limit state (events = store) */
    HS__MG_META,      /* mongo.c: which index list the database has */
    HS__MG_NCOLL
} hs__mg_coll_t;
extern const char *const hs__mg_coll_names[HS__MG_NCOLL];

/* The backend's state: one client pool per process, shared by its threads. */
typedef struct hs__mg {
    mongoc_uri_t *uri;
    mongoc_client_pool_t *pool;
    char *db;        /* the database: the URI's, else "hypersend" */
    char hosts[160]; /* host:port list, for messages */
} hs__mg_t;

/* One operation's connection: a client popped from the pool and the
 * collections it used, all given back by hs__mg_end. */
typedef struct hs__mg_op {
    hs_store_t *st;
    mongoc_client_t *client;
    mongoc_collection_t *coll[HS__MG_NCOLL];
} hs__mg_op_t;

/* Opens the pool on uri and creates the indexes (idempotent). */
int hs__mongo_open(hs_store_t **out, const char *uri, hs_err_t *err);
/* Closes the pool and frees st (the vtable's close). */
void hs__mg_close(hs_store_t *st);
/* The vtable (ops.c). */
extern const hs_store_ops_t hs__mg_ops;

/* Pops a client for one operation; hs__mg_end gives it back. */
void hs__mg_begin(hs_store_t *st, hs__mg_op_t *op);
void hs__mg_end(hs__mg_op_t *op);
/* The collection c of op (fetched once per operation). */
mongoc_collection_t *hs__mg_c(hs__mg_op_t *op, hs__mg_coll_t c);

/* Maps a libmongoc error to an hs error: no server reachable (server
 * selection, a socket error or timeout) is HS_EUNAVAIL store_unavailable,
 * anything else HS_EINTERNAL store_error. */
int hs__mg_fail(hs_store_t *st, const bson_error_t *e, hs_err_t *err);
/* 1 when e is a duplicate key (E11000) on a unique index. */
int hs__mg_is_dup(const bson_error_t *e);
/* Inserts doc into c. With claimed (may be NULL), a duplicate key is no
 * error: *claimed = 1 when this insert made the document, 0 when it was
 * there already. Without, a duplicate key is HS_ECONFLICT "conflict". */
int hs__mg_insert(hs__mg_op_t *op, hs__mg_coll_t c, const bson_t *doc, int *claimed, hs_err_t *err);
/* Inserts docs[0..n) unordered into c; a duplicate key (a document written
 * before) is no error. *added (may be NULL): how many this call wrote. */
int hs__mg_insert_many(hs__mg_op_t *op, hs__mg_coll_t c, bson_t *const *docs, size_t n, long *added,
                       hs_err_t *err);
/* deleteOne (many 0) or deleteMany of filter; *deleted (may be NULL) the
 * number of documents this call removed, exact under concurrency. */
int hs__mg_delete(hs__mg_op_t *op, hs__mg_coll_t c, int many, const bson_t *filter, long *deleted,
                  hs_err_t *err);
/* 1 in *yes when a document of c has _id id. */
int hs__mg_exists(hs__mg_op_t *op, hs__mg_coll_t c, const char *id, int *yes, hs_err_t *err);

/* Finds the first document of c matching filter (opts: projection, sort;
 * may be NULL; the limit is added here). When *found = 1, *doc holds a copy
 * the caller frees with bson_destroy; *found = 0 when none matched. */
int hs__mg_find_one(hs__mg_op_t *op, hs__mg_coll_t c, const bson_t *filter, const bson_t *opts,
                    bson_t *doc, int *found, hs_err_t *err);
/* Runs a find and calls each(doc, arg) on every document, in order; stops
 * after limit documents when limit > 0. */
typedef void (*hs__mg_each_fn)(const bson_t *doc, void *arg);
int hs__mg_find_each(hs__mg_op_t *op, hs__mg_coll_t c, const bson_t *filter, const bson_t *opts,
                     hs__mg_each_fn each, void *arg, hs_err_t *err);
/* Reads one document into item (a list's element). */
typedef void (*hs__mg_reader_fn)(hs_arena_t *a, const bson_t *doc, void *item);
/* A keyset page, newest _id first: finds filter in c, reads at most limit
 * documents with read into *items (an arena array of size-byte elements);
 * *more says whether another followed (the page's last id is then the
 * next cursor). */
int hs__mg_page(hs__mg_op_t *op, hs__mg_coll_t c, const bson_t *filter, int limit, size_t size,
                hs__mg_reader_fn read, hs_arena_t *a, void **items, size_t *n, int *more,
                hs_err_t *err);
/* updateOne (upsert 0) or updateMany; *matched (may be NULL) the number of
 * documents the filter matched. */
int hs__mg_update(hs__mg_op_t *op, hs__mg_coll_t c, int many, const bson_t *filter,
                  const bson_t *update, long *matched, hs_err_t *err);
/* countDocuments of filter. */
int hs__mg_count(hs__mg_op_t *op, hs__mg_coll_t c, const bson_t *filter, long *n, hs_err_t *err);

/* Reading a document's fields. A string is copied into a (NULL when absent
 * or null); an id into dst ("" when absent); numbers of any BSON integer or
 * double type, 0 when absent. */
const char *hs__mg_str(hs_arena_t *a, const bson_t *doc, const char *key);
void hs__mg_id(char dst[HS_ID_LEN + 1], const bson_t *doc, const char *key);
int64_t hs__mg_i64(const bson_t *doc, const char *key);
/* Appends v as a UTF-8 string, or null when v is NULL. */
void hs__mg_put_str(bson_t *doc, const char *key, const char *v);

/* Lowercases ASCII letters of s into a (the case folding of SQLite's LIKE). */
char *hs__mg_ascii_lower(hs_arena_t *a, const char *s);

/* The backend's operations: hs__mg_<name> for every entry of
 * hs/store_ops.h (users.c, sessions.c, ...), wired into the vtable by ops.c. */
#define HS__MG_OP_PROTO(name, params, args, contract) int hs__mg_##name params;
HS_STORE_OPS(HS__MG_OP_PROTO)

/* Compare-and-set on document id of c (versioned: a field "v" set to 0 at
 * insert; cas.c explains): decide(current, arg, set) returns 1 and fills
 * set (an empty document) with the fields to write when the change applies
 * to the newest version current, else 0. The change is then written as the
 * next version and *moved = 1. Exact under concurrent writers on both
 * servers; decide may run several times (after each lost race). No document
 * id: 0 with *moved = 0. */
typedef int (*hs__mg_cas_decide_fn)(const bson_t *current, void *arg, bson_t *set);
int hs__mg_cas(hs__mg_op_t *op, hs__mg_coll_t c, const char *id, hs__mg_cas_decide_fn decide,
               void *arg, int *moved, hs_err_t *err);
/* Reads the newest version of a document that hs__mg_cas changes (a change
 * decided but not yet written is written first); like hs__mg_find_one. */
int hs__mg_cas_read(hs__mg_op_t *op, hs__mg_coll_t c, const char *id, bson_t *doc, int *found,
                    hs_err_t *err);

/* Search (search.c), called by messages.c: writes the search words of
 * message msg_id of chat chat_id from content (replacing those it had);
 * content NULL removes them (a deleted message). Idempotent, so a retried
 * send or edit may call it again. */
int hs__mg_tokens_put(hs__mg_op_t *op, const char *chat_id, const char *msg_id, const char *content,
                      hs_err_t *err);

/* Messages (messages.c, reactions.c, chat_list.c). A message document:
 * {_id, chat_id, prev (the chat's newest id when it was written: the
 * chain), sender_id, client_key ("c:" + client id, else its own id),
 * client_id, content, reply_to, files: [ids], origin (the id the send began
 * with, which names its grants), created_at, edited_at, deleted_at, v}. */
void hs__mg_read_message(hs_arena_t *a, const bson_t *doc, hs_message_t *m);
/* Fills what ms[0..n) show besides their own fields: sender names and reply
 * previews; with full also attachments (m->files holds their ids until
 * then), reactions and, for viewer's own messages, the delivery state. */
int hs__mg_message_extras(hs__mg_op_t *op, const char *viewer, int full, hs_arena_t *a,
                          hs_message_t *ms, size_t n, hs_err_t *err);
/* The first 100 characters of s (SQLite's substr), in a. */
const char *hs__mg_preview(hs_arena_t *a, const char *s);
/* Moves the member's read (read, may be NULL) and delivered markers forward
 * to the ids given (compare-and-set on the member document). */
int hs__mg_marks_forward(hs__mg_op_t *op, const char *chat_id, const char *user_id,
                         const char *read, const char *delivered, hs_err_t *err);
/* Removes the messages of a deleted chat and their grants (chat_delete). */
int hs__mg_chat_messages_drop(hs__mg_op_t *op, const char *chat_id, hs_err_t *err);
/* A chat's unread count for its viewer (c->my_role set: a member) and its
 * last message preview (chat_get full, chat_page). */
int hs__mg_chat_full(hs__mg_op_t *op, const char *viewer, hs_arena_t *a, hs_chat_t *c,
                     hs_err_t *err);
/* Appends {key: {$in: [ids...]}} to doc. */
void hs__mg_put_in(bson_t *doc, const char *key, const char *const *ids, size_t n);

/* Readers shared across files: chats.c's chat and member documents, the
 * member document's key "<chat>:<user>", files.c's file documents. */
void hs__mg_read_chat(hs_arena_t *a, const bson_t *doc, hs_chat_t *c);
void hs__mg_read_member(hs_arena_t *a, const bson_t *doc, hs_member_t *m);
void hs__mg_member_key(char out[64], const char *chat_id, const char *user_id);
void hs__mg_read_file(hs_arena_t *a, const bson_t *doc, hs_file_t *f);

/* The user fields and their reader, shared by users.c and follows.c. */
void hs__mg_read_user(hs_arena_t *a, const bson_t *doc, hs_user_t *u);

#endif

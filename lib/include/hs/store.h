/* The metadata store: domain operations, independent of the backend.
 * Backends (lib/store/<name>/) fill an hs_store_ops_t; callers use the
 * hs_store_* wrappers below. Both follow from the one list of operations
 * in hs/store_ops.h, where each operation's contract is written. Ids are
 * 24-hex ObjectIds, times are UTC milliseconds, pages are cursor based; no
 * SQL or row id leaves a backend.
 * Every string a read returns is allocated in the arena passed in. */
#ifndef HS_STORE_H
#define HS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "hs/arena.h"
#include "hs/config.h"
#include "hs/err.h"
#include "hs/store_ops.h"
#include "hs/util.h"

/* One page of a list of type: at most the limit asked for, in the
 * operation's order; next_cursor (into the arena) is NULL on the last page. */
#define HS_PAGE(type)                                                                              \
    struct {                                                                                       \
        type *items;                                                                               \
        size_t n;                                                                                  \
        const char *next_cursor;                                                                   \
    }

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

typedef HS_PAGE(hs_session_t) hs_session_page_t;

typedef HS_PAGE(hs_user_t) hs_user_page_t;

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

typedef HS_PAGE(hs_file_t) hs_file_page_t;

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

typedef HS_PAGE(hs_transfer_t) hs_transfer_page_t;

/* A chat a user belongs to, as the real-time bridge routes by it. */
typedef struct hs_chat_ref {
    char id[HS_ID_LEN + 1];
    const char *kind;
    int64_t member_count;
} hs_chat_ref_t;

typedef HS_PAGE(hs_chat_t) hs_chat_page_t;

typedef struct hs_member {
    char user_id[HS_ID_LEN + 1];
    const char *username;
    const char *display_name;
    const char *role; /* "owner", "admin" or "member" */
    int muted;
    int64_t joined_at;
    const char *last_read_id;
} hs_member_t;

typedef HS_PAGE(hs_member_t) hs_member_page_t;

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

typedef HS_PAGE(hs_message_t) hs_message_page_t;

/* One stored event (events = store): its id <ms>-<seq>, its stream key. */
typedef struct hs_event_row {
    int64_t ms, seq;
    const char *key, *type, *data;
} hs_event_row_t;

typedef struct hs_store hs_store_t;

/* A backend: its name, how to close it, and one function per operation of
 * hs/store_ops.h (each named like its wrapper hs_store_<name> below). */
#define HS__STORE_OP_MEMBER(name, params, args, contract) int(*name) params;
typedef struct hs_store_ops {
    const char *name;
    /* The store lives in this process (SQLite): a read costs less than a
     * Redis round trip, so caches in front of it are skipped. */
    int embedded;
    void (*close)(hs_store_t *st);
    HS_STORE_OPS(HS__STORE_OP_MEMBER)
} hs_store_ops_t;

struct hs_store {
    const hs_store_ops_t *ops;
    void *impl; /* the backend's own state */
};

/* Opens the backend named by cfg->store (creating or migrating its schema).
 * The result is freed with hs_store_close(). */
int hs_store_open(hs_store_t **out, const hs_config_t *cfg, hs_err_t *err);
void hs_store_close(hs_store_t *st);
/* 1 when the store lives in this process (SQLite): reading it costs less
 * than a round trip to Redis. */
int hs_store_embedded(const hs_store_t *st);

/* hs_store_<name>(st, ...) calls the backend's operation: one static
 * inline wrapper per entry of hs/store_ops.h, where each one's contract is
 * written. */
#define HS__STORE_OP_WRAPPER(name, params, args, contract)                                         \
    static inline int hs_store_##name params                                                       \
    {                                                                                              \
        return st->ops->name args;                                                                 \
    }
HS_STORE_OPS(HS__STORE_OP_WRAPPER)

#endif

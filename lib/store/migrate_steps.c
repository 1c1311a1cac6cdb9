/* What `hs-admin migrate --to mongo` copies: for each kind of document of
 * the mongo backend (the files of lib/store/mongo/ say their shapes), the SELECT over
 * the SQLite schema (sqlite/sqlite.c) that yields exactly those documents,
 * one row each, so that the rows read are the documents expected. Ids are
 * copied unchanged; versioned documents (cas.c's "v") start at version 0
 * like new ones; what SQLite keeps as a column and the mongo backend as a
 * document of its own (a revocation, a used refresh token, a link's
 * revocation and numbered downloads, a file's binding to a transfer) gets
 * its own step. Events, rate limits and slots are not copied: they are
 * short-lived (and live in Redis unless events = store). */
#include "migrate_steps.h"

const hs__mig_step_t hs__mig_steps[] = {
    {HS__MG_USERS, "users",
     "SELECT id, username, email, password_hash, display_name, lower(display_name), bio,"
     " avatar_file_id, settings, role, disabled, created_at, updated_at FROM users ORDER BY id",
     "_id:s,username:s,email:s,password_hash:s,display_name:s,display_name_lc:s,bio:s,"
     "avatar_file_id:s,settings:s,role:s,disabled:b,created_at:i,updated_at:i"},
    {HS__MG_FOLLOWS, "follows",
     "SELECT id, follower_id, followee_id, created_at FROM follows ORDER BY id",
     "_id:s,follower_id:s,followee_id:s,created_at:i"},
    {HS__MG_SESSIONS, "sessions",
     "SELECT id, user_id, user_agent, ip, created_at, last_used_at, expires_at FROM sessions"
     " ORDER BY id",
     "_id:s,user_id:s,user_agent:s,ip:s,created_at:i,last_used_at:i,expires_at:i"},
    {HS__MG_REVOCATIONS, "revoked sessions",
     "SELECT id, user_id, revoked_at FROM sessions WHERE revoked_at > 0 ORDER BY id",
     "_id:s,user_id:s,revoked_at:i"},
    /* created_at is not kept by SQLite; the session's stands in (not read) */
    {HS__MG_REFRESH, "refresh tokens",
     "SELECT r.hash, r.session_id, r.expires_at, coalesce(s.created_at, 0) FROM refresh_tokens r"
     " LEFT JOIN sessions s ON s.id = r.session_id ORDER BY r.hash",
     "_id:s,session_id:s,expires_at:i,created_at:i"},
    {HS__MG_CLAIMS, "used refresh tokens",
     "SELECT hash, session_id, used_at FROM refresh_tokens WHERE used_at > 0 ORDER BY hash",
     "_id:s,session_id:s,used_at:i"},
    {HS__MG_UPLOADS, "uploads",
     "SELECT id, owner_id, protocol, filename, content_type, concat, metadata, size, chunk_size,"
     " chunk_count, upload_offset, created_at, expires_at, completed_at, file_ttl, 0, sha256,"
     " chat_id FROM uploads ORDER BY id",
     "_id:s,owner_id:s,protocol:s,filename:s,content_type:s,concat:s,metadata:s,size:i,"
     "chunk_size:i,chunk_count:i,offset:i,created_at:i,expires_at:i,completed_at:i,file_ttl:i,"
     "v:i,sha256:s,chat_id:s"},
    {HS__MG_CHUNKS, "chunks",
     "SELECT upload_id || ':' || n, upload_id, n, size, sha256 FROM upload_chunks"
     " ORDER BY upload_id, n",
     "_id:s,upload_id:s,n:i,size:i,sha256:s"},
    {HS__MG_FILES, "files",
     "SELECT id, owner_id, filename, content_type, sniffed_type, size, created_at, expires_at,"
     " transfer_id, sha256, chat_id FROM files ORDER BY id",
     "_id:s,owner_id:s,filename:s,content_type:s,sniffed_type:s,size:i,created_at:i,"
     "expires_at:i,transfer_id:s,sha256:s,chat_id:s"},
    /* file_bind_transfer's claim: one transfer per file */
    {HS__MG_CLAIMS_CAS, "file bindings",
     "SELECT 'files:' || id || ':bind', transfer_id FROM files WHERE transfer_id IS NOT NULL"
     " ORDER BY id",
     "_id:s,transfer_id:s"},
    /* each owner's bytes, recomputed as SQLite's storage_used counts them */
    {HS__MG_USAGE, "usage counters",
     "SELECT owner_id, sum(size), 0 FROM (SELECT owner_id, size FROM files UNION ALL"
     " SELECT owner_id, size FROM uploads) GROUP BY owner_id ORDER BY owner_id",
     "_id:s,bytes:i,v:i"},
    {HS__MG_LINKS, "share links",
     "SELECT id, token_hash, file_id, created_at, expires_at, max_downloads, downloads,"
     " password_hash FROM share_links ORDER BY id",
     "_id:s,token_hash:s,file_id:s,created_at:i,expires_at:i,max_downloads:i,downloads:i,"
     "password_hash:s"},
    {HS__MG_LINK_CLAIMS, "link revocations",
     "SELECT 'r:' || id, id, revoked_at FROM share_links WHERE revoked_at > 0 ORDER BY id",
     "_id:s,link_id:s,revoked_at:i"},
    /* a limited link's downloads are its claims 1..n (links.c); the time of
     * each is not kept by SQLite (0; not read) */
    {HS__MG_LINK_CLAIMS, "link downloads",
     "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < (SELECT"
     " coalesce(max(min(downloads, max_downloads)), 0) FROM share_links WHERE max_downloads > 0))"
     " SELECT 'd:' || l.id || ':' || k.n, l.id, k.n, 0 FROM share_links l"
     " JOIN k ON k.n <= min(l.downloads, l.max_downloads) WHERE l.max_downloads > 0"
     " ORDER BY l.id, k.n",
     "_id:s,link_id:s,n:i,at:i"},
    /* a chat without a direct key stores its own id there (chats.c) */
    {HS__MG_CHATS, "chats",
     "SELECT id, kind, name, description, is_public, owner_id, coalesce(direct_key, id),"
     " direct_key IS NOT NULL, member_count, last_activity_at, created_at, updated_at,"
     " last_message_id, 0, avatar_file_id FROM chats ORDER BY id",
     "_id:s,kind:s,name:s,description:s,is_public:b,owner_id:s,direct_key:s,has_direct_key:b,"
     "member_count:i,last_activity_at:i,created_at:i,updated_at:i,last_message_id:s,v:i,"
     "avatar_file_id:s"},
    {HS__MG_MEMBERS, "members",
     "SELECT chat_id || ':' || user_id, chat_id, user_id, role, muted, joined_at, last_read_id,"
     " last_delivered_id, 0 FROM chat_members ORDER BY chat_id, user_id",
     "_id:s,chat_id:s,user_id:s,role:s,muted:b,joined_at:i,last_read_id:s,"
     "last_delivered_id:s,v:i"},
    /* The chain (messages.c): prev is the chat's message before this one in
     * id order, which is commit order in SQLite; a send began with its own
     * id (origin, which names its grants); client_key as messages.c makes
     * it. Attachments in file id order. */
    {HS__MG_MESSAGES, "messages",
     "SELECT id, chat_id, coalesce(lag(id) OVER (PARTITION BY chat_id ORDER BY id), ''),"
     " sender_id, CASE WHEN client_id IS NULL THEN id ELSE 'c:' || client_id END, content,"
     " client_id, reply_to, (SELECT group_concat(file_id, ',') FROM (SELECT file_id FROM"
     " message_files WHERE message_id = messages.id ORDER BY file_id)), id, created_at,"
     " edited_at, deleted_at, 0 FROM messages ORDER BY id",
     "_id:s,chat_id:s,prev:s,sender_id:s,client_key:s,content:s,client_id:s,reply_to:s,files:a,"
     "origin:s,created_at:i,edited_at:i,deleted_at:i,v:i"},
    {HS__MG_REACTIONS, "reactions",
     "SELECT message_id || ':' || user_id || ':' || emoji, message_id, user_id, emoji, created_at"
     " FROM reactions ORDER BY message_id, user_id, emoji",
     "_id:s,message_id:s,user_id:s,emoji:s,created_at:i"},
    /* The mongo backend keeps a grant per attaching message (removed with
     * it), where SQLite keeps one per file and chat while such a message
     * exists (chat_files): the grants are the attachments. */
    {HS__MG_GRANTS, "file grants",
     "SELECT mf.file_id || ':' || m.chat_id || ':' || m.id, mf.file_id, m.chat_id, m.id"
     " FROM message_files mf JOIN messages m ON m.id = mf.message_id ORDER BY m.id, mf.file_id",
     "_id:s,file_id:s,chat_id:s,origin:s"},
    {HS__MG_TRANSFERS, "P2P transfers",
     "SELECT id, sender_id, recipient_id, filename, size, mode, created_at, 0, sha256, state,"
     " reason, bytes, relay_file_id, received_sha256, updated_at, expires_at, progress_at"
     " FROM p2p_transfers ORDER BY id",
     "_id:s,sender_id:s,recipient_id:s,filename:s,size:i,mode:s,created_at:i,v:i,sha256:s,"
     "state:s,reason:s,bytes:i,relay_file_id:s,received_sha256:s,updated_at:i,expires_at:i,"
     "progress_at:i"},
    /* SQLite keys a block by its pair; the id is made from the pair and
     * the time (24 hex, the same at every run: a resumed copy finds it) */
    {HS__MG_BLOCKS, "P2P blocks",
     "SELECT printf('%08x', created_at / 1000) || substr(blocker_id, 9, 8) ||"
     " substr(blocked_id, 17, 8), blocker_id, blocked_id, created_at FROM p2p_blocks"
     " ORDER BY blocker_id, blocked_id",
     "_id:s,blocker_id:s,blocked_id:s,created_at:i"},
};

const size_t hs__mig_nsteps = sizeof hs__mig_steps / sizeof hs__mig_steps[0];

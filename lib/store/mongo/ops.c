/* The MongoDB backend's vtable: every operation answers not_implemented
 * (hs__mg_todo) but those done, set after the default; and the list of
 * those still missing, which the contract tests print. */
#include "mongo.h"

#define HS__MG_TODO(name, params, args, contract)                                                  \
    static int todo_##name params                                                                  \
    {                                                                                              \
        (void)st;                                                                                  \
        return hs__mg_todo(#name, err);                                                            \
    }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
HS_STORE_OPS(HS__MG_TODO)
#pragma GCC diagnostic pop
#define HS__MG_TODO_INIT(name, params, args, contract) .name = todo_##name,

/* Every operation answers not_implemented, but those done, set after it. */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winitializer-overrides"
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#endif
/* clang-format off */
const hs_store_ops_t hs__mg_ops = {
    .name = "mongo",
    .embedded = 0,
    .close = hs__mg_close,
    HS_STORE_OPS(HS__MG_TODO_INIT)
    .ping = hs__mg_ping,
    /* users.c */
    .user_create = hs__mg_user_create,
    .user_get = hs__mg_user_get,
    .user_find_login = hs__mg_user_find_login,
    .user_update_profile = hs__mg_user_update_profile,
    .user_set_password = hs__mg_user_set_password,
    .user_set_role = hs__mg_user_set_role,
    .user_set_disabled = hs__mg_user_set_disabled,
    .user_search = hs__mg_user_search,
    /* follows.c */
    .follow_set = hs__mg_follow_set,
    .follow_state = hs__mg_follow_state,
    .follow_counts = hs__mg_follow_counts,
    .user_with_counts = hs__mg_user_with_counts,
    .follow_page = hs__mg_follow_page,
    /* sessions.c */
    .session_create = hs__mg_session_create,
    .session_get = hs__mg_session_get,
    .session_active = hs__mg_session_active,
    .session_list = hs__mg_session_list,
    .session_revoked_since = hs__mg_session_revoked_since,
    .session_revoke = hs__mg_session_revoke,
    .session_revoke_others = hs__mg_session_revoke_others,
    .refresh_rotate = hs__mg_refresh_rotate,
    /* p2p.c */
    .transfer_create = hs__mg_transfer_create,
    .transfer_get = hs__mg_transfer_get,
    .transfer_update = hs__mg_transfer_update,
    .transfer_page = hs__mg_transfer_page,
    .transfer_stale = hs__mg_transfer_stale,
    .p2p_block_set = hs__mg_p2p_block_set,
    .p2p_blocked = hs__mg_p2p_blocked,
    .p2p_block_list = hs__mg_p2p_block_list,
    /* files.c */
    .upload_create = hs__mg_upload_create,
    .upload_get = hs__mg_upload_get,
    .chunk_get = hs__mg_chunk_get,
    .chunk_add = hs__mg_chunk_add,
    .chunk_list = hs__mg_chunk_list,
    .upload_advance = hs__mg_upload_advance,
    .upload_finish = hs__mg_upload_finish,
    .upload_delete = hs__mg_upload_delete,
    .upload_expired = hs__mg_upload_expired,
    .storage_used = hs__mg_storage_used,
    .file_get = hs__mg_file_get,
    .file_page = hs__mg_file_page,
    .file_delete = hs__mg_file_delete,
    .file_expired = hs__mg_file_expired,
    .file_bind_transfer = hs__mg_file_bind_transfer,
    /* links.c */
    .link_create = hs__mg_link_create,
    .link_get = hs__mg_link_get,
    .link_take = hs__mg_link_take,
    .link_list = hs__mg_link_list,
    .link_revoke = hs__mg_link_revoke,
    /* chats.c */
    .chat_create = hs__mg_chat_create,
    .chat_find_direct = hs__mg_chat_find_direct,
    .chat_get = hs__mg_chat_get,
    .chat_update = hs__mg_chat_update,
    .member_add = hs__mg_member_add,
    .member_remove = hs__mg_member_remove,
    .member_set = hs__mg_member_set,
    .member_page = hs__mg_member_page,
    .member_chats = hs__mg_member_chats,
    .chat_delete = hs__mg_chat_delete,
    .chat_leave = hs__mg_chat_leave,
    .read_mark = hs__mg_read_mark,
    /* chat_list.c */
    .chat_page = hs__mg_chat_page,
    /* messages.c */
    .message_create = hs__mg_message_create,
    .message_get = hs__mg_message_get,
    .message_page = hs__mg_message_page,
    .message_edit = hs__mg_message_edit,
    .message_delete = hs__mg_message_delete,
    /* reactions.c */
    .reaction_toggle = hs__mg_reaction_toggle,
    .receipts = hs__mg_receipts,
    .file_shared_with = hs__mg_file_shared_with,
    /* events.c */
    .event_append = hs__mg_event_append,
    .event_read = hs__mg_event_read,
    .event_last = hs__mg_event_last,
    .event_trim = hs__mg_event_trim,
    /* slots.c */
    .slot_take = hs__mg_slot_take,
    .slot_drop = hs__mg_slot_drop,
    /* limits.c */
    .limit_take = hs__mg_limit_take,
    /* search.c */
    .message_search = hs__mg_message_search,
};
/* clang-format on */
#if defined(__clang__)
#pragma clang diagnostic pop
#else
#pragma GCC diagnostic pop
#endif

size_t hs__mg_missing(const char **names, size_t cap)
{
    typedef void (*any_fn)(void);
    size_t n = 0;
#define HS__MG_MISSING(name, params, args, contract)                                               \
    if ((any_fn)hs__mg_ops.name == (any_fn)todo_##name) {                                          \
        if (n < cap)                                                                               \
            names[n] = #name;                                                                      \
        n++;                                                                                       \
    }
    HS_STORE_OPS(HS__MG_MISSING)
#undef HS__MG_MISSING
    return n;
}

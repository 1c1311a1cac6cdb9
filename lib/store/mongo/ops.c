/* The MongoDB backend's vtable: every operation of hs/store_ops.h as
 * hs__mg_<name> (users.c, sessions.c, messages.c, ...), so that one left
 * out fails the link. */
#include "mongo.h"

#define HS__MG_INIT(name, params, args, contract) .name = hs__mg_##name,

const hs_store_ops_t hs__mg_ops = {
    .name = "mongo", .embedded = 0, .close = hs__mg_close, HS_STORE_OPS(HS__MG_INIT)};

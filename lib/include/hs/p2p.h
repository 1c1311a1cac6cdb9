/* P2P transfers (docs/p2p.md): the offer, its state machine, progress, the
 * encrypted relay copy, offer blocks and WebRTC ICE servers. Every change
 * is published on both parties' user channels. */
#ifndef HS_P2P_H
#define HS_P2P_H

#include <cjson/cJSON.h>

#include "hs/ctx.h"
#include "hs/store.h"

/* What a sender offers. */
typedef struct hs_p2p_offer {
    const char *recipient_id, *filename, *sha256, *mode; /* sha256, mode may be NULL */
    int64_t size;
} hs_p2p_offer_t;

/* The steps a party takes with a transfer. */
typedef enum {
    HS_P2P_ACCEPT,
    HS_P2P_REJECT,
    HS_P2P_CANCEL,
    HS_P2P_FAIL,     /* arg: the reason */
    HS_P2P_COMPLETE, /* arg: the recipient's SHA-256 of what it received */
} hs_p2p_step_t;

/* Offers a file to recipient (pending, expiring after p2p_offer_ttl). */
int hs_p2p_initiate(hs_ctx_t *ctx, hs_arena_t *a, const char *sender, const hs_p2p_offer_t *o,
                    hs_transfer_t *out, hs_err_t *err);

/* A transfer viewer is a party of (404 transfer_not_found otherwise); a
 * pending offer past its time becomes expired here. */
int hs_p2p_load(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                hs_transfer_t *out, hs_err_t *err);

/* Takes a step; 403 not_your_step for the other party's step, 409
 * invalid_transition (hint: the current state) from a wrong state. */
int hs_p2p_step(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                hs_p2p_step_t step, const char *arg, hs_transfer_t *out, hs_err_t *err);

/* The sender's bytes sent so far (never backwards); transfer.progress goes
 * out at most 4 times a second, and always for the last byte. */
int hs_p2p_progress(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id, int64_t bytes,
                    hs_transfer_t *out, hs_err_t *err);

/* Binds the sender's uploaded ciphertext file_id as the relay copy. */
int hs_p2p_bind_relay(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                      const char *file_id, hs_transfer_t *out, hs_err_t *err);

/* The relay copy, for the recipient to download (always served as
 * application/octet-stream: it is ciphertext). */
int hs_p2p_relay_file(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                      hs_file_t *out, hs_err_t *err);

/* For signaling: the other party of a transfer viewer is in, once it is
 * accepted or transferring. */
int hs_p2p_peer(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                char peer[HS_ID_LEN + 1], hs_err_t *err);

/* viewer blocks (on) or unblocks offers from user. */
int hs_p2p_block(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *user, int on,
                 hs_err_t *err);

/* A page of viewer's transfers, newest first, optionally of one state
 * (400 invalid_value for a state that is not one; invalid_cursor). */
int hs_p2p_list(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *state,
                const char *cursor, int limit, hs_transfer_page_t *out, hs_err_t *err);

/* The users viewer blocks offers from (*ids allocated in a). */
int hs_p2p_blocks(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, char ***ids, size_t *n,
                  hs_err_t *err);

/* STUN/TURN servers for viewer, TURN with coturn REST API credentials. */
cJSON *hs_p2p_ice_servers(hs_ctx_t *ctx, const char *viewer);

/* Expires stale offers and fails transfers idle for upload_ttl, deleting
 * their relay copies; counts them. */
int hs_p2p_cleanup(hs_ctx_t *ctx, int64_t now, size_t *n, hs_err_t *err);

/* The size of the relay copy of a size-byte file (docs/p2p.md). */
int64_t hs_p2p_relay_size(int64_t size);

cJSON *hs_transfer_json(const hs_transfer_t *t);

#endif

/* Share links: public download URLs /s/{token} for a file, with an expiry,
 * an optional download limit and an optional password. */
#ifndef HS_SHARE_H
#define HS_SHARE_H

#include <cjson/cJSON.h>

#include "hs/ctx.h"
#include "hs/store.h"

/* Creates a link to file_id (which owner must own). expires_in seconds
 * (1..31536000), max_downloads 0 for unlimited, password NULL for none.
 * *token (arena) is shown once; only its hash is stored. */
int hs_share_create(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *file_id,
                    int64_t expires_in, int64_t max_downloads, const char *password, hs_link_t *out,
                    const char **token, hs_err_t *err);

/* The live links of one of owner's files. */
int hs_share_list(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *file_id,
                  hs_link_t **out, size_t *n, hs_err_t *err);

/* Revokes a link of one of owner's files. */
int hs_share_revoke(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *file_id,
                    const char *link_id, hs_err_t *err);

/* The shortest link password, in characters. */
#define HS_SHARE_PASSWORD_MIN 8

/* Opens token for a download: checks the password (wrong guesses rate
 * limited per link and client address), counts the download atomically (unless !count: a look at
 * the file's name and size, which a used-up link still refuses) and loads the file. Unknown,
 * revoked or of a disabled owner: 404; expired or used up: 410; wrong password: 403. */
int hs_share_open(hs_ctx_t *ctx, hs_arena_t *a, const char *token, const char *password,
                  const char *client, int count, hs_file_t *file, hs_err_t *err);

/* The link's JSON; token and url are included when token is not NULL. */
cJSON *hs_link_json(const hs_link_t *l, const char *token);

#endif

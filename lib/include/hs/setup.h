/* The first run of a process: where its private files may go, the data
 * folder and the secret key made when missing, their permissions. */
#ifndef HS_SETUP_H
#define HS_SETUP_H

#include "hs/config.h"
#include "hs/err.h"

/* Refuses a data folder, database, key or log under a document root
 * (DOCUMENT_ROOT; the bundle's folder, the parent of the program's own
 * folder when it holds an .htaccess; any folder above that holds one),
 * creates the data folder (0700) and,
 * when the key file belongs in it, the key (0600, made once even by
 * concurrent first requests), and refuses (or, when ours, fixes) a data
 * folder or key other accounts can read or write. 0, or an error whose
 * code starts with setup_, whose message names the path and whose hint
 * says the fix. The paths of cfg are made canonical where they can be. */
int hs_setup_prepare(hs_config_t *cfg, hs_err_t *err);

/* The machine code a client is shown when a process cannot start: e's own
 * setup_* code, setup_config for a configuration error, else setup_failed. */
const char *hs_setup_code(const hs_err_t *e);

#endif

/* Copying a deployment from the SQLite store to the MongoDB store
 * (`hs-admin migrate --to mongo`, docs/mongo-status.md "Moving data"). */
#ifndef HS_MIGRATE_H
#define HS_MIGRATE_H

#include <stdio.h>

#include "hs/config.h"
#include "hs/err.h"

typedef struct hs_migrate_opts {
    int resume; /* go on into a target that already holds documents */
    FILE *out;  /* the progress lines and the verification table */
} hs_migrate_opts_t;

/* Copies every collection of the SQLite file cfg->sqlite_path (opened
 * read-only) into cfg->mongo_uri, in the documents the mongo backend reads,
 * then counts each collection. Idempotent: a document already there is kept,
 * so an interrupted run is finished by running again with resume. 0 when
 * every count matched; HS_ECONFLICT when the target holds documents and
 * resume is off; HS_EINTERNAL "migrate_mismatch" when a count differs. */
int hs_migrate_to_mongo(const hs_config_t *cfg, const hs_migrate_opts_t *opts, hs_err_t *err);

#endif

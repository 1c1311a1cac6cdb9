/* The copy from SQLite to MongoDB (migrate.c): one step per kind of
 * document, each a SELECT whose columns are the document's fields in order.
 * Internal to lib/store. */
#ifndef HS_STORE_MIGRATE_STEPS_H
#define HS_STORE_MIGRATE_STEPS_H

#include <stddef.h>

#include "mongo/mongo.h"

typedef struct hs__mig_step {
    hs__mg_coll_t coll;
    const char *what; /* what the rows are, for the progress line */
    const char *sql;
    /* "name:type,..." one per column: s text (NULL stays null), i int64,
     * b int32 flag, a comma-separated ids as an array of strings */
    const char *fields;
} hs__mig_step_t;

extern const hs__mig_step_t hs__mig_steps[];
extern const size_t hs__mig_nsteps;

/* The SQLite schema version (PRAGMA user_version) these steps read. */
#define HS__MIG_SCHEMA 5

#endif

#include "hs/store.h"

#include <string.h>

#include "mongo/mongo.h"
#include "sqlite/sqlite.h"

int hs_store_open(hs_store_t **out, const hs_config_t *cfg, hs_err_t *err)
{
    *out = NULL;
    if (strcmp(cfg->store, "sqlite") == 0)
        return hs__sqlite_open(out, cfg->sqlite_path, err);
    if (strcmp(cfg->store, "mongo") == 0)
        return hs__mongo_open(out, cfg->mongo_uri, err);
    return hs_err_set(err, HS_EINVAL, "config_bad_value", "unknown store backend '%s'", cfg->store);
}

void hs_store_close(hs_store_t *st)
{
    if (st)
        st->ops->close(st);
}

int hs_store_embedded(const hs_store_t *st)
{
    return st->ops->embedded;
}

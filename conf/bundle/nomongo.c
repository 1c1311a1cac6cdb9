/* The shared-hosting bundle's MongoDB backend: none. A shared host runs on
 * SQLite (docs/deploy.md); the bundle links this in place of lib/store/mongo,
 * which keeps libmongoc and the libraries it loads (and the newer glibc they
 * need) out of app/lib. */
#include "hs/store.h"

int hs__mongo_open(hs_store_t **out, const char *uri, hs_err_t *err);

int hs__mongo_open(hs_store_t **out, const char *uri, hs_err_t *err)
{
    (void)uri;
    *out = NULL;
    hs_err_set(err, HS_EINVAL, "config_bad_value",
               "store = mongo: this build (the shared-hosting bundle) has no MongoDB backend");
    if (err)
        hs_err_hint(err, "use store = sqlite, or the full build (make) on a host of your own");
    return HS_EINVAL;
}

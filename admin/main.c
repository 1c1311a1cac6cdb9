/* hs-admin: an operator's commands that are no app's (run by hand on the
 * server, never by the web server). Today one:
 *
 *   hs-admin [-c CONFIG] migrate --to mongo [--resume]
 *
 * copies the SQLite store named by the configuration (sqlite_path, else
 * <data_dir>/hypersend.db; opened read-only) into mongo_uri's database and
 * verifies the counts (hs/migrate.h). Stop the apps first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs/config.h"
#include "hs/migrate.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: hs-admin [-c CONFIG] migrate --to mongo [--resume]\n"
            "  Copies the SQLite store (sqlite_path, else <data_dir>/hypersend.db; read-only)\n"
            "  into the MongoDB database of mongo_uri, collection by collection, then counts\n"
            "  every collection; exits 0 only when each holds the rows copied. Stop the apps\n"
            "  first. A target holding documents is refused unless --resume (finishing an\n"
            "  interrupted copy: documents already there are kept). The configuration: -c,\n"
            "  else HS_CONFIG, else /etc/hypersend/hypersend.conf; HS_<KEY> variables\n"
            "  override it (HS_MONGO_URI).\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *config = getenv("HS_CONFIG"), *to = NULL;
    int migrate = 0, resume = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "migrate") == 0)
            migrate = 1;
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else if (strcmp(argv[i], "--resume") == 0)
            resume = 1;
        else
            return usage();
    }
    if (!migrate || !to || strcmp(to, "mongo") != 0)
        return usage();
    hs_config_t cfg;
    hs_err_t err;
    hs_err_clear(&err);
    int rc = hs_config_load(&cfg, config ? config : "/etc/hypersend/hypersend.conf", 1, &err);
    if (!rc) {
        hs_migrate_opts_t o = {resume, stdout};
        rc = hs_migrate_to_mongo(&cfg, &o, &err);
    }
    if (rc)
        fprintf(stderr, "hs-admin migrate: %s%s%s%s\n", err.message, err.hint[0] ? " (" : "",
                err.hint, err.hint[0] ? ")" : "");
    hs_config_free(&cfg);
    return rc ? 1 : 0;
}

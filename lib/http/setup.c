/* The first run: the bundle unpacked on a shared host starts with no
 * configuration of the user's (the template's relative paths put the data
 * folder beside the document root), so the programs make what they need
 * themselves and refuse what would leak: a private file under a document
 * root, a folder or key every account of the host can read. */
#include "hs/setup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hs/util.h"

/* path made absolute and free of symbolic links and ..: realpath of the
 * path, or of its folder when the path does not exist yet. -1 when
 * neither exists. */
static int canon(const char *path, char out[PATH_MAX])
{
    if (realpath(path, out))
        return 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = '\0';
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    const char *folder = ".";
    if (slash == dir)
        folder = "/";
    else if (slash) {
        *slash = '\0';
        folder = dir;
    }
    char parent[PATH_MAX];
    if (!realpath(folder, parent))
        return -1;
    int w = snprintf(out, PATH_MAX, "%s/%s", strcmp(parent, "/") ? parent : "", base);
    return w > 0 && w < PATH_MAX ? 0 : -1;
}

/* 1 when path is root or below it (both canonical). */
static int inside(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return 1;
    return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The bundle's own folder: the parent of the program's folder when it
 * holds an .htaccess (app/hs-auth.fcgi in a document root). The web server
 * serves it whatever DOCUMENT_ROOT says (an alias, a subfolder). */
static int bundle_root(char out[PATH_MAX])
{
    char exe[PATH_MAX], probe[PATH_MAX + 16];
    if (!realpath("/proc/self/exe", exe))
        return -1;
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash || slash == exe)
            return -1;
        *slash = '\0';
    }
    snprintf(probe, sizeof probe, "%s/.htaccess", exe);
    if (access(probe, F_OK) != 0)
        return -1;
    snprintf(out, PATH_MAX, "%s", exe);
    return 0;
}

/* The nearest folder above path (canonical) that holds an .htaccess: one a
 * web server serves, such as the document root of another site that the
 * bundle's own document root sits in. */
static int served_above(const char *path, char out[PATH_MAX])
{
    char dir[PATH_MAX], probe[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *slash; (slash = strrchr(dir, '/')) && slash != dir;) {
        *slash = '\0';
        snprintf(probe, sizeof probe, "%s/.htaccess", dir);
        if (access(probe, F_OK) == 0) {
            snprintf(out, PATH_MAX, "%s", dir);
            return 0;
        }
    }
    return -1;
}

/* Refuses path (config key `key`, `what` for people) under a document
 * root. */
static int outside_docroots(const char *what, const char *key, const char *path, hs_err_t *err)
{
    if (!path || !*path || strcmp(path, "-") == 0)
        return 0;
    char real[PATH_MAX], roots[3][PATH_MAX];
    if (canon(path, real))
        return 0; /* a path that cannot exist: its open says so */
    int nroots = 0;
    const char *env = getenv("DOCUMENT_ROOT");
    if (env && *env && realpath(env, roots[nroots]))
        nroots++;
    if (bundle_root(roots[nroots]) == 0)
        nroots++;
    if (served_above(real, roots[nroots]) == 0)
        nroots++;
    for (int i = 0; i < nroots; i++) {
        if (!inside(real, roots[i]))
            continue;
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", roots[i]);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent)
            *slash = '\0';
        int rc = hs_err_set(err, HS_EUNAVAIL, "setup_data_in_docroot",
                            "%s %.80s (%s) is inside the document root %.80s: the web server "
                            "could hand it out",
                            what, real, key, roots[i]);
        hs_err_hint(err,
                    "set %s in app/hypersend.conf (a copy of app/hypersend.conf.example) to a "
                    "path outside it, e.g. %s%.80s/hypersend-data",
                    key, strcmp(key, "data_dir") == 0 ? "" : "in ", parent);
        return rc;
    }
    return 0;
}

/* Refuses (or, when ours, fixes) a file or folder other accounts can read
 * or write: the SQLite file, the blobs and the key are private. */
static int private_to_us(const char *what, const char *path, hs_err_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0 || !(st.st_mode & S_IRWXO))
        return 0;
    if (st.st_uid == geteuid() && chmod(path, st.st_mode & 07770) == 0)
        return 0;
    int rc =
        hs_err_set(err, HS_EUNAVAIL, "setup_permissions",
                   "%s %.120s can be read or written by every account on this host (mode %04o)",
                   what, path, (unsigned)(st.st_mode & 07777));
    hs_err_hint(err, "chmod o-rwx %.200s", path);
    return rc;
}

static int unwritable(const char *what, const char *path, int e, hs_err_t *err)
{
    int rc = hs_err_set(err, HS_EUNAVAIL, "setup_data_dir_unwritable",
                        "%s %.120s cannot be created or written by the account the "
                        "programs run as (uid %d): %s",
                        what, path, (int)geteuid(), strerror(e));
    hs_err_hint(err,
                "create it (mkdir -m 700) and make it writable by uid %d, or set data_dir in "
                "app/hypersend.conf to a folder that account can write, outside the document root",
                (int)geteuid());
    return rc;
}

/* Writes a new key to a temporary file, then links it to its name: the key
 * appears whole or not at all, and when two first requests race, the
 * first link wins and both read that key. */
static int make_key(const char *path, hs_err_t *err)
{
    char tmp[PATH_MAX], hex[2 * 32 + 1];
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    if (hs_random_hex(hex, 32))
        return hs_err_set(err, HS_EINTERNAL, NULL, "no random bytes for the secret key");
    unlink(tmp); /* left by a process of this pid that died here */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return unwritable("The secret key", path, errno, err);
    size_t n = strlen(hex);
    int ok = write(fd, hex, n) == (ssize_t)n && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (ok && link(tmp, path) != 0 && errno != EEXIST) {
        ok = 0;
        e = errno;
    }
    unlink(tmp);
    return ok ? 0 : unwritable("The secret key", path, e, err);
}

/* Replaces a path with . or .. in it (the template's relative paths) by
 * its canonical form when its folder exists: messages and logs then name
 * /home/you/hypersend-data, not .../app/../../hypersend-data. Other paths
 * stay as written (an X-Sendfile path the server allows is compared as
 * text). */
static int tidy(char **slot, hs_err_t *err)
{
    char real[PATH_MAX];
    if (!*slot || !strstr(*slot, "/.") || canon(*slot, real))
        return 0;
    char *copy = strdup(real);
    if (!copy)
        return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
    free(*slot);
    *slot = copy;
    return 0;
}

int hs_setup_prepare(hs_config_t *cfg, hs_err_t *err)
{
    /* The data folder is checked before it is made, the files in it once
     * it exists (their canonical paths need it). */
    int rc;
    if ((rc = tidy(&cfg->data_dir, err)) ||
        (rc = outside_docroots("The data folder", "data_dir", cfg->data_dir, err)))
        return rc;
    const char *dir = cfg->data_dir;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return unwritable("The data folder", dir, errno, err);
    if (access(dir, W_OK | X_OK) != 0)
        return unwritable("The data folder", dir, errno, err);
    if ((rc = private_to_us("The data folder", dir, err)) || (rc = tidy(&cfg->sqlite_path, err)) ||
        (rc = tidy(&cfg->secret_key_file, err)) || (rc = tidy(&cfg->access_log, err)) ||
        (rc = outside_docroots("The database", "sqlite_path", cfg->sqlite_path, err)) ||
        (rc = outside_docroots("The secret key", "secret_key_file", cfg->secret_key_file, err)) ||
        (rc = outside_docroots("The access log", "access_log", cfg->access_log, err)))
        return rc;
    /* The key is made only where it belongs to us: in the data folder. */
    char kdir[PATH_MAX], ddir[PATH_MAX];
    const char *key = cfg->secret_key_file;
    if (access(key, F_OK) != 0 && errno == ENOENT && canon(key, kdir) == 0 && realpath(dir, ddir)) {
        char *slash = strrchr(kdir, '/');
        if (slash)
            *slash = '\0';
        if (strcmp(kdir, ddir) == 0 && (rc = make_key(key, err)))
            return rc;
    }
    if ((rc = private_to_us("The database", cfg->sqlite_path, err)))
        return rc;
    return private_to_us("The secret key file", key, err);
}

const char *hs_setup_code(const hs_err_t *e)
{
    if (e->code && strncmp(e->code, "setup_", 6) == 0)
        return e->code;
    if (e->code && strncmp(e->code, "config_", 7) == 0)
        return "setup_config";
    return "setup_failed";
}

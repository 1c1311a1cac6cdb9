/* `hs-admin migrate --to mongo`: copies a deployment's SQLite file into the
 * MongoDB store (the documents: migrate_steps.c), collection by collection.
 *
 * Safe to interrupt and run again: every document is an insert whose
 * duplicate key is ignored (ids are copied, and the documents SQLite has no
 * id for get one made from their content), so a second run writes what the
 * first did not and keeps what it did. The SQLite file is opened read-only
 * and never written. At the end each collection is counted and compared
 * with the rows read; only an exact match of every one is success. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hs/migrate.h"
#include "migrate_steps.h"

/* Documents sent per bulk insert. */
#define BATCH 500
/* A line every this many rows of a long step. */
#define PROGRESS 100000
/* Messages whose search words are written at once (copy_words). */
#define WORD_WORKERS 8
/* A socket timeout for the copy's own connection when mongo_uri sets none:
 * counting a large collection takes FerretDB longer than the apps' 10 s. */
#define SOCKET_TIMEOUT_MS 600000

typedef struct {
    sqlite3 *db;
    hs_store_t *st;
    FILE *out;
    long expected[HS__MG_NCOLL]; /* rows read for each collection */
    int touched[HS__MG_NCOLL];   /* a step writes it (verified at the end) */
    const char *pause_at;        /* tests: stop (SIGSTOP) inside this step */
} mig_t;

static int sq_fail(mig_t *m, const char *what, hs_err_t *err)
{
    return hs_err_set(err, HS_EINTERNAL, "store_error", "sqlite: %s: %s", what,
                      sqlite3_errmsg(m->db));
}

/* Appends column i of row as the field named name[0..len) of type t. */
static void put_field(bson_t *doc, const char *name, int len, char t, sqlite3_stmt *row, int i)
{
    int null = sqlite3_column_type(row, i) == SQLITE_NULL;
    if (t == 'i') {
        bson_append_int64(doc, name, len, sqlite3_column_int64(row, i));
    } else if (t == 'b') {
        bson_append_int32(doc, name, len, sqlite3_column_int64(row, i) ? 1 : 0);
    } else if (t == 'a') {
        bson_t arr;
        const char *v = null ? "" : (const char *)sqlite3_column_text(row, i);
        bson_append_array_begin(doc, name, len, &arr);
        for (uint32_t k = 0; *v; k++) {
            const char *end = strchr(v, ',');
            size_t n = end ? (size_t)(end - v) : strlen(v);
            char idx[16];
            const char *key;
            bson_uint32_to_string(k, &key, idx, sizeof idx);
            bson_append_utf8(&arr, key, -1, v, (int)n);
            v += n + (end ? 1 : 0);
        }
        bson_append_array_end(doc, &arr);
    } else if (null) {
        bson_append_null(doc, name, len);
    } else {
        bson_append_utf8(doc, name, len, (const char *)sqlite3_column_text(row, i),
                         sqlite3_column_bytes(row, i));
    }
}

/* The document of one row, by the step's field list. */
static void row_doc(const hs__mig_step_t *s, sqlite3_stmt *row, bson_t *doc)
{
    const char *p = s->fields;
    for (int i = 0; *p; i++) {
        const char *colon = strchr(p, ':');
        put_field(doc, p, (int)(colon - p), colon[1], row, i);
        p = colon + 2;
        if (*p == ',')
            p++;
    }
}

/* Inserts docs[0..n) unordered into c; a duplicate key (a document a
 * previous run wrote) is no error. *added: how many this call wrote. */
static int insert_batch(hs__mg_op_t *op, hs__mg_coll_t c, bson_t *docs, size_t n, long *added,
                        hs_err_t *err)
{
    bson_t *each[BATCH];
    for (size_t i = 0; i < n && i < BATCH; i++)
        each[i] = &docs[i];
    return hs__mg_insert_many(op, c, each, n < BATCH ? n : BATCH, added, err);
}

/* The test hook (HS_MIGRATE_TEST_PAUSE=<step>): after the first document
 * of that step is written the process stops itself, so a test can kill a
 * run at a known point midway. */
static void maybe_pause(mig_t *m, const hs__mig_step_t *s, long written)
{
    if (m->pause_at && written > 0 && strcmp(m->pause_at, s->what) == 0) {
        fprintf(m->out, "paused in %s\n", s->what);
        fflush(m->out);
        m->pause_at = NULL;
        raise(SIGSTOP);
    }
}

/* Copies one step's rows; prints its progress line. */
static int copy_step(mig_t *m, const hs__mig_step_t *s, hs_err_t *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(m->db, s->sql, -1, &q, NULL) != SQLITE_OK)
        return sq_fail(m, s->what, err);
    size_t batch = m->pause_at && strcmp(m->pause_at, s->what) == 0 ? 1 : BATCH;
    bson_t *docs = calloc(batch, sizeof *docs);
    if (!docs) {
        sqlite3_finalize(q);
        return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
    }
    hs__mg_op_t op;
    hs__mg_begin(m->st, &op);
    long rows = 0, added = 0, got;
    size_t n = 0;
    int rc = 0, step;
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
        bson_init(&docs[n]);
        row_doc(s, q, &docs[n++]);
        if (++rows % PROGRESS == 0) {
            fprintf(m->out, "copying %-19s %8ld rows\n", s->what, rows);
            fflush(m->out);
        }
        if (n == batch) {
            rc = insert_batch(&op, s->coll, docs, n, &got, err);
            for (size_t i = 0; i < n; i++)
                bson_destroy(&docs[i]);
            n = 0;
            added += got;
            maybe_pause(m, s, rows);
        }
    }
    if (!rc && step != SQLITE_DONE)
        rc = sq_fail(m, s->what, err);
    if (!rc) {
        rc = insert_batch(&op, s->coll, docs, n, &got, err);
        added += got;
    }
    for (size_t i = 0; i < n; i++)
        bson_destroy(&docs[i]);
    hs__mg_end(&op);
    free(docs);
    sqlite3_finalize(q);
    if (rc)
        return rc;
    m->expected[s->coll] += rows;
    m->touched[s->coll] = 1;
    fprintf(m->out, "copied %-20s into %-20s %8ld rows, %8ld new\n", s->what,
            hs__mg_coll_names[s->coll], rows, added);
    fflush(m->out);
    return 0;
}

/* The word copy's shared state: workers take messages from one statement
 * (under the lock) and write their words, each on a client of its own. */
typedef struct {
    mig_t *m;
    sqlite3_stmt *q;
    pthread_mutex_t lock;
    long rows;
    int done; /* the statement ended (stepping it again would start over) */
    int rc;   /* the first failure, which stops every worker */
    hs_err_t err;
} words_t;

static void *words_worker(void *arg)
{
    words_t *w = arg;
    hs__mg_op_t op;
    hs_err_t err;
    hs__mg_begin(w->m->st, &op);
    for (;;) {
        char chat[HS_ID_LEN + 1], id[HS_ID_LEN + 1];
        char *content = NULL;
        pthread_mutex_lock(&w->lock);
        int step = w->rc || w->done ? SQLITE_DONE : sqlite3_step(w->q);
        w->done = step != SQLITE_ROW;
        if (step == SQLITE_ROW) {
            snprintf(chat, sizeof chat, "%s", (const char *)sqlite3_column_text(w->q, 0));
            snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(w->q, 1));
            content = strdup((const char *)sqlite3_column_text(w->q, 2));
            if (++w->rows % PROGRESS == 0) {
                fprintf(w->m->out, "copying %-19s %8ld rows\n", "search words", w->rows);
                fflush(w->m->out);
            }
        } else if (step != SQLITE_DONE && !w->rc) {
            w->rc = sq_fail(w->m, "messages", &w->err);
        }
        pthread_mutex_unlock(&w->lock);
        if (step != SQLITE_ROW)
            break;
        hs_err_clear(&err);
        int rc = content ? hs__mg_tokens_put(&op, chat, id, content, &err)
                         : hs_err_set(&err, HS_EINTERNAL, NULL, "out of memory");
        free(content);
        if (rc) {
            pthread_mutex_lock(&w->lock);
            if (!w->rc) {
                w->rc = rc;
                w->err = err;
            }
            pthread_mutex_unlock(&w->lock);
            break;
        }
    }
    hs__mg_end(&op);
    return NULL;
}

/* The search words of every message not deleted, through search.c (which
 * cuts them as SQLite's FTS5 does), WORD_WORKERS messages at a time: each
 * costs two round trips (search.c reads the words there, then writes the
 * missing ones), so the copy waits on the server, not on the CPU. The
 * expected count is FTS5's own: the distinct (message, word) pairs of its
 * index, read by fts5vocab. */
static int copy_words(mig_t *m, hs_err_t *err)
{
    words_t w = {.m = m};
    if (sqlite3_prepare_v2(m->db,
                           "SELECT chat_id, id, content FROM messages WHERE deleted_at = 0"
                           " ORDER BY id",
                           -1, &w.q, NULL) != SQLITE_OK)
        return sq_fail(m, "messages", err);
    pthread_mutex_init(&w.lock, NULL);
    hs_err_clear(&w.err);
    pthread_t t[WORD_WORKERS];
    int started = 0;
    for (; started < WORD_WORKERS; started++)
        if (pthread_create(&t[started], NULL, words_worker, &w) != 0)
            break;
    if (!started)
        words_worker(&w);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    pthread_mutex_destroy(&w.lock);
    sqlite3_finalize(w.q);
    if (w.rc) {
        if (err)
            *err = w.err;
        return w.rc;
    }
    long rows = w.rows;
    sqlite3_stmt *q;
    long words = -1;
    if (sqlite3_exec(m->db,
                     "CREATE VIRTUAL TABLE IF NOT EXISTS temp.hs_migrate_vocab"
                     " USING fts5vocab(main, 'messages_fts', 'instance')",
                     NULL, NULL, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(m->db,
                           "SELECT count(*) FROM (SELECT DISTINCT doc, term"
                           " FROM temp.hs_migrate_vocab)",
                           -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW)
            words = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    if (words < 0)
        return sq_fail(m, "counting the search words (fts5vocab)", err);
    m->expected[HS__MG_TOKENS] = words;
    m->touched[HS__MG_TOKENS] = 1;
    fprintf(m->out, "copied %-20s into %-20s %8ld rows\n", "search words",
            hs__mg_coll_names[HS__MG_TOKENS], rows);
    fflush(m->out);
    return 0;
}

static int count_coll(mig_t *m, hs__mg_coll_t c, long *n, hs_err_t *err)
{
    hs__mg_op_t op;
    bson_t *f = bson_new();
    hs__mg_begin(m->st, &op);
    int rc = hs__mg_count(&op, c, f, n, err);
    hs__mg_end(&op);
    bson_destroy(f);
    return rc;
}

/* A target that already holds documents is another deployment's, or an
 * interrupted copy of this one: only resume may write into it. What it
 * holds is listed first, collection by collection (but meta, which the
 * store's own open writes: the mark of its indexes). */
static int check_target(mig_t *m, int resume, hs_err_t *err)
{
    long total = 0, n;
    int colls = 0;
    for (int c = 0; c < HS__MG_NCOLL; c++) {
        if (c == HS__MG_META)
            continue;
        int rc = count_coll(m, (hs__mg_coll_t)c, &n, err);
        if (rc)
            return rc;
        if (n > 0)
            fprintf(m->out, "target holds %-20s %8ld documents\n", hs__mg_coll_names[c], n);
        total += n;
        colls += n > 0;
    }
    fflush(m->out);
    if (total == 0)
        return 0;
    if (resume) {
        fprintf(m->out, "resuming: documents already there are kept\n");
        return 0;
    }
    hs_err_set(err, HS_ECONFLICT, "migrate_target_not_empty",
               "the target database already holds %ld documents in %d collections", total, colls);
    hs_err_hint(err, "to finish an interrupted copy of this same deployment run again with "
                     "--resume; otherwise name an empty database in mongo_uri");
    return HS_ECONFLICT;
}

/* Counts every collection written and prints the table; HS_EINTERNAL
 * migrate_mismatch unless each holds exactly the rows read. */
static int verify(mig_t *m, hs_err_t *err)
{
    int bad = 0;
    fprintf(m->out, "\n%-22s %10s %10s\n", "collection", "rows", "documents");
    for (int c = 0; c < HS__MG_NCOLL; c++) {
        if (!m->touched[c])
            continue;
        long n = 0;
        int rc = count_coll(m, (hs__mg_coll_t)c, &n, err);
        if (rc)
            return rc;
        int ok = n == m->expected[c];
        bad += !ok;
        fprintf(m->out, "%-22s %10ld %10ld  %s\n", hs__mg_coll_names[c], m->expected[c], n,
                ok ? "ok" : "MISMATCH");
    }
    fflush(m->out);
    if (bad)
        return hs_err_set(err, HS_EINTERNAL, "migrate_mismatch",
                          "%d collection(s) do not hold the rows copied", bad);
    return 0;
}

static int open_source(mig_t *m, const char *path, hs_err_t *err)
{
    /* read-only: this run never writes the deployment it copies */
    if (sqlite3_open_v2(path, &m->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return hs_err_set(err, HS_EUNAVAIL, "store_unavailable",
                          "cannot open SQLite database %s read-only: %s", path,
                          m->db ? sqlite3_errmsg(m->db) : "out of memory");
    sqlite3_busy_timeout(m->db, 5000);
    sqlite3_stmt *q;
    int v = -1;
    if (sqlite3_prepare_v2(m->db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW)
            v = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    if (v != HS__MIG_SCHEMA) {
        hs_err_set(err, HS_EINVAL, "migrate_schema",
                   "%s has schema version %d; this build copies version %d", path, v,
                   HS__MIG_SCHEMA);
        hs_err_hint(err, "start this build's apps on it once (store = sqlite), which upgrades "
                         "it, then stop them and migrate");
        return HS_EINVAL;
    }
    /* one snapshot for the whole copy: every count matches every other */
    if (sqlite3_exec(m->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail(m, "BEGIN", err);
    return 0;
}

/* uri with SOCKET_TIMEOUT_MS as its socket timeout unless it sets one
 * (malloc'd; NULL when out of memory). */
static char *copy_uri(const char *uri)
{
    if (strcasestr(uri, "sockettimeoutms="))
        return strdup(uri);
    const char *hosts = strstr(uri, "://");
    hosts = hosts ? hosts + 3 : uri;
    const char *sep = strchr(uri, '?') ? "&" : strchr(hosts, '/') ? "?" : "/?";
    char *out = NULL;
    if (asprintf(&out, "%s%ssocketTimeoutMS=%d", uri, sep, SOCKET_TIMEOUT_MS) < 0)
        return NULL;
    return out;
}

int hs_migrate_to_mongo(const hs_config_t *cfg, const hs_migrate_opts_t *opts, hs_err_t *err)
{
    mig_t m = {.out = opts->out ? opts->out : stdout};
    m.pause_at = getenv("HS_MIGRATE_TEST_PAUSE");
    int rc = open_source(&m, cfg->sqlite_path, err);
    char *uri = rc ? NULL : copy_uri(cfg->mongo_uri);
    if (!rc && !uri)
        rc = hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
    if (!rc)
        rc = hs__mongo_open(&m.st, uri, err);
    free(uri);
    if (!rc) {
        fprintf(m.out, "migrating %s into %s\n", cfg->sqlite_path, ((hs__mg_t *)m.st->impl)->db);
        rc = check_target(&m, opts->resume, err);
    }
    for (size_t i = 0; !rc && i < hs__mig_nsteps; i++)
        rc = copy_step(&m, &hs__mig_steps[i], err);
    if (!rc)
        rc = copy_words(&m, err);
    if (!rc)
        rc = verify(&m, err);
    if (m.st)
        hs_store_close(m.st);
    if (m.db) {
        sqlite3_exec(m.db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(m.db);
    }
    return rc;
}

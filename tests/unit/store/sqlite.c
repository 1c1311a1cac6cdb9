/* The SQLite backend under the store contract: how the tests open it, what
 * it asserts when each test ends, and its own tests (not part of the
 * contract). The only file of the store tests that knows the backend. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../../lib/store/sqlite/sqlite.h"
#include "store_test.h"

static char dbpath[64];

static void configure(hs_config_t *cfg, int fresh)
{
    hs_err_t err;
    if (fresh) {
        snprintf(dbpath, sizeof dbpath, "/tmp/hs-store-test-%d.db", (int)getpid());
        unlink(dbpath);
    }
    assert_int_equal(hs_config_set(cfg, "store", "sqlite", &err), 0);
    assert_int_equal(hs_config_set(cfg, "sqlite_path", dbpath, &err), 0);
}

static void release(hs_store_t *s)
{
    /* After every test the database closes cleanly: no statement was
     * prepared and left unfinalized (sqlite3_close is then SQLITE_BUSY).
     * FTS5's own statements are not counted: it finalizes them at close. */
    assert_int_equal(hs__sq_release(s->impl), SQLITE_OK);
    hs_store_close(s);
    char p[80];
    unlink(dbpath);
    snprintf(p, sizeof p, "%s-wal", dbpath);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", dbpath);
    unlink(p);
}

/* The statements open on db (prepared and not finalized). */
static size_t live_statements(sqlite3 *db)
{
    size_t n = 0;
    for (sqlite3_stmt *s = sqlite3_next_stmt(db, NULL); s; s = sqlite3_next_stmt(db, s))
        n++;
    return n;
}

/* More distinct statements than the cache once held (64; the store has
 * about 100): each is prepared once, whatever the number of calls, and the
 * close finalizes them all. */
static void statement_cache_holds_every_statement(void **state)
{
    (void)state;
    static char sqls[300][32];
    hs__sq_t *q = st->impl;
    hs_err_t err;
    size_t before = live_statements(q->db);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 300; i++) {
            snprintf(sqls[i], sizeof sqls[i], "SELECT %d", i);
            sqlite3_stmt *s = hs__sq_prepare(st, sqls[i], &err);
            assert_non_null(s);
            assert_int_equal(sqlite3_step(s), SQLITE_ROW);
            assert_int_equal(sqlite3_column_int(s, 0), i);
            sqlite3_reset(s);
        }
    assert_int_equal(live_statements(q->db), before + 300);
    /* Once the cache is finalized nothing is left open (the teardown then
     * asserts that sqlite3_close succeeds). */
    assert_int_equal(hs_store_ping(st, &err), 0);
    for (size_t i = 0; i < q->cap; i++)
        if (q->cache[i].sql) {
            sqlite3_finalize(q->cache[i].stmt);
            q->cache[i].sql = NULL;
        }
    q->ncache = 0;
    assert_null(sqlite3_next_stmt(q->db, NULL));
}

STORE_SUITE(sqlite_own_suite, STORE_TEST(statement_cache_holds_every_statement));

const store_test_backend_t store_test_sqlite = {
    .name = "sqlite",
    .configure = configure,
    .release = release,
    .own = &sqlite_own_suite,
};

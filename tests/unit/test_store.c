/* The store contract, run against one backend. The tests live in
 * tests/unit/store/, one file a domain, and reach the store only through
 * the hs_store_* interface; this file is their backend-neutral set-up: it
 * opens the backend chosen below behind a vtable that counts each call,
 * gives every test a fresh store, and ends with the check that every
 * operation of hs/store_ops.h has a contract test that names it (COVERS)
 * and calls it. A second backend adds one file in store/ (its
 * store_test_backend_t) and one line to `backends`; the contract files
 * stay as they are. HS_TEST_STORE=<name> picks a backend (default: the
 * first).
 *
 * A backend still being built (mongo) answers not_implemented for the
 * operations it does not have yet: a contract test that reaches one stops
 * there and is reported SKIPPED with the operation's name, and the run ends
 * with the list of those operations, so an unfinished backend is never
 * counted as passing a test it did not run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store_test.h"

/* The backends this program can test. */
static const store_test_backend_t *const backends[] = {&store_test_sqlite, &store_test_mongo};
static const store_test_backend_t *backend;

/* The contract, in the order it runs. */
static const store_suite_t *const contract[] = {
    &store_users_suite,    &store_sessions_suite, &store_files_suite,  &store_chats_suite,
    &store_messages_suite, &store_p2p_suite,      &store_events_suite, &store_health_suite,
};

/* ---- Coverage: which operations the tests assert, and which they call. -- */

static const char *const op_names[OP_COUNT] = {
#define OP_NAME(name, params, args, contract) #name,
    HS_STORE_OPS(OP_NAME)
#undef OP_NAME
};
static const char *const op_contracts[OP_COUNT] = {
#define OP_CONTRACT(name, params, args, contract) contract,
    HS_STORE_OPS(OP_CONTRACT)
#undef OP_CONTRACT
};
static int covered[OP_COUNT];     /* named by a test's COVERS */
static unsigned called[OP_COUNT]; /* reached the backend */
static int contract_tests_run, contract_tests_total;

void store_test_covers(const int *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        covered[ops[i]] = 1;
}

/* The backend's vtable behind one that counts each call: generated from the
 * same list, so a new operation is counted without touching this file. The
 * operations' first parameter is named st, like the store under test. */
static const hs_store_ops_t *backend_ops;
#define OP_COUNTED(name, params, args, contract)                                                   \
    static int counted_##name params                                                               \
    {                                                                                              \
        called[OP_##name]++;                                                                       \
        return backend_ops->name args;                                                             \
    }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
HS_STORE_OPS(OP_COUNTED)
#pragma GCC diagnostic pop
#undef OP_COUNTED
static hs_store_ops_t counting_ops = {
#define OP_COUNTED_INIT(name, params, args, contract) .name = counted_##name,
    HS_STORE_OPS(OP_COUNTED_INIT)
#undef OP_COUNTED_INIT
};

static hs_store_t *counted(hs_store_t *s)
{
    backend_ops = s->ops;
    counting_ops.name = backend_ops->name;
    counting_ops.close = backend_ops->close;
    s->ops = &counting_ops;
    return s;
}

/* ---- The store under test. ---------------------------------------------- */

hs_store_t *st;
hs_arena_t arena;

/* Opens the backend on the test database; fresh empties it first. */
static hs_store_t *backend_open(int fresh)
{
    hs_store_t *out = NULL;
    hs_config_t cfg;
    hs_err_t err;
    assert_int_equal(hs_config_load(&cfg, NULL, 0, &err), 0);
    backend->configure(&cfg, fresh);
    int rc = hs_store_open(&out, &cfg, &err);
    hs_config_free(&cfg);
    assert_int_equal(rc, 0);
    return counted(out);
}

hs_store_t *store_test_open_same(void)
{
    hs_store_t *out = NULL;
    hs_config_t cfg;
    hs_err_t err;
    if (hs_config_load(&cfg, NULL, 0, &err) == 0) {
        backend->configure(&cfg, 0);
        if (hs_store_open(&out, &cfg, &err))
            out = NULL;
    }
    hs_config_free(&cfg);
    return out;
}

void store_test_race(int n, store_race_fn race, void *arg, int *codes)
{
    int ready[2], go[2];
    pid_t kids[16];
    assert_true(n > 0 && n <= 16);
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    fflush(NULL);
    for (int i = 0; i < n; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            /* the child: its own store, then wait for the start together */
            close(ready[0]);
            close(go[1]);
            hs_store_t *mine = store_test_open_same();
            char c = 1;
            if (write(ready[1], &c, 1) != 1 || !mine)
                _exit(100);
            if (read(go[0], &c, 1) < 0)
                _exit(101);
            int rc = race(mine, i, arg);
            hs_store_close(mine);
            _exit(rc < 0 || rc > 99 ? 102 : rc);
        }
    }
    close(ready[1]);
    close(go[0]);
    for (int i = 0; i < n; i++) {
        char c;
        assert_int_equal(read(ready[0], &c, 1), 1);
    }
    close(go[1]); /* every child reads EOF at once: go */
    close(ready[0]);
    for (int i = 0; i < n; i++) {
        int status = 0;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        codes[i] = WIFEXITED(status) ? WEXITSTATUS(status) : 103;
    }
}

void store_test_reopen(void)
{
    hs_store_close(st);
    st = backend_open(0);
}

int store_test_open(void **state)
{
    (void)state;
    st = backend_open(1);
    contract_tests_run++;
    return 0;
}

int store_test_close(void **state)
{
    (void)state;
    backend->release(st);
    st = NULL;
    hs_arena_free(&arena);
    return 0;
}

/* Runs last: every operation of hs/store_ops.h has a test that names it
 * (COVERS) and calls it. Skipped when only some tests ran (a filter). */
static void every_operation_has_a_contract_test(void **state)
{
    (void)state;
    if (contract_tests_run < contract_tests_total)
        skip();
    int missing_tests = 0;
    for (int i = 0; i < OP_COUNT; i++) {
        if (!covered[i])
            print_error("store operation %s has no contract test: %s\n", op_names[i],
                        op_contracts[i]);
        else if (!called[i])
            print_error("store operation %s is named by COVERS but never called\n", op_names[i]);
        missing_tests += !covered[i] || !called[i];
    }
    assert_int_equal(missing_tests, 0);
}

static const store_test_backend_t *choose_backend(void)
{
    const char *want = getenv("HS_TEST_STORE");
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (!want || !*want || strcmp(want, backends[i]->name) == 0)
            return backends[i];
    fprintf(stderr, "test_store: no backend named %s\n", want);
    return NULL;
}

int main(void)
{
    if (!(backend = choose_backend()))
        return 1;
    /* the contract as one group, the coverage check last */
    size_t n = 0;
    for (size_t i = 0; i < sizeof contract / sizeof contract[0]; i++)
        n += contract[i]->n;
    struct CMUnitTest *all = calloc(n + 1, sizeof *all);
    if (!all)
        return 1;
    n = 0;
    for (size_t i = 0; i < sizeof contract / sizeof contract[0]; i++)
        for (size_t j = 0; j < contract[i]->n; j++)
            all[n++] = contract[i]->tests[j];
    contract_tests_total = (int)n;
    all[n++] = (struct CMUnitTest)cmocka_unit_test(every_operation_has_a_contract_test);

    char name[64];
    snprintf(name, sizeof name, "store contract (%s)", backend->name);
    int failed = _cmocka_run_group_tests(name, all, n, NULL, NULL);
    free(all);
    if (backend->own) {
        snprintf(name, sizeof name, "%s backend", backend->name);
        failed += _cmocka_run_group_tests(name, backend->own->tests, backend->own->n, NULL, NULL);
    }
    return failed;
}

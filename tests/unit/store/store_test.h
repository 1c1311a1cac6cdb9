/* The store contract tests, shared by every file of tests/unit/store/ and
 * by tests/unit/test_store.c, which runs them. The contract files reach the
 * store only through hs/store.h and never name a backend: the backend under
 * test is chosen in test_store.c alone (its `backends` list), so a second
 * backend runs these very files unchanged.
 *
 * Each contract test names the operations whose contract it asserts
 * (COVERS); the last test fails when an operation of hs/store_ops.h has no
 * test or a test names an operation it never calls. */
#ifndef HS_STORE_TEST_H
#define HS_STORE_TEST_H

#include "../test.h"

#include "hs/store.h"

/* OP_<name> for every operation of hs/store_ops.h. */
enum {
#define OP_ENUM(name, params, args, contract) OP_##name,
    HS_STORE_OPS(OP_ENUM)
#undef OP_ENUM
        OP_COUNT
};

/* A test declares the operations whose contract it asserts. */
#define COVERS(...)                                                                                \
    store_test_covers((const int[]){__VA_ARGS__}, sizeof((const int[]){__VA_ARGS__}) / sizeof(int))
void store_test_covers(const int *ops, size_t n);

/* The store under test (a fresh one for each test, its calls counted) and
 * the arena of its reads, emptied after each test (test_store.c). */
extern hs_store_t *st;
extern hs_arena_t arena;

/* Closes st and opens the same data again (the schema set-up must be
 * idempotent); st is the new handle. */
void store_test_reopen(void);

/* Per-test set-up and tear-down: a fresh, empty store in st. */
int store_test_open(void **state);
int store_test_close(void **state);
#define STORE_TEST(f) cmocka_unit_test_setup_teardown(f, store_test_open, store_test_close)

/* One file's tests: STORE_SUITE(store_users_suite, STORE_TEST(users), ...). */
typedef struct store_suite {
    const struct CMUnitTest *tests;
    size_t n;
} store_suite_t;
#define STORE_SUITE(var, ...)                                                                      \
    static const struct CMUnitTest var##_tests[] = {__VA_ARGS__};                                  \
    const store_suite_t var = {var##_tests, sizeof var##_tests / sizeof var##_tests[0]}

/* The contract, one suite a domain (one file each). */
extern const store_suite_t store_health_suite, store_users_suite, store_sessions_suite,
    store_files_suite, store_chats_suite, store_messages_suite, store_p2p_suite, store_events_suite;

/* A backend: how to open it on a test database, what it asserts when a test
 * ends, and its own tests (not part of the contract). */
typedef struct store_test_backend {
    const char *name;
    /* Sets the config keys that open the backend; fresh: on an empty
     * database (the old one removed), else on the one the last call named. */
    void (*configure)(hs_config_t *cfg, int fresh);
    /* Checks what the backend promises at close, closes s and removes the
     * test database. */
    void (*release)(hs_store_t *s);
    const store_suite_t *own; /* may be NULL */
} store_test_backend_t;

extern const store_test_backend_t store_test_sqlite, store_test_mongo;

/* Opens a second handle on the database under test, uncounted, asserting
 * nothing (NULL on failure): for a child process of a race test, which must
 * not use the parent's st and its connections. */
hs_store_t *store_test_open_same(void);

/* Runs n child processes (n <= 16) that each open their own store and then,
 * all released at once, call race(store, i, arg); returns their results in
 * codes[] (race's return value, 0..99; 100+ when the child failed to open
 * or died). For contract tests of guarantees under concurrent requests. */
typedef int (*store_race_fn)(hs_store_t *s, int i, void *arg);
void store_test_race(int n, store_race_fn race, void *arg, int *codes);

/* ---- Fixtures (fixtures.c): each asserts that the store took it. ------- */

/* An id no row has. */
extern const char NO_ID[];
/* Creates user name with display name display (email name@example.com). */
void make_user(hs_user_t *u, const char *name, const char *display);
/* An open chunked upload of u's of size bytes. */
hs_upload_t new_upload(const hs_user_t *u, int64_t size, int64_t expires_at);
/* A file of u's, finished from a fresh upload. */
hs_file_t make_file(const hs_user_t *u);
/* A chat of kind with n members; members[0] owns groups and channels. */
hs_chat_t make_chat(const char *kind, const char *direct_key, const char **members, size_t n,
                    int64_t at);
/* A message of sender_id in chat_id with a fresh id, not stored yet. */
hs_message_t new_message(const char *chat_id, const char *sender_id, const char *content);
/* A new message of sender_id in chat_id with nfiles attachments. */
hs_message_t send_message(const char *chat_id, const char *sender_id, const char *content,
                          const char **files, size_t nfiles);
/* The lower and the higher of two ids. */
void id_order(const char *x, const char *y, const char **lo, const char **hi);

#endif

/* The MongoDB backend under the store contract (HS_TEST_STORE=mongo): a
 * database of its own per test on the server MONGODB_URI names (make
 * unit-mongo starts PostgreSQL + FerretDB for it: tests/ferretdb/with.sh),
 * and the backend's own tests. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mongoc/mongoc.h>
#include <sqlite3.h>

#include "../../../lib/store/mongo/mongo.h"
#include "../../../lib/store/mongo/words.h"
#include "store_test.h"

static char uri[512];

/* MONGODB_URI (mongodb://hosts[/db][?options]) with the test database
 * hs_test_<pid> as its path. */
static void make_uri(void)
{
    const char *base = getenv("MONGODB_URI");
    if (!base || strncmp(base, "mongodb://", 10) != 0)
        fail_msg("HS_TEST_STORE=mongo needs MONGODB_URI=mongodb://... (make unit-mongo starts "
                 "a server)");
    const char *hosts = base + 10;
    size_t n = strcspn(hosts, "/?");
    const char *opts = strchr(hosts + n, '?');
    snprintf(uri, sizeof uri, "mongodb://%.*s/hs_test_%d%s", (int)n, hosts, (int)getpid(),
             opts ? opts : "");
}

static void drop_database(void)
{
    bson_error_t e;
    mongoc_client_t *c = mongoc_client_new(uri);
    assert_non_null(c);
    mongoc_database_t *db = mongoc_client_get_default_database(c);
    assert_non_null(db);
    if (!mongoc_database_drop(db, &e) && e.code != 26 /* NamespaceNotFound */)
        fail_msg("dropping the test database: %s", e.message);
    mongoc_database_destroy(db);
    mongoc_client_destroy(c);
}

static void configure(hs_config_t *cfg, int fresh)
{
    hs_err_t err;
    mongoc_init(); /* once per process inside; the tests use the driver too */
    if (fresh) {
        make_uri();
        drop_database();
    }
    assert_int_equal(hs_config_set(cfg, "store", "mongo", &err), 0);
    assert_int_equal(hs_config_set(cfg, "mongo_uri", uri, &err), 0);
}

static void release(hs_store_t *s)
{
    hs_store_close(s);
    drop_database();
}

/* ---- The backend's own tests. ------------------------------------------ */

static int64_t ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Nothing listens on the port: the open fails with 503 store_unavailable
 * within the default server selection timeout (2 s), it does not hang. */
static void unreachable_server_is_unavailable(void **state)
{
    (void)state;
    hs_config_t cfg;
    hs_err_t err;
    hs_store_t *s = NULL;
    struct timespec t0;
    assert_int_equal(hs_config_load(&cfg, NULL, 0, &err), 0);
    /* port 9 (discard) on loopback: refused */
    assert_int_equal(hs_config_set(&cfg, "store", "mongo", &err), 0);
    assert_int_equal(hs_config_set(&cfg, "mongo_uri", "mongodb://127.0.0.1:9/hs_none", &err), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(hs_store_open(&s, &cfg, &err), HS_EUNAVAIL);
    assert_null(s);
    assert_string_equal(err.code, "store_unavailable");
    assert_int_equal(err.status, 503);
    assert_non_null(strstr(err.message, "127.0.0.1:9"));
    assert_true(ms_since(&t0) < 5000);
    hs_config_free(&cfg);
}

/* The open creates the indexes; a second open finds them and changes
 * nothing; the unique ones are unique where SQLite's are. */
static void indexes_are_idempotent(void **state)
{
    (void)state;
    hs_user_t u, dup;
    hs_err_t err;
    make_user(&u, "idx", "");
    store_test_reopen();
    store_test_reopen();
    dup = u;
    hs_id_new(dup.id);
    assert_int_equal(hs_store_user_create(st, &dup, &err), HS_ECONFLICT);
    assert_string_equal(err.code, "username_taken");
}

/* read_mark forward only, and a member_set between two marks keeps the
 * marker (both write the member document through compare-and-set; the
 * contract's read_marks_and_receipts does not interleave them). */
static void read_mark_moves_forward_only(void **state)
{
    (void)state;
    hs_user_t a, b;
    hs_err_t err;
    hs_chat_t got;
    int moved;
    make_user(&a, "rma", "");
    make_user(&b, "rmb", "");
    const char *ab[] = {a.id, b.id};
    hs_chat_t g = make_chat("group", NULL, ab, 2, 1000);
    assert_int_equal(hs_store_read_mark(st, g.id, b.id, "000000000000000000000002", &moved, &err),
                     0);
    assert_true(moved);
    assert_int_equal(hs_store_member_set(st, g.id, b.id, "admin", 1, &err), 0);
    assert_int_equal(hs_store_read_mark(st, g.id, b.id, "000000000000000000000001", &moved, &err),
                     0);
    assert_false(moved);
    assert_int_equal(hs_store_chat_get(st, g.id, b.id, 0, &arena, &got, &err), 0);
    assert_string_equal(got.my_last_read_id, "000000000000000000000002");
    assert_string_equal(got.my_role, "admin");
    assert_true(got.my_muted);
    assert_int_equal(hs_store_read_mark(st, g.id, NO_ID, "000000000000000000000003", &moved, &err),
                     0);
    assert_false(moved); /* not a member: nothing moves */
}

/* store = mongo takes a mongodb:// (or mongodb+srv://) URI, nothing else. */
static void config_checks_the_mongo_uri(void **state)
{
    (void)state;
    hs_config_t cfg;
    hs_err_t err;
    setenv("HS_STORE", "mongo", 1);
    setenv("HS_MONGO_URI", "postgres://127.0.0.1/hypersend", 1);
    assert_int_equal(hs_config_load(&cfg, NULL, 0, &err), HS_EINVAL);
    assert_non_null(strstr(err.message, "mongo_uri"));
    hs_config_free(&cfg);
    setenv("HS_MONGO_URI", "mongodb://127.0.0.1:1/hypersend", 1);
    assert_int_equal(hs_config_load(&cfg, NULL, 0, &err), 0);
    assert_string_equal(cfg.store, "mongo");
    hs_config_free(&cfg);
    unsetenv("HS_STORE");
    unsetenv("HS_MONGO_URI");
}

/* ---- Search words: the same as SQLite's FTS5 finds and shows. --------- */

/* The SQLite backend's FTS5 query of q: each hs_word_byte run quoted, the
 * last one a prefix (lib/store/sqlite/messages.c, fts_query). */
static const char *fts_query(const char *q, char *out)
{
    char *p = out;
    int words = 0;
    for (const unsigned char *s = (const unsigned char *)q; *s;) {
        while (*s && !hs_word_byte(*s))
            s++;
        if (!*s)
            break;
        if (words++)
            *p++ = ' ';
        *p++ = '"';
        while (*s && hs_word_byte(*s))
            *p++ = (char)*s++;
        *p++ = '"';
    }
    if (words)
        *p++ = '*';
    *p = '\0';
    return words ? out : NULL;
}

/* Random texts and queries from pieces that exercise the tokenizer
 * (case, diacritics, separators, marks, sentences) and the snippet
 * (long texts, repeats, phrases): what SQLite's FTS5 matches and its
 * snippet() shows, words.c must match and show byte for byte. */
static void search_words_match_sqlite(void **state)
{
    (void)state;
    static const char *const pieces[] = {"common",
                                         "Common",
                                         "word",
                                         "words",
                                         "here",
                                         "naïve",
                                         "NAÏVE",
                                         "Ærøskøbing",
                                         "café",
                                         "cafe",
                                         "e\xCC\x81t\xC3\xA9",
                                         "straße",
                                         "Œuvre",
                                         "ĳssel",
                                         "Ŀ",
                                         "µ",
                                         "日本語",
                                         "テスト",
                                         "x—y",
                                         "a-b",
                                         "don't",
                                         "co-op",
                                         "42",
                                         "x2",
                                         "İstanbul",
                                         "ǅ",
                                         "ﬁne",
                                         "😀",
                                         "a\xC2\xAD"
                                         "b",
                                         "\xCC\x81",
                                         "\xCC\x81x",
                                         "\xE2\x83\x9D",
                                         "\xF3\xA0\x80\x81",
                                         " ",
                                         " ",
                                         " ",
                                         ". ",
                                         ": ",
                                         ", ",
                                         "\n",
                                         "!",
                                         "  ",
                                         "\t",
                                         "...",
                                         "(",
                                         ")",
                                         "«",
                                         "»"};
    enum { NP = sizeof pieces / sizeof pieces[0] };
    static const char *const queries[] = {
        "common",     "comm",     "word",   "words here", "here common",
        "naive",      "NAÏ",      "aerosk", "æro",        "cafe",
        "ete",        "strasse",  "straß",  "œuv",        "ijs",
        "ŀ",          "μ",        "日本",   "テスト",     "x y",
        "x—y",        "a b",      "don t",  "co",         "42",
        "x2",         "istanbul", "ǆ",      "ﬁ",          "common common",
        "word —",     "— word",   "here.",  "e",          "common word here",
        "co-op word", "42 x",     "b"};
    enum { NQ = sizeof queries / sizeof queries[0] };
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE VIRTUAL TABLE f USING fts5(x, tokenize='unicode61 "
                                  "remove_diacritics 2')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_stmt *ins, *sel;
    assert_int_equal(
        sqlite3_prepare_v2(db, "INSERT INTO f(rowid, x) VALUES (1, ?1)", -1, &ins, NULL), 0);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT snippet(f, 0, char(2), char(3), '…', 12) FROM f"
                                        " WHERE f MATCH ?1",
                                        -1, &sel, NULL),
                     0);
    unsigned seed = 12345;
    int matched = 0;
    for (int round = 0; round < 1500; round++) {
        char text[4096] = "";
        int n = 1 + (int)(rand_r(&seed) % (round % 3 ? 12 : 60));
        for (int i = 0; i < n; i++) {
            strcat(text, pieces[rand_r(&seed) % NP]);
            if (rand_r(&seed) % 3)
                strcat(text, " ");
        }
        assert_int_equal(sqlite3_exec(db, "DELETE FROM f", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_bind_text(ins, 1, text, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
        for (int k = 0; k < 4; k++) {
            char q[256], fq[1024];
            snprintf(q, sizeof q, "%s", queries[rand_r(&seed) % NQ]);
            if (k == 3) /* a word of the text itself, cut short */
                snprintf(q, sizeof q, "%.4s", pieces[rand_r(&seed) % NP]);
            hs__query_t hq;
            int words = hs__query_parse(&arena, q, &hq);
            if (!fts_query(q, fq)) {
                assert_false(words);
                continue;
            }
            assert_true(words);
            sqlite3_bind_text(sel, 1, fq, -1, SQLITE_STATIC);
            int rc = sqlite3_step(sel);
            const char *want = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(sel, 0) : NULL;
            const char *got = NULL;
            int hit = hs__query_match(&arena, &hq, text, &got);
            if (hit != (want != NULL) || (want && strcmp(want, got) != 0))
                fail_msg("text [%s] query [%s]: sqlite %s [%s], words.c %s [%s]", text, q,
                         want ? "hit" : "miss", want ? want : "", hit ? "hit" : "miss",
                         got ? got : "");
            matched += hit;
            sqlite3_reset(sel);
        }
    }
    assert_true(matched > 500); /* the comparison saw hits, not only misses */
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    sqlite3_close(db);
}

/* A message document as messages.c writes it (the fields search reads),
 * and its search words. */
static void put_message(const char *id, const char *chat, const char *sender, const char *content,
                        int64_t deleted_at)
{
    hs__mg_op_t op;
    hs_err_t err;
    bson_t *doc =
        BCON_NEW("_id", BCON_UTF8(id), "chat_id", BCON_UTF8(chat), "sender_id", BCON_UTF8(sender),
                 "content", BCON_UTF8(content), "created_at", BCON_INT64(1000), "edited_at",
                 BCON_INT64(0), "deleted_at", BCON_INT64(deleted_at));
    hs__mg_begin(st, &op);
    assert_int_equal(hs__mg_insert(&op, HS__MG_MESSAGES, doc, NULL, &err), 0);
    assert_int_equal(hs__mg_tokens_put(&op, chat, id, deleted_at ? NULL : content, &err), 0);
    hs__mg_end(&op);
    bson_destroy(doc);
}

static size_t count_words(const char *msg_id)
{
    hs__mg_op_t op;
    hs_err_t err;
    long n = -1;
    bson_t *f = BCON_NEW("m", BCON_UTF8(msg_id));
    hs__mg_begin(st, &op);
    assert_int_equal(hs__mg_count(&op, HS__MG_TOKENS, f, &n, &err), 0);
    hs__mg_end(&op);
    bson_destroy(f);
    return (size_t)n;
}

/* search_pages_newest_first on documents written here (until messages.c
 * sends them): pages newest first over the searcher's chats only, each hit
 * once with its snippet; cursors of theirs only; deleted messages never
 * found; an edit replaces the words; diacritics, case and prefixes as in
 * SQLite. */
static void search_over_stored_words(void **state)
{
    (void)state;
    hs_user_t u, other;
    hs_err_t err;
    hs_message_page_t page;
    make_user(&u, "finder", "");
    make_user(&other, "stranger", "");
    const char *mine[] = {u.id}, *theirs[] = {other.id};
    hs_chat_t c = make_chat("group", NULL, mine, 1, hs_now_ms());
    hs_chat_t elsewhere = make_chat("group", NULL, theirs, 1, hs_now_ms());
    enum { N = 450 };
    char theirs_id[HS_ID_LEN + 1] = "", deleted_id[HS_ID_LEN + 1];
    for (int i = 0, n = 0; n < N; i++) {
        int mine_now = i % 3 != 2;
        char id[HS_ID_LEN + 1];
        hs_id_new(id);
        n += mine_now;
        put_message(id, mine_now ? c.id : elsewhere.id, mine_now ? u.id : other.id,
                    i % 7 ? "common word here" : "common common word", 0);
        if (!mine_now)
            memcpy(theirs_id, id, sizeof id);
    }
    hs_id_new(deleted_id);
    put_message(deleted_id, c.id, u.id, "", 5000); /* deleted: no words, never a hit */
    const char *cursor = NULL;
    size_t seen = 0, pages = 0;
    char **ids = hs_arena_alloc(&arena, sizeof *ids * N);
    do {
        assert_int_equal(
            hs_store_message_search(st, u.id, NULL, "Common", cursor, 100, &arena, &page, &err), 0);
        for (size_t i = 0; i < page.n; i++) {
            assert_string_equal(page.items[i].chat_id, c.id);
            assert_string_equal(page.items[i].sender_id, u.id);
            assert_non_null(strstr(page.items[i].snippet, "\x02"
                                                          "common"
                                                          "\x03"));
            assert_true(seen < N);
            ids[seen++] = hs_arena_strdup(&arena, page.items[i].id);
        }
        cursor = page.next_cursor;
        assert_true(++pages < 20);
    } while (cursor);
    assert_int_equal(seen, N);
    assert_int_equal(pages, (N + 99) / 100);
    for (size_t i = 1; i < seen; i++) /* newest first, no hit twice */
        assert_true(strcmp(ids[i - 1], ids[i]) > 0);
    /* a prefix and two words: the same hits; a word no message has: none */
    assert_int_equal(
        hs_store_message_search(st, u.id, NULL, "word comm", NULL, 500, &arena, &page, &err), 0);
    assert_int_equal(page.n, N);
    assert_null(page.next_cursor);
    assert_int_equal(
        hs_store_message_search(st, u.id, NULL, "common nothing", NULL, 10, &arena, &page, &err),
        0);
    assert_int_equal(page.n, 0);
    /* cursors: another chat's message is refused like garbage; the
     * searcher's own deleted message is a place in their results */
    assert_int_equal(
        hs_store_message_search(st, u.id, NULL, "common", theirs_id, 10, &arena, &page, &err),
        HS_EINVAL);
    assert_string_equal(err.code, "invalid_cursor");
    assert_int_equal(
        hs_store_message_search(st, u.id, NULL, "common", "12 x", 10, &arena, &page, &err),
        HS_EINVAL);
    assert_int_equal(
        hs_store_message_search(st, u.id, NULL, "common", deleted_id, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 10);
    assert_string_equal(page.items[0].id, ids[0]);
    assert_int_equal(
        hs_store_message_search(st, u.id, elsewhere.id, "common", NULL, 10, &arena, &page, &err),
        0);
    assert_int_equal(page.n, 0); /* not their chat */
    assert_int_equal(
        hs_store_message_search(st, u.id, c.id, "common", NULL, 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 10);
    /* no word at all: nothing, whatever the cursor (as SQLite) */
    assert_int_equal(
        hs_store_message_search(st, u.id, NULL, "-- !", "12 x", 10, &arena, &page, &err), 0);
    assert_int_equal(page.n, 0);

    /* diacritics and case folded as FTS5 folds them, on both sides */
    char cafe[HS_ID_LEN + 1];
    hs_id_new(cafe);
    put_message(cafe, c.id, u.id, "Rendez-vous au CAFÉ Ærøskøbing. Straße, naïve!", 0);
    static const char *const finds[] = {"cafe", "café", "ÆRØSK", "STRAßE", "NAIVE", "rendez vous"};
    for (size_t i = 0; i < sizeof finds / sizeof finds[0]; i++) {
        assert_int_equal(
            hs_store_message_search(st, u.id, NULL, finds[i], NULL, 10, &arena, &page, &err), 0);
        assert_int_equal(page.n, 1);
        assert_string_equal(page.items[0].id, cafe);
    }
    /* FTS5 keeps æ, ø and ß as letters of their own: so does this */
    static const char *const misses[] = {"aeroskobing", "strasse"};
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
        assert_int_equal(
            hs_store_message_search(st, u.id, NULL, misses[i], NULL, 10, &arena, &page, &err), 0);
        assert_int_equal(page.n, 0);
    }
    assert_int_equal(hs_store_message_search(st, u.id, NULL, "cafe", NULL, 1, &arena, &page, &err),
                     0);
    assert_string_equal(page.items[0].snippet, "Rendez-vous au \x02"
                                               "CAFÉ\x03 Ærøskøbing. Straße, naïve!");
    size_t before = count_words(cafe);
    assert_int_equal(before, 7);
    /* an edit replaces the words (twice: idempotent); a delete drops them */
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    assert_int_equal(hs__mg_tokens_put(&op, c.id, cafe, "tea time, tea", &err), 0);
    assert_int_equal(hs__mg_tokens_put(&op, c.id, cafe, "tea time, tea", &err), 0);
    hs__mg_end(&op);
    assert_int_equal(count_words(cafe), 2);
    assert_int_equal(hs_store_message_search(st, u.id, NULL, "cafe", NULL, 10, &arena, &page, &err),
                     0);
    assert_int_equal(page.n, 0); /* the document still says café: its words decide */
    hs__mg_begin(st, &op);
    assert_int_equal(hs__mg_tokens_put(&op, c.id, cafe, NULL, &err), 0);
    hs__mg_end(&op);
    assert_int_equal(count_words(cafe), 0);
}

STORE_SUITE(mongo_own_suite, cmocka_unit_test(unreachable_server_is_unavailable),
            cmocka_unit_test(config_checks_the_mongo_uri), STORE_TEST(indexes_are_idempotent),
            STORE_TEST(read_mark_moves_forward_only), cmocka_unit_test(search_words_match_sqlite),
            STORE_TEST(search_over_stored_words));

const store_test_backend_t store_test_mongo = {
    .name = "mongo",
    .configure = configure,
    .release = release,
    .own = &mongo_own_suite,
};

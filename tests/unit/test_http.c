/* Routing, URL decoding and query parsing (lib/http/route.c, lib/http/http.c). */
#include "test.h"

#include <string.h>

#include "hs/http.h"

static hs_arena_t arena;

static int teardown(void **state)
{
    (void)state;
    hs_arena_free(&arena);
    return 0;
}

static void match_literal(void **state)
{
    (void)state;
    hs_req_t req = {.arena = &arena};
    assert_true(hs_route_match("/api/v1/auth/me", "/api/v1/auth/me", &req));
    assert_int_equal(req.nparams, 0);
    assert_false(hs_route_match("/api/v1/auth/me", "/api/v1/auth/me/", &req));
    assert_false(hs_route_match("/api/v1/auth/me", "/api/v1/auth/m", &req));
    assert_false(hs_route_match("/api/v1/auth/me", "/api/v1/auth/mex", &req));
}

static void match_params(void **state)
{
    (void)state;
    hs_req_t req = {.arena = &arena};
    assert_true(hs_route_match("/u/{id}/follow", "/u/abc/follow", &req));
    assert_int_equal(req.nparams, 1);
    assert_string_equal(hs_req_param(&req, "id"), "abc");
    assert_null(hs_req_param(&req, "other"));
    /* a parameter is one non-empty segment */
    assert_false(hs_route_match("/u/{id}/follow", "/u//follow", &req));
    assert_false(hs_route_match("/u/{id}", "/u/a/b", &req));
    /* params are percent-decoded */
    assert_true(hs_route_match("/u/{a}/{b}", "/u/x%20y/z", &req));
    assert_string_equal(hs_req_param(&req, "a"), "x y");
    assert_string_equal(hs_req_param(&req, "b"), "z");
    /* %00 and broken escapes never match */
    assert_false(hs_route_match("/u/{id}", "/u/a%00", &req));
    assert_false(hs_route_match("/u/{id}", "/u/a%4", &req));
}

static void url_decode(void **state)
{
    (void)state;
    assert_string_equal(hs_url_decode(&arena, "a+b%2Fc", 7, 1), "a b/c");
    assert_string_equal(hs_url_decode(&arena, "a+b", 3, 0), "a+b");
    assert_string_equal(hs_url_decode(&arena, "%e2%82%ac", 9, 0), "\xe2\x82\xac");
    assert_null(hs_url_decode(&arena, "%zz", 3, 0));
    assert_null(hs_url_decode(&arena, "%", 1, 0));
    assert_null(hs_url_decode(&arena, "ab%2", 4, 0));
}

static void query(void **state)
{
    (void)state;
    hs_req_t req = {.arena = &arena};
    assert_int_equal(hs_req_parse_query(&req, "q=al+ice&limit=5&flag&&empty="), 0);
    assert_string_equal(hs_req_query(&req, "q"), "al ice");
    assert_string_equal(hs_req_query(&req, "limit"), "5");
    assert_string_equal(hs_req_query(&req, "flag"), "");
    assert_string_equal(hs_req_query(&req, "empty"), "");
    assert_null(hs_req_query(&req, "missing"));
    assert_int_not_equal(hs_req_parse_query(&req, "q=%zz"), 0);
    char many[256] = "";
    for (int i = 0; i < HS_MAX_QUERY + 1; i++)
        strcat(many, "a=1&");
    assert_int_not_equal(hs_req_parse_query(&req, many), 0);
}

static void arena_grows(void **state)
{
    (void)state;
    hs_arena_t a = {0};
    char *big = hs_arena_alloc(&a, 100000);
    memset(big, 'x', 100000);
    char *s = hs_arena_printf(&a, "%s-%d", "n", 42);
    assert_string_equal(s, "n-42");
    /* an array grown one element at a time keeps what it held */
    int *v = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < 100; i++) {
        v = hs_arena_grow(&a, v, n, &cap, sizeof *v);
        v[n++] = i;
    }
    assert_true(cap >= 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(v[i], i);
    hs_arena_reset(&a);
    assert_non_null(hs_arena_strdup(&a, "again"));
    hs_arena_free(&a);
}

/* The one header writer: CR, LF, NUL (the end of a C string: a value cut
 * short is still refused when it carries CR/LF before) and other controls
 * in a value, and names that are not tokens, are refused and mark the
 * reply as failed; good headers pass byte for byte. */
static void header_writer(void **state)
{
    (void)state;
    hs_ctx_t ctx = {.app_name = "test"};
    hs_req_t req = {.arena = &arena, .ctx = &ctx, .request_id = "rid"};
    assert_int_equal(hs_reply_header(&req, "Content-Type", "text/plain; charset=utf-8"), 0);
    assert_int_equal(hs_reply_header(&req, "X-Tab", "a\tb"), 0);
    assert_false(req.header_refused);
    assert_string_equal(req.headers, "Content-Type: text/plain; charset=utf-8\r\nX-Tab: a\tb\r\n");
    size_t before = req.hlen;
    const char *bad_values[] = {
        "text/plain\r\nX-Sendfile2: /data/files/ab/victim 0-",
        "text/html\r\n\r\n<script>",
        "a\nb",
        "a\rb",
        "a\x01b",
        "a\x7f",
        NULL,
    };
    for (size_t i = 0; i < sizeof bad_values / sizeof *bad_values; i++) {
        req.header_refused = 0;
        assert_int_equal(hs_reply_header(&req, "Content-Type", bad_values[i]), HS_EINTERNAL);
        assert_true(req.header_refused);
        assert_int_equal(req.hlen, before);
    }
    const char *bad_names[] = {"", "Bad Name", "X:Y", "X\r\nY", "\xc3\xa9", NULL};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        req.header_refused = 0;
        assert_int_equal(hs_reply_header(&req, bad_names[i], "v"), HS_EINTERNAL);
        assert_true(req.header_refused);
        assert_int_equal(req.hlen, before);
    }
    assert_null(strchr(req.headers + before, '\n'));
    assert_true(hs_header_value_ok(""));
    assert_true(hs_header_name_ok("X-Content-Type-Options"));
    assert_false(
        hs_header_name_ok("x-sixty-five-characters-long-name-is-too-long-for-a-header-name-xyz"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(match_literal, teardown),
        cmocka_unit_test_teardown(match_params, teardown),
        cmocka_unit_test_teardown(url_decode, teardown),
        cmocka_unit_test_teardown(query, teardown),
        cmocka_unit_test(arena_grows),
        cmocka_unit_test_teardown(header_writer, teardown),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}

/* Regressions for defects the fuzzers found (tests/fuzz, docs/fuzzing.md).
 * Most are memory errors: they fail under `make sanitize-test`, where the
 * arena poisons its free space and the gaps between allocations. */
#include "test.h"

#include <string.h>

#include "hs/arena.h"
#include "hs/err.h"
#include "hs/tus.h"

#include "../fuzz/fuzz.h" /* the fake request */

/* tus base64 made only of '=' (fuzz_tus): the padding count went past the
 * decoded length and the NUL was written before the buffer. */
static void tus_base64_only_padding(void **state)
{
    (void)state;
    static const char *headers[] = {"filename ====", "filename ========", "filename =",
                                    "filename A===", "filename ==,filetype ===="};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        hs_arena_t a = {0};
        hs_err_t err;
        const char *out = NULL;
        assert_int_equal(hs_tus_metadata(&a, headers[i], "filename", &out, &err), HS_EINVAL);
        assert_string_equal(err.code, "invalid_metadata");
        assert_null(out);
        hs_arena_free(&a);
    }
}

static void ok_handler(hs_req_t *req)
{
    hs_reply_json(req, 200, cJSON_CreateObject());
}

/* Dispatches method /health with the Origin header origin (cors_origins
 * "https://app.example, *"); the reply's status, its head in head. */
static int dispatch_origin(const char *method, const char *origin, char *head, size_t cap)
{
    static const hs_route_t routes[] = {{"GET", "/health", ok_handler, 0}};
    char env_origin[128];
    snprintf(env_origin, sizeof env_origin, "HTTP_ORIGIN=%s", origin);
    const char *env[] = {env_origin, NULL};
    fuzz_req_t f;
    fuzz_req_init(&f, "", 0, env);
    f.req.method = method;
    f.req.path = "/health";
    hs_http_dispatch(&f.req, routes, 1);
    int status = fuzz_check_reply(&f);
    size_t len;
    const char *out = fuzz_req_output(&f, &len);
    const char *end = strstr(out, "\r\n\r\n");
    snprintf(head, cap, "%.*s", end ? (int)(end - out) : 0, out);
    fuzz_req_free(&f);
    return status;
}

/* An Origin with a control byte (fuzz_route): "*" in cors_origins echoed
 * it into Access-Control-Allow-Origin, which the header writer refuses,
 * so every request carrying one got a 500. It is no origin: the request
 * is served without CORS headers, and its preflight is refused (403). */
static void cors_origin_with_control_byte(void **state)
{
    (void)state;
    static const char *bad[] = {"https://a\x07"
                                "b.example",
                                "https://a.example\t", "https://a\x7f.example",
                                "https://caf\xc3\xa9.example", "https://a.example\x1b[0m"};
    char head[2048];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(dispatch_origin("GET", bad[i], head, sizeof head), 200);
        assert_null(strstr(head, "Access-Control-Allow-Origin"));
        assert_int_equal(dispatch_origin("OPTIONS", bad[i], head, sizeof head), 403);
        assert_null(strstr(head, "Access-Control-Allow-Origin"));
    }
    /* a well-formed origin is still echoed under "*" */
    assert_int_equal(dispatch_origin("GET", "https://b.example:8443", head, sizeof head), 200);
    assert_non_null(strstr(head, "\r\nAccess-Control-Allow-Origin: https://b.example:8443\r\n"));
    assert_int_equal(dispatch_origin("OPTIONS", "https://app.example", head, sizeof head), 204);
}

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>

/* Under ASan the arena reports overflows of its buffers (which is how the
 * tus bug above shows): the bytes around an allocation, and everything
 * after a reset, are poisoned. */
static void arena_redzones(void **state)
{
    (void)state;
    hs_arena_t a = {0};
    char *p = hs_arena_alloc(&a, 5);
    char *q = hs_arena_alloc(&a, 16);
    assert_false(__asan_address_is_poisoned(p));
    assert_false(__asan_address_is_poisoned(p + 4));
    assert_true(__asan_address_is_poisoned(p - 1));
    assert_true(__asan_address_is_poisoned(p + 5));
    assert_true(__asan_address_is_poisoned(q - 1));
    assert_true(__asan_address_is_poisoned(q + 16));
    hs_arena_reset(&a);
    assert_true(__asan_address_is_poisoned(p));
    char *r = hs_arena_alloc(&a, 3);
    assert_false(__asan_address_is_poisoned(r + 2));
    assert_true(__asan_address_is_poisoned(r + 3));
    hs_arena_free(&a);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tus_base64_only_padding),
        cmocka_unit_test(cors_origin_with_control_byte),
#if defined(__SANITIZE_ADDRESS__)
        cmocka_unit_test(arena_redzones),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

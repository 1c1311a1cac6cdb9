/* Regressions for defects the fuzzers found (tests/fuzz, docs/fuzzing.md).
 * Most are memory errors: they fail under `make sanitize-test`, where the
 * arena poisons its free space and the gaps between allocations. */
#include "test.h"

#include <string.h>

#include "hs/arena.h"
#include "hs/err.h"
#include "hs/tus.h"

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
#if defined(__SANITIZE_ADDRESS__)
        cmocka_unit_test(arena_redzones),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tus_base64_only_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

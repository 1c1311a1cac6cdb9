/* Shared includes for the cmocka unit tests. */
#ifndef HS_TEST_H
#define HS_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

/* One case alone: `make unit T=store/links` sets HS_TEST_FILTER=links and
 * cmocka then runs only the tests whose name matches it (`*` and `?` are
 * wildcards). A constructor, so that no main() has to remember it. */
__attribute__((constructor)) static void hs_test_filter_from_env(void)
{
    const char *pattern = getenv("HS_TEST_FILTER");
    if (pattern && *pattern)
        cmocka_set_test_filter(pattern);
}

#endif

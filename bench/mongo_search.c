/* The query side of bench/mongo_search.sh: message_search through the
 * store interface (the mongo backend's C path, as the apps call it), each
 * query QUERIES times, p50/p99/max in ms.
 *
 *   mongo_search URI SEARCHER_ID QUERIES */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hs/config.h"
#include "hs/store.h"

static int64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: mongo_search URI SEARCHER_ID QUERIES\n");
        return 2;
    }
    hs_config_t cfg;
    hs_err_t err;
    hs_store_t *st;
    if (hs_config_load(&cfg, NULL, 0, &err) || hs_config_set(&cfg, "store", "mongo", &err) ||
        hs_config_set(&cfg, "mongo_uri", argv[1], &err) || hs_store_open(&st, &cfg, &err)) {
        fprintf(stderr, "mongo_search: %s\n", err.message);
        return 1;
    }
    /* a rare word, a middling one, the commonest, a prefix, two words */
    static const char *const queries[] = {"w9000", "w300", "w1", "w90", "w1 w2"};
    int n = atoi(argv[3]);
    int64_t *t = calloc((size_t)n, sizeof *t);
    hs_arena_t a = {0};
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        size_t hits = 0;
        for (int i = 0; i < n; i++) {
            hs_message_page_t page;
            int64_t t0 = now_us();
            if (hs_store_message_search(st, argv[2], NULL, queries[q], NULL, 50, &a, &page, &err)) {
                fprintf(stderr, "mongo_search: %s\n", err.message);
                return 1;
            }
            t[i] = now_us() - t0;
            hits = page.n;
            hs_arena_reset(&a);
        }
        qsort(t, (size_t)n, sizeof *t, cmp);
        printf("%-8s hits %3zu  p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms\n", queries[q], hits,
               t[n / 2] / 1000.0, t[(n * 99) / 100] / 1000.0, t[n - 1] / 1000.0);
    }
    hs_arena_free(&a);
    free(t);
    hs_store_close(st);
    hs_config_free(&cfg);
    return 0;
}

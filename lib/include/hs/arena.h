/* Per-request memory arena (h2o's mem pool idea): request-scoped strings and
 * store results are allocated here and released together by hs_arena_reset(). */
#ifndef HS_ARENA_H
#define HS_ARENA_H

#include <stddef.h>

typedef struct hs_arena_block hs_arena_block_t;

typedef struct hs_arena {
    hs_arena_block_t *head;
} hs_arena_t;

/* Allocates n zeroed bytes owned by the arena. Aborts on out-of-memory. */
void *hs_arena_alloc(hs_arena_t *a, size_t n);
/* Copies s (NULL gives NULL) into the arena. */
char *hs_arena_strdup(hs_arena_t *a, const char *s);
char *hs_arena_strndup(hs_arena_t *a, const char *s, size_t n);
/* printf into the arena. */
char *hs_arena_printf(hs_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Room for one more element in an arena array: returns items, or a copy
 * twice as large when n reached *cap (start with items NULL, *cap 0). */
void *hs_arena_grow(hs_arena_t *a, void *items, size_t n, size_t *cap, size_t size);
/* Frees everything but the first block, which is kept for the next request. */
void hs_arena_reset(hs_arena_t *a);
/* Frees every block. */
void hs_arena_free(hs_arena_t *a);

#endif

#include "hs/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE 16384

/* Under AddressSanitizer, the unused part of each block is poisoned and
 * every allocation is preceded by a poisoned redzone, so that a read or
 * write just outside an arena buffer is reported as it would be for a
 * malloc'd one (a whole block is one malloc to ASan otherwise). */
#if defined(__SANITIZE_ADDRESS__)
#define HS_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HS_ARENA_ASAN 1
#endif
#endif
#ifdef HS_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define REDZONE        sizeof(max_align_t)
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define REDZONE        0
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct hs_arena_block {
    hs_arena_block_t *next;
    size_t cap, used;
    max_align_t data[];
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fputs("hypersend: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *hs_arena_alloc(hs_arena_t *a, size_t n)
{
    size_t align = sizeof(max_align_t), want = n;
    n = ((n + align - 1) & ~(align - 1)) + REDZONE;
    hs_arena_block_t *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > BLOCK_SIZE ? n : BLOCK_SIZE;
        b = xmalloc(sizeof *b + cap);
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
        POISON(b->data, cap);
    }
    void *p = (char *)b->data + b->used + REDZONE;
    b->used += n;
    UNPOISON(p, want);
    memset(p, 0, want);
    return p;
}

char *hs_arena_strndup(hs_arena_t *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = hs_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *hs_arena_strdup(hs_arena_t *a, const char *s)
{
    return s ? hs_arena_strndup(a, s, strlen(s)) : NULL;
}

char *hs_arena_printf(hs_arena_t *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = hs_arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

void *hs_arena_grow(hs_arena_t *a, void *items, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return items;
    size_t bigger = *cap ? 2 * *cap : 8;
    void *p = hs_arena_alloc(a, bigger * size);
    if (n)
        memcpy(p, items, n * size);
    *cap = bigger;
    return p;
}

void hs_arena_reset(hs_arena_t *a)
{
    hs_arena_block_t *b = a->head;
    if (!b)
        return;
    /* Keep the oldest block (the tail): it is the steady-state working set. */
    while (b->next) {
        hs_arena_block_t *next = b->next;
        UNPOISON(b->data, b->cap);
        free(b);
        b = next;
    }
    b->used = 0;
    POISON(b->data, b->cap);
    a->head = b;
}

void hs_arena_free(hs_arena_t *a)
{
    hs_arena_block_t *b = a->head;
    while (b) {
        hs_arena_block_t *next = b->next;
        UNPOISON(b->data, b->cap);
        free(b);
        b = next;
    }
    a->head = NULL;
}

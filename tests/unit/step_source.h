/* An in-memory body that hands out at most `step` bytes per read, so a
 * streaming parser sees its input split at every position: shared by the
 * multipart unit test and its fuzz harness. */
#ifndef HS_TEST_STEP_SOURCE_H
#define HS_TEST_STEP_SOURCE_H

#include <stddef.h>
#include <string.h>

typedef struct src {
    const void *data;
    size_t len, pos, step;
} src_t;

/* An hs_read_fn over a src_t. */
static inline size_t src_read(void *s, void *buf, size_t n)
{
    src_t *r = s;
    size_t k = r->len - r->pos;
    if (k > r->step)
        k = r->step;
    if (k > n)
        k = n;
    memcpy(buf, (const char *)r->data + r->pos, k);
    r->pos += k;
    return k;
}

#endif

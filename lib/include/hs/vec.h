/* A growable array: HS_VEC(type) is {items, n, cap}, zero-initialised
 * when empty, grown by doubling. Modelled on h2o's H2O_VECTOR.
 *
 *   HS_VEC(hs_buser_t *) users = {0};
 *   if (hs_vec_push(&users, u)) ...out of memory...
 *   for (size_t i = 0; i < users.n; i++) ...users.items[i]...
 *   hs_vec_free(&users);
 *
 * Items move when the array grows: keep indexes, not pointers into it. */
#ifndef HS_VEC_H
#define HS_VEC_H

#include <stdlib.h>
#include <string.h>

#define HS_VEC(type)                                                                               \
    struct {                                                                                       \
        type *items;                                                                               \
        size_t n, cap;                                                                             \
    }

/* Grows *itemsp (the address of a vector's items, any pointer type) to
 * hold need items of size bytes; 0, or -1 (nothing changed) when out of
 * memory. The pointer is read and written with memcpy, so the vector's
 * own item type is kept. */
static inline int hs__vec_reserve(void *itemsp, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 4;
    while (c < need)
        c *= 2;
    void *items;
    memcpy(&items, itemsp, sizeof items);
    void *p = realloc(items, c * size);
    if (!p)
        return -1;
    memcpy(itemsp, &p, sizeof p);
    *cap = c;
    return 0;
}

/* Room for need items in all; 0 or -1 when out of memory. */
#define hs_vec_reserve(v, need) hs__vec_reserve(&(v)->items, &(v)->cap, (need), sizeof *(v)->items)

/* Appends x; 0 or -1 when out of memory (v unchanged). */
#define hs_vec_push(v, x) (hs_vec_reserve((v), (v)->n + 1) ? -1 : ((v)->items[(v)->n++] = (x), 0))

/* Removes item i, moving the last item into its place (order not kept). */
#define hs_vec_swap_remove(v, i) ((v)->items[(i)] = (v)->items[--(v)->n])

/* Frees the items (not what they point to) and empties v. */
#define hs_vec_free(v) (free((v)->items), (v)->items = NULL, (v)->n = (v)->cap = 0)

#endif

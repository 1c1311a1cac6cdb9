/* A string-keyed hash map (chained, power-of-two buckets). Keys are not
 * copied: each key must live as long as its entry (the bridge keys users and
 * channels by a name stored in the value itself). */
#ifndef HS_MAP_H
#define HS_MAP_H

#include <stddef.h>

typedef struct hs_map_node hs_map_node_t;

typedef struct hs_map {
    hs_map_node_t **buckets;
    size_t nbuckets, n;
} hs_map_t;

/* The value for key, or NULL. */
void *hs_map_get(const hs_map_t *m, const char *key);
/* Adds key (absent) -> val; 0 or -1 when out of memory. */
int hs_map_put(hs_map_t *m, const char *key, void *val);
/* Removes key; returns its value or NULL. */
void *hs_map_del(hs_map_t *m, const char *key);
/* Calls fn on every value (fn must not change the map). */
void hs_map_each(const hs_map_t *m, void (*fn)(void *val, void *ud), void *ud);
/* Removes every entry for which drop(val, ud) returns nonzero; drop may
 * free val (and with it the key), but must not otherwise change the map. */
void hs_map_drop_if(hs_map_t *m, int (*drop)(void *val, void *ud), void *ud);
/* Frees the map's own memory, not the values. */
void hs_map_free(hs_map_t *m);

#endif

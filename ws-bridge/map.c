#include "map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hs_map_node {
    const char *key;
    void *val;
    hs_map_node_t *next;
};

/* FNV-1a: keys are short ids and channel names. */
static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

void *hs_map_get(const hs_map_t *m, const char *key)
{
    if (!m->nbuckets)
        return NULL;
    for (hs_map_node_t *n = m->buckets[hash(key) & (m->nbuckets - 1)]; n; n = n->next)
        if (strcmp(n->key, key) == 0)
            return n->val;
    return NULL;
}

static int grow(hs_map_t *m)
{
    size_t nb = m->nbuckets ? m->nbuckets * 2 : 64;
    hs_map_node_t **b = calloc(nb, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < m->nbuckets; i++) {
        hs_map_node_t *n = m->buckets[i], *next;
        for (; n; n = next) {
            next = n->next;
            size_t k = hash(n->key) & (nb - 1);
            n->next = b[k];
            b[k] = n;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
    return 0;
}

int hs_map_put(hs_map_t *m, const char *key, void *val)
{
    if (m->n >= m->nbuckets && grow(m))
        return -1;
    hs_map_node_t *n = malloc(sizeof *n);
    if (!n)
        return -1;
    size_t k = hash(key) & (m->nbuckets - 1);
    n->key = key;
    n->val = val;
    n->next = m->buckets[k];
    m->buckets[k] = n;
    m->n++;
    return 0;
}

void *hs_map_del(hs_map_t *m, const char *key)
{
    if (!m->nbuckets)
        return NULL;
    for (hs_map_node_t **p = &m->buckets[hash(key) & (m->nbuckets - 1)]; *p; p = &(*p)->next) {
        if (strcmp((*p)->key, key) == 0) {
            hs_map_node_t *n = *p;
            void *val = n->val;
            *p = n->next;
            free(n);
            m->n--;
            return val;
        }
    }
    return NULL;
}

void hs_map_each(const hs_map_t *m, void (*fn)(void *val, void *ud), void *ud)
{
    for (size_t i = 0; i < m->nbuckets; i++)
        for (hs_map_node_t *n = m->buckets[i]; n; n = n->next)
            fn(n->val, ud);
}

void hs_map_drop_if(hs_map_t *m, int (*drop)(void *val, void *ud), void *ud)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        hs_map_node_t **p = &m->buckets[i];
        while (*p) {
            hs_map_node_t *n = *p;
            if (drop(n->val, ud)) { /* val (and so the key) may be gone now */
                *p = n->next;
                free(n);
                m->n--;
            } else {
                p = &n->next;
            }
        }
    }
}

void hs_map_free(hs_map_t *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        hs_map_node_t *n = m->buckets[i], *next;
        for (; n; n = next) {
            next = n->next;
            free(n);
        }
    }
    free(m->buckets);
    memset(m, 0, sizeof *m);
}

/* An intrusive queue (circular doubly linked list): a node lives inside
 * the object it links, so linking and unlinking never allocate and an
 * object can sit in several queues at once. The head is a node too; an
 * empty queue (and an unlinked node) points at itself. Modelled on libuv's
 * queue.h.
 *
 *   hs_queue_t all;                  hs_queue_init(&all);
 *   struct conn { hs_queue_t in_all; ... };
 *   hs_queue_insert_tail(&all, &c->in_all);
 *   HS_QUEUE_FOREACH(q, &all) { struct conn *c = HS_QUEUE_DATA(q, struct conn, in_all); }
 *
 * A node must be initialised (or inserted) before hs_queue_linked() or
 * hs_queue_remove() look at it; removing an unlinked node does nothing. */
#ifndef HS_QUEUE_H
#define HS_QUEUE_H

#include <stddef.h>

typedef struct hs_queue {
    struct hs_queue *next, *prev;
} hs_queue_t;

/* The object that holds node ptr in its member field. */
#define HS_QUEUE_DATA(ptr, type, field) ((type *)((char *)(ptr)-offsetof(type, field)))

/* Visits every node of h; the body must not unlink q (save q->next first
 * and loop by hand for that). */
#define HS_QUEUE_FOREACH(q, h) for ((q) = (h)->next; (q) != (h); (q) = (q)->next)

static inline void hs_queue_init(hs_queue_t *q)
{
    q->next = q->prev = q;
}

static inline int hs_queue_empty(const hs_queue_t *h)
{
    return h->next == h;
}

/* Whether node q is in some queue (an initialised node only). */
static inline int hs_queue_linked(const hs_queue_t *q)
{
    return q->next != q;
}

static inline void hs_queue_insert_head(hs_queue_t *h, hs_queue_t *q)
{
    q->next = h->next;
    q->prev = h;
    h->next->prev = q;
    h->next = q;
}

static inline void hs_queue_insert_tail(hs_queue_t *h, hs_queue_t *q)
{
    q->next = h;
    q->prev = h->prev;
    h->prev->next = q;
    h->prev = q;
}

/* Unlinks q, which then points at itself again. */
static inline void hs_queue_remove(hs_queue_t *q)
{
    q->prev->next = q->next;
    q->next->prev = q->prev;
    q->next = q->prev = q;
}

#endif

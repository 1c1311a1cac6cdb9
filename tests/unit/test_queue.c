/* hs/queue.h (intrusive queue) and hs/vec.h (growable array), which the
 * bridge's connection lists and membership arrays are made of. */
#include "test.h"

#include "hs/queue.h"
#include "hs/vec.h"

typedef struct item {
    int v;
    hs_queue_t in_a, in_b;
} item_t;

static int values(hs_queue_t *h, int *out)
{
    int n = 0;
    hs_queue_t *q;
    HS_QUEUE_FOREACH (q, h)
        out[n++] = HS_QUEUE_DATA(q, item_t, in_a)->v;
    return n;
}

static void queue_links_in_order(void **state)
{
    (void)state;
    hs_queue_t h;
    item_t it[3] = {{.v = 1}, {.v = 2}, {.v = 3}};
    int got[3];
    hs_queue_init(&h);
    assert_true(hs_queue_empty(&h));
    for (int i = 0; i < 3; i++)
        hs_queue_init(&it[i].in_a);
    assert_false(hs_queue_linked(&it[0].in_a));
    hs_queue_insert_tail(&h, &it[1].in_a);
    hs_queue_insert_tail(&h, &it[2].in_a);
    hs_queue_insert_head(&h, &it[0].in_a);
    assert_int_equal(values(&h, got), 3);
    assert_true(got[0] == 1 && got[1] == 2 && got[2] == 3);
    hs_queue_remove(&it[1].in_a);
    assert_false(hs_queue_linked(&it[1].in_a));
    hs_queue_remove(&it[1].in_a); /* twice: nothing happens */
    assert_int_equal(values(&h, got), 2);
    assert_true(got[0] == 1 && got[1] == 3);
    hs_queue_remove(&it[0].in_a);
    hs_queue_remove(&it[2].in_a);
    assert_true(hs_queue_empty(&h));
}

static void vec_grows_and_swaps(void **state)
{
    (void)state;
    HS_VEC(int) v = {0};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(hs_vec_push(&v, i), 0);
    assert_int_equal(v.n, 1000);
    assert_true(v.cap >= 1000);
    assert_int_equal(v.items[999], 999);
    hs_vec_swap_remove(&v, 0);
    assert_int_equal(v.n, 999);
    assert_int_equal(v.items[0], 999);
    assert_int_equal(hs_vec_reserve(&v, 10), 0); /* already room */
    hs_vec_free(&v);
    assert_true(v.items == NULL && v.n == 0 && v.cap == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queue_links_in_order),
        cmocka_unit_test(vec_grows_and_swaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

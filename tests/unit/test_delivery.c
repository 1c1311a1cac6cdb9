/* The delivery rule (hs/delivery.h) the bridge and the long-poll share:
 * what follows a reader's own removal from a chat is theirs no more. */
#include "test.h"

#include <string.h>

#include "hs/delivery.h"
#include "hs/events.h"

#define ME    "aaaaaaaaaaaaaaaaaaaaaaaa"
#define OTHER "bbbbbbbbbbbbbbbbbbbbbbbb"
#define CHAT  "cccccccccccccccccccccccc"
#define CHAT2 "dddddddddddddddddddddddd"

static int admit(hs_delivery_t *d, const char *type, const char *data)
{
    return hs_delivery_admit(d, type, strlen(type), data, strlen(data), NULL, NULL);
}

static void removal_ends_the_chat_until_added_back(void **state)
{
    (void)state;
    hs_delivery_t d;
    hs_delivery_init(&d, ME);
    assert_true(admit(&d, "message.created", "{\"chat_id\":\"" CHAT "\"}"));
    assert_true(admit(&d, "member.removed", "{\"chat_id\":\"" CHAT "\",\"user_id\":\"" ME "\"}"));
    /* the user stream's copy of the removal goes out too */
    assert_true(admit(&d, "member.removed", "{\"chat_id\":\"" CHAT "\",\"user_id\":\"" ME "\"}"));
    assert_true(hs_delivery_gone(&d, CHAT));
    assert_false(admit(&d, "message.created", "{\"chat_id\":\"" CHAT "\"}"));
    assert_false(admit(&d, "member.added", "{\"chat_id\":\"" CHAT "\",\"user_id\":\"" OTHER "\"}"));
    assert_false(admit(&d, "chat.deleted", "{\"chat_id\":\"" CHAT "\"}"));
    assert_true(admit(&d, "message.created", "{\"chat_id\":\"" CHAT2 "\"}"));
    assert_true(admit(&d, "member.added", "{\"chat_id\":\"" CHAT "\",\"user_id\":\"" ME "\"}"));
    assert_true(admit(&d, "message.created", "{\"chat_id\":\"" CHAT "\"}"));
    hs_delivery_free(&d);
}

static void others_removal_and_deletion(void **state)
{
    (void)state;
    hs_delivery_t d;
    hs_delivery_init(&d, ME);
    int effect;
    hs_delivery_ev_t ev;
    const char *rm = "{\"chat_id\":\"" CHAT "\",\"user_id\":\"" OTHER "\"}";
    assert_true(hs_delivery_admit(&d, HS_EV_MEMBER_REMOVED, strlen(HS_EV_MEMBER_REMOVED), rm,
                                  strlen(rm), &effect, &ev));
    assert_int_equal(effect, 0);
    assert_int_equal(ev.change, HS_DELIVERY_REMOVED);
    assert_true(admit(&d, "message.created", "{\"chat_id\":\"" CHAT "\"}"));
    const char *del = "{\"chat_id\":\"" CHAT "\"}";
    assert_true(hs_delivery_admit(&d, HS_EV_CHAT_DELETED, strlen(HS_EV_CHAT_DELETED), del,
                                  strlen(del), &effect, &ev));
    assert_int_equal(effect, -1);
    assert_false(admit(&d, "message.created", "{\"chat_id\":\"" CHAT "\"}"));
    hs_delivery_free(&d);
}

static void malformed_membership_changes_nothing(void **state)
{
    (void)state;
    hs_delivery_ev_t ev;
    const char *bad[] = {"{}", "{\"chat_id\":\"x\",\"user_id\":\"" ME "\"}",
                         "{\"chat_id\":\"" CHAT "\"}", "not json", "{\"chat_id\":5}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        hs_delivery_parse(HS_EV_MEMBER_REMOVED, strlen(HS_EV_MEMBER_REMOVED), bad[i],
                          strlen(bad[i]), 1, &ev);
        assert_int_equal(ev.change, HS_DELIVERY_NONE);
        assert_int_equal(hs_delivery_effect(&ev, ME), 0);
    }
}

static void earlier_leave_applies(void **state)
{
    (void)state;
    hs_delivery_t d;
    hs_delivery_init(&d, ME);
    assert_int_equal(hs_delivery_leave(&d, CHAT), 0);
    assert_false(admit(&d, "message.created", "{\"chat_id\":\"" CHAT "\"}"));
    assert_true(admit(&d, "message.created", "{\"chat_id\":\"" CHAT2 "\"}"));
    hs_delivery_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(removal_ends_the_chat_until_added_back),
        cmocka_unit_test(others_removal_and_deletion),
        cmocka_unit_test(malformed_membership_changes_nothing),
        cmocka_unit_test(earlier_leave_applies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

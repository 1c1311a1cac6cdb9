/* Event ids (the order the bridge and the long-poll resume by), the client
 * form of an event, and the resume window. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "hs/events.h"

static void parses_ids(void **state)
{
    (void)state;
    hs_ev_id_t id;
    assert_int_equal(hs_event_id_parse("1795260381192-3", 15, &id), 0);
    assert_true(id.ms == 1795260381192ULL && id.seq == 3);
    assert_int_equal(hs_event_id_parse("0-0", 3, &id), 0);
    assert_true(id.ms == 0 && id.seq == 0);
    /* only the first len bytes count */
    assert_int_equal(hs_event_id_parse("12-5 message.created", 4, &id), 0);
    assert_true(id.ms == 12 && id.seq == 5);
}

static void refuses_non_ids(void **state)
{
    (void)state;
    hs_ev_id_t id;
    const char *bad[] = {"",
                         "-",
                         "1-",
                         "-1",
                         "12",
                         "1-2-3",
                         "a-1",
                         "1-b",
                         " 1-2",
                         "1-2 ",
                         "+1-2",
                         "1--2",
                         "99999999999999999999-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(hs_event_id_parse(bad[i], strlen(bad[i]), &id), -1);
}

static void orders_by_ms_then_seq(void **state)
{
    (void)state;
    hs_ev_id_t a = {5, 9}, b = {6, 0}, c = {6, 1};
    assert_true(hs_event_id_cmp(a, b) < 0);
    assert_true(hs_event_id_cmp(b, c) < 0);
    assert_true(hs_event_id_cmp(c, a) > 0);
    assert_int_equal(hs_event_id_cmp(b, b), 0);
    /* ten is after nine: numbers, not text */
    hs_ev_id_t nine = {9, 0}, ten = {10, 0};
    assert_true(hs_event_id_cmp(nine, ten) < 0);
}

static void formats_and_parses_back(void **state)
{
    (void)state;
    char buf[HS_EV_ID_MAX];
    hs_ev_id_t id = {18446744073709551615ULL, 18446744073709551615ULL}, back;
    int n = hs_event_id_format(id, buf);
    assert_int_equal(n, (int)strlen(buf));
    assert_true(n < HS_EV_ID_MAX);
    hs_ev_id_t small = {1795260381192ULL, 42};
    hs_event_id_format(small, buf);
    assert_string_equal(buf, "1795260381192-42");
    assert_int_equal(hs_event_id_parse(buf, strlen(buf), &back), 0);
    assert_int_equal(hs_event_id_cmp(small, back), 0);
}

static void builds_the_client_form(void **state)
{
    (void)state;
    size_t len;
    const char *data = "{\"chat_id\":\"x\",\"n\":[1,2]}";
    char *s = hs_event_json("7-1", "message.created", 15, data, strlen(data), &len);
    assert_string_equal(
        s,
        "{\"id\":\"7-1\",\"type\":\"message.created\",\"data\":{\"chat_id\":\"x\",\"n\":[1,2]}}");
    assert_int_equal(len, strlen(s));
    free(s);
    s = hs_event_json(NULL, "typing", 6, "{}", 2, &len);
    assert_string_equal(s, "{\"type\":\"typing\",\"data\":{}}");
    free(s);
}

/* Stream keys are made and read back in one place; a key of another
 * module (or a truncated prefix) names no stream. */
static void names_stream_keys(void **state)
{
    (void)state;
    const char *id = "0123456789abcdef01234567";
    char key[HS_EV_KEY_MAX];
    hs_ev_scope_t scope;
    int n = hs_event_key(key, HS_EV_CHAT, id);
    assert_int_equal(n, (int)strlen(key));
    assert_string_equal(hs_event_key_id(key, &scope), id);
    assert_int_equal(scope, HS_EV_CHAT);
    hs_event_key(key, HS_EV_USER, id);
    assert_string_equal(hs_event_key_id(key, &scope), id);
    assert_int_equal(scope, HS_EV_USER);
    char other[HS_EV_KEY_MAX];
    hs_event_key(other, HS_EV_CHAT, id);
    assert_string_not_equal(key, other);
    assert_null(hs_event_key_id("hs:online:x", NULL));
    assert_null(hs_event_key_id("", NULL));
    key[3] = 0;
    assert_null(hs_event_key_id(key, NULL));
}

/* Stored "<id> <type> <json>" and ephemeral "-<user> <type> <json>"
 * publications split, and build the same client form as a replay. */
static void parses_publications(void **state)
{
    (void)state;
    hs_ev_pub_t p;
    const char *s = "12-3 message.created {\"a\":1}";
    assert_int_equal(hs_event_pub_parse(s, strlen(s), &p), 0);
    assert_true(p.stored && p.id.ms == 12 && p.id.seq == 3 && p.origin[0] == 0);
    assert_true(hs_event_type_is(p.type, p.type_len, "message.created"));
    assert_int_equal(p.data_len, 7);
    char buf[128];
    size_t n = hs_event_json_into(buf, p.id_text, p.id_len, p.type, p.type_len, p.data, p.data_len);
    size_t len;
    char *json = hs_event_json("12-3", p.type, p.type_len, p.data, p.data_len, &len);
    assert_int_equal(n, len);
    assert_memory_equal(buf, json, len);
    assert_true(n < hs_event_json_max(p.id_len, p.type_len, p.data_len));
    free(json);

    char *e = hs_event_pub_ephemeral("0123456789abcdef01234567", HS_EV_TYPING, "{}");
    assert_string_equal(e, "-0123456789abcdef01234567 typing {}");
    assert_int_equal(hs_event_pub_parse(e, strlen(e), &p), 0);
    assert_true(!p.stored && p.id_len == 0);
    assert_string_equal(p.origin, "0123456789abcdef01234567");
    assert_true(hs_event_type_is(p.type, p.type_len, HS_EV_TYPING));
    free(e);

    const char *bad[] = {"",
                         "12-3",
                         "12-3 typing",
                         "x-1 typing {}",
                         "-short typing {}",
                         "-0123456789abcdef012345678 typing {}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(hs_event_pub_parse(bad[i], strlen(bad[i]), &p), -1);
    assert_false(hs_event_type_is("member.added", 6, HS_EV_MEMBER_ADDED));
}

static void resumes_only_within_the_window(void **state)
{
    (void)state;
    hs_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg.events_retention = 600;
    int64_t now = 1795260381192LL;
    hs_ev_id_t last = {(uint64_t)now - 10, 0};
    hs_ev_id_t recent = {(uint64_t)now - 599000, 0}, old = {(uint64_t)now - 601000, 0};
    hs_ev_id_t future = {(uint64_t)now - 5, 0};
    assert_int_equal(hs_event_resumable(&ctx, recent, last, now), 1);
    assert_int_equal(hs_event_resumable(&ctx, last, last, now), 1);
    assert_int_equal(hs_event_resumable(&ctx, old, last, now), 0);
    assert_int_equal(hs_event_resumable(&ctx, future, last, now), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_ids),
        cmocka_unit_test(refuses_non_ids),
        cmocka_unit_test(orders_by_ms_then_seq),
        cmocka_unit_test(formats_and_parses_back),
        cmocka_unit_test(builds_the_client_form),
        cmocka_unit_test(resumes_only_within_the_window),
        cmocka_unit_test(names_stream_keys),
        cmocka_unit_test(parses_publications),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

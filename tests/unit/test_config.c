/* Config: defaults, file, environment overrides and validation. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hs/config.h"

static char path[] = "/tmp/hs-config-XXXXXX";

static void write_conf(const char *text)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    strcpy(path, "/tmp/hs-config-XXXXXX");
    unsetenv("HS_REDIS_PORT");
    return 0;
}

static void defaults(void **state)
{
    (void)state;
    hs_config_t c;
    hs_err_t err;
    assert_int_equal(hs_config_load(&c, NULL, 0, &err), 0);
    assert_int_equal(c.access_token_ttl, 900);
    assert_int_equal(c.refresh_token_ttl, 480 * 3600);
    assert_int_equal(c.argon2_memory_kib, 19456);
    assert_string_equal(c.store, "sqlite");
    assert_string_equal(c.sqlite_path, "/var/lib/hypersend/hypersend.db");
    /* every declared key has a doc string */
    for (const hs_conf_key_t *k = hs_config_keys; k->name; k++)
        assert_true(k->doc && *k->doc);
    hs_config_free(&c);
}

static void file_then_env(void **state)
{
    (void)state;
    write_conf("# comment\n data_dir = /srv/hs \nredis_port=7000\njwt_issuer = \"quoted\"\n");
    setenv("HS_REDIS_PORT", "7001", 1);
    hs_config_t c;
    hs_err_t err;
    assert_int_equal(hs_config_load(&c, path, 1, &err), 0);
    assert_string_equal(c.data_dir, "/srv/hs");
    assert_string_equal(c.sqlite_path, "/srv/hs/hypersend.db");
    assert_string_equal(c.jwt_issuer, "quoted");
    assert_int_equal(c.redis_port, 7001);
    hs_config_free(&c);
}

/* The bundle's template names its data folder relative to itself: a
 * relative path is taken from the file's folder, never from the working
 * directory. */
static void relative_paths_from_the_file(void **state)
{
    (void)state;
    write_conf("data_dir = ../data\nsecret_key_file = ../data/secret.key\naccess_log = -\n"
               "ws_log = /abs/ws.log\n");
    hs_config_t c;
    hs_err_t err;
    assert_int_equal(hs_config_load(&c, path, 1, &err), 0);
    assert_string_equal(c.data_dir, "/tmp/../data");
    assert_string_equal(c.secret_key_file, "/tmp/../data/secret.key");
    assert_string_equal(c.sqlite_path, "/tmp/../data/hypersend.db");
    assert_string_equal(c.access_log, "-");
    assert_string_equal(c.ws_log, "/abs/ws.log");
    hs_config_free(&c);
}

static void bad_values_name_the_key(void **state)
{
    (void)state;
    hs_config_t c;
    hs_err_t err;
    write_conf("redis_port = 99999\n");
    assert_int_equal(hs_config_load(&c, path, 1, &err), HS_EINVAL);
    assert_non_null(strstr(err.message, "redis_port"));
    assert_non_null(strstr(err.message, ":1:"));
    hs_config_free(&c);
    teardown(NULL);

    write_conf("argon2_memory_kib = 1024\n");
    assert_int_equal(hs_config_load(&c, path, 1, &err), HS_EINVAL);
    assert_non_null(strstr(err.message, "argon2_memory_kib"));
    hs_config_free(&c);
    teardown(NULL);

    write_conf("no_such_key = 1\n");
    assert_int_equal(hs_config_load(&c, path, 1, &err), HS_EINVAL);
    assert_string_equal(err.code, "config_unknown_key");
    hs_config_free(&c);
    teardown(NULL);

    write_conf("just words\n");
    assert_int_equal(hs_config_load(&c, path, 1, &err), HS_EINVAL);
    assert_string_equal(err.code, "config_syntax");
    hs_config_free(&c);
    teardown(NULL);

    setenv("HS_REDIS_PORT", "abc", 1);
    assert_int_equal(hs_config_load(&c, NULL, 0, &err), HS_EINVAL);
    assert_non_null(strstr(err.hint, "HS_REDIS_PORT"));
    hs_config_free(&c);

    assert_int_equal(hs_config_load(&c, "/nonexistent/hs.conf", 1, &err), HS_EINVAL);
    hs_config_free(&c);
}

/* download_origin goes into Location headers: only a bare origin. */
static void download_origin(void **state)
{
    (void)state;
    hs_config_t c;
    hs_err_t err;
    assert_int_equal(hs_config_load(&c, NULL, 0, &err), 0);
    assert_string_equal(c.download_origin, "");
    hs_config_free(&c);
    const char *good[] = {"https://dl.example.com", "http://127.0.0.1:8443", "https://[::1]:9"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        setenv("HS_DOWNLOAD_ORIGIN", good[i], 1);
        assert_int_equal(hs_config_load(&c, NULL, 0, &err), 0);
        assert_string_equal(c.download_origin, good[i]);
        hs_config_free(&c);
    }
    const char *bad[] = {"dl.example.com",     "ftp://dl.example.com",    "https://",
                         "https://dl/path",    "https://dl.example.com/", "https://a b",
                         "https://dl\r\nX: 1", "javascript:alert(1)"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("HS_DOWNLOAD_ORIGIN", bad[i], 1);
        assert_int_equal(hs_config_load(&c, NULL, 0, &err), HS_EINVAL);
        assert_non_null(strstr(err.message, "download_origin"));
        hs_config_free(&c);
    }
    unsetenv("HS_DOWNLOAD_ORIGIN");
}

/* sendfile_header names how downloads leave: the two headers or "none". */
static void sendfile_header(void **state)
{
    (void)state;
    hs_config_t c;
    hs_err_t err;
    const char *good[] = {"X-Sendfile", "X-Accel-Redirect", "none"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        setenv("HS_SENDFILE_HEADER", good[i], 1);
        assert_int_equal(hs_config_load(&c, NULL, 0, &err), 0);
        assert_string_equal(c.sendfile_header, good[i]);
        hs_config_free(&c);
    }
    const char *bad[] = {"", "None", "X-Sendfile2", "X-Accel-Redirect\r\nX: 1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("HS_SENDFILE_HEADER", bad[i], 1);
        assert_int_equal(hs_config_load(&c, NULL, 0, &err), HS_EINVAL);
        assert_non_null(strstr(err.message, "sendfile_header"));
        hs_config_free(&c);
    }
    unsetenv("HS_SENDFILE_HEADER");
}

/* events: redis or store; empty picks store exactly when no Redis is
 * configured (redis_host empty). */
static void events_default_follows_redis_host(void **state)
{
    (void)state;
    hs_config_t c;
    hs_err_t err;
    assert_int_equal(hs_config_load(&c, NULL, 0, &err), 0);
    assert_string_equal(c.events, "redis");
    assert_false(hs_config_events_store(&c));
    hs_config_free(&c);
    setenv("HS_REDIS_HOST", "", 1);
    assert_int_equal(hs_config_load(&c, NULL, 0, &err), 0);
    assert_string_equal(c.events, "store");
    assert_true(hs_config_events_store(&c));
    hs_config_free(&c);
    unsetenv("HS_REDIS_HOST");
    setenv("HS_EVENTS", "store", 1);
    assert_int_equal(hs_config_load(&c, NULL, 0, &err), 0);
    assert_true(hs_config_events_store(&c));
    hs_config_free(&c);
    setenv("HS_EVENTS", "kafka", 1);
    assert_int_equal(hs_config_load(&c, NULL, 0, &err), HS_EINVAL);
    assert_non_null(strstr(err.message, "events"));
    hs_config_free(&c);
    unsetenv("HS_EVENTS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test_teardown(file_then_env, teardown),
        cmocka_unit_test_teardown(bad_values_name_the_key, teardown),
        cmocka_unit_test(download_origin),
        cmocka_unit_test(sendfile_header),
        cmocka_unit_test(events_default_follows_redis_host),
        cmocka_unit_test_teardown(relative_paths_from_the_file, teardown),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}

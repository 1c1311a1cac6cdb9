/* Blob writes (lib/store/blob.c): bytes arriving in reads of any size, at
 * any offset, land exactly where they belong whether a block goes straight
 * to the disk (O_DIRECT) or through the page cache; a re-sent range is
 * compared with what is stored, never rewritten; with upload_direct_io = 0
 * everything goes through the page cache. Run on the data folder's
 * kind of file system (/tmp) and on tmpfs (/dev/shm), whose direct I/O
 * support differs between kernels. */
#include "test.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hs/blob.h"
#include "hs/config.h"
#include "step_source.h"

#define SIZE (5 * 1024 * 1024 + 12345) /* over two receive buffers, not block-aligned */

typedef struct fixture {
    hs_config_t cfg;
    char dir[64];
    unsigned char *data;
} fixture_t;

static int setup_in(void **state, const char *parent)
{
    fixture_t *f = calloc(1, sizeof *f);
    hs_err_t err;
    snprintf(f->dir, sizeof f->dir, "%s/hs-blob-XXXXXX", parent);
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(hs_config_load(&f->cfg, NULL, 0, &err), 0);
    assert_int_equal(hs_config_set(&f->cfg, "data_dir", f->dir, &err), 0);
    f->data = malloc(SIZE);
    srand(7);
    for (size_t i = 0; i < SIZE; i++)
        f->data[i] = (unsigned char)rand();
    assert_int_equal(hs_blob_create(&f->cfg, "b10b", SIZE, &err), 0);
    *state = f;
    return 0;
}

static int setup_disk(void **state)
{
    return setup_in(state, "/tmp");
}

static int setup_tmpfs(void **state)
{
    return access("/dev/shm", W_OK) == 0 ? setup_in(state, "/dev/shm") : setup_disk(state);
}

/* upload_direct_io = 0: every write through the page cache. */
static int setup_buffered(void **state)
{
    setup_in(state, "/tmp");
    fixture_t *f = *state;
    hs_err_t err;
    assert_int_equal(hs_config_set(&f->cfg, "upload_direct_io", "0", &err), 0);
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[128];
    hs_blob_remove(&f->cfg, "b10b");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    hs_config_free(&f->cfg);
    free(f->data);
    free(f);
    return 0;
}

/* Sends data[off, off+len) in reads of at most step bytes. */
static int64_t send_range(fixture_t *f, hs_blob_mode_t mode, int64_t off, int64_t len, size_t step,
                          hs_blob_digest_t *d)
{
    hs_blob_lock_t lk;
    hs_err_t err;
    int64_t got = -1;
    src_t s = {f->data + off, (size_t)len, 0, step};
    assert_int_equal(hs_blob_lock(&f->cfg, "b10b", off, len, &lk, &err), 0);
    assert_int_equal(hs_blob_receive(&lk, off, len, mode, src_read, &s, d, &got, &err), 0);
    hs_blob_unlock(&lk);
    return got;
}

static void assert_stored(fixture_t *f)
{
    char path[1024];
    hs_blob_path(&f->cfg, "b10b", path, sizeof path);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char *back = malloc(SIZE + 1);
    assert_int_equal(fread(back, 1, SIZE + 1, fp), SIZE);
    fclose(fp);
    assert_memory_equal(back, f->data, SIZE);
    free(back);
}

/* Ranges that start and end off block boundaries, split at odd read sizes,
 * in no particular order: the file holds the source bytes exactly. */
static void unaligned_ranges_land_exactly(void **state)
{
    fixture_t *f = *state;
    static const struct {
        int64_t off, len;
        size_t step;
    } parts[] = {{4097, 3 * 1024 * 1024, 65536 + 3},
                 {0, 4097, 1000},
                 {4097 + 3 * 1024 * 1024, SIZE - 4097 - 3 * 1024 * 1024, 8192}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        hs_blob_digest_t d = {.want = 0};
        assert_int_equal(
            send_range(f, HS_BLOB_WRITE, parts[i].off, parts[i].len, parts[i].step, &d),
            parts[i].len);
    }
    assert_stored(f);
}

/* The digest covers exactly the bytes received. */
static void digest_of_the_bytes_received(void **state)
{
    fixture_t *f = *state;
    hs_blob_digest_t d = {.want = HS_DIGEST_SHA256 | HS_DIGEST_SHA1};
    assert_int_equal(send_range(f, HS_BLOB_WRITE, 0, SIZE, 300000, &d), SIZE);
    unsigned char want[32];
    unsigned int n;
    EVP_Digest(f->data, SIZE, want, &n, EVP_sha256(), NULL);
    assert_memory_equal(d.sha256, want, 32);
    EVP_Digest(f->data, SIZE, want, &n, EVP_sha1(), NULL);
    assert_memory_equal(d.sha1, want, 20);
    assert_stored(f);
}

/* Comparing finds a single changed byte anywhere, and never writes. */
static void compare_finds_one_changed_byte(void **state)
{
    fixture_t *f = *state;
    hs_blob_digest_t d = {.want = 0};
    send_range(f, HS_BLOB_WRITE, 0, SIZE, 1 << 20, &d);
    assert_int_equal(send_range(f, HS_BLOB_COMPARE, 0, SIZE, 77777, &d), SIZE);
    assert_false(d.differs);
    f->data[SIZE - 2] ^= 1; /* in the unaligned tail */
    assert_int_equal(send_range(f, HS_BLOB_COMPARE, 0, SIZE, 1 << 20, &d), SIZE);
    assert_true(d.differs);
    f->data[SIZE - 2] ^= 1;
    assert_stored(f); /* the compare left the first bytes in place */
}

/* Input that ends early reports how much arrived; those bytes are stored. */
static void short_input_counts_what_arrived(void **state)
{
    fixture_t *f = *state;
    hs_blob_lock_t lk;
    hs_blob_digest_t d = {.want = 0};
    hs_err_t err;
    int64_t got;
    src_t s = {f->data + 100, 2 * 1024 * 1024 + 5, 0, 4096};
    assert_int_equal(hs_blob_lock(&f->cfg, "b10b", 0, 0, &lk, &err), 0);
    assert_int_equal(
        hs_blob_receive(&lk, 100, 3 * 1024 * 1024, HS_BLOB_WRITE, src_read, &s, &d, &got, &err), 0);
    hs_blob_unlock(&lk);
    assert_int_equal(got, 2 * 1024 * 1024 + 5);
    char path[1024];
    hs_blob_path(&f->cfg, "b10b", path, sizeof path);
    int fd = open(path, O_RDONLY);
    unsigned char *back = malloc((size_t)got);
    assert_int_equal(pread(fd, back, (size_t)got, 100), got);
    close(fd);
    assert_memory_equal(back, f->data + 100, (size_t)got);
    free(back);
}

/* The same on tmpfs. */
static void unaligned_ranges_on_tmpfs(void **state)
{
    unaligned_ranges_land_exactly(state);
}

static void compare_on_tmpfs(void **state)
{
    compare_finds_one_changed_byte(state);
}

/* The same with direct I/O turned off. */
static void unaligned_ranges_buffered(void **state)
{
    unaligned_ranges_land_exactly(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unaligned_ranges_land_exactly, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(digest_of_the_bytes_received, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(compare_finds_one_changed_byte, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(short_input_counts_what_arrived, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(unaligned_ranges_on_tmpfs, setup_tmpfs, teardown),
        cmocka_unit_test_setup_teardown(compare_on_tmpfs, setup_tmpfs, teardown),
        cmocka_unit_test_setup_teardown(unaligned_ranges_buffered, setup_buffered, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

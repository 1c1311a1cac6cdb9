/* tus request headers: Upload-Metadata, Upload-Checksum, Upload-Concat and
 * the base64 decoder under them. The decoder and the checksum parser are
 * static, so lib/domain/tus.c is compiled into this harness (the archive's copy
 * is then never linked). The first input byte picks the parser. */
#include "../../lib/domain/tus.c"

#include "fuzz.h"

static void metadata(fuzz_in_t *in)
{
    hs_arena_t a = {0};
    hs_err_t err;
    char *key = fuzz_str(in, '\n', 1, NULL);
    char *header = fuzz_str(in, 0xff, 1, NULL);
    const char *out = NULL;
    int rc = hs_tus_metadata(&a, header, key, &out, &err);
    FUZZ_CHECK(rc == 0 || rc == HS_EINVAL, "rc %d", rc);
    if (rc == 0 && out) {
        /* A value comes from the header: 3 bytes per 4 characters at most. */
        FUZZ_CHECK(strlen(out) <= strlen(header) / 4 * 3, "value longer than its header");
        FUZZ_CHECK(strstr(header, key) != NULL, "a value for a key not in the header");
    }
    if (rc)
        FUZZ_CHECK(out == NULL && strcmp(err.code, "invalid_metadata") == 0, "code %s", err.code);
    free(key);
    free(header);
    hs_arena_free(&a);
}

static void concat(fuzz_in_t *in)
{
    hs_arena_t a = {0};
    hs_err_t err;
    char *header = fuzz_str(in, 0xff, 1, NULL);
    char **ids = NULL;
    size_t n = 0, spaces = 0;
    for (const char *p = header; *p; p++)
        spaces += *p == ' ';
    int rc = hs_tus_final_parts(&a, header, &ids, &n, &err);
    if (rc == 0) {
        FUZZ_CHECK(n >= 1 && n <= spaces + 1, "%zu ids from %zu spaces", n, spaces);
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(hs_id_valid(ids[i]), "id %s", ids[i]);
            FUZZ_CHECK(strstr(header, ids[i]) != NULL, "id %s not in the header", ids[i]);
        }
    } else {
        FUZZ_CHECK(rc == HS_EINVAL && strcmp(err.code, "invalid_concat") == 0, "rc %d", rc);
    }
    free(header);
    hs_arena_free(&a);
}

static void checksum(fuzz_in_t *in)
{
    hs_arena_t a = {0};
    hs_err_t err;
    char *header = fuzz_str(in, 0xff, 1, NULL);
    int sha256 = -1;
    char *digest = NULL;
    long len = -1;
    int rc = parse_checksum(&a, header, &sha256, &digest, &len, &err);
    if (rc == 0)
        FUZZ_CHECK(digest && len == (sha256 ? 32 : 20), "digest of %ld bytes", len);
    else
        FUZZ_CHECK(rc == HS_EINVAL, "rc %d", rc);
    free(header);
    hs_arena_free(&a);
}

/* Raw input: any length decoded stays in its buffer; encoded bytes decode
 * back to themselves. */
static void base64(fuzz_in_t *in)
{
    hs_arena_t a = {0};
    char *dec = NULL;
    long n = b64_decode(&a, (const char *)in->p, in->n, &dec);
    if (n >= 0)
        FUZZ_CHECK((size_t)n <= in->n / 4 * 3 && dec[n] == '\0', "decoded %ld of %zu", n, in->n);
    else
        FUZZ_CHECK(n == -1, "n %ld", n);
    size_t cap = (in->n + 2) / 3 * 4 + 1;
    char *enc = malloc(cap);
    size_t elen = hs_b64_encode(in->p, in->n, enc);
    n = b64_decode(&a, enc, elen, &dec);
    FUZZ_CHECK(n == (long)in->n, "round trip gave %ld of %zu bytes", n, in->n);
    FUZZ_CHECK(memcmp(dec, in->p, in->n) == 0, "round trip changed the bytes");
    free(enc);
    hs_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    switch (fuzz_byte(&in) % 4) {
    case 0:
        metadata(&in);
        break;
    case 1:
        concat(&in);
        break;
    case 2:
        checksum(&in);
        break;
    default:
        base64(&in);
    }
    return 0;
}

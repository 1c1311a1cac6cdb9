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

/* The uploads a final Upload-Concat names, split independently of
 * lib/tus.c: space-separated, each the last '/' segment; into ids (cap),
 * returns how many (more than cap are counted, not stored). */
static size_t concat_tokens(const char *header, char **ids, size_t cap, int *invalid)
{
    size_t n = 0;
    *invalid = strncmp(header, "final;", 6) != 0;
    for (const char *p = *invalid ? "" : header + 6; *p;) {
        size_t len = strcspn(p, " ");
        if (len) {
            const char *s = p + len;
            while (s > p && s[-1] != '/')
                s--;
            char *id = strndup(s, (size_t)(p + len - s));
            *invalid |= !hs_id_valid(id);
            if (n < cap)
                ids[n] = id;
            else
                free(id);
            n++;
        }
        p += len + (p[len] == ' ');
    }
    return n;
}

/* The contract: 0 with 1 to HS_TUS_MAX_PARTS distinct ids from the
 * header, or HS_EINVAL with invalid_concat (not "final;", an invalid id,
 * none), too_many_parts (more than HS_TUS_MAX_PARTS named) or
 * duplicate_part (one named twice). */
static void concat(fuzz_in_t *in)
{
    hs_arena_t a = {0};
    hs_err_t err = {0};
    char *header = fuzz_str(in, 0xff, 1, NULL);
    char **ids = NULL;
    size_t n = 0;
    char *tok[HS_TUS_MAX_PARTS + 1];
    int invalid;
    size_t ntok = concat_tokens(header, tok, HS_TUS_MAX_PARTS + 1, &invalid);
    size_t kept = ntok < HS_TUS_MAX_PARTS + 1 ? ntok : HS_TUS_MAX_PARTS + 1;
    int dup = 0;
    for (size_t i = 0; i < kept && !dup; i++)
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(tok[i], tok[j]) == 0;
    int rc = hs_tus_final_parts(&a, header, &ids, &n, &err);
    if (rc == 0) {
        FUZZ_CHECK(!invalid && !dup && ntok <= HS_TUS_MAX_PARTS, "accepted %s", header);
        FUZZ_CHECK(n >= 1 && n == ntok, "%zu ids from %zu named", n, ntok);
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(hs_id_valid(ids[i]), "id %s", ids[i]);
            FUZZ_CHECK(strcmp(ids[i], tok[i]) == 0, "id %s is not the header's %s", ids[i], tok[i]);
        }
    } else {
        FUZZ_CHECK(rc == HS_EINVAL, "rc %d", rc);
        if (strcmp(err.code, "invalid_concat") == 0)
            FUZZ_CHECK(invalid || ntok == 0, "invalid_concat for %s", header);
        else if (strcmp(err.code, "too_many_parts") == 0)
            FUZZ_CHECK(ntok > HS_TUS_MAX_PARTS, "too_many_parts for %zu", ntok);
        else
            FUZZ_CHECK(strcmp(err.code, "duplicate_part") == 0 && dup, "code %s for %s", err.code,
                       header);
    }
    for (size_t i = 0; i < kept; i++)
        free(tok[i]);
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

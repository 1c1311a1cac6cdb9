/* The conditional-request headers of a download the app sends itself
 * (sendfile_header = none, lib/http/files_stream.c): Range, If-None-Match
 * and If-Modified-Since / If-Range dates. Input: a mode byte, 8 bytes of
 * file size, then the header text. Checks: a range is inside the file,
 * agrees with an independent reading of "bytes=a-b" / "bytes=a-" /
 * "bytes=-n", and 416 comes only when no byte of it exists; an ETag list
 * of well-formed tags holds each of them; a date that parses formats back
 * to the same instant. */
#include <time.h>

#include "hs/files_send.h"

#include "fuzz.h"

/* The one-range forms, read independently: 1, 0 or -1 as hs_range_parse. */
static int ref_range(const char *h, int64_t size, int64_t *from, int64_t *to)
{
    long long a, b;
    int n = 0;
    if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *p = h + 6;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t digits = strspn(p + (*p == '-'), "0123456789");
    if (digits == 0 || digits > 18)
        return 0;
    if (*p == '-') {
        if (p[1 + digits] != '\0' || sscanf(p + 1, "%lld%n", &b, &n) != 1)
            return 0;
        if (b == 0 || size == 0)
            return -1;
        *from = b >= size ? 0 : size - b;
        *to = size - 1;
        return 1;
    }
    if (p[digits] != '-' || sscanf(p, "%lld", &a) != 1)
        return 0;
    const char *q = p + digits + 1;
    while (*q == ' ' || *q == '\t')
        q++;
    b = size - 1;
    if (*q) {
        size_t e = strspn(q, "0123456789");
        const char *t = q + e;
        while (*t == ' ' || *t == '\t')
            t++;
        if (e == 0 || e > 18 || *t || sscanf(q, "%lld", &b) != 1 || b < a)
            return 0;
        if (b > size - 1)
            b = size - 1;
    }
    if (a >= size)
        return -1;
    *from = a;
    *to = b;
    return 1;
}

static void check_range(const char *h, int64_t size)
{
    int64_t from = -1, to = -1, rfrom = -1, rto = -1;
    int rc = hs_range_parse(h, size, &from, &to);
    int ref = ref_range(h, size, &rfrom, &rto);
    FUZZ_CHECK(rc == ref, "Range '%s' of %lld: %d, expected %d", h, (long long)size, rc, ref);
    if (rc == 1) {
        FUZZ_CHECK(from == rfrom && to == rto, "Range '%s': [%lld, %lld], expected [%lld, %lld]", h,
                   (long long)from, (long long)to, (long long)rfrom, (long long)rto);
        FUZZ_CHECK(0 <= from && from <= to && to < size, "Range '%s' outside %lld bytes", h,
                   (long long)size);
    }
}

static void check_etag(const char *s)
{
    hs_etag_listed(s, "\"x\""); /* any text: no crash, no read past its end */
    /* A list built of well-formed tags (each comma-separated piece of the
     * input, reduced to tag characters; odd ones weak) holds each of them. */
    char list[1024] = "", tags[4][72];
    int ntags = 0;
    size_t used = 0;
    for (const char *p = s; *p && ntags < 4; ntags++) {
        size_t k = 0;
        tags[ntags][k++] = '"';
        for (; *p && *p != ',' && k < 64; p++)
            if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')
                tags[ntags][k++] = *p;
        tags[ntags][k++] = '"';
        tags[ntags][k] = '\0';
        p += *p == ',';
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s%s", ntags ? ", " : "",
                                 ntags % 2 ? "W/" : "", tags[ntags]);
    }
    for (int i = 0; i < ntags; i++)
        FUZZ_CHECK(hs_etag_listed(list, tags[i]), "If-None-Match '%s' misses %s", list, tags[i]);
}

static void check_date(const char *s)
{
    int64_t t = hs_http_date_parse(s);
    if (t < 0)
        return;
    struct tm tm;
    time_t tt = (time_t)t;
    char back[64];
    FUZZ_CHECK(gmtime_r(&tt, &tm) != NULL, "date '%s' gave %lld", s, (long long)t);
    strftime(back, sizeof back, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    /* strptime takes what it can read: the same instant, spelt canonically. */
    FUZZ_CHECK(hs_http_date_parse(back) == t, "date '%s' -> %lld -> '%s'", s, (long long)t, back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    uint8_t mode = fuzz_byte(&in);
    uint64_t fsize = 0;
    for (int i = 0; i < 8; i++)
        fsize = fsize << 8 | fuzz_byte(&in);
    int64_t file_size = (int64_t)(fsize % ((uint64_t)1 << 50)); /* up to 1 PiB */
    char *s = fuzz_str(&in, 0xff, 0, NULL);
    switch (mode % 3) {
    case 0:
        check_range(s, file_size);
        break;
    case 1:
        check_etag(s);
        break;
    default:
        check_date(s);
        break;
    }
    free(s);
    return 0;
}

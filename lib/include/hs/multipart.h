/* A streaming multipart/form-data reader (RFC 7578): parts are read in
 * order and their bodies in pieces, so an 8 MiB file part never sits in
 * memory whole. The data source is a read callback, so it can be fed from
 * the FastCGI stream or from a buffer in tests. */
#ifndef HS_MULTIPART_H
#define HS_MULTIPART_H

#include <stddef.h>

#include "hs/err.h"

/* Reads up to n bytes into buf; returns the count, 0 at the end of input. */
typedef size_t (*hs_read_fn)(void *src, void *buf, size_t n);

#define HS_MULTIPART_BUF 65536

typedef struct hs_multipart {
    hs_read_fn read;
    void *src;
    char delim[80]; /* "\r\n--" + boundary */
    size_t dlen;
    char buf[HS_MULTIPART_BUF];
    size_t start, end; /* unread bytes are buf[start..end) */
    int eof;           /* the source is exhausted */
    int state;         /* internal: before first part, in a part body, done */
    char name[128];    /* of the current part */
    char filename[1024];
    int has_filename;
} hs_multipart_t;

/* Starts reading a body whose Content-Type is content_type (must be
 * multipart/form-data with a boundary of 1..70 characters). HS_EINVAL
 * (not_multipart / bad_boundary) otherwise. m is caller-owned, no cleanup. */
int hs_multipart_open(hs_multipart_t *m, const char *content_type, hs_read_fn read, void *src,
                      hs_err_t *err);

/* Moves to the next part, skipping what is left of the current one.
 * Returns 1 with m->name (and m->filename when has_filename) set, 0 after
 * the closing delimiter, or HS_EINVAL (malformed_multipart) on bad input,
 * including input that ends before the closing delimiter. */
int hs_multipart_next(hs_multipart_t *m, hs_err_t *err);

/* Reads up to n bytes of the current part's body; 0 at the part's end.
 * A part cut off by the end of input also returns 0; hs_multipart_next then
 * reports it as malformed. */
size_t hs_multipart_read(hs_multipart_t *m, void *buf, size_t n);

/* Reads the whole current part as a string of at most max bytes into buf
 * (NUL-terminated); HS_EINVAL (field_too_long) when longer. */
int hs_multipart_read_field(hs_multipart_t *m, char *buf, size_t max, hs_err_t *err);

#endif

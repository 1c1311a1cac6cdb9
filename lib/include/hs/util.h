/* Small primitives shared by every module: randomness and hashing from
 * OpenSSL, constant-time comparison, ObjectIds from libbson, UTC time. */
#ifndef HS_UTIL_H
#define HS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define HS_ID_LEN 24 /* an ObjectId as lowercase hex, without the NUL */

/* Fills buf with n cryptographically random bytes; 0 or -1. */
int hs_random_bytes(void *buf, size_t n);
/* n random bytes as lowercase hex into out (2n+1 bytes). */
int hs_random_hex(char *out, size_t n);
/* n random bytes as unpadded base64url into out (at least 4*n/3+2 bytes). */
int hs_random_b64url(char *out, size_t n);

/* The one base64 codec of the project (OpenSSL's, with the strictness it
 * lacks). hs_b64_encode writes n bytes as padded standard base64 and a NUL
 * into out (HS_B64_ENCODED(n) bytes); returns the text's length. */
#define HS_B64_ENCODED(n) (((n) + 2) / 3 * 4 + 1)
size_t hs_b64_encode(const void *in, size_t n, char *out);
/* Decodes padded standard base64 of n characters into out (HS_B64_DECODED(n)
 * bytes), NUL-terminated; the decoded length, or -1 when in is not exactly
 * that: length a multiple of 4, only the alphabet, '=' only as the last one
 * or two characters. Never writes outside out, whatever in holds. */
#define HS_B64_DECODED(n) ((n) / 4 * 3 + 1)
long hs_b64_decode(const char *in, size_t n, unsigned char *out);

/* Compares a and b in time that depends only on their lengths. 1 if equal. */
int hs_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* sha256(data) as 64 lowercase hex chars + NUL into out[65]. */
void hs_sha256_hex(const void *data, size_t n, char out[65]);

/* A new ObjectId as 24 lowercase hex chars + NUL. */
void hs_id_new(char out[HS_ID_LEN + 1]);
/* 1 if s is a well-formed 24-hex ObjectId string. */
int hs_id_valid(const char *s);

/* Milliseconds since the Unix epoch, UTC. */
int64_t hs_now_ms(void);
/* Formats ms as ISO-8601 UTC ("2026-11-21T10:21:30.123Z") into out[25]. */
void hs_time_iso(int64_t ms, char out[25]);

#endif

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

/* Lowercase hex of n bytes into out (2n+1). */
void hs_hex(const unsigned char *in, size_t n, char *out);
/* 1 if s is exactly len lowercase hex digits (an id, a sha256); 0 for NULL. */
int hs_hex_valid(const char *s, size_t len);

/* A new ObjectId as 24 lowercase hex chars + NUL. */
void hs_id_new(char out[HS_ID_LEN + 1]);
/* 1 if s is a well-formed 24-hex ObjectId string. */
int hs_id_valid(const char *s);

/* 1 if byte c is part of a search word: an ASCII letter or digit, or any
 * byte of a non-ASCII character. Message search cuts a query into words by
 * it, in the domain (the shortest term) and in the store (the FTS query). */
static inline int hs_word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

/* Milliseconds since the Unix epoch, UTC. */
int64_t hs_now_ms(void);
/* Formats ms as ISO-8601 UTC ("2026-11-21T10:21:30.123Z") into out[25]. */
void hs_time_iso(int64_t ms, char out[25]);

/* Content types (RFC 9110 media-type: type "/" subtype *( OWS ";" OWS
 * token "=" ( token / quoted-string ) )), at most HS_CONTENT_TYPE_MAX bytes
 * and 8 parameters, ASCII only. */
#define HS_CONTENT_TYPE_MAX 255
#define HS_CONTENT_TYPE_BUF (HS_CONTENT_TYPE_MAX + 10) /* room for the normal form */
/* Checks in against the grammar and writes its normal form to out (cap >=
 * HS_CONTENT_TYPE_BUF): type, subtype and parameter names lowercased,
 * whitespace trimmed, "; " between parameters. 0, or -1 when in is not a
 * media type (CR, LF, NUL, controls, non-ASCII, bad tokens, too long). */
int hs_content_type_normalize(const char *in, char *out, size_t cap);
/* 1 when a normalised type is passive (images but SVG, audio, video, PDF,
 * text/plain): a browser may show it inline without running anything. */
int hs_content_type_passive(const char *ct);
/* 1 when a normalised type may be rendered as a document or run by a
 * browser (HTML, SVG, XML, script, every text type but text/plain ...): such
 * bytes are served as application/octet-stream. */
int hs_content_type_active(const char *ct);

/* Display text (names shown to other people). hs_text_check returns 0, or
 * why s is refused: not UTF-8, a C0/C1 control character (but \n and \t
 * with HS_TEXT_MULTILINE), a bidi embedding/override/isolate (U+202A-202E,
 * U+2066-2069), or an invisible character (U+200B-200F, U+2060, U+FEFF)
 * unless HS_TEXT_ALLOW_INVISIBLE. */
/* The code point at *p (not at its NUL end), advancing *p past it; -1 on
 * malformed UTF-8 (overlong, surrogate, beyond U+10FFFF, cut short). */
long hs_utf8_next(const char **p);
/* Number of Unicode characters in s, or -1 when s is not valid UTF-8. */
long hs_utf8_len(const char *s);

enum { HS_TEXT_MULTILINE = 1, HS_TEXT_ALLOW_INVISIBLE = 2 };
enum { HS_TEXT_BAD_UTF8 = -1, HS_TEXT_CONTROL = -2, HS_TEXT_BIDI = -3, HS_TEXT_INVISIBLE = -4 };
int hs_text_check(const char *s, unsigned flags);
/* 1 for the bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069). */
int hs_text_bidi_control(long cp);
/* 1 for the zero-width and invisible format characters refused in names. */
int hs_text_invisible(long cp);

#endif

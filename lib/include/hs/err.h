/* Error model: every fallible function returns 0 or a negative HS_E* code and
 * fills an hs_err_t with the HTTP status, a machine code and a human message. */
#ifndef HS_ERR_H
#define HS_ERR_H

#include <stdarg.h>

enum {
    HS_OK = 0,
    HS_EINVAL = -1,     /* 400 */
    HS_EAUTH = -2,      /* 401 */
    HS_EFORBIDDEN = -3, /* 403 */
    HS_ENOTFOUND = -4,  /* 404 */
    HS_EMETHOD = -5,    /* 405 */
    HS_ECONFLICT = -6,  /* 409 */
    HS_EGONE = -7,      /* 410 */
    HS_ETOOBIG = -8,    /* 413 */
    HS_EMEDIA = -9,     /* 415 */
    HS_ERATE = -10,     /* 429 */
    HS_EINTERNAL = -11, /* 500 */
    HS_EUNAVAIL = -12,  /* 503 */
    HS_ENOSPACE = -13,  /* 507 */
    HS_EPRECOND = -14,  /* 412 */
    HS_ECHECKSUM = -15, /* 460 (tus: checksum mismatch) */
    HS_ERANGE = -16,    /* 416 */
    HS_E__COUNT = 17
};

typedef struct hs_err {
    int rc;            /* the HS_E* code */
    int status;        /* HTTP status */
    const char *code;  /* machine code, a static string such as "user_not_found" */
    char message[256]; /* for people */
    char hint[256];    /* what to do about it; may be empty */
    int retry_after;   /* seconds, for 429/503; 0 when not applicable */
} hs_err_t;

/* Fills e (which may be NULL) and returns rc. code NULL means the default
 * code of rc; fmt NULL means its default message. code must be static. */
int hs_err_set(hs_err_t *e, int rc, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets the hint of an already filled error. */
void hs_err_hint(hs_err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The HTTP status, default code and default message of an HS_E* code. */
int hs_err_status(int rc);
const char *hs_err_code(int rc);
const char *hs_err_message(int rc);

/* The machine code a client is shown for e, over HTTP and WebSocket
 * alike: its own, else the default code of its rc. */
const char *hs_err_code_of(const hs_err_t *e);

/* Resets e to "no error". */
void hs_err_clear(hs_err_t *e);

#endif

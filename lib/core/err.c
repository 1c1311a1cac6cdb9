#include "hs/err.h"

#include <stdio.h>
#include <string.h>

static const struct {
    int status;
    const char *code;
    const char *message;
} errmap[HS_E__COUNT] = {
    [0] = {200, "ok", "OK"},
    [-HS_EINVAL] = {400, "bad_request", "The request is not valid"},
    [-HS_EAUTH] = {401, "unauthorized", "Authentication is required"},
    [-HS_EFORBIDDEN] = {403, "forbidden", "You may not do this"},
    [-HS_ENOTFOUND] = {404, "not_found", "Not found"},
    [-HS_EMETHOD] = {405, "method_not_allowed", "Method not allowed on this path"},
    [-HS_ECONFLICT] = {409, "conflict", "The request conflicts with the current state"},
    [-HS_EGONE] = {410, "gone", "This is no longer available"},
    [-HS_ETOOBIG] = {413, "payload_too_large", "The request body is too large"},
    [-HS_EMEDIA] = {415, "unsupported_media_type", "Unsupported media type"},
    [-HS_ERATE] = {429, "rate_limited", "Too many requests"},
    [-HS_EINTERNAL] = {500, "internal_error", "Internal server error"},
    [-HS_EUNAVAIL] = {503, "unavailable", "A backing service is unavailable"},
    [-HS_ENOSPACE] = {507, "insufficient_storage", "Not enough storage"},
    [-HS_EPRECOND] = {412, "precondition_failed", "A precondition of the request failed"},
    [-HS_ECHECKSUM] = {460, "checksum_mismatch", "The checksum of the body does not match"},
    [-HS_ERANGE] = {416, "range_not_satisfiable", "The requested range is not available"},
};

static int idx(int rc)
{
    return (rc <= 0 && rc > -HS_E__COUNT) ? -rc : -HS_EINTERNAL;
}

int hs_err_status(int rc)
{
    return errmap[idx(rc)].status;
}

const char *hs_err_code(int rc)
{
    return errmap[idx(rc)].code;
}

const char *hs_err_message(int rc)
{
    return errmap[idx(rc)].message;
}

int hs_err_set(hs_err_t *e, int rc, const char *code, const char *fmt, ...)
{
    if (!e)
        return rc;
    e->rc = rc;
    e->status = hs_err_status(rc);
    e->code = code ? code : hs_err_code(rc);
    e->hint[0] = '\0';
    e->retry_after = 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(e->message, sizeof e->message, "%s", hs_err_message(rc));
    }
    return rc;
}

void hs_err_hint(hs_err_t *e, const char *fmt, ...)
{
    if (!e)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->hint, sizeof e->hint, fmt, ap);
    va_end(ap);
}

const char *hs_err_code_of(const hs_err_t *e)
{
    return e->code ? e->code : hs_err_code(e->rc);
}

void hs_err_clear(hs_err_t *e)
{
    memset(e, 0, sizeof *e);
}

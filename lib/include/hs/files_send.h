/* Files over HTTP: the reply that hands a file's bytes to the web server,
 * and the redirect of browser navigations to the download origin. */
#ifndef HS_FILES_SEND_H
#define HS_FILES_SEND_H

#include "hs/files.h"
#include "hs/http.h"

/* Replies with f's bytes through the web server: lighttpd and Apache
 * (X-Sendfile) or nginx (X-Accel-Redirect, to an internal location at the
 * same path) serve them with sendfile(), Range, ETag and conditional
 * requests; with "none" this process sends them (hs_file_stream). Always with nosniff and
 * Content-Security-Policy: sandbox; as an attachment unless ?inline=1 asks for a passive type
 * (images but SVG, audio, video, PDF, text/plain); active types go as octet-stream. */
void hs_file_send(hs_req_t *req, const hs_file_t *f);

/* Sends the blob at path from this process (sendfile_header = none), after
 * the caller's Content-Type and other headers: ETag, Last-Modified,
 * If-None-Match / If-Modified-Since (304), one Range (206, 416 with
 * "Content-Range: bytes *" "/size"; several ranges get the whole file),
 * If-Range, HEAD; in one fixed buffer, stopping when the client is gone. */
void hs_file_stream(hs_req_t *req, const char *path);

/* The conditional-request parsers of hs_file_stream, for its fuzz harness.
 * hs_etag_listed: 1 when the If-None-Match list (or "*") holds tag, compared
 * weakly as RFC 9110 says for this header (a W/ prefix is ignored). */
int hs_etag_listed(const char *list, const char *tag);

/* The time of an HTTP-date (IMF-fixdate, the only form senders may
 * generate), or -1. */
int64_t hs_http_date_parse(const char *s);

/* Parses a Range header against size: 1 with [*from, *to] for one
 * satisfiable range, 0 to send the whole file (no header, another unit, a
 * syntax error, or several ranges: RFC 9110 lets a server ignore Range, and
 * the whole file is the simplest correct answer to a multi-range request),
 * -1 for 416 (no byte of the range exists). */
int hs_range_parse(const char *h, int64_t size, int64_t *from, int64_t *to);

/* With download_origin set, a browser navigation (Sec-Fetch-Mode: navigate
 * or Sec-Fetch-Dest: document, iframe, frame, embed, object) to a download
 * on another Host is answered 307 to the same path on the download origin:
 * 1 when it replied so, 0 to serve the request here. */
int hs_file_redirect_download(hs_req_t *req);

#endif

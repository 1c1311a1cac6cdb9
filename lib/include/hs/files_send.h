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

/* With download_origin set, a browser navigation (Sec-Fetch-Mode: navigate
 * or Sec-Fetch-Dest: document, iframe, frame, embed, object) to a download
 * on another Host is answered 307 to the same path on the download origin:
 * 1 when it replied so, 0 to serve the request here. */
int hs_file_redirect_download(hs_req_t *req);

#endif

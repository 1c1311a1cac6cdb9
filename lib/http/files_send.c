/* Serving a file's bytes: the reply headers that hand them to the web
 * server (or the app's own sending, files_stream.c), and the redirect of browser navigations to the
 * download origin. Which file a request may see is the domain's rule (hs_file_visible). */
#include "hs/files_send.h"

#include <string.h>
#include <strings.h>

#include "hs/blob.h"

/* 1 when the request is a browser loading a document (a tab, a frame, an
 * embed): what could render user bytes as a page of the requested origin.
 * fetch() and XHR (Sec-Fetch-Dest: empty) only ever get bytes. */
static int navigation(hs_req_t *req)
{
    const char *mode = hs_req_header(req, "HTTP_SEC_FETCH_MODE");
    const char *dest = hs_req_header(req, "HTTP_SEC_FETCH_DEST");
    static const char *const docs[] = {"document", "iframe", "frame", "embed", "object"};
    if (mode && strcmp(mode, "navigate") == 0)
        return 1;
    for (size_t i = 0; dest && i < sizeof docs / sizeof *docs; i++)
        if (strcmp(dest, docs[i]) == 0)
            return 1;
    return 0;
}

int hs_file_redirect_download(hs_req_t *req)
{
    const char *origin = req->ctx->cfg.download_origin;
    const char *host = hs_req_header(req, "HTTP_HOST");
    if (!origin || !*origin || !navigation(req))
        return 0;
    const char *want = strstr(origin, "://") + 3;
    if (host && strcasecmp(host, want) == 0)
        return 0;
    /* REQUEST_URI is the path and query as sent; the writer refuses it if it
     * could split the header (lighttpd never passes CR/LF through anyway). */
    const char *uri = hs_req_header(req, "REQUEST_URI");
    hs_reply_header(req, "Location",
                    hs_arena_printf(req->arena, "%s%s", origin, uri && *uri == '/' ? uri : "/"));
    hs_reply_empty(req, 307);
    return 1;
}

void hs_file_send(hs_req_t *req, const hs_file_t *f)
{
    char path[1024];
    const char *type = hs_file_served_type(f->content_type);
    const char *inl = hs_req_query(req, "inline");
    /* User bytes are never a document of this origin: attachment (inline
     * only for passive types, when asked), no sniffing, and a sandbox that
     * gives any document that still renders an opaque origin without script. */
    int as_inline = inl && strcmp(inl, "1") == 0 && hs_content_type_passive(type);
    const char *disp = hs_file_disposition(req->arena, f->filename);
    if (as_inline)
        disp = hs_arena_printf(req->arena, "inline%s", disp + strlen("attachment"));
    int self = strcmp(req->ctx->cfg.sendfile_header, "none") == 0;
    hs_blob_path(&req->ctx->cfg, f->id, path, sizeof path);
    if (!self)
        hs_reply_header(req, req->ctx->cfg.sendfile_header, path);
    hs_reply_header(req, "Content-Type", type);
    hs_reply_header(req, "Content-Disposition", disp);
    hs_reply_header(req, "X-Content-Type-Options", "nosniff");
    hs_reply_header(req, "Content-Security-Policy", "sandbox");
    hs_reply_header(req, "Cache-Control", "private, no-cache");
    if (self)
        hs_file_stream(req, path);
    else
        hs_reply_empty(req, 200);
}

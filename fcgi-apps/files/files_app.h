/* Handlers of the files app, shared between its source files. */
#ifndef HS_FILES_APP_H
#define HS_FILES_APP_H

#include <stdint.h>

#include "hs/http.h"

/* upload.c: the seed's chunked upload API */
void on_upload_init(hs_req_t *req);
void on_upload_chunk_multipart(hs_req_t *req);
void on_upload_chunk_raw(hs_req_t *req);
void on_upload_status(hs_req_t *req);
void on_upload_complete(hs_req_t *req);
void on_upload_abort(hs_req_t *req);

/* tus.c: tus 1.0.0 */
void on_tus_options(hs_req_t *req);
void on_tus_create(hs_req_t *req);
void on_tus_head(hs_req_t *req);
void on_tus_patch(hs_req_t *req);
void on_tus_delete(hs_req_t *req);

/* main.c */
/* Reads the request body for hs_body_t / hs_blob_receive. */
size_t read_request(void *req, void *buf, size_t n);
/* A decimal count of at most 18 digits, or -1. */
int64_t parse_count(const char *s);
/* Replies with a file's metadata (status 200 or 201). */
void reply_file(hs_req_t *req, int status, const struct hs_file *f);

#endif

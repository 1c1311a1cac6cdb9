/* Handlers of the chats app, shared between its source files. */
#ifndef HS_CHATS_APP_H
#define HS_CHATS_APP_H

#include <stddef.h>

#include "hs/http.h"

/* messages.c */
void on_message_send(hs_req_t *req);
void on_message_history(hs_req_t *req);
void on_message_edit(hs_req_t *req);
void on_message_delete(hs_req_t *req);
void on_message_react(hs_req_t *req);
void on_message_receipts(hs_req_t *req);
void on_message_search(hs_req_t *req);

/* main.c: reads body[field] as an array of at most max ids (absent: 0
 * items); 0, or replied. */
int id_list_or_reply(hs_req_t *req, const struct cJSON *body, const char *field, size_t max,
                     const char ***out, size_t *n);

#endif

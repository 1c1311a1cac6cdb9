/* GET /health: 200 when the store and Redis answer, 503 otherwise. */
#ifndef HS_HEALTH_H
#define HS_HEALTH_H

#include "hs/http.h"

void hs_health_handler(hs_req_t *req);

#endif

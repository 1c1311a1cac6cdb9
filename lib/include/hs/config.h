/* Configuration: one key = value file plus HS_<KEY> environment overrides.
 * Every key is declared once in config.c with its type, default and doc. */
#ifndef HS_CONFIG_H
#define HS_CONFIG_H

#include <stddef.h>

#include "hs/err.h"

typedef struct hs_config {
    char *data_dir;
    char *store;       /* "sqlite", or "mongo" (mongo_uri) */
    char *sqlite_path; /* empty: <data_dir>/hypersend.db */
    char *mongo_uri;   /* store = mongo: mongodb://... */
    char *redis_host;
    char *events;           /* "redis" or "store" once loaded */
    char *revocation_cache; /* "auto" or "redis" */
    long redis_port;
    long redis_timeout_ms;
    char *secret_key_file;
    char *jwt_issuer;
    long access_token_ttl;  /* seconds */
    long refresh_token_ttl; /* seconds */
    long max_json_body;     /* bytes */
    long body_timeout;      /* seconds without upload bytes before giving up */
    long upload_direct_io;  /* 1: upload blocks written with O_DIRECT */
    long fcgi_max_conns;    /* FastCGI connections one process holds */
    char *cors_origins;     /* comma separated; empty: no cross-origin access */
    char *access_log;       /* path; "-" or empty: stderr */
    long argon2_memory_kib;
    long argon2_iterations;
    long argon2_parallelism;
    long login_account_burst;
    long login_account_period;
    long login_ip_burst;
    long login_ip_period;
    long register_ip_burst;
    long register_ip_period;
    long trust_proxy; /* 1: honour X-Forwarded-For from the front server */
    long max_file_size;
    long user_quota; /* bytes per user; 0: unlimited */
    long upload_ttl; /* seconds an unfinished upload is kept */
    long chunk_size; /* bytes; grows for very large files, see max_chunks */
    long max_chunks;
    char *denied_types;      /* comma separated MIME types refused with 415 */
    char *download_origin;   /* "scheme://host[:port]" for downloads; empty: none */
    char *sendfile_header;   /* "X-Sendfile", "X-Accel-Redirect" or "none" */
    long max_message_length; /* bytes */
    long chat_member_limit;
    long message_burst;
    long message_rate; /* messages per second after the burst */
    long search_burst;
    long search_period; /* seconds for one more search after the burst */
    long receipts_max_members;
    long events_retention; /* seconds */
    char *ws_bind;
    long ws_port;
    long ws_metrics_port;
    char *ws_log;
    long ws_max_message;
    long ws_queue_max;
    long ws_heartbeat;
    long ws_idle_timeout;
    long ws_token_warning;
    long typing_throttle_ms;
    long presence_max_members;
    long p2p_offer_ttl; /* seconds */
    char *p2p_stun_urls;
    char *p2p_turn_urls;
    char *p2p_turn_secret;
    long p2p_turn_ttl;
    /* anti-spam limits per sender (issue 11) */
    long p2p_offer_burst, p2p_offer_period;
    long invite_burst, invite_period;
    long chat_create_per_hour;
    long updates_per_user;
    long updates_max_waiting;   /* 0: no cap */
    long updates_short_poll_ms; /* retry_ms past updates_max_waiting */
} hs_config_t;

typedef enum { HS_CONF_STR, HS_CONF_INT } hs_conf_type_t;

typedef struct hs_conf_key {
    const char *name;
    hs_conf_type_t type;
    size_t offset;
    const char *def;
    long min, max; /* for ints */
    const char *doc;
} hs_conf_key_t;

/* The declared keys, terminated by a {NULL} entry (for docs and tests). */
extern const hs_conf_key_t hs_config_keys[];

/* Loads defaults, then the file at path (NULL or missing file with
 * must_exist == 0: defaults only), then HS_* environment overrides, and
 * validates. On error the message names the key. cfg must be freed with
 * hs_config_free() even on error. */
int hs_config_load(hs_config_t *cfg, const char *path, int must_exist, hs_err_t *err);

/* Sets one key from a string value (used by the loader and by tests). */
int hs_config_set(hs_config_t *cfg, const char *key, const char *value, hs_err_t *err);

/* Frees the strings cfg owns. */
void hs_config_free(hs_config_t *cfg);

/* 1 when o is an origin for download_origin: http(s)://host[:port], no path. */
int hs_config_origin_ok(const char *o);

/* 1 when events, rate limits and revocations live in the store (events =
 * store): no Redis is used at all. */
static inline int hs_config_events_store(const hs_config_t *cfg)
{
    return cfg->events && cfg->events[0] == 's';
}

#endif

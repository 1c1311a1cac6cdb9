/* MongoDB operations on users: one document each in `users`, unique on
 * username and on email (like the SQLite schema); display_name_lc, the
 * display name with ASCII letters lowercased, serves the prefix search. */
#include <string.h>

#include "mongo.h"

void hs__mg_read_user(hs_arena_t *a, const bson_t *doc, hs_user_t *u)
{
    memset(u, 0, sizeof *u);
    hs__mg_id(u->id, doc, "_id");
    u->username = hs__mg_str(a, doc, "username");
    u->email = hs__mg_str(a, doc, "email");
    u->password_hash = hs__mg_str(a, doc, "password_hash");
    u->display_name = hs__mg_str(a, doc, "display_name");
    u->bio = hs__mg_str(a, doc, "bio");
    u->avatar_file_id = hs__mg_str(a, doc, "avatar_file_id");
    u->settings = hs__mg_str(a, doc, "settings");
    const char *role = hs__mg_str(a, doc, "role");
    u->role = role && strcmp(role, "admin") == 0 ? "admin" : "user";
    u->disabled = hs__mg_i64(doc, "disabled") != 0;
    u->created_at = hs__mg_i64(doc, "created_at");
    u->updated_at = hs__mg_i64(doc, "updated_at");
}

/* Which unique key a refused insert collided with: asked again rather than
 * read from the error text, which differs between servers. */
static int taken(hs__mg_op_t *op, const hs_user_t *u, hs_err_t *err)
{
    bson_t *f = BCON_NEW("username", BCON_UTF8(u->username));
    long n = 0;
    int rc = hs__mg_count(op, HS__MG_USERS, f, &n, err);
    bson_destroy(f);
    if (rc)
        return rc;
    if (n == 0) {
        f = BCON_NEW("email", BCON_UTF8(u->email));
        rc = hs__mg_count(op, HS__MG_USERS, f, &n, err);
        bson_destroy(f);
        if (rc)
            return rc;
        if (n > 0)
            return hs_err_set(err, HS_ECONFLICT, "email_taken", "This email is already registered");
    }
    return hs_err_set(err, HS_ECONFLICT, "username_taken", "This username is already taken");
}

int hs__mg_user_create(hs_store_t *st, hs_user_t *u, hs_err_t *err)
{
    hs_arena_t tmp = {0};
    const char *role = u->role && strcmp(u->role, "admin") == 0 ? "admin" : "user";
    const char *display = u->display_name ? u->display_name : "";
    bson_t *doc = BCON_NEW("_id", BCON_UTF8(u->id), "username", BCON_UTF8(u->username), "email",
                           BCON_UTF8(u->email), "password_hash", BCON_UTF8(u->password_hash),
                           "display_name", BCON_UTF8(display), "display_name_lc",
                           BCON_UTF8(hs__mg_ascii_lower(&tmp, display)), "bio", BCON_UTF8(""),
                           "avatar_file_id", BCON_NULL, "settings", BCON_UTF8("{}"), "role",
                           BCON_UTF8(role), "disabled", BCON_INT32(0), "created_at",
                           BCON_INT64(u->created_at), "updated_at", BCON_INT64(u->created_at));
    hs__mg_op_t op;
    bson_error_t e;
    int rc = 0;
    hs__mg_begin(st, &op);
    if (!mongoc_collection_insert_one(hs__mg_c(&op, HS__MG_USERS), doc, NULL, NULL, &e))
        rc = hs__mg_is_dup(&e) ? taken(&op, u, err) : hs__mg_fail(st, &e, err);
    hs__mg_end(&op);
    bson_destroy(doc);
    hs_arena_free(&tmp);
    if (!rc)
        u->role = role;
    return rc;
}

/* The first user matching filter, or user_not_found. */
static int get_one(hs_store_t *st, bson_t *filter, hs_arena_t *a, hs_user_t *out, hs_err_t *err)
{
    hs__mg_op_t op;
    bson_t doc;
    int found = 0;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_one(&op, HS__MG_USERS, filter, NULL, &doc, &found, err);
    hs__mg_end(&op);
    bson_destroy(filter);
    if (rc)
        return rc;
    if (!found)
        return hs_err_set(err, HS_ENOTFOUND, "user_not_found", "No such user");
    hs__mg_read_user(a, &doc, out);
    bson_destroy(&doc);
    return 0;
}

int hs__mg_user_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_user_t *out, hs_err_t *err)
{
    return get_one(st, BCON_NEW("_id", BCON_UTF8(id)), a, out, err);
}

int hs__mg_user_find_login(hs_store_t *st, const char *login, hs_arena_t *a, hs_user_t *out,
                           hs_err_t *err)
{
    return get_one(st,
                   BCON_NEW("$or", "[", "{", "username", BCON_UTF8(login), "}", "{", "email",
                            BCON_UTF8(login), "}", "]"),
                   a, out, err);
}

/* updateOne of the user id with update (freed here); user_not_found when
 * no user has that id. */
static int update_user(hs_store_t *st, const char *id, bson_t *update, hs_err_t *err)
{
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id));
    hs__mg_op_t op;
    long matched = 0;
    hs__mg_begin(st, &op);
    int rc = hs__mg_update(&op, HS__MG_USERS, 0, f, update, &matched, err);
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(update);
    if (!rc && matched == 0)
        rc = hs_err_set(err, HS_ENOTFOUND, "user_not_found", "No such user");
    return rc;
}

int hs__mg_user_update_profile(hs_store_t *st, const hs_user_t *u, hs_err_t *err)
{
    hs_arena_t tmp = {0};
    const char *display = u->display_name ? u->display_name : "";
    bson_t *set = bson_new(), inner;
    BSON_APPEND_DOCUMENT_BEGIN(set, "$set", &inner);
    BSON_APPEND_UTF8(&inner, "display_name", display);
    BSON_APPEND_UTF8(&inner, "display_name_lc", hs__mg_ascii_lower(&tmp, display));
    BSON_APPEND_UTF8(&inner, "bio", u->bio ? u->bio : "");
    hs__mg_put_str(&inner, "avatar_file_id", u->avatar_file_id);
    BSON_APPEND_UTF8(&inner, "settings", u->settings ? u->settings : "{}");
    BSON_APPEND_INT64(&inner, "updated_at", u->updated_at);
    bson_append_document_end(set, &inner);
    hs_arena_free(&tmp);
    return update_user(st, u->id, set, err);
}

int hs__mg_user_set_password(hs_store_t *st, const char *id, const char *hash, int64_t now,
                             hs_err_t *err)
{
    return update_user(
        st, id,
        BCON_NEW("$set", "{", "password_hash", BCON_UTF8(hash), "updated_at", BCON_INT64(now), "}"),
        err);
}

int hs__mg_user_set_role(hs_store_t *st, const char *id, const char *role, int64_t now,
                         hs_err_t *err)
{
    return update_user(st, id,
                       BCON_NEW("$set", "{", "role",
                                BCON_UTF8(strcmp(role, "admin") == 0 ? "admin" : "user"),
                                "updated_at", BCON_INT64(now), "}"),
                       err);
}

int hs__mg_user_set_disabled(hs_store_t *st, const char *id, int disabled, int64_t now,
                             hs_err_t *err)
{
    return update_user(st, id,
                       BCON_NEW("$set", "{", "disabled", BCON_INT32(disabled ? 1 : 0), "updated_at",
                                BCON_INT64(now), "}"),
                       err);
}

/* Collects users into an arena array. */
typedef struct {
    hs_arena_t *a;
    hs_user_t *items;
    size_t n, cap;
} user_list_t;

static void collect_user(const bson_t *doc, void *arg)
{
    user_list_t *l = arg;
    l->items = hs_arena_grow(l->a, l->items, l->n, &l->cap, sizeof *l->items);
    hs__mg_read_user(l->a, doc, &l->items[l->n++]);
}

/* Appends {field: {$gte: p, $lt: p with its last byte raised}}: the strings
 * starting with p, byte for byte (the servers' simple binary collation). */
static void append_prefix(bson_t *parent, const char *key, const char *field, const char *p,
                          hs_arena_t *a)
{
    bson_t d, r;
    size_t n = strlen(p);
    char *hi = hs_arena_strdup(a, p);
    while (n > 0 && (unsigned char)hi[n - 1] == 0xff)
        n--;
    BSON_APPEND_DOCUMENT_BEGIN(parent, key, &d);
    BSON_APPEND_DOCUMENT_BEGIN(&d, field, &r);
    BSON_APPEND_UTF8(&r, "$gte", p);
    if (n > 0) {
        hi[n - 1] = (char)((unsigned char)hi[n - 1] + 1);
        hi[n] = '\0';
        bson_append_utf8(&r, "$lt", 3, hi, (int)n);
    }
    bson_append_document_end(&d, &r);
    bson_append_document_end(parent, &d);
}

/* Like SQLite's LIKE 'prefix%': ASCII case-insensitive on both fields (the
 * username is stored lowercase), every other byte exact; enabled users by
 * username after the cursor. */
int hs__mg_user_search(hs_store_t *st, const char *prefix, const char *after, int limit,
                       hs_arena_t *a, hs_user_page_t *out, hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *p = hs__mg_ascii_lower(a, prefix);
    bson_t *f = BCON_NEW("disabled", BCON_INT32(0), "username", "{", "$gt",
                         BCON_UTF8(after ? after : ""), "}");
    if (*p) {
        bson_t or ;
        BSON_APPEND_ARRAY_BEGIN(f, "$or", & or);
        append_prefix(& or, "0", "username", p, a);
        append_prefix(& or, "1", "display_name_lc", p, a);
        bson_append_array_end(f, & or);
    }
    bson_t *opts = BCON_NEW("sort", "{", "username", BCON_INT32(1), "}", "limit",
                            BCON_INT64((int64_t)limit + 1));
    user_list_t l = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_USERS, f, opts, collect_user, &l, err);
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(opts);
    if (rc)
        return rc;
    if (l.n > (size_t)limit) {
        l.n = (size_t)limit;
        out->next_cursor = limit > 0 ? l.items[limit - 1].username : NULL;
    }
    out->items = l.items;
    out->n = l.n;
    return 0;
}

/*
 * catalog.c — collections and aliases: the in-memory catalog and its files.
 * See db.h for the layout and the locking rule.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "core/internal.h"
#include "json/jtree.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/utf8.h"

#define CONFIG_FILE "config.json"
#define ALIASES_FILE "aliases.json"
#define META_MAX_BYTES (64u << 20)  /* a config or alias file larger than this is damage */

/* Paths fit: qv_open bounds the directory's length and names are <= 255
 * bytes. Formatting through a va_list keeps that argument in one place. */
static void fmt_path(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fmt_path(char *dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, PATH_MAX, fmt, ap);
    va_end(ap);
}

/* ---- names ------------------------------------------------------------------ */

qv_status qv_name_check(const char *name, qv_error *err)
{
    size_t len = strlen(name);
    if (len == 0 || len > QV_MAX_NAME_LEN)
        return qv_fail(err, QV_VALIDATION, "value \"%.64s%s\" invalid, must be from 1 to %d characters",
                       name, len > 64 ? "..." : "", QV_MAX_NAME_LEN);
    /* Names are directory names: "." and ".." would escape the layout. */
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return qv_fail(err, QV_VALIDATION, "collection name cannot be \"%s\"", name);
    return cfg_name_chars_check("collection", name, len, err);
}

qv_status qv_name_check_n(const char *name, size_t len, qv_error *err)
{
    if (memchr(name, '\0', len))
        return cfg_name_chars_check("collection", name, len, err);
    return qv_name_check(name, err);
}

/* ---- lookup ----------------------------------------------------------------- */

/* Index of name in colls, or the insertion point with *found false. */
static size_t coll_search(const qv_db *db, const char *name, bool *found)
{
    size_t lo = 0, hi = db->n_colls;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(db->colls[mid]->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static qv_collection *coll_get(const qv_db *db, const char *name)
{
    bool found;
    size_t i = coll_search(db, name, &found);
    return found ? db->colls[i] : NULL;
}

static ssize_t alias_find(const qv_alias_entry *a, size_t n, const char *alias)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].alias, alias) == 0)
            return (ssize_t)i;
    return -1;
}

qv_collection *cat_resolve(qv_db *db, const char *name)
{
    qv_collection *c = coll_get(db, name);
    if (c)
        return c;
    ssize_t i = alias_find(db->aliases, db->n_aliases, name);
    return i >= 0 ? coll_get(db, db->aliases[i].collection) : NULL;
}

static qv_status not_found(qv_error *err, const char *name)
{
    return qv_fail(err, QV_NOT_FOUND, "Collection `%s` doesn't exist!", name);
}

/* ---- files ------------------------------------------------------------------ */

static qv_status io_fail(qv_error *err, const char *what, const char *path)
{
    return qv_fail(err, QV_IO, "%s %s: %s", what, path, strerror(errno));
}

/* The config file: the CollectionConfig, and the payload index definitions
 * (not part of Qdrant's CollectionConfig; GET shows them as payload_schema). */
qv_status cat_write_config(const char *dir, const cfg_collection *cfg, const idx_def *defs,
                           uint32_t n_defs, qv_error *err)
{
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "format");
    jw_str(&w, "quiver-collection");
    jw_key(&w, "version");
    jw_uint(&w, 1);
    jw_key(&w, "config");
    cfg_print(&w, cfg);
    jw_key(&w, "payload_indexes");
    jw_arr_begin(&w);
    for (uint32_t i = 0; i < n_defs; i++) {
        jw_obj_begin(&w);
        jw_key(&w, "field_name");
        jw_str(&w, defs[i].field);
        jw_key(&w, "field_schema");
        jw_raw(&w, defs[i].schema_json, strlen(defs[i].schema_json));
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    qv_status rc = QV_OK;
    if (!qv_buf_ok(&b))
        rc = qv_fail(err, QV_NOMEM, "out of memory");
    else if (qv_write_file_atomic(dir, CONFIG_FILE, b.data, b.len) != 0)
        rc = io_fail(err, "cannot write config in", dir);
    qv_buf_free(&b);
    return rc;
}

static qv_status write_aliases(qv_db *db, const qv_alias_entry *a, size_t n, qv_error *err)
{
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "format");
    jw_str(&w, "quiver-aliases");
    jw_key(&w, "version");
    jw_uint(&w, 1);
    jw_key(&w, "aliases");
    jw_obj_begin(&w);
    for (size_t i = 0; i < n; i++) {
        jw_key(&w, a[i].alias);
        jw_str(&w, a[i].collection);
    }
    jw_obj_end(&w);
    jw_obj_end(&w);
    qv_status rc = QV_OK;
    if (!qv_buf_ok(&b))
        rc = qv_fail(err, QV_NOMEM, "out of memory");
    else if (qv_write_file_atomic(db->dir, ALIASES_FILE, b.data, b.len) != 0)
        rc = io_fail(err, "cannot write aliases in", db->dir);
    qv_buf_free(&b);
    return rc;
}

/* Read a metadata file and check its format tag and version. */
static qv_status read_meta(const char *path, const char *format, qv_arena *a, const jr_value **out,
                           char **text, qv_error *err)
{
    size_t len;
    if (qv_read_file(path, META_MAX_BYTES, text, &len) != 0)
        return io_fail(err, "cannot read", path);
    jr_value *root;
    jr_error jerr;
    if (jr_parse(a, *text, len, &root, &jerr) != 0)
        return qv_fail(err, QV_CORRUPT, "%s: %s at line %u column %u", path, jerr.msg, jerr.line,
                       jerr.column);
    const jr_value *f = jr_get(root, "format"), *v = jr_get(root, "version");
    uint64_t ver;
    if (!jr_is(f, JR_STRING) || strcmp(f->u.str, format) != 0)
        return qv_fail(err, QV_CORRUPT, "%s: not a %s file", path, format);
    if (!jr_get_u64(v, &ver) || ver != 1)
        return qv_fail(err, QV_CORRUPT, "%s: unsupported version", path);
    *out = root;
    return QV_OK;
}

qv_status cat_acquire(qv_db *db, const char *name, qv_collection **out, qv_error *err)
{
    pthread_rwlock_rdlock(&db->lock);
    qv_collection *c = cat_resolve(db, name);
    if (c)
        atomic_fetch_add(&c->refs, 1);
    pthread_rwlock_unlock(&db->lock);
    *out = c;
    return c ? QV_OK : not_found(err, name);
}

void cat_release(qv_collection *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        coll_destroy(c);
}

/* Insert c at its sorted place. */
static qv_status coll_insert(qv_db *db, qv_collection *c, qv_error *err)
{
    bool found;
    size_t i = coll_search(db, c->name, &found);
    if (db->n_colls == db->cap_colls) {
        size_t cap = db->cap_colls ? db->cap_colls * 2 : 16;
        qv_collection **p = realloc(db->colls, cap * sizeof *p);
        if (!p)
            return qv_fail(err, QV_NOMEM, "out of memory");
        db->colls = p;
        db->cap_colls = cap;
    }
    memmove(db->colls + i + 1, db->colls + i, (db->n_colls - i) * sizeof *db->colls);
    db->colls[i] = c;
    db->n_colls++;
    return QV_OK;
}

static qv_status load_index_defs(const jr_value *list, qv_collection *c, const char *path,
                                 qv_error *err)
{
    if (jr_is_null(list))
        return QV_OK;
    if (!jr_is(list, JR_ARRAY))
        return qv_fail(err, QV_CORRUPT, "%s: payload_indexes is not a list", path);
    c->defs = calloc(list->len ? list->len : 1, sizeof *c->defs);
    if (!c->defs)
        return qv_fail(err, QV_NOMEM, "out of memory");
    for (uint32_t i = 0; i < list->len; i++) {
        const jr_value *f = jr_get(&list->u.items[i], "field_name");
        const jr_value *sc = jr_get(&list->u.items[i], "field_schema");
        if (!jr_is(f, JR_STRING) || !sc)
            return qv_fail(err, QV_CORRUPT, "%s: payload index %u is damaged", path, i);
        qv_buf b = QV_BUF_INIT;
        jw w;
        jw_init(&w, &b);
        jw_tree(&w, sc);
        c->defs[i].field = strdup(f->u.str);
        c->defs[i].schema_json = qv_buf_ok(&b) ? qv_buf_detach(&b, NULL) : NULL;
        qv_buf_free(&b);
        c->n_defs = i + 1;
        if (!c->defs[i].field || !c->defs[i].schema_json)
            return qv_fail(err, QV_NOMEM, "out of memory");
    }
    return QV_OK;
}

static qv_status load_collection(qv_db *db, const char *name, qv_error *err)
{
    char path[PATH_MAX];
    fmt_path(path, "%s/collections/%s/" CONFIG_FILE, db->dir, name);
    qv_arena a;
    qv_arena_init(&a, 0);
    char *text = NULL;
    const jr_value *root = NULL;
    qv_collection *c = NULL;
    qv_status rc = read_meta(path, "quiver-collection", &a, &root, &text, err);
    if (rc)
        goto done;
    if (!(c = coll_new(name))) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = cfg_parse(jr_get(root, "config"), CFG_STORED, &c->cfg, err))) {
        char msg[sizeof err->msg];
        memcpy(msg, err->msg, sizeof msg);
        rc = qv_fail(err, QV_CORRUPT, "%s: %.400s", path, msg);
        goto done;
    }
    if ((rc = load_index_defs(jr_get(root, "payload_indexes"), c, path, err)))
        goto done;
    fmt_path(path, "%s/collections/%s", db->dir, name);
    if ((rc = coll_open(c, path, err)) == QV_OK && (rc = coll_insert(db, c, err)) == QV_OK)
        c = NULL;
done:
    cat_release(c);
    free(text);
    qv_arena_free(&a);
    return rc;
}

/*
 * A collection directory or alias written by an older build (whose rules
 * differed) or by hand may hold a name today's rules refuse: one of Qdrant's
 * forbidden characters, or bytes that are not UTF-8. Such a name cannot be
 * addressed through the API, so it is skipped with a warning. A directory is
 * never deleted (the operator can rename it and restart); an alias is
 * dropped from aliases.json like one whose collection is gone. The name is
 * logged repaired to valid UTF-8.
 */
static bool name_loadable(const char *what, const char *name, size_t len)
{
    qv_error e;
    if (qv_utf8_valid(name, len) && qv_name_check_n(name, len, &e) == QV_OK)
        return true;
    if (!qv_utf8_valid(name, len))
        snprintf(e.msg, sizeof e.msg, "name is not valid UTF-8");
    char shown[QV_UTF8_LOSSY_MAX(64)];
    qv_utf8_lossy(shown, name, len < 64 ? len : 64);
    QV_WARN("skipping %s `%s`%s: %s (written by an older build?); rename it to load it", what, shown,
            len > 64 ? "..." : "", e.msg);
    return false;
}

static int alias_cmp(const void *x, const void *y)
{
    return strcmp(((const qv_alias_entry *)x)->alias, ((const qv_alias_entry *)y)->alias);
}

static void aliases_free(qv_alias_entry *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].alias);
        free(a[i].collection);
    }
    free(a);
}

static qv_status load_aliases(qv_db *db, qv_error *err)
{
    char path[PATH_MAX];
    fmt_path(path, "%s/" ALIASES_FILE, db->dir);
    qv_arena a;
    qv_arena_init(&a, 0);
    char *text = NULL;
    const jr_value *root = NULL;
    qv_status rc = read_meta(path, "quiver-aliases", &a, &root, &text, err);
    if (rc == QV_IO && errno == ENOENT) {
        rc = QV_OK;
        goto done;
    }
    if (rc)
        goto done;
    const jr_value *map = jr_get(root, "aliases");
    if (!jr_is_object(map)) {
        rc = qv_fail(err, QV_CORRUPT, "%s: missing `aliases`", path);
        goto done;
    }
    db->aliases = calloc(map->len ? map->len : 1, sizeof *db->aliases);
    if (!db->aliases) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto done;
    }
    size_t dropped = 0;
    for (uint32_t i = 0; i < map->len; i++) {
        const jr_member *m = &map->u.members[i];
        if (!jr_is(&m->value, JR_STRING)) {
            rc = qv_fail(err, QV_CORRUPT, "%s: alias `%s` is not a string", path, m->key);
            goto done;
        }
        if (!name_loadable("alias", m->key, m->key_len) ||
            !name_loadable("alias target", m->value.u.str, m->value.len)) {
            dropped++;
            continue;
        }
        if (!coll_get(db, m->value.u.str)) {
            QV_WARN("dropping alias `%s`: its collection `%s` is gone", m->key, m->value.u.str);
            dropped++;
            continue;
        }
        qv_alias_entry *e = &db->aliases[db->n_aliases];
        e->alias = strdup(m->key);
        e->collection = strdup(m->value.u.str);
        db->n_aliases++;
        if (!e->alias || !e->collection) {
            rc = qv_fail(err, QV_NOMEM, "out of memory");
            goto done;
        }
    }
    qsort(db->aliases, db->n_aliases, sizeof *db->aliases, alias_cmp);
    if (dropped)
        rc = write_aliases(db, db->aliases, db->n_aliases, err);
done:
    free(text);
    qv_arena_free(&a);
    return rc;
}

qv_status cat_load(qv_db *db, qv_error *err)
{
    char path[PATH_MAX];
    fmt_path(path, "%s/tmp", db->dir);
    if (qv_rm_rf(path) != 0 || qv_mkdir(path) != 0)
        return io_fail(err, "cannot reset", path);
    fmt_path(path, "%s/collections", db->dir);
    if (qv_mkdir(path) != 0)
        return io_fail(err, "cannot create", path);
    DIR *d = opendir(path);
    if (!d)
        return io_fail(err, "cannot list", path);
    qv_status rc = QV_OK;
    struct dirent *e;
    while (rc == QV_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        if (!name_loadable("collection directory", e->d_name, strlen(e->d_name)))
            continue;
        rc = load_collection(db, e->d_name, err);
    }
    closedir(d);
    if (rc == QV_OK)
        rc = load_aliases(db, err);
    return rc;
}

void cat_free(qv_db *db)
{
    for (size_t i = 0; i < db->n_colls; i++) {
        coll_close(db->colls[i]);
        cat_release(db->colls[i]);
    }
    free(db->colls);
    aliases_free(db->aliases, db->n_aliases);
    db->colls = NULL;
    db->aliases = NULL;
    db->n_colls = db->cap_colls = db->n_aliases = 0;
}

/* ---- collections ------------------------------------------------------------ */

qv_status qv_collection_create(qv_db *db, const char *name, const char *config_json, size_t len,
                               qv_error *err)
{
    qv_status rc = qv_name_check(name, err);
    if (rc)
        return rc;
    qv_arena a;
    qv_arena_init(&a, 0);
    jr_value *root = NULL;
    qv_collection *c = coll_new(name);
    char stage[PATH_MAX], final[PATH_MAX], parent[PATH_MAX];
    bool locked = false, staged = false;
    if (!c) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = qv_parse_request(&a, config_json, len, &root, err)) ||
        (rc = cfg_parse(root, CFG_CREATE, &c->cfg, err)))
        goto fail;

    pthread_rwlock_wrlock(&db->lock);
    locked = true;
    if (coll_get(db, name)) {
        rc = qv_fail(err, QV_CONFLICT, "Collection `%s` already exists!", name);
        goto fail;
    }
    if (alias_find(db->aliases, db->n_aliases, name) >= 0) {
        rc = qv_fail(err, QV_BAD_INPUT,
                     "Can't create collection with name %s. Alias with the same name already exists",
                     name);
        goto fail;
    }
    /* Stage the directory in tmp/, then one rename publishes it. */
    fmt_path(stage, "%s/tmp/create-%lu", db->dir, ++db->tmp_seq);
    fmt_path(parent, "%s/collections", db->dir);
    fmt_path(final, "%s/%s", parent, name);
    if (qv_mkdir(stage) != 0) {
        rc = io_fail(err, "cannot create", stage);
        goto fail;
    }
    staged = true;
    if ((rc = cat_write_config(stage, &c->cfg, NULL, 0, err)))
        goto fail;
    if (rename(stage, final) != 0) {
        rc = io_fail(err, "cannot publish collection", final);
        goto fail;
    }
    staged = false;
    if (qv_fsync_dir(parent) != 0) {
        rc = io_fail(err, "cannot sync", parent);
        qv_rm_rf(final);
        qv_fsync_dir(parent);  /* best effort: a failed create must not come back */
        goto fail;
    }
    if ((rc = coll_open(c, final, err)) || (rc = coll_insert(db, c, err))) {
        coll_stop(c);
        qv_rm_rf(final);
        goto fail;
    }
    pthread_rwlock_unlock(&db->lock);
    qv_arena_free(&a);
    return QV_OK;
fail:
    if (staged)
        qv_rm_rf(stage);
    if (locked)
        pthread_rwlock_unlock(&db->lock);
    cat_release(c);
    qv_arena_free(&a);
    return rc;
}

qv_status qv_collection_delete(qv_db *db, const char *name, bool *existed, qv_error *err)
{
    *existed = false;
    pthread_rwlock_wrlock(&db->lock);
    qv_collection *c = cat_resolve(db, name);
    qv_status rc = QV_OK;
    if (!c)
        goto done;
    /* Aliases first: a crash after this leaves the collection without its
     * aliases, never an alias without its collection. */
    size_t kept = 0;
    for (size_t i = 0; i < db->n_aliases; i++)
        if (strcmp(db->aliases[i].collection, c->name) != 0)
            kept++;
    if (kept != db->n_aliases) {
        qv_alias_entry *na = calloc(kept ? kept : 1, sizeof *na);
        if (!na) {
            rc = qv_fail(err, QV_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0, j = 0; i < db->n_aliases; i++)
            if (strcmp(db->aliases[i].collection, c->name) != 0)
                na[j++] = db->aliases[i];
        if ((rc = write_aliases(db, na, kept, err))) {
            free(na);
            goto done;
        }
        for (size_t i = 0; i < db->n_aliases; i++)
            if (strcmp(db->aliases[i].collection, c->name) == 0) {
                free(db->aliases[i].alias);
                free(db->aliases[i].collection);
            }
        free(db->aliases);
        db->aliases = na;
        db->n_aliases = kept;
    }
    char from[PATH_MAX], to[PATH_MAX], parent[PATH_MAX];
    fmt_path(parent, "%s/collections", db->dir);
    fmt_path(from, "%s/%s", parent, c->name);
    fmt_path(to, "%s/tmp/delete-%lu", db->dir, ++db->tmp_seq);
    coll_stop(c);  /* what is queued is applied; later writes find no collection */
    if (rename(from, to) != 0 || qv_fsync_dir(parent) != 0) {
        rc = io_fail(err, "cannot delete collection", from);
        goto done;
    }
    if (qv_rm_rf(to) != 0)
        QV_WARN("could not remove %s: %s (it goes at next start)", to, strerror(errno));
    bool found;
    size_t i = coll_search(db, c->name, &found);
    memmove(db->colls + i, db->colls + i + 1, (db->n_colls - i - 1) * sizeof *db->colls);
    db->n_colls--;
    cat_release(c);
    *existed = true;
done:
    pthread_rwlock_unlock(&db->lock);
    return rc;
}

qv_status qv_collection_update(qv_db *db, const char *name, const char *patch_json, size_t len,
                               qv_error *err)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    jr_value *root = NULL;
    qv_status rc = qv_parse_request(&a, patch_json, len, &root, err);
    if (rc) {
        qv_arena_free(&a);
        return rc;
    }
    pthread_rwlock_wrlock(&db->lock);
    qv_collection *c = cat_resolve(db, name);
    cfg_collection next;
    if (!c) {
        rc = not_found(err, name);
        goto done;
    }
    if ((rc = cfg_copy(&next, &c->cfg, err)))
        goto done;
    if ((rc = cfg_update(root, &next, err)) == QV_OK) {
        char dir[PATH_MAX];
        fmt_path(dir, "%s/collections/%s", db->dir, c->name);
        rc = cat_write_config(dir, &next, c->defs, c->n_defs, err);
    }
    if (rc) {
        cfg_free(&next);
        goto done;
    }
    cfg_free(&c->cfg);
    c->cfg = next;
    /* What the engine tunes by reaches the schema that search and the
     * indexer read (under these locks; writers parsing against it read
     * only its vector list, which a PATCH does not change). */
    pthread_rwlock_wrlock(&c->vlock);
    pthread_rwlock_wrlock(&c->lock);
    cfg_take_tuning(&c->schema, &c->cfg);
    c->st.vacuum_ratio = c->schema.optimizers.deleted_threshold;
    c->st.vacuum_min = c->schema.optimizers.vacuum_min_vector_number;
    vx_retune(&c->vx);
    pthread_rwlock_unlock(&c->lock);
    pthread_rwlock_unlock(&c->vlock);
done:
    pthread_rwlock_unlock(&db->lock);
    qv_arena_free(&a);
    return rc;
}

/* ---- named vectors (collection.h has the design) ---------------------------- */

/* Add (add != NULL) or remove vector of collection name. */
static qv_status change_vectors(qv_db *db, const char *name, const char *vector,
                                const cfg_new_vector *add, const qv_write_opts *opts,
                                qv_update_result *res, qv_error *err)
{
    qv_collection *c;
    qv_status rc = cat_acquire(db, name, &c, err);
    if (rc)
        return rc;
    cfg_collection ncfg = {0}, nschema = {0};
    store_layout lay = {.added = -1, .removed_dense = -1, .removed_sparse = -1};
    bool changed = false, paused = false, prepared = false;
    uint64_t op = 0;
    pthread_mutex_lock(&c->ddl);
    pthread_rwlock_wrlock(&c->vgate);  /* no write is between parse and queue now */
    pthread_rwlock_rdlock(&db->lock);  /* no delete, PATCH or config write meanwhile */
    if (cat_resolve(db, name) != c) {  /* deleted (and maybe created again) since */
        rc = not_found(err, name);
        goto done;
    }
    if ((rc = cfg_copy(&ncfg, &c->cfg, err)) || (rc = cfg_copy(&nschema, &c->schema, err)))
        goto done;
    if (add) {
        bool also;
        if ((rc = cfg_add_vector(&ncfg, vector, add, &changed, err)) ||
            (changed && (rc = cfg_add_vector(&nschema, vector, add, &also, err))))
            goto done;
    } else {
        changed = cfg_remove_vector(&ncfg, vector);
        cfg_remove_vector(&nschema, vector);
    }
    if (!changed)
        goto done;  /* the same vector again, or a missing one: nothing to do */
    if ((rc = coll_pause(c, err)))
        goto done;
    paused = true;
    /* Everything that can fail for want of memory happens before the disk. */
    if (add) {
        rc = store_layout_add(&c->st, add->sparse, vector, add->dense.size, add->dense.on_disk, &lay, err);
    } else {
        uint32_t n = UINT32_MAX;  /* not found: store_layout_remove refuses it */
        bool sparse = cfg_find_vector(&c->schema, vector) == NULL;
        for (uint32_t i = 0; i < (sparse ? c->st.n_sparse : c->st.n_dense); i++)
            if (strcmp(sparse ? c->st.sparse_names[i] : c->st.dense[i].name, vector) == 0)
                n = i;
        rc = store_layout_remove(&c->st, sparse, n, &lay, err);
    }
    if (rc)
        goto done;
    prepared = true;
    op = coll_take_op_id(c);
    /* (1) the old layout on disk, by name, and no old record left in the log */
    if ((rc = coll_checkpoint(c, c->applied_seq, op + 1, err)))
        goto done;
    /* (2) the commit point */
    if ((rc = cat_write_config(c->dir, &ncfg, c->defs, c->n_defs, err)))
        goto done;
    /* (3) readers see the old vectors or the new ones */
    pthread_mutex_lock(&c->apply);
    pthread_rwlock_wrlock(&c->vlock);
    pthread_rwlock_wrlock(&c->lock);
    store_layout_commit(&c->st, &lay);
    vx_reset(&c->vx);  /* the graphs were of the old columns */
    sx_reset(&c->sx, c->name);
    prepared = false;
    cfg_free(&c->cfg);
    cfg_free(&c->schema);
    c->cfg = ncfg;
    c->schema = nschema;
    memset(&ncfg, 0, sizeof ncfg);
    memset(&nschema, 0, sizeof nschema);
    c->applied_seq = op;
    pthread_rwlock_unlock(&c->lock);
    pthread_rwlock_unlock(&c->vlock);
    pthread_mutex_unlock(&c->apply);
    /* A removed vector's floats leave the disk too, not only at the next
     * checkpoint. Failing here changes nothing that was promised. */
    qv_error e2;
    if (!add && coll_checkpoint(c, op, 0, &e2))
        QV_WARN("collection %s: checkpoint after removing vector `%s` failed (%s); its data goes "
                "at the next checkpoint",
                c->name, vector, e2.msg);
    QV_INFO("collection %s: vector `%s` %s", c->name, vector, add ? "added" : "removed");
done:
    if (prepared)
        store_layout_discard(&lay);
    if (paused)
        coll_resume(c);
    pthread_rwlock_unlock(&db->lock);
    pthread_rwlock_unlock(&c->vgate);
    if (rc == QV_OK) {
        if (!op)
            op = coll_take_op_id(c);
        *res = (qv_update_result){.operation_id = op, .n_operations = 1,
                                  .status = opts->wait ? QV_COMPLETED : QV_ACKNOWLEDGED};
    }
    pthread_mutex_unlock(&c->ddl);
    cfg_free(&ncfg);
    cfg_free(&nschema);
    cat_release(c);
    return rc;
}

qv_status qv_vector_create(qv_db *db, const char *name, const char *vector, const char *json,
                           size_t len, const qv_write_opts *opts, qv_update_result *res,
                           qv_error *err)
{
    qv_status rc = qv_vector_name_check(vector, err);
    if (rc)
        return rc;
    qv_arena a;
    qv_arena_init(&a, 0);
    jr_value *root = NULL;
    cfg_new_vector nv;
    if ((rc = qv_parse_request(&a, json, len, &root, err)) == QV_OK &&
        (rc = cfg_parse_new_vector(root, &nv, err)) == QV_OK)
        rc = change_vectors(db, name, vector, &nv, opts, res, err);
    qv_arena_free(&a);
    return rc;
}

qv_status qv_vector_delete(qv_db *db, const char *name, const char *vector,
                           const qv_write_opts *opts, qv_update_result *res, qv_error *err)
{
    qv_status rc = qv_vector_name_check(vector, err);
    return rc ? rc : change_vectors(db, name, vector, NULL, opts, res, err);
}

bool qv_collection_exists(qv_db *db, const char *name)
{
    pthread_rwlock_rdlock(&db->lock);
    bool found = cat_resolve(db, name) != NULL;
    pthread_rwlock_unlock(&db->lock);
    return found;
}

qv_status qv_collection_info_get(qv_db *db, const char *name, qv_collection_info *out,
                                 qv_error *err)
{
    memset(out, 0, sizeof *out);
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    pthread_rwlock_rdlock(&db->lock);
    qv_collection *c = cat_resolve(db, name);
    qv_buf sb = QV_BUF_INIT;
    jw sw;
    jw_init(&sw, &sb);
    if (c) {
        pthread_rwlock_rdlock(&c->lock);  /* a vector DDL swaps cfg under it */
        cfg_print(&w, &c->cfg);
        out->points_count = c->st.n_points;
        out->indexed_vectors_count = vx_indexed_count(&c->vx) + sx_indexed_count(&c->sx);
        out->status = vx_busy(&c->vx) ? "yellow" : "green";
        idx_write_schema(&sw, c);
        pthread_rwlock_unlock(&c->lock);
    }
    pthread_rwlock_unlock(&db->lock);
    if (!c) {
        qv_buf_free(&b);
        qv_buf_free(&sb);
        return not_found(err, name);
    }
    out->payload_schema_json = qv_buf_ok(&sb) ? qv_buf_detach(&sb, NULL) : NULL;
    qv_buf_free(&sb);
    if (!qv_buf_ok(&b) || !out->payload_schema_json) {
        qv_buf_free(&b);
        free(out->payload_schema_json);
        out->payload_schema_json = NULL;
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    out->optimizer_status = "ok";
    out->segments_count = 1;
    out->config_json = qv_buf_detach(&b, NULL);
    return QV_OK;
}

/* Copy strings into one block after an array of n slots of size slot. */
static void *pack_block(size_t n, size_t slot, size_t strings)
{
    if (n > SIZE_MAX / slot || strings > SIZE_MAX - n * slot)
        return NULL;
    return malloc(n * slot + strings + 1);
}

qv_status qv_collection_list(qv_db *db, char ***names, size_t *count, qv_error *err)
{
    pthread_rwlock_rdlock(&db->lock);
    size_t bytes = 0, n = db->n_colls;
    for (size_t i = 0; i < n; i++)
        bytes += strlen(db->colls[i]->name) + 1;
    char **arr = pack_block(n, sizeof(char *), bytes);
    if (arr) {
        char *p = (char *)(arr + n);
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(db->colls[i]->name) + 1;
            memcpy(p, db->colls[i]->name, l);
            arr[i] = p;
            p += l;
        }
    }
    pthread_rwlock_unlock(&db->lock);
    if (!arr)
        return qv_fail(err, QV_NOMEM, "out of memory");
    *names = arr;
    *count = n;
    return QV_OK;
}

/* ---- aliases ---------------------------------------------------------------- */

/* Apply one operation to the working copy (a, *n). */
static qv_status alias_op(qv_db *db, qv_alias_entry **a, size_t *n, const qv_alias_op *op,
                          qv_error *err)
{
    qv_status rc;
    ssize_t i;
    switch (op->kind) {
    case QV_ALIAS_CREATE:
        if ((rc = qv_name_check(op->a, err)))
            return rc;
        if (!coll_get(db, op->b))
            return not_found(err, op->b);
        if (coll_get(db, op->a))
            return qv_fail(err, QV_CONFLICT, "Collection `%s` already exists!", op->a);
        i = alias_find(*a, *n, op->a);
        if (i < 0) {
            qv_alias_entry *p = realloc(*a, (*n + 1) * sizeof **a);
            if (!p)
                return qv_fail(err, QV_NOMEM, "out of memory");
            *a = p;
            i = (ssize_t)(*n)++;
            p[i].alias = strdup(op->a);
            p[i].collection = NULL;
            if (!p[i].alias)
                return qv_fail(err, QV_NOMEM, "out of memory");
        }
        free((*a)[i].collection);
        if (!((*a)[i].collection = strdup(op->b)))
            return qv_fail(err, QV_NOMEM, "out of memory");
        return QV_OK;
    case QV_ALIAS_DELETE:
        /* Deleting a missing alias succeeds, as in Qdrant. */
        i = alias_find(*a, *n, op->a);
        if (i < 0)
            return QV_OK;
        free((*a)[i].alias);
        free((*a)[i].collection);
        (*a)[i] = (*a)[--*n];
        return QV_OK;
    case QV_ALIAS_RENAME:
        if ((rc = qv_name_check(op->b, err)))
            return rc;
        i = alias_find(*a, *n, op->a);
        if (i < 0)
            return qv_fail(err, QV_NOT_FOUND, "Alias %s does not exists!", op->a);
        if (strcmp(op->a, op->b) == 0)
            return QV_OK;
        /* Renaming onto an existing alias replaces it, as in Qdrant. */
        ssize_t j = alias_find(*a, *n, op->b);
        if (j >= 0) {
            free((*a)[j].alias);
            free((*a)[j].collection);
            (*a)[j] = (*a)[--*n];
            if (i == (ssize_t)*n)
                i = j;
        }
        if (coll_get(db, op->b))
            return qv_fail(err, QV_CONFLICT, "Collection `%s` already exists!", op->b);
        {
            char *s = strdup(op->b);
            if (!s)
                return qv_fail(err, QV_NOMEM, "out of memory");
            free((*a)[i].alias);
            (*a)[i].alias = s;
        }
        return QV_OK;
    }
    return qv_fail(err, QV_BAD_INPUT, "unknown alias operation %d", (int)op->kind);
}

qv_status qv_alias_apply(qv_db *db, const qv_alias_op *ops, size_t n, qv_error *err)
{
    pthread_rwlock_wrlock(&db->lock);
    qv_status rc = QV_OK;
    size_t wn = db->n_aliases;
    qv_alias_entry *work = calloc(wn ? wn : 1, sizeof *work);
    if (!work) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < wn; i++) {
        work[i].alias = strdup(db->aliases[i].alias);
        work[i].collection = strdup(db->aliases[i].collection);
        if (!work[i].alias || !work[i].collection) {
            rc = qv_fail(err, QV_NOMEM, "out of memory");
            goto done;
        }
    }
    for (size_t i = 0; i < n && rc == QV_OK; i++)
        rc = alias_op(db, &work, &wn, &ops[i], err);
    if (rc)
        goto done;
    qsort(work, wn, sizeof *work, alias_cmp);
    if ((rc = write_aliases(db, work, wn, err)))
        goto done;
    qv_alias_entry *old = db->aliases;
    size_t old_n = db->n_aliases;
    db->aliases = work;
    db->n_aliases = wn;
    work = old;
    wn = old_n;
done:
    aliases_free(work, wn);
    pthread_rwlock_unlock(&db->lock);
    return rc;
}

qv_status qv_alias_list(qv_db *db, const char *collection, qv_alias **out, size_t *count,
                        qv_error *err)
{
    pthread_rwlock_rdlock(&db->lock);
    qv_status rc = QV_OK;
    const char *target = NULL;
    if (collection) {
        qv_collection *c = cat_resolve(db, collection);
        if (!c) {
            rc = not_found(err, collection);
            goto done;
        }
        target = c->name;
    }
    size_t n = 0, bytes = 0;
    for (size_t i = 0; i < db->n_aliases; i++)
        if (!target || strcmp(db->aliases[i].collection, target) == 0) {
            n++;
            bytes += strlen(db->aliases[i].alias) + strlen(db->aliases[i].collection) + 2;
        }
    qv_alias *arr = pack_block(n, sizeof *arr, bytes);
    if (!arr) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto done;
    }
    char *p = (char *)(arr + n);
    for (size_t i = 0, j = 0; i < db->n_aliases; i++) {
        const qv_alias_entry *e = &db->aliases[i];
        if (target && strcmp(e->collection, target) != 0)
            continue;
        size_t la = strlen(e->alias) + 1, lc = strlen(e->collection) + 1;
        arr[j].alias = memcpy(p, e->alias, la);
        arr[j].collection = memcpy(p + la, e->collection, lc);
        p += la + lc;
        j++;
    }
    *out = arr;
    *count = n;
done:
    pthread_rwlock_unlock(&db->lock);
    return rc;
}

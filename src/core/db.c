/* db.c — opening and closing a data directory; errors. */
#include "core/db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/internal.h"
#include "json/jr.h"
#include "util/fsutil.h"

qv_status qv_parse_request(qv_arena *a, const char *json, size_t len, jr_value **root,
                           qv_error *err)
{
    return qv_parse_request_opts(a, json, len, NULL, root, err);
}

qv_status qv_parse_request_opts(qv_arena *a, const char *json, size_t len, const jr_opts *opts,
                                jr_value **root, qv_error *err)
{
    jr_error je;
    if (jr_parse_opts(a, json, len, opts, root, &je) == 0)
        return QV_OK;
    if (je.oom)
        return qv_fail(err, QV_NOMEM, "out of memory while parsing the request");
    return qv_fail(err, QV_BAD_FORMAT, "%s at line %u column %u", je.msg, je.line, je.column);
}

qv_status qv_no_dup(const jr_value *o, const char *const *fields, size_t n, const char *where,
                    qv_error *err)
{
    const char *dup = jr_dup_field(o, fields, n);
    if (!dup)
        return QV_OK;
    return where ? qv_fail(err, QV_BAD_FORMAT, "%s: duplicate field `%s`", where, dup)
                 : qv_fail(err, QV_BAD_FORMAT, "duplicate field `%s`", dup);
}

qv_status qv_take_json(qv_buf *b, char **json, size_t *len, qv_error *err)
{
    if (!qv_buf_ok(b)) {
        qv_buf_free(b);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    *json = qv_buf_detach(b, len);
    return QV_OK;
}

const char *qv_status_name(qv_status s)
{
    static const char *const names[] = {
        "QV_OK", "QV_NOT_FOUND", "QV_CONFLICT", "QV_BAD_INPUT", "QV_BAD_FORMAT", "QV_VALIDATION",
        "QV_UNSUPPORTED", "QV_BUSY", "QV_IO", "QV_NOMEM", "QV_CORRUPT", "QV_INTERNAL",
    };
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "QV_UNKNOWN";
}

void qv_free(void *p) { free(p); }

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

/* A thread's scratch arena and the bytes of it counted in scratch_kept. */
typedef struct scratch {
    qv_arena a;  /* first: a qv_arena * of it is the scratch */
    size_t   counted;
} scratch;

/* Bytes every thread's scratch keeps between calls. Each HTTP connection has
 * a thread of its own, so without a bound a thousand idle connections that
 * once uploaded would pin QV_SCRATCH_KEEP each. */
static _Atomic size_t scratch_kept;

static void scratch_uncount(scratch *sc)
{
    atomic_fetch_sub(&scratch_kept, sc->counted);
    sc->counted = 0;
}

static void scratch_destroy(void *p)
{
    scratch_uncount(p);
    qv_arena_free(p);
    free(p);
}

static void scratch_key_init(void) { pthread_key_create(&scratch_key, scratch_destroy); }

qv_arena *qv_scratch(void)
{
    pthread_once(&scratch_once, scratch_key_init);
    scratch *sc = pthread_getspecific(scratch_key);
    if (!sc && (sc = malloc(sizeof *sc))) {
        qv_arena_init(&sc->a, 1 << 16);
        sc->counted = 0;
        if (pthread_setspecific(scratch_key, sc) != 0) {
            free(sc);
            return NULL;
        }
    }
    return sc ? &sc->a : NULL;
}

void qv_thread_release(void)
{
    pthread_once(&scratch_once, scratch_key_init);
    scratch *sc = pthread_getspecific(scratch_key);
    if (sc) {
        scratch_uncount(sc);
        qv_arena_free(&sc->a);
    }
}

size_t qv_scratch_kept(void) { return atomic_load(&scratch_kept); }

void qv_scratch_done(qv_arena *a)
{
    scratch *sc = (scratch *)a;
    scratch_uncount(sc);
    if (a->total > QV_SCRATCH_KEEP) {
        qv_arena_free(a);
        return;
    }
    qv_arena_reset(a);  /* keeps one block */
    size_t t = a->total;
    if (atomic_fetch_add(&scratch_kept, t) + t <= QV_SCRATCH_BUDGET) {
        sc->counted = t;
        return;
    }
    atomic_fetch_sub(&scratch_kept, t);
    qv_arena_free(a);
}

qv_status qv_open(const char *dir, qv_db **out, qv_error *err)
{
    qv_status rc;
    char path[PATH_MAX];
    qv_db *db = calloc(1, sizeof *db);
    if (!db)
        return qv_fail(err, QV_NOMEM, "out of memory");
    db->lock_fd = -1;
    pthread_rwlock_init(&db->lock, NULL);
    if (!(db->dir = strdup(dir))) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto fail;
    }
    if (strlen(dir) > PATH_MAX - 2 * QV_MAX_NAME_LEN - 64) {
        rc = qv_fail(err, QV_BAD_INPUT, "storage path is too long: %s", dir);
        goto fail;
    }
    if (qv_mkdir(dir) != 0) {
        rc = qv_fail(err, QV_IO, "cannot create storage directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    snprintf(path, sizeof path, "%s/quiver.lock", dir);
    db->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (db->lock_fd < 0) {
        rc = qv_fail(err, QV_IO, "cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    if (flock(db->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK
                 ? qv_fail(err, QV_BUSY,
                           "storage directory %s is in use by another Quiver process (lock %s held)",
                           dir, path)
                 : qv_fail(err, QV_IO, "cannot lock %s: %s", path, strerror(errno));
        goto fail;
    }
    if ((rc = cat_load(db, err)))
        goto fail;
    *out = db;
    return QV_OK;
fail:
    qv_close(db);
    return rc;
}

void qv_close(qv_db *db)
{
    if (!db)
        return;
    cat_free(db);
    if (db->lock_fd >= 0)
        close(db->lock_fd);  /* releases the flock */
    pthread_rwlock_destroy(&db->lock);
    free(db->dir);
    free(db);
}

/*
 * collection.c — the writer thread, group commit, checkpoints and recovery
 * of one collection. See collection.h.
 */
#define _GNU_SOURCE
#include "core/collection.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "core/ops.h"
#include "util/endian.h"
#include "util/log.h"

#define WAL_FILE  "wal.log"
#define SNAP_FILE "points.snap"

struct wr_item {
    wr_item  *next;
    uint64_t  seq;       /* operation id of the first operation */
    uint32_t  n_ops;
    char     *body;
    size_t    len;
    bool      logged;    /* written to the log (not yet synced), or failed to be */
    bool      log_failed; /* ... failed: rc and err say why */
    bool      done;
    bool      abandoned; /* its request is gone (answered or timed out): the writer frees it */
    qv_status rc;
    qv_error  err;
};

static void item_free(wr_item *it)
{
    free(it->body);
    free(it);
}

/* Decode and apply one record under the write lock. */
static qv_status apply_record(qv_collection *c, uint64_t seq, const void *body, size_t len, qv_arena *a,
                              qv_error *err)
{
    op_batch batch;
    qv_arena_reset(a);
    qv_status rc = ops_decode(a, body, len, &batch, err);
    if (rc)
        return rc;
    batch.seq = seq;  /* the points it writes take their operation's id as version */
    pthread_mutex_lock(&c->apply);
    pthread_rwlock_wrlock(&c->lock);
    rc = store_apply(&c->st, &c->schema, &batch, a, err);
    pthread_rwlock_unlock(&c->lock);
    pthread_mutex_unlock(&c->apply);
    return rc;
}

/* ---- recovery -------------------------------------------------------------------- */

typedef struct replay_ctx {
    qv_collection *c;
    qv_arena       arena;
    uint64_t       snap_seq;
    uint64_t       replayed, failed;
} replay_ctx;

static int replay_one(void *ctx, uint64_t seq, const void *body, size_t len)
{
    replay_ctx *r = ctx;
    qv_error err;
    if (len < 4)
        return -1;
    uint32_t n_ops = qv_get_le32(body);
    if (n_ops > OPS_MAX_OPERATIONS || seq > UINT64_MAX - OPS_MAX_OPERATIONS)
        return -1;  /* no request makes such a record: damage that passed the CRC */
    uint64_t last = seq + (n_ops ? n_ops - 1 : 0);
    if (last > r->c->applied_seq)
        r->c->applied_seq = last;
    if (seq <= r->snap_seq)
        return 0;  /* already in the checkpoint */
    qv_status rc = apply_record(r->c, seq, body, len, &r->arena, &err);
    if (rc == QV_CORRUPT || rc == QV_NOMEM) {
        QV_ERROR("collection %s: cannot replay operation %llu: %s", r->c->name,
                 (unsigned long long)seq, err.msg);
        return -1;
    }
    /* A record that failed when first applied fails the same way now. */
    r->replayed++;
    r->failed += rc != QV_OK;
    return 0;
}

static void *writer_main(void *arg);

qv_collection *coll_new(const char *name)
{
    qv_collection *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (!(c->name = strdup(name))) {
        free(c);
        return NULL;
    }
    atomic_init(&c->refs, 1);
    pthread_rwlock_init(&c->lock, NULL);
    pthread_mutex_init(&c->qm, NULL);
    pthread_mutex_init(&c->ddl, NULL);
    /* Writer-preferring: a stream of writes must not starve a vector DDL. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&c->vgate, &ra);
    pthread_rwlock_init(&c->vlock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&c->apply, NULL);
    pthread_cond_init(&c->work, NULL);
    pthread_cond_init(&c->done, NULL);
    return c;
}

qv_status coll_open(qv_collection *c, const char *dir, qv_error *err)
{
    char path[PATH_MAX];
    qv_status rc;
    if (!(c->dir = strdup(dir)))
        return qv_fail(err, QV_NOMEM, "out of memory");
    if ((rc = cfg_copy(&c->schema, &c->cfg, err)) || (rc = store_init(&c->st, &c->schema, err)))
        return rc;
    replay_ctx r = {.c = c};
    qv_arena_init(&r.arena, 1 << 16);
    snprintf(path, sizeof path, "%s/" SNAP_FILE, dir);
    rc = store_load(&c->st, &c->schema, path, &r.snap_seq, err);
    if (rc == QV_NOT_FOUND)
        rc = QV_OK;
    if (rc)
        goto done;
    c->applied_seq = r.snap_seq;
    /* After the checkpoint (its points start pending), before the replay
     * (whose commits mark theirs). */
    if ((rc = vx_init(&c->vx, c, err)) || (rc = sx_init(&c->sx, &c->st, c->name, err)))
        goto done;
    snprintf(path, sizeof path, "%s/" WAL_FILE, dir);
    uint64_t last;
    rc = wal_open(path, r.snap_seq + 1, replay_one, &r, &c->log, &last, err);
    if (rc)
        goto done;
    if (last > c->applied_seq)  /* an empty log after a reset starts past the checkpoint */
        c->applied_seq = last;
    c->next_seq = c->applied_seq + 1;
    for (uint32_t i = 0; i < c->n_defs && rc == QV_OK; i++)
        rc = coll_build_index(c, &c->defs[i], err);
    if (rc)
        goto done;
    if (r.replayed)
        QV_INFO("collection %s: %llu points after replaying %llu log records (%llu of them failed, "
                "as when first applied)",
                c->name, (unsigned long long)c->st.n_points, (unsigned long long)r.replayed,
                (unsigned long long)r.failed);
    if (pthread_create(&c->writer, NULL, writer_main, c) != 0) {
        rc = qv_fail(err, QV_INTERNAL, "cannot start the writer thread: %s", strerror(errno));
        goto done;
    }
    c->running = true;
    rc = vx_start(&c->vx, err);
done:
    qv_arena_free(&r.arena);
    return rc;
}

/* ---- the writer -------------------------------------------------------------------- */

/* Save a checkpoint and start the log over. False if that failed (it is
 * then retried only after the log grows by another wal_capacity_mb, so a
 * failing disk is not asked to rewrite every point after each group). */
static bool checkpoint(qv_collection *c, qv_arena *a)
{
    qv_error err;
    if (wal_broken(c->log))
        return false;  /* applied_seq may cover voided records the log still holds */
    pthread_rwlock_rdlock(&c->lock);
    qv_status rc = store_save(&c->st, c->dir, SNAP_FILE, c->applied_seq, &err);
    pthread_rwlock_unlock(&c->lock);
    if (rc == QV_OK)
        rc = wal_reset(c->log, c->applied_seq + 1, &err);
    if (rc)
        QV_ERROR("collection %s: checkpoint failed: %s; next attempt once the log grows by "
                 "another %llu MB", c->name, err.msg, (unsigned long long)c->schema.wal.wal_capacity_mb);
    return rc == QV_OK;
}

/* Whether a failure to apply a logged record would happen again at replay:
 * a point that must exist and does not, a payload that does not fit, … —
 * the record then stays in the log and replay fails it the same way. Out
 * of memory, I/O or a bug depend on the moment: such a record is voided so
 * that replay never applies what readers never saw. */
static bool fails_the_same_at_replay(qv_status rc)
{
    return rc != QV_NOMEM && rc != QV_IO && rc != QV_INTERNAL && rc != QV_CORRUPT;
}

static qv_status log_broken(qv_collection *c, qv_error *err)
{
    return qv_fail(err, QV_IO,
                   "the write-ahead log of collection `%s` failed earlier (see the server log); "
                   "writes are refused until the server restarts, reads go on",
                   c->name);
}

/* Fail every item of group with rc/err (their records never take effect). */
static void fail_group(wr_item *group, qv_status rc, const qv_error *err)
{
    for (wr_item *it = group; it; it = it->next) {
        it->rc = rc;
        it->err = *err;
    }
}

/*
 * Log, sync and apply one group of items; fill in their results.
 * The rule: what readers see is what recovery rebuilds. So a group is
 * applied only once all of it is durable, and a group that failed to be
 * logged or synced is cut from the file and voided (wal_void: recovery
 * skips it even if some of its bytes reach the disk later). After a failed
 * sync the log is never written again until restart (wal_broken): the
 * kernel may have dropped its dirty pages, and a later sync that succeeds
 * would prove nothing.
 */
static void process_group(qv_collection *c, wr_item *group, qv_arena *a)
{
    qv_error err;
    qv_status rc = QV_OK;
    wr_item *last = group;
    while (last->next)
        last = last->next;
    uint64_t lo = group->seq, hi = last->seq + last->n_ops - 1;
    wal_pos start = wal_mark(c->log);
    bool tried = !wal_broken(c->log);  /* some bytes of the group may reach the file */
    if (!tried)
        rc = log_broken(c, &err);
    for (wr_item *it = group; it && rc == QV_OK; it = it->next)
        rc = wal_append(c->log, it->seq, it->body, it->len, &err);
    if (rc && !wal_broken(c->log)) {
        qv_error e2;  /* a failed cut breaks the log; the void below still holds */
        wal_rewind(c->log, start, &e2);
    }
    /* Written: wait=false requests may answer now (a crash of the process
     * no longer loses them; the machine's still can, until the sync). */
    pthread_mutex_lock(&c->qm);
    for (wr_item *it = group; it; it = it->next) {
        it->logged = true;
        if (rc) {
            it->log_failed = true;
            it->rc = rc;
            it->err = err;
        }
    }
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->qm);
    if (rc == QV_OK)
        rc = wal_sync(c->log, &err);
    if (rc) {
        /* Parts of the group may be in the file, or reach it later. */
        qv_error e2;
        if (tried && wal_void(c->log, lo, hi, &e2))
            QV_ERROR("collection %s: cannot void operations %llu..%llu after a failed write: "
                     "%s; they may come back at restart",
                     c->name, (unsigned long long)lo, (unsigned long long)hi, e2.msg);
        fail_group(group, rc, &err);
        c->applied_seq = hi;
        QV_ERROR("collection %s: write-ahead log failed: %s%s", c->name, err.msg,
                 wal_broken(c->log) ? "; writes are refused until restart" : "");
        return;
    }
    for (wr_item *it = group; it; it = it->next) {
        it->rc = apply_record(c, it->seq, it->body, it->len, a, &it->err);
        uint64_t it_hi = it->seq + it->n_ops - 1;
        c->applied_seq = it_hi;
        if (it->rc && !fails_the_same_at_replay(it->rc)) {
            qv_error e2;
            if (wal_void(c->log, it->seq, it_hi, &e2))
                QV_ERROR("collection %s: cannot void operation %llu that failed to apply (%s): %s; "
                         "writes are refused until restart",
                         c->name, (unsigned long long)it->seq, it->err.msg, e2.msg);
        }
    }
}

static void *writer_main(void *arg)
{
    qv_collection *c = arg;
    qv_arena a;
    qv_arena_init(&a, 1 << 20);
    uint64_t cap = c->schema.wal.wal_capacity_mb << 20, ckpt_at = cap;
    pthread_mutex_lock(&c->qm);
    for (;;) {
        /* Idle for a while: give the scratch memory back. */
        while (!c->head && !c->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            if (pthread_cond_timedwait(&c->work, &c->qm, &until) == ETIMEDOUT && !c->head &&
                a.total > (1u << 20))
                qv_arena_free(&a);
        }
        if (!c->head)
            break;
        wr_item *group = c->head;
        c->head = c->tail = NULL;
        pthread_mutex_unlock(&c->qm);

        process_group(c, group, &a);

        pthread_mutex_lock(&c->qm);
        for (wr_item *it = group, *next; it; it = next) {
            next = it->next;
            it->done = true;
            if (it->abandoned)  /* else its request frees it */
                item_free(it);
        }
        pthread_cond_broadcast(&c->done);
        if (wal_size(c->log) > ckpt_at && !wal_broken(c->log)) {
            pthread_mutex_unlock(&c->qm);
            ckpt_at = checkpoint(c, &a) ? cap : wal_size(c->log) + cap;
            pthread_mutex_lock(&c->qm);
        }
    }
    pthread_mutex_unlock(&c->qm);
    qv_arena_free(&a);
    return NULL;
}

qv_status coll_submit(qv_collection *c, char *body, size_t len, uint32_t n_ops,
                      const qv_write_opts *opts, qv_update_result *res, qv_error *err)
{
    wr_item *it = calloc(1, sizeof *it);
    if (!it) {
        free(body);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    it->body = body;
    it->len = len;
    it->n_ops = n_ops;
    struct timespec deadline;
    if (opts->wait && opts->timeout) {
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += opts->timeout;
    }
    pthread_mutex_lock(&c->qm);
    if (c->stopping) {
        pthread_mutex_unlock(&c->qm);
        item_free(it);
        return qv_fail(err, QV_NOT_FOUND, "Collection `%s` doesn't exist!", c->name);
    }
    it->seq = c->next_seq;
    c->next_seq += n_ops;
    if (c->tail)
        c->tail->next = it;
    else
        c->head = it;
    c->tail = it;
    pthread_cond_signal(&c->work);
    *res = (qv_update_result){.operation_id = it->seq, .n_operations = n_ops,
                              .status = QV_ACKNOWLEDGED};
    if (!opts->wait) {
        /* Acknowledged once written to the log, as Qdrant does. */
        while (!it->logged)
            pthread_cond_wait(&c->done, &c->qm);
        /* Only the log write is this answer's business: a failure while
         * applying, later, is not (the record is in the log either way). */
        qv_status rc = it->log_failed ? it->rc : QV_OK;
        if (rc && err)
            *err = it->err;
        if (it->done) {
            pthread_mutex_unlock(&c->qm);
            item_free(it);
        } else {
            it->abandoned = true;  /* the writer frees it */
            pthread_mutex_unlock(&c->qm);
        }
        return rc;
    }
    int w = 0;
    while (!it->done && w != ETIMEDOUT)
        w = opts->timeout ? pthread_cond_timedwait(&c->done, &c->qm, &deadline)
                          : pthread_cond_wait(&c->done, &c->qm);
    if (!it->done) {
        it->abandoned = true;  /* the writer frees it */
        pthread_mutex_unlock(&c->qm);
        res->status = QV_WAIT_TIMEOUT;
        return QV_OK;
    }
    pthread_mutex_unlock(&c->qm);
    qv_status rc = it->rc;
    if (rc && err)
        *err = it->err;
    res->status = QV_COMPLETED;
    item_free(it);
    return rc;
}

/* ---- vector DDL (collection.h) ------------------------------------------------------ */

qv_status coll_pause(qv_collection *c, qv_error *err)
{
    pthread_mutex_lock(&c->qm);
    if (c->stopping || !c->running || c->stopped) {
        pthread_mutex_unlock(&c->qm);
        return qv_fail(err, QV_NOT_FOUND, "Collection `%s` doesn't exist!", c->name);
    }
    c->stopping = true;  /* the writer drains the queue, then exits */
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->qm);
    pthread_join(c->writer, NULL);
    return QV_OK;
}

void coll_resume(qv_collection *c)
{
    pthread_mutex_lock(&c->qm);
    c->stopping = false;
    pthread_mutex_unlock(&c->qm);
    if (pthread_create(&c->writer, NULL, writer_main, c) != 0) {
        /* Writes then fail ("doesn't exist") rather than wait forever. */
        QV_ERROR("collection %s: cannot restart the writer thread: %s", c->name, strerror(errno));
        pthread_mutex_lock(&c->qm);
        c->stopping = true;
        c->running = false;
        pthread_mutex_unlock(&c->qm);
    }
}

qv_status coll_checkpoint(qv_collection *c, uint64_t seq, uint64_t log_first, qv_error *err)
{
    pthread_rwlock_rdlock(&c->lock);  /* readers go on; nothing writes while paused */
    qv_status rc = store_save(&c->st, c->dir, SNAP_FILE, seq, err);
    pthread_rwlock_unlock(&c->lock);
    if (rc == QV_OK && log_first)
        rc = wal_reset(c->log, log_first, err);
    return rc;
}

uint64_t coll_take_op_id(qv_collection *c)
{
    pthread_mutex_lock(&c->qm);
    uint64_t id = c->next_seq++;
    pthread_mutex_unlock(&c->qm);
    return id;
}

void coll_stop(qv_collection *c)
{
    if (c->vx.c)
        vx_stop(&c->vx);
    pthread_mutex_lock(&c->qm);
    bool was_running = c->running && !c->stopped;
    c->stopping = true;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->qm);
    if (was_running) {
        pthread_join(c->writer, NULL);
        c->stopped = true;
    }
    wal_close(c->log);
    c->log = NULL;
}

void coll_destroy(qv_collection *c)
{
    if (!c)
        return;
    coll_stop(c);
    if (c->vx.c)
        vx_free(&c->vx);
    sx_free(&c->sx);
    store_free(&c->st);
    idx_defs_free(c->defs, c->n_defs);
    cfg_free(&c->schema);
    cfg_free(&c->cfg);
    pthread_rwlock_destroy(&c->lock);
    pthread_mutex_destroy(&c->qm);
    pthread_mutex_destroy(&c->ddl);
    pthread_rwlock_destroy(&c->vgate);
    pthread_rwlock_destroy(&c->vlock);
    pthread_mutex_destroy(&c->apply);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->done);
    free(c->dir);
    free(c->name);
    free(c);
}

/*
 * collection.c — the writer thread, group commit, checkpoints and recovery
 * of one collection. See collection.h.
 */
#define _GNU_SOURCE
#include "core/collection.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/ops.h"
#include "util/clock.h"
#include "util/endian.h"
#include "util/fsutil.h"
#include "util/log.h"

#define WAL_FILE  "wal.log"  /* the log of an earlier version: one file, no segments */
#define SEG_FMT   "wal-%llu.log"
#define SNAP_FILE "points.snap"

struct wr_item {
    wr_item  *next;
    uint64_t  seq;       /* operation id of the first operation */
    uint32_t  n_ops;
    char     *body;      /* the log record */
    size_t    len;
    qv_arena  mem;       /* batch, decoded from body by the request thread */
    op_batch  batch;
    bool      logged;    /* written to the log (not yet synced), or failed to be */
    bool      log_failed; /* ... failed: rc and err say why */
    bool      sync_failed; /* logged, but its sync failed: rc and err say why */
    bool      done;
    bool      abandoned; /* its request is gone (answered or timed out): the writer frees it */
    qv_status rc;
    qv_error  err;
};

static void item_free(wr_item *it)
{
    qv_arena_free(&it->mem);
    free(it->body);
    free(it);
}

void coll_wrlock(qv_collection *c)
{
    atomic_fetch_add(&c->writers_waiting, 1);
    pthread_rwlock_wrlock(&c->lock);
    atomic_fetch_sub(&c->writers_waiting, 1);
}

/* Apply one decoded batch, record seq, under the write lock (its points
 * take seq as their version); a is scratch for
 * store_apply (reset here, so it must not hold the batch). */
static qv_status apply_batch(qv_collection *c, uint64_t seq, op_batch *batch, qv_arena *a, qv_error *err)
{
    qv_arena_reset(a);
    batch->seq = seq;  /* the points it writes take their operation's id as version */
    pthread_mutex_lock(&c->apply);
    coll_wrlock(c);
    qv_status rc = store_apply(&c->st, &c->schema, batch, a, err);
    pthread_rwlock_unlock(&c->lock);
    pthread_mutex_unlock(&c->apply);
    return rc;
}

/* ---- recovery -------------------------------------------------------------------- */

typedef struct replay_ctx {
    qv_collection *c;
    qv_arena       dec, arena;  /* the decoded record; store_apply's scratch */
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
    op_batch batch;
    qv_arena_reset(&r->dec);
    qv_status rc = ops_decode(&r->dec, body, len, &batch, &err);
    if (rc == QV_OK)
        rc = apply_batch(r->c, seq, &batch, &r->arena, &err);
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
    for (int i = 0; i < WR_STAGES; i++)
        pthread_cond_init(&c->stage[i].work, NULL);
    pthread_cond_init(&c->idle, NULL);
    pthread_cond_init(&c->ckpt_work, NULL);
    pthread_cond_init(&c->ckpt_idle, NULL);
    pthread_mutex_init(&c->logm, NULL);
    return c;
}

/* ---- the log's segments ----------------------------------------------------------- */

/* The path of the segment that starts at first (0: wal.log). */
static bool seg_path(char *out, size_t cap, const qv_collection *c, uint64_t first)
{
    int n = first ? snprintf(out, cap, "%s/" SEG_FMT, c->dir, (unsigned long long)first)
                  : snprintf(out, cap, "%s/" WAL_FILE, c->dir);
    return n > 0 && (size_t)n < cap;
}

/* Room for one more segment (caller holds logm, or is alone). */
static qv_status seg_room(qv_collection *c, qv_error *err)
{
    if (c->n_segs < c->cap_segs)
        return QV_OK;
    uint32_t cap = c->cap_segs ? 2 * c->cap_segs : 4;
    uint64_t *p = realloc(c->seg_first, cap * sizeof *p);
    if (!p)
        return qv_fail(err, QV_NOMEM, "out of memory");
    c->seg_first = p;
    c->cap_segs = cap;
    return QV_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The segments in c's directory, oldest first (a wal.log first of all). */
static qv_status find_segments(qv_collection *c, qv_error *err)
{
    DIR *dh = opendir(c->dir);
    if (!dh)
        return qv_fail(err, QV_IO, "cannot read %s: %s", c->dir, strerror(errno));
    struct dirent *e;
    qv_status rc = QV_OK;
    while (rc == QV_OK && (e = readdir(dh))) {
        unsigned long long first = 0;
        char name[64];
        if (strcmp(e->d_name, WAL_FILE) != 0 &&
            (sscanf(e->d_name, "wal-%llu", &first) != 1 || !first ||
             snprintf(name, sizeof name, SEG_FMT, first) >= (int)sizeof name || strcmp(name, e->d_name) != 0))
            continue;
        if ((rc = seg_room(c, err)) == QV_OK)
            c->seg_first[c->n_segs++] = first;
    }
    closedir(dh);
    if (c->n_segs > 1)
        qsort(c->seg_first, c->n_segs, sizeof *c->seg_first, cmp_u64);
    return rc;
}

/* Remove the segments before the newest whose records are all at or below
 * seq (a checkpoint of seq holds them), with their void lists, durably. */
static qv_status drop_segments(qv_collection *c, uint64_t seq, qv_error *err)
{
    char path[PATH_MAX], vpath[PATH_MAX + 8];
    qv_status rc = QV_OK;
    pthread_mutex_lock(&c->logm);
    uint32_t k = 0;
    while (k + 1 < c->n_segs && c->seg_first[k + 1] <= seq + 1)
        k++;
    for (uint32_t i = 0; i < k; i++) {
        if (!seg_path(path, sizeof path, c, c->seg_first[i]))
            continue;
        snprintf(vpath, sizeof vpath, "%s.void", path);
        if ((unlink(path) != 0 && errno != ENOENT) || (unlink(vpath) != 0 && errno != ENOENT))
            rc = qv_fail(err, QV_IO, "cannot remove %s: %s", path, strerror(errno));
    }
    if (k) {
        memmove(c->seg_first, c->seg_first + k, (c->n_segs - k) * sizeof *c->seg_first);
        c->n_segs -= k;
    }
    pthread_mutex_unlock(&c->logm);
    if (k && rc == QV_OK && qv_fsync_dir(c->dir) != 0)
        rc = qv_fail(err, QV_IO, "cannot sync %s: %s", c->dir, strerror(errno));
    return rc;
}

static qv_status log_broken(qv_collection *c, qv_error *err);

/* Go on in a new segment whose first record will be first (the writer
 * with the other stages idle, or paused): the records so far stay in the
 * older ones until a checkpoint holds them. Nothing to do while the newest
 * holds no record. Never after a broken one (wal.h). */
static qv_status log_rotate(qv_collection *c, uint64_t first, uint64_t prealloc, qv_error *err)
{
    char path[PATH_MAX];
    if (wal_broken(c->log))
        return log_broken(c, err);
    if (wal_empty(c->log))
        return QV_OK;
    if (!seg_path(path, sizeof path, c, first))
        return qv_fail(err, QV_IO, "path too long in %s", c->dir);
    pthread_mutex_lock(&c->logm);
    qv_status rc = seg_room(c, err);
    pthread_mutex_unlock(&c->logm);
    wal *w = NULL;
    uint64_t last;
    if (rc == QV_OK && (rc = wal_open(path, first, NULL, NULL, &w, &last, err)) == QV_OK && last >= first) {
        wal_close(w);  /* records of its own: not a segment this writer started */
        rc = qv_fail(err, QV_INTERNAL, "%s already holds operations from %llu on", path, (unsigned long long)first);
    }
    if (rc)
        return rc;
    wal_prealloc_limit(w, prealloc);
    pthread_mutex_lock(&c->logm);
    wal *old = c->log;
    c->log = w;
    c->seg_first[c->n_segs++] = first;
    pthread_mutex_unlock(&c->logm);
    wal_close(old);
    return QV_OK;
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
    qv_arena_init(&r.dec, 1 << 16);
    qv_arena_init(&r.arena, 1 << 16);
    snprintf(path, sizeof path, "%s/" SNAP_FILE, dir);
    double t0 = qv_mono_seconds();
    rc = store_load(&c->st, &c->schema, path, &r.snap_seq, err);
    bool had_snap = rc == QV_OK;
    struct stat sb;
    uint64_t snap_bytes = had_snap && stat(path, &sb) == 0 ? (uint64_t)sb.st_size + store_saved_bytes(&c->st) : 0,
             graph_bytes = 0;
    if (rc == QV_NOT_FOUND)
        rc = QV_OK;
    if (rc)
        goto done;
    c->applied_seq = c->ckpt_seq = r.snap_seq;
    /* After the checkpoint (its points start pending, or as its saved
     * graphs say), before the replay (whose commits mark theirs). */
    if ((rc = vx_init(&c->vx, c, err)) || (rc = sx_init(&c->sx, &c->st, c->name, err)))
        goto done;
    double t1 = qv_mono_seconds();
    if (had_snap)
        graph_bytes = vx_load(&c->vx, dir, r.snap_seq);
    vx_prune(dir, r.snap_seq, had_snap ? VX_PRUNE_OTHERS : VX_PRUNE_ALL);
    double t2 = qv_mono_seconds();
    /* Every segment in order (replay skips what the checkpoint holds); the
     * newest stays open for appends. */
    uint64_t last = r.snap_seq, log_bytes = 0;
    if ((rc = find_segments(c, err)))
        goto done;
    if (!c->n_segs && (rc = seg_room(c, err)) == QV_OK)
        c->seg_first[c->n_segs++] = r.snap_seq + 1;  /* a new log */
    for (uint32_t i = 0; i < c->n_segs && rc == QV_OK; i++) {
        wal *w;
        if (!seg_path(path, sizeof path, c, c->seg_first[i]))
            rc = qv_fail(err, QV_IO, "path too long in %s", dir);
        else if ((rc = wal_open(path, c->seg_first[i] ? c->seg_first[i] : r.snap_seq + 1, replay_one, &r, &w, &last, err)) == QV_OK) {
            log_bytes += wal_size(w);
            if (i + 1 < c->n_segs)
                wal_close(w);
            else
                c->log = w;
        }
    }
    if (rc)
        goto done;
    qv_error e2;
    if (drop_segments(c, r.snap_seq, &e2))
        QV_WARN("collection %s: %s", c->name, e2.msg);
    double t3 = qv_mono_seconds();
    if (had_snap || r.replayed)
        QV_INFO("collection %s: opened in %.3f s: checkpoint %.3f s (%llu bytes), graphs %.3f s (%llu bytes), "
                "log %.3f s (%llu bytes)", c->name, t3 - t0, t1 - t0, (unsigned long long)snap_bytes, t2 - t1,
                (unsigned long long)graph_bytes, t3 - t2, (unsigned long long)log_bytes);
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
    qv_arena_free(&r.dec);
    qv_arena_free(&r.arena);
    return rc;
}

/* ---- the writer, the sync and the apply threads ----------------------------------- */

/* A checkpoint as taken, until written. */
typedef struct ckpt_job {
    uint64_t seq;
    st_ckpt *st;
    vx_ckpt *vx;
} ckpt_job;

static void ckpt_failed(const qv_collection *c, const qv_error *err)
{
    QV_ERROR("collection %s: checkpoint failed: %s; tried again once the log grows by another %llu MB",
             c->name, err->msg, (unsigned long long)c->schema.wal.wal_capacity_mb);
}

/* Take a checkpoint of everything applied (the writer with the other
 * stages idle, or paused, and no checkpoint being written): copies of what
 * changed since the last one and of the graphs, under the read lock, then
 * a new log segment (prealloc: its preallocation limit). False if there
 * is nothing to write (logged). */
static bool ckpt_take(qv_collection *c, ckpt_job *j, uint64_t prealloc)
{
    qv_error err;
    if (wal_broken(c->log))
        return false;  /* applied_seq may cover voided records the log still holds */
    j->seq = c->applied_seq;
    pthread_rwlock_rdlock(&c->lock);
    qv_status rc = store_ckpt_take(&c->st, j->seq, c->dir, &j->st, &err);
    j->vx = rc == QV_OK ? vx_ckpt_take(&c->vx, j->seq) : NULL;
    pthread_rwlock_unlock(&c->lock);
    if (rc) {
        ckpt_failed(c, &err);
        return false;
    }
    if (log_rotate(c, j->seq + 1, prealloc, &err))
        QV_WARN("collection %s: cannot start a new log segment (%s); the log grows until a checkpoint "
                "can start one", c->name, err.msg);
    return true;
}

/* Write a taken checkpoint: the graphs first (vindex.h: so that a crash
 * before points.snap lands leaves the old checkpoint and its files), then
 * the store's files; writers go on meanwhile, and wait only while on-disk
 * chunks are mapped anew (store_ckpt_done). Landed: the segments it holds
 * are removed. Frees what j holds. */
static bool ckpt_write(qv_collection *c, ckpt_job *j)
{
    qv_error err;
    vx_ckpt_write(&c->vx, j->vx, c->dir);
    qv_status rc = store_ckpt_write(j->st, c->dir, SNAP_FILE, &err);
    pthread_rwlock_rdlock(&c->lock);
    store_ckpt_done(&c->st, j->st, rc == QV_OK, c->dir);
    pthread_rwlock_unlock(&c->lock);
    vx_ckpt_free(j->vx);
    if (rc) {
        vx_mark_dirty(&c->vx);  /* its graph files belong to no checkpoint */
        ckpt_failed(c, &err);
        return false;
    }
    c->ckpt_seq = j->seq;
    store_ckpt_tidy(&c->st, c->dir);
    vx_prune(c->dir, j->seq, VX_PRUNE_OTHERS);
    if (drop_segments(c, j->seq, &err))
        QV_WARN("collection %s: %s (replay skips what the checkpoint holds)", c->name, err.msg);
    return true;
}

/* The checkpointer thread: writes each checkpoint the writer takes. */
static void *ckpt_main(void *arg)
{
    qv_collection *c = arg;
    pthread_mutex_lock(&c->qm);
    for (;;) {
        while (!c->ckpt_job && !c->ckpt_stop)
            pthread_cond_wait(&c->ckpt_work, &c->qm);
        if (!c->ckpt_job)
            break;
        ckpt_job *j = c->ckpt_job;
        pthread_mutex_unlock(&c->qm);
        ckpt_write(c, j);
        pthread_mutex_lock(&c->qm);
        free(j);
        c->ckpt_job = NULL;
        pthread_cond_broadcast(&c->ckpt_idle);
        pthread_cond_signal(&c->work);  /* another may be due */
    }
    pthread_mutex_unlock(&c->qm);
    return NULL;
}

/* Wait until no checkpoint is being written (caller holds qm). */
static void ckpt_wait(qv_collection *c)
{
    while (c->ckpt_job)
        pthread_cond_wait(&c->ckpt_idle, &c->qm);
}

/* The writer, with the other stages idle (caller holds qm, which this
 * drops meanwhile): take a checkpoint and hand it to the checkpointer
 * (started with the first; if it cannot be, the writer writes it). */
static bool ckpt_start(qv_collection *c, uint64_t prealloc)
{
    pthread_mutex_unlock(&c->qm);
    ckpt_job *j = malloc(sizeof *j);
    bool ok = j && ckpt_take(c, j, prealloc);
    pthread_mutex_lock(&c->qm);
    if (!ok) {
        free(j);
        return false;
    }
    if (!c->ckpt_on) {
        c->ckpt_stop = false;
        int e = pthread_create(&c->ckpt_thread, NULL, ckpt_main, c);
        c->ckpt_on = e == 0;
        if (e)
            QV_WARN("collection %s: cannot start the checkpoint thread (%s); the writer writes checkpoints",
                    c->name, strerror(e));
    }
    if (c->ckpt_on) {
        c->ckpt_job = j;
        pthread_cond_signal(&c->ckpt_work);
        return true;
    }
    pthread_mutex_unlock(&c->qm);
    ok = ckpt_write(c, j);
    free(j);
    pthread_mutex_lock(&c->qm);
    return ok;
}

/* Whether the writer should take a checkpoint now (caller holds qm): the
 * newest segment is past ckpt_at and none is being written. */
static bool ckpt_due(const qv_collection *c, uint64_t ckpt_at)
{
    return wal_size(c->log) > ckpt_at && !wal_broken(c->log) && !c->ckpt_job;
}

/* A checkpoint written before the call returns (the writer stopped). */
static bool checkpoint_now(qv_collection *c)
{
    ckpt_job j;
    return ckpt_take(c, &j, 0) && ckpt_write(c, &j);
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

/* Void lo..hi (caller holds logm); a failure is logged: those records may
 * come back at restart, and the log is broken (wal.h). */
static void void_range(qv_collection *c, uint64_t lo, uint64_t hi, const char *why)
{
    qv_error e2;
    if (wal_void(c->log, lo, hi, &e2))
        QV_ERROR("collection %s: cannot void operations %llu..%llu (%s): %s; they may come back "
                 "at restart; writes are refused until restart",
                 c->name, (unsigned long long)lo, (unsigned long long)hi, why, e2.msg);
}

/*
 * Stage 1 (the writer thread): append one group to the log. A group that
 * cannot be logged whole fails: it is cut from the file and voided
 * (wal_void: recovery skips it even if some of its bytes reach the disk
 * later). Marks the items logged, which answers wait=false requests.
 */
static void log_group(qv_collection *c, wr_item *group)
{
    qv_error err;
    qv_status rc = QV_OK;
    wr_item *last = group;
    while (last->next)
        last = last->next;
    pthread_mutex_lock(&c->logm);
    wal_pos start = wal_mark(c->log);
    bool tried = !wal_broken(c->log);  /* some bytes of the group may reach the file */
    if (!tried)
        rc = log_broken(c, &err);
    for (wr_item *it = group; it && rc == QV_OK; it = it->next)
        rc = wal_append(c->log, it->seq, it->body, it->len, &err);
    if (rc && tried) {
        qv_error e2;  /* a failed cut breaks the log; the void still holds */
        if (!wal_broken(c->log))
            wal_rewind(c->log, start, &e2);
        void_range(c, group->seq, last->seq + last->n_ops - 1, "a failed write");
    }
    pthread_mutex_unlock(&c->logm);
    if (rc)
        QV_ERROR("collection %s: write-ahead log failed: %s%s", c->name, err.msg,
                 tried && wal_broken(c->log) ? "; writes are refused until restart" : "");
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
}

/*
 * Stage 2 (the sync thread): make a run of logged items durable with ONE
 * fdatasync. The rule: what readers see is what recovery rebuilds, so an
 * item is applied only once it is durable. After a failed sync the log is
 * never written again until restart (wal_broken: the kernel may have
 * dropped its dirty pages, and a later sync that succeeds would prove
 * nothing): every item of the run fails, and everything the log holds from
 * the run's first record on is voided — including groups the writer
 * appended while the sync ran; they come in the next run, which fails at
 * once.
 */
static void sync_run(qv_collection *c, wr_item *run)
{
    qv_error err;
    qv_status rc = QV_OK;
    wr_item *first = run;
    while (first && first->log_failed)
        first = first->next;
    bool fresh = first && !wal_broken(c->log);  /* else refused without a sync */
    if (first)
        rc = fresh ? wal_sync(c->log, &err) : log_broken(c, &err);
    if (rc == QV_OK)
        return;
    pthread_mutex_lock(&c->logm);
    uint64_t lo = first->seq > c->voided_to ? first->seq : c->voided_to + 1;
    uint64_t hi = wal_mark(c->log).last_seq;  /* the writer cannot append meanwhile */
    if (lo <= hi) {
        void_range(c, lo, hi, "a failed sync");
        c->voided_to = hi;
    }
    pthread_mutex_unlock(&c->logm);
    QV_ERROR("collection %s: write-ahead log failed: %s%s", c->name, err.msg,
             fresh ? "; writes are refused until restart" : "");
    for (wr_item *it = first; it; it = it->next)
        if (!it->log_failed) {
            it->sync_failed = true;
            it->rc = rc;
            it->err = err;
        }
}

/*
 * Stage 3 (the apply thread): apply a synced run in order and fill in the
 * results; items that failed to be logged or synced are only passed, in
 * order, so that applied_seq only grows. A record that fails to apply for
 * a reason replay would not meet again is voided.
 */
static void apply_run(qv_collection *c, wr_item *run, qv_arena *a)
{
    for (wr_item *it = run; it; it = it->next) {
        uint64_t it_hi = it->seq + it->n_ops - 1;
        if (!it->log_failed && !it->sync_failed) {
            it->rc = apply_batch(c, it->seq, &it->batch, a, &it->err);
            if (it->rc && !fails_the_same_at_replay(it->rc)) {
                pthread_mutex_lock(&c->logm);
                void_range(c, it->seq, it_hi, "it failed to apply");
                pthread_mutex_unlock(&c->logm);
            }
        }
        c->applied_seq = it_hi;
    }
}

/* Mark a finished run done and wake its requests (caller holds qm). */
static void complete_run(qv_collection *c, wr_item *run)
{
    for (wr_item *it = run, *next; it; it = next) {
        next = it->next;
        it->done = true;
        if (it->abandoned)  /* else its request frees it */
            item_free(it);
    }
    pthread_cond_broadcast(&c->done);
}

/* Append a run to a stage's list (caller holds qm). */
static void stage_push(wr_stage *st, wr_item *run)
{
    if (st->tail)
        st->tail->next = run;
    else
        st->head = run;
    for (st->tail = run; st->tail->next;)
        st->tail = st->tail->next;
    pthread_cond_signal(&st->work);
}

/* The sync and apply threads: each takes everything on its list as one
 * run; the sync thread passes it on to the apply thread. */
static void stage_loop(qv_collection *c, wr_stage *st)
{
    bool applies = st == &c->stage[WR_APPLY];
    qv_arena a;  /* store_apply's scratch */
    qv_arena_init(&a, 1 << 20);
    pthread_mutex_lock(&c->qm);
    for (;;) {
        /* Idle for a while: give the scratch memory back. */
        while (!st->head && !st->stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            if (pthread_cond_timedwait(&st->work, &c->qm, &until) == ETIMEDOUT && !st->head &&
                a.total > (1u << 20))
                qv_arena_free(&a);
        }
        if (!st->head)
            break;
        wr_item *run = st->head;
        st->head = st->tail = NULL;
        st->busy = true;
        pthread_mutex_unlock(&c->qm);

        if (applies)
            apply_run(c, run, &a);
        else
            sync_run(c, run);

        pthread_mutex_lock(&c->qm);
        if (applies)
            complete_run(c, run);
        else
            stage_push(&c->stage[WR_APPLY], run);
        st->busy = false;
        pthread_cond_broadcast(&c->idle);
    }
    pthread_mutex_unlock(&c->qm);
    qv_arena_free(&a);
}

static void *syncer_main(void *arg)
{
    qv_collection *c = arg;
    stage_loop(c, &c->stage[WR_SYNC]);
    return NULL;
}

static void *applier_main(void *arg)
{
    qv_collection *c = arg;
    stage_loop(c, &c->stage[WR_APPLY]);
    return NULL;
}

/* Stop a stage once its list is empty and join it (caller holds qm;
 * released meanwhile). */
static void stage_stop(qv_collection *c, wr_stage *st)
{
    st->stop = true;
    pthread_cond_signal(&st->work);
    pthread_mutex_unlock(&c->qm);
    pthread_join(st->thread, NULL);
    pthread_mutex_lock(&c->qm);
}

/* Both stages after the writer are idle (caller holds qm). */
static bool stages_idle(const qv_collection *c)
{
    for (int i = 0; i < WR_STAGES; i++)
        if (c->stage[i].head || c->stage[i].busy)
            return false;
    return true;
}

/* Start the sync and apply threads (the writer, at its first group); false
 * if they cannot be started (then none runs). */
static bool stages_start(qv_collection *c)
{
    for (int i = 0; i < WR_STAGES; i++)
        c->stage[i].stop = false;
    int e = pthread_create(&c->stage[WR_APPLY].thread, NULL, applier_main, c);
    if (e == 0 && (e = pthread_create(&c->stage[WR_SYNC].thread, NULL, syncer_main, c)) != 0) {
        pthread_mutex_lock(&c->qm);
        stage_stop(c, &c->stage[WR_APPLY]);
        pthread_mutex_unlock(&c->qm);
    }
    if (e)
        QV_WARN("collection %s: cannot start the sync and apply threads (%s); the writer does "
                "their work", c->name, strerror(e));
    return e == 0;
}

/*
 * The writer: takes everything queued as one group and appends it, then
 * hands it to the sync thread and goes on with the next group. Three
 * stages, each a thread: while group k is applied, group k+1 can be in
 * fdatasync and group k+2 being appended, and one sync covers every group
 * appended by the time it starts. The writer owns the two other threads,
 * started with its first group (a collection that is only read costs one
 * thread): on stop it drains and joins them, so that coll_pause and
 * coll_stop find everything applied. If they cannot be started, the
 * writer syncs and applies each group itself.
 */
static void *writer_main(void *arg)
{
    qv_collection *c = arg;
    qv_arena a;  /* store_apply's scratch when the writer applies itself */
    qv_arena_init(&a, 1 << 20);
    uint64_t cap = c->schema.wal.wal_capacity_mb << 20, ckpt_at = cap;
    wal_prealloc_limit(c->log, ckpt_at);
    bool started = false, staged = false;
    pthread_mutex_lock(&c->qm);
    for (;;) {
        /* A checkpoint that was due while one was being written starts
         * once that one is done (the checkpointer wakes the writer). */
        bool due = false;
        while (!c->head && !c->stopping && !(due = ckpt_due(c, ckpt_at)))
            pthread_cond_wait(&c->work, &c->qm);
        if (!c->head && !due)
            break;
        if (c->head) {
            wr_item *group = c->head;
            c->head = c->tail = NULL;
            pthread_mutex_unlock(&c->qm);

            if (!started) {
                staged = stages_start(c);
                started = true;
            }
            log_group(c, group);

            pthread_mutex_lock(&c->qm);
            if (staged) {
                stage_push(&c->stage[WR_SYNC], group);
            } else {
                pthread_mutex_unlock(&c->qm);
                sync_run(c, group);
                apply_run(c, group, &a);
                pthread_mutex_lock(&c->qm);
                complete_run(c, group);
            }
        }
        if (ckpt_due(c, ckpt_at)) {
            while (!stages_idle(c))  /* the log and the store must agree */
                pthread_cond_wait(&c->idle, &c->qm);
            /* A new segment restarts the count; without one, wait for
             * another capacity. */
            ckpt_at = ckpt_start(c, cap) && wal_size(c->log) < cap ? cap : wal_size(c->log) + cap;
            wal_prealloc_limit(c->log, ckpt_at);
        }
    }
    if (staged) {
        stage_stop(c, &c->stage[WR_SYNC]);  /* drains into the apply stage */
        stage_stop(c, &c->stage[WR_APPLY]);
    }
    pthread_mutex_unlock(&c->qm);
    qv_arena_free(&a);
    return NULL;
}

qv_status coll_submit(qv_collection *c, char *body, size_t len, uint32_t n_ops,
                      const qv_write_opts *opts, qv_arena *scratch, qv_update_result *res,
                      qv_error *err)
{
    wr_item *it = calloc(1, sizeof *it);
    if (!it) {
        free(body);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    it->body = body;
    it->len = len;
    it->n_ops = n_ops;
    /* Decoded here, in the request's thread, not in the writer's: the one
     * decode that replay runs too (so the same bytes make the same batch),
     * but off the serial path. Into the caller's scratch memory when the
     * call surely outlives the item's use (it waits, with no timeout that
     * could abandon the item): no new memory then. Else the item's own, one
     * block (the decode copies about len). */
    qv_arena *mem = scratch;
    if (!scratch || !opts->wait || opts->timeout) {
        qv_arena_init(&it->mem, len + (64u << 10));
        mem = &it->mem;
    }
    qv_status drc = ops_decode(mem, body, len, &it->batch, err);
    if (drc) {
        item_free(it);
        return drc;
    }
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
    pthread_mutex_lock(&c->qm);
    ckpt_wait(c);
    pthread_mutex_unlock(&c->qm);
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
    /* The graphs are of the old columns (vx_reset follows): none may load
     * with this checkpoint. Its directory sync makes the removal durable. */
    vx_prune(c->dir, seq, VX_PRUNE_ALL);
    pthread_rwlock_rdlock(&c->lock);  /* readers go on; nothing writes while paused */
    qv_status rc = store_save(&c->st, c->dir, SNAP_FILE, seq, err);
    pthread_rwlock_unlock(&c->lock);
    if (rc == QV_OK)
        c->ckpt_seq = seq;
    if (rc == QV_OK && log_first && (rc = log_rotate(c, log_first, 0, err)) == QV_OK)
        rc = drop_segments(c, log_first - 1, err);
    return rc;
}

uint64_t coll_take_op_id(qv_collection *c)
{
    pthread_mutex_lock(&c->qm);
    uint64_t id = c->next_seq++;
    pthread_mutex_unlock(&c->qm);
    return id;
}

static void stop(qv_collection *c, bool save)
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
    pthread_mutex_lock(&c->qm);
    ckpt_wait(c);
    bool ckpt_on = c->ckpt_on;
    c->ckpt_stop = true;
    c->ckpt_on = false;
    pthread_cond_signal(&c->ckpt_work);
    pthread_mutex_unlock(&c->qm);
    if (ckpt_on)
        pthread_join(c->ckpt_thread, NULL);
    /* A restart then loads the graphs as they are and replays nothing. */
    if (save && was_running && c->log && (c->applied_seq != c->ckpt_seq || vx_dirty(&c->vx)))
        checkpoint_now(c);
    wal_close(c->log);
    c->log = NULL;
}

void coll_stop(qv_collection *c) { stop(c, false); }
void coll_close(qv_collection *c) { stop(c, true); }

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
    for (int i = 0; i < WR_STAGES; i++)
        pthread_cond_destroy(&c->stage[i].work);
    pthread_cond_destroy(&c->idle);
    pthread_cond_destroy(&c->ckpt_work);
    pthread_cond_destroy(&c->ckpt_idle);
    pthread_mutex_destroy(&c->logm);
    free(c->seg_first);
    free(c->dir);
    free(c->name);
    free(c);
}

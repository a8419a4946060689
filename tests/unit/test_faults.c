/*
 * test_faults.c — the write path under injected disk faults, through the
 * public API (quiver.h), SQLite-style: for every failure point k of a
 * fixed sequence of writes, fail the k-th system call of one kind (write,
 * data sync, truncate, preallocation) with a chosen errno or as a short write, and check
 *   - a write that answered an error changed nothing readers can see;
 *   - a write that answered completed is visible;
 *   - after close and reopen (recovery), readers see exactly what they saw
 *     before: nothing acknowledged is lost, nothing answered as failed
 *     comes back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "quiver.h"
#include "storage/wal.h"
#include "util/fsutil.h"

/* ---- the fault seam ----------------------------------------------------- */

typedef enum fault_kind { F_WRITE, F_SHORT_WRITE, F_SYNC, F_TRUNCATE, F_FALLOCATE } fault_kind;

static struct {
    bool       armed;
    fault_kind kind;
    int        countdown;  /* calls of that kind to let through before failing */
    int        err;        /* errno to fail with */
    bool       sticky;     /* keep failing after the first */
    bool       then_truncate; /* a short write also makes the next ftruncate fail */
    bool       fail_truncate;
    int        fired;
} F;

static bool fire(fault_kind k)
{
    if (!F.armed || F.kind != k)
        return false;
    if (F.countdown > 0) {
        F.countdown--;
        return false;
    }
    F.fired++;
    if (!F.sticky)
        F.armed = false;
    return true;
}

/* A sync that hangs until released, then fails (the disk is slow, then
 * reports a writeback error) or succeeds, counting the appends tried
 * meanwhile (which may fail too): for a group appended while the sync of
 * the one before it runs. */
static struct {
    atomic_bool armed;    /* the next fdatasync hangs */
    atomic_bool in_sync;
    bool        sync_ok;  /* ... then succeeds (else fails with EIO) */
    bool        fail_appends; /* appends while it hangs fail with EIO */
    sem_t       entered;  /* posted when the hanging sync starts */
    sem_t       appended; /* posted for every append tried while it hangs */
    sem_t       release;  /* the test lets it end */
} H;

static ssize_t f_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    if (atomic_load(&H.in_sync)) {
        ssize_t n = H.fail_appends ? (errno = EIO, -1) : pwritev(fd, iov, cnt, off);
        int e = errno;
        sem_post(&H.appended);
        errno = e;
        return n;
    }
    if (F.armed && F.kind == F_SHORT_WRITE && fire(F_SHORT_WRITE)) {
        /* Half of the first piece lands, then the disk fills up. */
        struct iovec half = {iov[0].iov_base, iov[0].iov_len / 2};
        if (half.iov_len && pwritev(fd, &half, 1, off) < 0)
            fail_msg("cannot write the torn half");
        F.fail_truncate = F.then_truncate;
        errno = ENOSPC;
        return -1;
    }
    if (fire(F_WRITE)) {
        errno = F.err;
        return -1;
    }
    return pwritev(fd, iov, cnt, off);
}

static int f_fdatasync(int fd)
{
    if (atomic_exchange(&H.armed, false)) {
        atomic_store(&H.in_sync, true);
        sem_post(&H.entered);
        sem_wait(&H.release);
        atomic_store(&H.in_sync, false);
        if (H.sync_ok)
            return fdatasync(fd);
        errno = EIO;
        return -1;
    }
    if (fire(F_SYNC)) {
        errno = F.err;
        return -1;
    }
    return fdatasync(fd);
}

static int f_ftruncate(int fd, off_t len)
{
    if (F.fail_truncate || fire(F_TRUNCATE)) {
        F.fail_truncate = false;
        errno = F.err;
        return -1;
    }
    return ftruncate(fd, len);
}

static int (*real_fallocate)(int fd, off_t off, off_t len);

static int f_fallocate(int fd, off_t off, off_t len)
{
    if (fire(F_FALLOCATE)) {
        errno = F.err;
        return -1;
    }
    return real_fallocate(fd, off, len);
}

/* ---- helpers ------------------------------------------------------------- */

static char *scroll(qv_db *db)
{
    static const char req[] = "{\"limit\":1000,\"with_payload\":true,\"with_vector\":true}";
    char *json = NULL;
    size_t len;
    qv_error err;
    assert_int_equal(qv_points_scroll(db, "c", req, sizeof req - 1, &json, &len, &err), QV_OK);
    return json;
}

/* The writes of every round: upserts, a batch, a payload change, a delete. */
static const struct {
    qv_update_kind kind;
    const char    *body;
} writes[] = {
    {QV_UPDATE_UPSERT, "{\"points\":[{\"id\":1,\"vector\":[1,0],\"payload\":{\"a\":1}}]}"},
    {QV_UPDATE_UPSERT, "{\"points\":[{\"id\":2,\"vector\":[0,1]},{\"id\":3,\"vector\":[1,1]}]}"},
    {QV_UPDATE_BATCH, "{\"operations\":[{\"upsert\":{\"points\":[{\"id\":4,\"vector\":[2,2]}]}},"
                      "{\"set_payload\":{\"payload\":{\"b\":2},\"points\":[1,4]}}]}"},
    {QV_UPDATE_DELETE, "{\"points\":[2]}"},
    {QV_UPDATE_SET_PAYLOAD, "{\"payload\":{\"c\":3},\"points\":[3]}"},
    {QV_UPDATE_UPSERT, "{\"points\":[{\"id\":5,\"vector\":[5,5]}]}"},
};
#define N_WRITES (sizeof writes / sizeof *writes)

typedef struct round_result {
    int ok, failed;
    bool fired;
} round_result;

/* A fresh data directory (dir: a mkdtemp template) holding collection "c". */
static qv_db *open_fresh(char *dir)
{
    assert_non_null(mkdtemp(dir));
    qv_db *db;
    qv_error err;
    assert_int_equal(qv_open(dir, &db, &err), QV_OK);
    static const char cfg[] = "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}";
    assert_int_equal(qv_collection_create(db, "c", cfg, sizeof cfg - 1, &err), QV_OK);
    return db;
}

/* One round: fresh data directory, fault armed after the collection
 * exists, every write checked against what readers saw before it, then a
 * reopen checked against what readers saw last. */
static round_result run_round(fault_kind kind, int countdown, int errnum, bool sticky)
{
    char dir[] = "/tmp/qv-faults-XXXXXX";
    qv_db *db = open_fresh(dir);
    qv_error err;

    F.armed = true;
    F.kind = kind;
    F.countdown = countdown;
    F.err = errnum;
    F.sticky = sticky;
    F.fired = 0;
    round_result r = {0};
    char *seen = scroll(db);
    for (size_t i = 0; i < N_WRITES; i++) {
        qv_write_opts o = {.wait = true};
        qv_update_result res;
        qv_status rc = qv_points_update(db, "c", writes[i].kind, writes[i].body,
                                        strlen(writes[i].body), &o, &res, &err);
        char *now = scroll(db);
        if (rc == QV_OK) {
            assert_int_equal(res.status, QV_COMPLETED);
            r.ok++;
        } else {
            /* A disk fault is a server error that names the log; a later
             * write may also fail on its own (a point an earlier, failed
             * write would have made). Either way nothing of it shows. */
            if (rc == QV_IO)
                assert_true(strstr(err.msg, "wal ") || strstr(err.msg, "write-ahead log"));
            else
                assert_int_equal(rc, QV_NOT_FOUND);
            assert_string_equal(now, seen);
            r.failed++;
        }
        free(seen);
        seen = now;
    }
    r.fired = F.fired > 0;
    F.armed = false;
    qv_close(db);

    /* Recovery is the truth, and it equals what readers saw. */
    assert_int_equal(qv_open(dir, &db, &err), QV_OK);
    char *after = scroll(db);
    assert_string_equal(after, seen);
    /* And the collection takes writes again. */
    qv_write_opts o = {.wait = true};
    qv_update_result res;
    const char *w = writes[0].body;
    assert_int_equal(qv_points_update(db, "c", QV_UPDATE_UPSERT, w, strlen(w), &o, &res, &err), QV_OK);
    free(after);
    free(seen);
    qv_close(db);
    qv_rm_rf(dir);
    return r;
}

/* Every failure point of one kind, until a round runs without the fault
 * firing (k past the last call of that kind). */
static void loop_kind(fault_kind kind, int errnum, bool sticky, int *rounds_with_failure)
{
    for (int k = 0; k < 64; k++) {
        round_result r = run_round(kind, k, errnum, sticky);
        if (!r.fired) {
            assert_int_equal(r.failed, 0);
            assert_int_equal(r.ok, (int)N_WRITES);
            return;
        }
        (*rounds_with_failure)++;
    }
    fail_msg("the fault kept firing past 64 calls");
}

static void test_write_faults(void **state)
{
    int n = 0;
    loop_kind(F_WRITE, EIO, false, &n);
    loop_kind(F_WRITE, ENOSPC, true, &n);
    loop_kind(F_SHORT_WRITE, ENOSPC, false, &n);
    assert_true(n >= (int)N_WRITES * 3);  /* every write of the sequence was hit each way */
}

static void test_sync_faults(void **state)
{
    int n = 0;
    loop_kind(F_SYNC, EIO, false, &n);
    assert_true(n >= (int)N_WRITES);
    /* After a failed sync the log is not trusted: every later write of the
     * round fails too, until the reopen. */
    round_result r = run_round(F_SYNC, 0, EIO, false);
    assert_true(r.fired);
    assert_int_equal(r.ok, 0);
    assert_int_equal(r.failed, (int)N_WRITES);
    r = run_round(F_SYNC, 2, EIO, false);
    assert_int_equal(r.ok, 2);
    assert_int_equal(r.failed, (int)N_WRITES - 2);
}

/* Preallocation is an optimisation: when the file system refuses it (full,
 * or unable), every write still completes and recovery still equals what
 * readers saw. */
static void test_fallocate_faults(void **state)
{
    int errs[] = {ENOSPC, EOPNOTSUPP, EIO};
    for (size_t i = 0; i < sizeof errs / sizeof *errs; i++) {
        round_result r = run_round(F_FALLOCATE, 0, errs[i], true);
        assert_true(r.fired);
        assert_int_equal(r.failed, 0);
        assert_int_equal(r.ok, (int)N_WRITES);
    }
}

/* A short write whose cut fails too: the log is broken (every later write
 * of the round fails), the torn group is voided, and recovery still equals
 * what readers saw. */
static void test_write_and_truncate_fault(void **state)
{
    for (int k = 0; k < (int)N_WRITES; k++) {
        F.then_truncate = true;
        round_result r = run_round(F_SHORT_WRITE, k, ENOSPC, false);
        F.then_truncate = false;
        assert_true(r.fired);
        assert_int_equal(r.ok, k);
        assert_int_equal(r.failed, (int)N_WRITES - k);
    }
}

/* ---- checkpoint, config and catalog files ---------------------------------- */

/*
 * The files written outside the log — checkpoints (store_save, its chunk
 * files through pwrite), the log's
 * segment headers and void lists, config.json, aliases.json, a new collection's
 * staged directory — go through write, fsync and rename. This executable
 * defines those three itself: the quiver library is linked in statically,
 * so its calls bind here before libc, with no seam in the engine's code.
 * Off (G.armed false) they pass straight to the kernel.
 */
typedef enum file_fault { G_WRITE, G_SHORT_WRITE, G_FSYNC, G_RENAME } file_fault;

static struct {
    bool       armed;
    file_fault kind;
    int        countdown, err, fired;
    bool       sticky;
} G;

/* The checkpointer thread calls these beside the test's own thread: G is
 * read and changed under gm. Whether the armed fault of kind k fires now
 * (*e: its errno); a short write that fires (rearm) arms ENOSPC for the
 * caller's next write. */
static pthread_mutex_t gm = PTHREAD_MUTEX_INITIALIZER;

static bool gfire(file_fault k, int *e, bool rearm)
{
    pthread_mutex_lock(&gm);
    bool fire = G.armed && G.kind == k;
    if (fire && G.countdown > 0) {
        G.countdown--;
        fire = false;
    }
    if (fire) {
        G.fired++;
        *e = G.err;
        if (!G.sticky)
            G.armed = false;
        if (rearm)
            G = (typeof(G)){.armed = true, .kind = G_WRITE, .err = ENOSPC, .fired = G.fired};
    }
    pthread_mutex_unlock(&gm);
    return fire;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    int e;
    if (gfire(G_SHORT_WRITE, &e, n > 1) && n > 1)  /* half lands; the next write finds the disk full */
        return syscall(SYS_write, fd, buf, n / 2);
    if (gfire(G_WRITE, &e, false)) {
        errno = e;
        return -1;
    }
    return syscall(SYS_write, fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    int e;
    if (gfire(G_SHORT_WRITE, &e, n > 1) && n > 1)
        return syscall(SYS_pwrite64, fd, buf, n / 2, off);
    if (gfire(G_WRITE, &e, false)) {
        errno = e;
        return -1;
    }
    return syscall(SYS_pwrite64, fd, buf, n, off);
}

/* A checkpoint held in its fsync of points.snap.tmp (armed once): the
 * test lets it go on, or fail with EIO. */
static struct {
    atomic_bool armed;
    sem_t       entered, release;
    bool        fail;
} K;

static bool is_snap_tmp(int fd)
{
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 15)
        return false;
    path[n] = 0;
    return strcmp(path + n - 15, "points.snap.tmp") == 0;
}

int fsync(int fd)
{
    if (atomic_load(&K.armed) && is_snap_tmp(fd) && atomic_exchange(&K.armed, false)) {
        sem_post(&K.entered);
        while (sem_wait(&K.release) != 0)
            ;
        if (K.fail) {
            errno = EIO;
            return -1;
        }
    }
    int e;
    if (gfire(G_FSYNC, &e, false)) {
        errno = e;
        return -1;
    }
    return (int)syscall(SYS_fsync, fd);
}

int rename(const char *from, const char *to)
{
    int e;
    if (gfire(G_RENAME, &e, false)) {
        errno = e;
        return -1;
    }
    return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

/* What readers see: the collections with their config and points, and the
 * aliases, as one string. */
static char *db_state(qv_db *db)
{
    qv_error err;
    char   **names;
    size_t   n;
    assert_int_equal(qv_collection_list(db, &names, &n, &err), QV_OK);
    size_t cap = 1 << 16, len = 0;
    char  *out = malloc(cap);
    assert_non_null(out);
    out[0] = 0;
#define ADD(str)                                                  \
    do {                                                          \
        const char *s_ = (str);                                   \
        size_t      l_ = strlen(s_);                              \
        while (len + l_ + 2 > cap)                                \
            assert_non_null(out = realloc(out, cap *= 2));        \
        memcpy(out + len, s_, l_);                                \
        len += l_;                                                \
        out[len++] = '\n';                                        \
        out[len] = 0;                                             \
    } while (0)
    for (size_t i = 0; i < n; i++) {
        ADD(names[i]);
        qv_collection_info info;
        assert_int_equal(qv_collection_info_get(db, names[i], &info, &err), QV_OK);
        ADD(info.config_json);
        ADD(info.payload_schema_json);
        qv_free(info.config_json);
        qv_free(info.payload_schema_json);
        static const char req[] = "{\"limit\":1000,\"with_payload\":true,\"with_vector\":true}";
        char  *json;
        size_t jl;
        assert_int_equal(qv_points_scroll(db, names[i], req, sizeof req - 1, &json, &jl, &err), QV_OK);
        ADD(json);
        qv_free(json);
    }
    qv_free(names);
    qv_alias *al;
    assert_int_equal(qv_alias_list(db, NULL, &al, &n, &err), QV_OK);
    for (size_t i = 0; i < n; i++) {
        ADD(al[i].alias);
        ADD(al[i].collection);
    }
    qv_free(al);
#undef ADD
    return out;
}

static char *big_upsert(int id)
{
    /* Past the 1 MB wal_capacity_mb of the collection: a checkpoint follows. */
    size_t n = (1u << 20) + 4096;
    char  *b = malloc(n + 128);
    assert_non_null(b);
    int h = snprintf(b, 128, "{\"points\":[{\"id\":%d,\"vector\":[1,2],\"payload\":{\"big\":\"", id);
    memset(b + h, 'a' + id, n);
    strcpy(b + h + n, "\"}}]}");
    return b;
}

/* Run step i of the sequence; returns its status. */
static qv_status file_step(qv_db *db, int i, qv_error *err)
{
    static const char cfg[] =
        "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"},\"wal_config\":{\"wal_capacity_mb\":1}}";
    qv_write_opts     o = {.wait = true};
    qv_update_result  res;
    qv_status         rc;
    char             *b;
    switch (i) {
    case 0:
        return qv_collection_create(db, "c", cfg, sizeof cfg - 1, err);
    case 1:
    case 5:
        b = big_upsert(i);
        rc = qv_points_update(db, "c", QV_UPDATE_UPSERT, b, strlen(b), &o, &res, err);
        free(b);
        return rc;
    case 2: {
        static const char w[] = "{\"points\":[{\"id\":2,\"vector\":[0,1]}]}";
        return qv_points_update(db, "c", QV_UPDATE_UPSERT, w, sizeof w - 1, &o, &res, err);
    }
    case 3: {
        static const char p[] = "{\"optimizers_config\":{\"indexing_threshold\":5000}}";
        return qv_collection_update(db, "c", p, sizeof p - 1, err);
    }
    case 4: {
        qv_alias_op op = {QV_ALIAS_CREATE, "a", "c"};
        return qv_alias_apply(db, &op, 1, err);
    }
    case 6: {
        static const char w[] = "{\"points\":[1]}";
        return qv_points_update(db, "c", QV_UPDATE_DELETE, w, sizeof w - 1, &o, &res, err);
    }
    case 7: {
        qv_alias_op op = {QV_ALIAS_RENAME, "a", "b"};
        return qv_alias_apply(db, &op, 1, err);
    }
    case 8:
        return qv_collection_create(db, "d", cfg, sizeof cfg - 1, err);
    }
    return QV_INTERNAL;
}
#define N_FILE_STEPS 9

/* One round: the fault armed from the start, every step checked against
 * what readers saw before it, then a reopen checked against what they saw
 * last. Returns whether the fault fired. */
static bool file_round(file_fault kind, int countdown, int errnum, bool sticky, int *failed)
{
    char dir[] = "/tmp/qv-ffaults-XXXXXX";
    assert_non_null(mkdtemp(dir));
    qv_db   *db;
    qv_error err;
    assert_int_equal(qv_open(dir, &db, &err), QV_OK);
    G = (typeof(G)){.armed = true, .kind = kind, .countdown = countdown, .err = errnum,
                    .sticky = sticky};
    char *seen = db_state(db);
    for (int i = 0; i < N_FILE_STEPS; i++) {
        qv_status rc = file_step(db, i, &err);
        char     *now = db_state(db);
        if (rc != QV_OK) {
            /* A disk fault, or a step that needs what a failed one would
             * have made; either way nothing of it shows. */
            if (rc != QV_IO && rc != QV_NOT_FOUND)
                fail_msg("step %d: status %d: %s", i, rc, err.msg);
            assert_string_equal(now, seen);
            (*failed)++;
        }
        free(seen);
        seen = now;
    }
    pthread_mutex_lock(&gm);  /* a checkpoint may still be being written */
    bool fired = G.fired > 0;
    G.armed = false;
    pthread_mutex_unlock(&gm);
    qv_close(db);

    assert_int_equal(qv_open(dir, &db, &err), QV_OK);
    char *after = db_state(db);
    if (strcmp(after, seen) != 0) {
        size_t d = 0;
        while (after[d] == seen[d])
            d++;
        size_t from = d > 60 ? d - 60 : 0;
        fail_msg("fault %d after %d calls (errno %d): recovery differs at byte %zu:\n"
                 "readers saw: %.120s\nrecovered:   %.120s",
                 kind, countdown, errnum, d, seen + from, after + from);
    }
    free(after);
    /* With the disk healthy again every collection takes writes. */
    if (qv_collection_exists(db, "c")) {
        qv_write_opts    o = {.wait = true};
        qv_update_result res;
        static const char w[] = "{\"points\":[{\"id\":9,\"vector\":[9,9]}]}";
        assert_int_equal(qv_points_update(db, "c", QV_UPDATE_UPSERT, w, sizeof w - 1, &o, &res, &err),
                         QV_OK);
    }
    free(seen);
    qv_close(db);
    qv_rm_rf(dir);
    return fired;
}

static void file_loop(file_fault kind, int errnum, bool sticky, int *rounds)
{
    for (int k = 0; k < 200; k++) {
        int failed = 0;
        if (!file_round(kind, k, errnum, sticky, &failed)) {
            assert_int_equal(failed, 0);
            return;
        }
        (*rounds)++;
    }
    fail_msg("the fault kept firing past 200 calls");
}

/* Every write, pwrite, fsync and rename of the sequence — two checkpoints with
 * their new log segments, a config change, alias changes, two collection
 * creations — failed in turn. */
static void test_file_faults(void **state)
{
    int n = 0;
    file_loop(G_WRITE, EIO, false, &n);
    file_loop(G_WRITE, ENOSPC, true, &n);
    file_loop(G_SHORT_WRITE, ENOSPC, false, &n);
    file_loop(G_FSYNC, EIO, false, &n);
    file_loop(G_RENAME, EIO, false, &n);
    file_loop(G_RENAME, ENOSPC, true, &n);
    assert_true(n >= 6 * N_FILE_STEPS);
}

/* ---- a failed sync with the next group already appended ------------------- */

typedef struct upsert_job {
    qv_db      *db;
    const char *body;
    qv_status   rc;
    qv_error    err;
} upsert_job;

static void *upsert_thread(void *arg)
{
    upsert_job *j = arg;
    qv_write_opts o = {.wait = true};
    qv_update_result res;
    j->rc = qv_points_update(j->db, "c", QV_UPDATE_UPSERT, j->body, strlen(j->body), &o, &res,
                             &j->err);
    return NULL;
}

/* Arm the hanging sync (H) for the next fdatasync. */
static void hold_next_sync(bool sync_ok, bool fail_appends)
{
    sem_init(&H.entered, 0, 0);
    sem_init(&H.appended, 0, 0);
    sem_init(&H.release, 0, 0);
    H.sync_ok = sync_ok;
    H.fail_appends = fail_appends;
    atomic_store(&H.armed, true);
}

static void hold_done(void)
{
    sem_destroy(&H.entered);
    sem_destroy(&H.appended);
    sem_destroy(&H.release);
}

/* A wait bounded only so that a writer that never appends during a sync
 * fails the test instead of hanging it. */
static void wait_sem(sem_t *s, const char *what)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    while (sem_timedwait(s, &until) != 0)
        if (errno != EINTR)
            fail_msg("%s did not happen", what);
}

/* Write k in its own thread until its sync hangs (hold_next_sync), then
 * write k+1 in another until its append was tried behind that sync. */
static void start_behind_held_sync(upsert_job *k, pthread_t *tk, upsert_job *k1, pthread_t *tk1)
{
    assert_int_equal(pthread_create(tk, NULL, upsert_thread, k), 0);
    wait_sem(&H.entered, "the sync of group k");
    assert_int_equal(pthread_create(tk1, NULL, upsert_thread, k1), 0);
    wait_sem(&H.appended, "the append of group k+1 during the sync of group k");
}

/* Close db, open dir again: readers see seen (freed), as before. */
static void reopen_sees(qv_db *db, const char *dir, char *seen)
{
    qv_error err;
    qv_close(db);
    assert_int_equal(qv_open(dir, &db, &err), QV_OK);
    char *now = scroll(db);
    assert_string_equal(now, seen);
    free(now);
    free(seen);
    qv_close(db);
}

/* Group k is in fdatasync when group k+1 is appended behind it (the two
 * stages of the writer); then k's sync fails. Neither is acknowledged,
 * readers see neither, neither comes back after a reopen; the collection
 * refuses writes until then and keeps serving reads. */
static void test_sync_fails_with_next_group_appended(void **state)
{
    char dir[] = "/tmp/qv-faults-XXXXXX";
    qv_db *db = open_fresh(dir);
    qv_error err;
    upsert_job first = {.db = db, .body = "{\"points\":[{\"id\":1,\"vector\":[1,0],\"payload\":{\"a\":1}}]}"};
    upsert_thread(&first);
    assert_int_equal(first.rc, QV_OK);
    char *seen = scroll(db);

    hold_next_sync(false, false);
    upsert_job k = {.db = db, .body = "{\"points\":[{\"id\":2,\"vector\":[0,1]},{\"id\":1,\"vector\":[5,5]}]}"};
    upsert_job k1 = {.db = db, .body = "{\"points\":[{\"id\":3,\"vector\":[1,1],\"payload\":{\"b\":2}}]}"};
    pthread_t tk, tk1;
    start_behind_held_sync(&k, &tk, &k1, &tk1);
    /* While k's sync hangs, readers see neither group. */
    char *now = scroll(db);
    assert_string_equal(now, seen);
    free(now);
    sem_post(&H.release);
    pthread_join(tk, NULL);
    pthread_join(tk1, NULL);
    assert_int_equal(k.rc, QV_IO);
    assert_non_null(strstr(k.err.msg, "fdatasync"));
    assert_int_equal(k1.rc, QV_IO);
    assert_non_null(strstr(k1.err.msg, "write-ahead log of collection `c` failed earlier"));

    now = scroll(db);  /* reads go on, and show neither */
    assert_string_equal(now, seen);
    free(now);
    upsert_job later = {.db = db, .body = "{\"points\":[{\"id\":4,\"vector\":[2,2]}]}"};
    upsert_thread(&later);
    assert_int_equal(later.rc, QV_IO);
    assert_non_null(strstr(later.err.msg, "writes are refused until the server restarts"));
    qv_close(db);

    assert_int_equal(qv_open(dir, &db, &err), QV_OK);
    now = scroll(db);
    assert_string_equal(now, seen);  /* neither k nor k+1 came back */
    free(now);
    later.db = db;
    upsert_thread(&later);
    assert_int_equal(later.rc, QV_OK);
    qv_close(db);
    free(seen);
    hold_done();
    qv_rm_rf(dir);
}

/* Group k+1 fails to be appended while group k is in fdatasync, which then
 * succeeds: k is acknowledged and stays, k+1 fails and never shows, not
 * even after a reopen; the log stays usable (a failed append is cut). */
static void test_append_fails_while_previous_group_syncs(void **state)
{
    char dir[] = "/tmp/qv-faults-XXXXXX";
    qv_db *db = open_fresh(dir);
    hold_next_sync(true, true);
    upsert_job k = {.db = db, .body = "{\"points\":[{\"id\":1,\"vector\":[1,0],\"payload\":{\"a\":1}}]}"};
    upsert_job k1 = {.db = db, .body = "{\"points\":[{\"id\":2,\"vector\":[0,1]},{\"id\":1,\"vector\":[5,5]}]}"};
    pthread_t tk, tk1;
    start_behind_held_sync(&k, &tk, &k1, &tk1);
    sem_post(&H.release);
    /* k+1 is answered in order, after k: results come from one stage. */
    pthread_join(tk, NULL);
    pthread_join(tk1, NULL);
    assert_int_equal(k.rc, QV_OK);
    assert_int_equal(k1.rc, QV_IO);
    assert_non_null(strstr(k1.err.msg, "write at offset"));
    char *seen = scroll(db);
    assert_non_null(strstr(seen, "\"a\":1"));
    assert_null(strstr(seen, "\"id\":2"));
    upsert_job later = {.db = db, .body = "{\"points\":[{\"id\":3,\"vector\":[2,2]}]}"};
    upsert_thread(&later);
    assert_int_equal(later.rc, QV_OK);
    free(seen);
    reopen_sees(db, dir, scroll(db));
    hold_done();
    qv_rm_rf(dir);
}

/* Checkpoints are written beside the writes. Round 0: while the first
 * hangs in its fsync, writes are acknowledged and seen (they change the
 * chunk it took: once it lands, the on-disk chunk keeps their bytes).
 * Round 1: a checkpoint fails after taking a chunk and a block written
 * since the first; nothing is written after it, so only its marking them
 * dirty again makes the checkpoint at close hold them. A reopen sees
 * what readers saw. */
static void test_writes_go_on_while_a_checkpoint_is_written(void **state)
{
    char dir[] = "/tmp/qv-faults-XXXXXX";
    assert_non_null(mkdtemp(dir));
    qv_db *db;
    qv_error err;
    assert_int_equal(qv_open(dir, &db, &err), QV_OK);
    static const char cfg[] = "{\"vectors\":{\"size\":2,\"distance\":\"Dot\",\"on_disk\":true},"
                              "\"wal_config\":{\"wal_capacity_mb\":1}}";
    assert_int_equal(qv_collection_create(db, "c", cfg, sizeof cfg - 1, &err), QV_OK);
    char *seen = NULL;
    sem_init(&K.entered, 0, 0);
    sem_init(&K.release, 0, 0);
    for (int round = 0; round < 2; round++) {
        atomic_store(&K.armed, true);
        qv_write_opts o = {.wait = true};
        qv_update_result res;
        char *b = big_upsert(round + 1);  /* past wal_capacity_mb: a checkpoint follows */
        assert_int_equal(qv_points_update(db, "c", QV_UPDATE_UPSERT, b, strlen(b), &o, &res, &err), QV_OK);
        free(b);
        wait_sem(&K.entered, "the checkpoint's fsync");
        if (round == 1) {
            /* The first checkpoint is done (one is written at a time), and
             * the chunk it took holds the writes made since, not its image. */
            char *now = scroll(db);
            assert_non_null(strstr(now, "{\"id\":1,\"payload\":{},\"vector\":[7.0,7.0]}"));
            assert_non_null(strstr(now, "{\"id\":3,\"payload\":{\"x\":1},\"vector\":[3.0,4.0]}"));
            free(now);
        }
        if (round == 0) {
            upsert_job w[] = {{.db = db, .body = "{\"points\":[{\"id\":1,\"vector\":[7,7]}]}"},
                              {.db = db, .body = "{\"points\":[{\"id\":3,\"vector\":[3,4],\"payload\":{\"x\":1}}]}"}};
            for (int i = 0; i < 2; i++) {
                upsert_thread(&w[i]);  /* would hang if the writer waited for the checkpoint */
                assert_int_equal(w[i].rc, QV_OK);
            }
            seen = scroll(db);
            assert_non_null(strstr(seen, "[7.0,7.0]"));
        }
        K.fail = round == 1;  /* read by the held fsync once released */
        sem_post(&K.release);
    }
    free(seen);
    seen = scroll(db);
    assert_non_null(strstr(seen, "\"id\":2"));
    reopen_sees(db, dir, seen);
    sem_destroy(&K.entered);
    sem_destroy(&K.release);
    qv_rm_rf(dir);
}

int main(void)
{
    wal_io.pwritev = f_pwritev;
    wal_io.fdatasync = f_fdatasync;
    wal_io.ftruncate = f_ftruncate;
    real_fallocate = wal_io.fallocate;
    wal_io.fallocate = f_fallocate;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_faults),
        cmocka_unit_test(test_sync_faults),
        cmocka_unit_test(test_write_and_truncate_fault),
        cmocka_unit_test(test_fallocate_faults),
        cmocka_unit_test(test_file_faults),
        cmocka_unit_test(test_sync_fails_with_next_group_appended),
        cmocka_unit_test(test_append_fails_while_previous_group_syncs),
        cmocka_unit_test(test_writes_go_on_while_a_checkpoint_is_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

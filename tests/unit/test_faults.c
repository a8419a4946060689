/*
 * test_faults.c — the write path under injected disk faults, through the
 * public API (quiver.h), SQLite-style: for every failure point k of a
 * fixed sequence of writes, fail the k-th system call of one kind (write,
 * data sync, truncate) with a chosen errno or as a short write, and check
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
#include <unistd.h>

#include "quiver.h"
#include "storage/wal.h"
#include "util/fsutil.h"

/* ---- the fault seam ----------------------------------------------------- */

typedef enum fault_kind { F_WRITE, F_SHORT_WRITE, F_SYNC, F_TRUNCATE } fault_kind;

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

static ssize_t f_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
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

/* One round: fresh data directory, fault armed after the collection
 * exists, every write checked against what readers saw before it, then a
 * reopen checked against what readers saw last. */
static round_result run_round(fault_kind kind, int countdown, int errnum, bool sticky)
{
    char dir[] = "/tmp/qv-faults-XXXXXX";
    assert_non_null(mkdtemp(dir));
    qv_db *db;
    qv_error err;
    assert_int_equal(qv_open(dir, &db, &err), QV_OK);
    static const char cfg[] = "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}";
    assert_int_equal(qv_collection_create(db, "c", cfg, sizeof cfg - 1, &err), QV_OK);

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

/* A checkpoint's reset does not make a log trusted again after a failed
 * sync: only a reopen does. */
static void test_reset_keeps_a_broken_log_broken(void **state)
{
    char dir[] = "/tmp/qv-faults-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/wal.log", dir);
    wal *w;
    qv_error err;
    assert_int_equal(wal_open(path, 1, NULL, NULL, &w, NULL, &err), QV_OK);
    assert_int_equal(wal_append(w, 1, "a", 1, &err), QV_OK);
    F = (typeof(F)){.armed = true, .kind = F_SYNC, .err = EIO};
    assert_int_equal(wal_sync(w, &err), QV_IO);
    assert_true(wal_broken(w));
    assert_int_equal(wal_sync(w, &err), QV_IO);  /* never retried on the same file */
    assert_int_equal(wal_reset(w, 2, &err), QV_OK);
    assert_true(wal_broken(w));
    assert_int_equal(wal_append(w, 2, "b", 1, &err), QV_IO);
    wal_close(w);
    assert_int_equal(wal_open(path, 1, NULL, NULL, &w, NULL, &err), QV_OK);
    assert_false(wal_broken(w));
    assert_int_equal(wal_append(w, 2, "b", 1, &err), QV_OK);
    wal_close(w);
    qv_rm_rf(dir);
}

int main(void)
{
    wal_io.pwritev = f_pwritev;
    wal_io.fdatasync = f_fdatasync;
    wal_io.ftruncate = f_ftruncate;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_faults),
        cmocka_unit_test(test_sync_faults),
        cmocka_unit_test(test_write_and_truncate_fault),
        cmocka_unit_test(test_reset_keeps_a_broken_log_broken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

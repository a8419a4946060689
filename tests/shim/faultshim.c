/*
 * faultshim.c — an LD_PRELOAD library for the API fault tests; the server
 * under test is the real binary, unchanged. Test-only: never linked into
 * Quiver.
 *   QV_SHIM_FAIL_SYNC=FILE: while FILE exists, fdatasync fails with EIO (as
 *     a disk whose writeback failed would report it). The test creates and
 *     removes FILE to open and close the fault.
 *   QV_SHIM_HOLD_SYNC=DIR: once DIR/hold exists, the next fdatasync removes
 *     it, creates DIR/in-sync and hangs until DIR/release exists, then
 *     fails with EIO (a slow disk, then a writeback error); every pwritev
 *     made meanwhile creates DIR/appended after it wrote. So a test can
 *     put a write behind a sync that is still running, then fail that sync.
 *   QV_SHIM_SYNC_DELAY_US=N: every fdatasync takes N microseconds longer (a
 *     slow disk), to see how the write path overlaps its disk waits.
 *   QV_SHIM_HOLD_SNAP=DIR: once DIR/hold-snap exists, the next fsync of a
 *     points.snap.tmp (a checkpoint with every image written, its manifest
 *     not yet landed) removes it, creates DIR/in-snap-sync and hangs until
 *     DIR/release-snap exists (or the process is killed).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static atomic_bool holding;

static void touch(const char *dir, const char *name)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
}

static int exists(const char *dir, const char *name)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* The hanging sync: the test releases it; this is the fault itself (a
 * disk that takes its time), not a test's synchronisation. */
static int hold_then_fail(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/hold", dir);
    if (unlink(p) != 0)
        return 0;
    atomic_store(&holding, 1);
    touch(dir, "in-sync");
    struct timespec tick = {0, 1000000};
    while (!exists(dir, "release"))
        nanosleep(&tick, NULL);
    atomic_store(&holding, 0);
    errno = EIO;
    return -1;
}

int fdatasync(int fd)
{
    static int (*real)(int);
    const char *trigger = getenv("QV_SHIM_FAIL_SYNC");
    if (trigger && access(trigger, F_OK) == 0) {
        errno = EIO;
        return -1;
    }
    const char *hold = getenv("QV_SHIM_HOLD_SYNC");
    if (hold && exists(hold, "hold") && hold_then_fail(hold) != 0)
        return -1;
    const char *delay = getenv("QV_SHIM_SYNC_DELAY_US");
    if (delay) {
        long us = atol(delay);
        struct timespec d = {us / 1000000, us % 1000000 * 1000};
        nanosleep(&d, NULL);
    }
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real ? real(fd) : -1;
}

static int is_snap_tmp(int fd)
{
    char link[64], p[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, p, sizeof p - 1);
    if (n < 15)
        return 0;
    p[n] = 0;
    return strcmp(p + n - 15, "points.snap.tmp") == 0;
}

int fsync(int fd)
{
    static int (*real)(int);
    const char *hold = getenv("QV_SHIM_HOLD_SNAP");
    char p[PATH_MAX];
    if (hold && exists(hold, "hold-snap") && is_snap_tmp(fd) &&
        snprintf(p, sizeof p, "%s/hold-snap", hold) > 0 && unlink(p) == 0) {
        touch(hold, "in-snap-sync");
        struct timespec tick = {0, 1000000};
        while (!exists(hold, "release-snap"))
            nanosleep(&tick, NULL);
    }
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real ? real(fd) : -1;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    static ssize_t (*real)(int, const struct iovec *, int, off_t);
    if (!real)
        real = (ssize_t (*)(int, const struct iovec *, int, off_t))dlsym(RTLD_NEXT, "pwritev");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    ssize_t n = real(fd, iov, cnt, off);
    const char *hold = getenv("QV_SHIM_HOLD_SYNC");
    if (hold && atomic_load(&holding))
        touch(hold, "appended");
    return n;
}

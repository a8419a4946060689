/* fsutil.c — see fsutil.h. */
#define _GNU_SOURCE
#include "util/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files are written back a piece at a time as they are written, each
 * piece waited for: an fsync at the end then finds little to do, and the
 * log's fdatasync, on the same device, never queues behind a whole file's
 * worth of writes (which kept writes waiting while a checkpoint flushed).
 * A failure of the writeback is met again by that fsync. */
#define PACE_PIECE ((size_t)1 << 20)

static void pace(int fd, off_t off, size_t n)
{
    (void)sync_file_range(fd, off, (off_t)n,
                          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
}

int qv_pwrite_paced(int fd, const void *data, size_t len, off_t off)
{
    const char *p = data;
    while (len) {
        size_t k = len < PACE_PIECE ? len : PACE_PIECE, done = 0;
        while (done < k) {
            ssize_t n = pwrite(fd, p + done, k - done, off + (off_t)done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                if (n == 0)
                    errno = ENOSPC;
                return -1;
            }
            done += (size_t)n;
        }
        pace(fd, off, k);
        p += k;
        len -= k;
        off += (off_t)k;
    }
    return 0;
}

int qv_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static int write_atomic(const char *dir, const char *name, const qv_file_part *parts, size_t n_parts,
                        bool undo)
{
    char path[PATH_MAX], tmp[PATH_MAX], prev[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name) >= (int)sizeof tmp ||
        snprintf(prev, sizeof prev, "%s/%s.prev", dir, name) >= (int)sizeof prev) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    off_t off = 0;
    for (size_t i = 0; i < n_parts; off += (off_t)parts[i].len, i++)
        if (qv_pwrite_paced(fd, parts[i].data, parts[i].len, off) != 0)
            goto fail;
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    /* Keep the old file reachable as NAME.prev (a hard link: no copy) so
     * that a rename whose directory fsync fails can be taken back. */
    bool had_old = false, no_old = false;
    if (undo) {
        unlink(prev);
        had_old = link(path, prev) == 0;
        no_old = !had_old && errno == ENOENT;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        if (had_old)
            unlink(prev);
        errno = e;
        goto fail;
    }
    if (qv_fsync_dir(dir) != 0) {
        int e = errno;
        if (had_old)
            rename(prev, path);
        else if (no_old)
            unlink(path);
        qv_fsync_dir(dir);  /* best effort: the disk just failed */
        errno = e;
        return -1;
    }
    if (had_old)
        unlink(prev);  /* not synced: a NAME.prev left by a crash is harmless */
    return 0;
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = e;
    return -1;
}

int qv_write_file_atomic(const char *dir, const char *name, const void *data, size_t len)
{
    qv_file_part part = {data, len};
    return write_atomic(dir, name, &part, 1, true);
}

int qv_write_file_atomic_parts(const char *dir, const char *name, const qv_file_part *parts, size_t n)
{
    return write_atomic(dir, name, parts, n, true);
}

int qv_write_file_atomic_keep(const char *dir, const char *name, const void *data, size_t len)
{
    qv_file_part part = {data, len};
    return write_atomic(dir, name, &part, 1, false);
}

int qv_read_file(const char *path, size_t max, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0)
        goto fail;
    if ((size_t)st.st_size > max) {
        errno = EFBIG;
        goto fail;
    }
    size_t size = (size_t)st.st_size, got = 0;
    buf = malloc(size + 1);
    if (!buf)
        goto fail;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;  /* shrank while reading */
            goto fail;
        }
        got += (size_t)n;
    }
    buf[size] = '\0';
    close(fd);
    *data = buf;
    *len = size;
    return 0;
fail:;
    int e = errno;
    free(buf);
    close(fd);
    errno = e;
    return -1;
}

int qv_mkdir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

int qv_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[PATH_MAX];
        if (snprintf(child, sizeof child, "%s/%s", path, e->d_name) >= (int)sizeof child) {
            errno = ENAMETOOLONG;
            rc = -1;
            continue;
        }
        if (qv_rm_rf(child) != 0)
            rc = -1;
    }
    closedir(d);
    if (rmdir(path) != 0 && errno != ENOENT)
        rc = -1;
    return rc;
}

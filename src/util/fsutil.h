/*
 * fsutil.h — file operations with the durability rules of the engine.
 *
 * A file is replaced atomically: written to NAME.tmp, fsynced, renamed over
 * NAME, and the directory fsynced, so after a crash NAME holds either the
 * old or the new bytes, never a mix.
 * All functions return 0, or -1 with errno set.
 */
#ifndef QV_UTIL_FSUTIL_H
#define QV_UTIL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Replace dir/name with len bytes of data, atomically and durably. On
 * failure dir/name holds the old bytes (or is absent, as before), also when
 * the rename happened but the directory fsync after it failed: the rename
 * is then taken back (the old file is kept as a hard link NAME.prev until
 * the new one is durable), so a caller that reports the failure and keeps
 * the old state in memory agrees with what a restart reads. Only a second
 * failure while taking it back (its own rename or fsync) leaves the
 * outcome to the disk. Costs a link and an unlink besides the two fsyncs. */
int qv_write_file_atomic(const char *dir, const char *name, const void *data, size_t len);
/* The same with the bytes of n parts one after another (no copy). */
typedef struct qv_file_part {
    const void *data;
    size_t      len;
} qv_file_part;
int qv_write_file_atomic_parts(const char *dir, const char *name, const qv_file_part *parts, size_t n);
/* pwrite all of data at off (a short write is retried; none at all is
 * ENOSPC), written back to the disk a piece at a time as it goes (so that
 * other syncs on the device do not queue behind it; still fsync after):
 * 0, or -1 with errno. The atomic writes above pace the same way. */
int qv_pwrite_paced(int fd, const void *data, size_t len, off_t off);
/* The same, except that a failed directory fsync leaves the new file in
 * place: for a file that had better win whenever it reaches the disk (the
 * log's void list, whose caller stops trusting the log on failure). */
int qv_write_file_atomic_keep(const char *dir, const char *name, const void *data, size_t len);
/* Read a whole file of at most max bytes into a malloc'd, NUL-terminated
 * buffer (EFBIG if larger). */
int qv_read_file(const char *path, size_t max, char **data, size_t *len);
/* fsync a directory, making renames and creations in it durable. */
int qv_fsync_dir(const char *dir);
/* mkdir that accepts an existing directory. */
int qv_mkdir(const char *path);
/* Remove path and everything under it; a missing path is not an error. */
int qv_rm_rf(const char *path);

#endif

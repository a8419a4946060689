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

/* Replace dir/name with len bytes of data, atomically and durably. */
int qv_write_file_atomic(const char *dir, const char *name, const void *data, size_t len);
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

/*
 * wal.h — a collection's write-ahead log: an append-only file of records,
 * each one whole request (an upsert, a batch, ...) under one sequence
 * number, checksummed so that recovery can tell a complete record from a
 * torn or damaged tail.
 *
 * File format (little-endian; also in docs/FORMAT.md):
 *   header, 32 bytes:
 *     OFFSET SIZE DESCRIPTION
 *     0      8    magic "QVWAL\0\0\0"
 *     8      4    format version (1)
 *     12     4    reserved, 0
 *     16     8    first sequence number the file may hold (records below it are stale)
 *     24     4    CRC32C of bytes 0..23
 *     28     4    reserved, 0
 *   then records, each:
 *     0      4    n: length of the body in bytes
 *     4      4    CRC32C of bytes 8 .. 16+n (sequence number and body)
 *     8      8    sequence number (strictly increasing in the file)
 *     16     n    body (opaque to this module)
 *     16+n   pad  zero bytes up to a multiple of 8
 *
 * Sequence numbers start at 1 (first_seq >= 1), so "none yet" is
 * first_seq - 1 without wrapping.
 *
 * The file is preallocated ahead of the appends (zeros past the last
 * record, so that fdatasync need not commit a new file size each time); a
 * clean wal_close cuts it back to the records.
 *
 * Recovery rule: records are read in order from offset 32; a head of 16
 * zero bytes is preallocated space and ends the log quietly; the first one
 * whose head or body+padding runs past the end of the file, whose n exceeds
 * WAL_MAX_RECORD, whose CRC does not match, or whose sequence number is not
 * above the previous one (the first must be >= the header's first_seq)
 * ends the log: the file is truncated there (preallocated space too).
 * Records after a damaged one
 * are dropped even if intact. Padding bytes are not checked.
 *
 * Durability: wal_append only writes (page cache); wal_sync makes every
 * record appended so far durable (fdatasync). The caller batches several
 * appends per sync (group commit). A new file is complete and durable (header written to "<path>.tmp",
 * fsynced, renamed, directory fsynced): a crash never leaves a torn header.
 * Errors: QV_IO means the disk failed. A failed wal_append undoes its
 * partial write, and the log stays usable (retry or go on). The log is
 * broken — it refuses every append and sync with QV_IO until it is closed
 * and reopened, which rereads what really is on disk — when that undo
 * fails, after a failed wal_sync (Linux may drop unwritten pages and
 * report success next time, so a sync is never retried on the same file),
 * and after a wal_void that could not be made durable. A log is one file:
 * the caller keeps a log in segments (one wal per file, a new one after
 * each checkpoint: collection.h) and never starts a segment after a
 * broken one.
 * Threading: one thread at a time, with one exception: wal_sync may run in
 * one thread while another calls wal_append, wal_mark, wal_rewind (to a
 * mark at or after the end of what that sync must cover), wal_void,
 * wal_size or wal_broken. The sync then makes durable at least every
 * record whose wal_append returned before wal_sync was called; records
 * appended meanwhile may or may not be covered (sync them again). A
 * failure the sync reports breaks the log for the other thread too: its
 * next append fails. Every other pair of calls needs the log to itself
 * (the caller locks: see collection.h).
 */
#ifndef QV_STORAGE_WAL_H
#define QV_STORAGE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "quiver.h"

#define WAL_MAX_RECORD (1u << 30)  /* a body larger than this is damage */

typedef struct wal wal;

/*
 * Open or create the log at path. A new file gets a header with
 * first_seq. An existing one keeps its header's first_seq (the argument is
 * then unused) and is scanned: every complete record with a good checksum
 * and increasing sequence number is passed, in order, to replay (if not
 * NULL; the body pointer is 8-byte aligned and valid only during the call).
 * The first bad record ends the scan: the file is cut there (logged as a
 * warning with the offset and reason) so that appends continue after the
 * last good record. A replay callback returning non-zero aborts the open
 * with QV_CORRUPT (the file is left as it was). *last_seq (may be NULL)
 * gets the sequence number of the last good record, or first_seq - 1 from
 * the header when there is none.
 * The scan reads 1 MiB at a time and holds the largest record in memory.
 * Errors: QV_CORRUPT for a bad header (magic, version, checksum, short
 * file), QV_IO naming path and errno, QV_NOMEM, QV_INTERNAL for
 * first_seq 0. On failure *out is NULL.
 */
qv_status wal_open(const char *path, uint64_t first_seq,
                   int (*replay)(void *ctx, uint64_t seq, const void *body, size_t len), void *ctx,
                   wal **out, uint64_t *last_seq, qv_error *err);

/* Append one record (written, not yet synced): one pwritev of head, body
 * and padding. seq must exceed the last (QV_INTERNAL otherwise); len over
 * WAL_MAX_RECORD is QV_BAD_INPUT. Nothing changes on failure. */
qv_status wal_append(wal *w, uint64_t seq, const void *body, size_t len, qv_error *err);

/* Make everything appended durable. */
qv_status wal_sync(wal *w, qv_error *err);

/* Bytes of header and records now, to decide when to checkpoint (the file
 * may hold preallocated space past them). */
uint64_t wal_size(const wal *w);
/* Whether the file holds no record. */
bool     wal_empty(const wal *w);

/* Preallocate the file no further than bytes (until changed; default: no
 * limit): the size at which the caller will checkpoint and start a new file, so
 * that the file never holds more than the log is allowed to grow to. Past
 * it, appends grow the file themselves. Same thread as wal_append. */
void wal_prealloc_limit(wal *w, uint64_t bytes);

/* Close (no sync). NULL is a no-op. */
void wal_close(wal *w);

/* Whether the log refuses appends (an earlier write or sync failed);
 * only closing and reopening it clears that. */
bool wal_broken(const wal *w);

/* A place in the log to come back to: take it before appending a commit
 * group, rewind to it when the group cannot be logged whole. */
typedef struct wal_pos {
    uint64_t size, last_seq;
} wal_pos;
wal_pos   wal_mark(const wal *w);
/* Cut every record appended after pos (ftruncate). If the cut fails the
 * log is broken (QV_IO). */
qv_status wal_rewind(wal *w, wal_pos pos, qv_error *err);

/*
 * Void records lo..hi: they stay in the file but replay never passes them
 * on. For records that are (or may be) on disk yet must not take effect: a
 * group whose fdatasync failed (its bytes may still reach the disk later),
 * a record whose apply failed for a reason replay would not meet again (out
 * of memory). The list lives in "<path>.void", replaced atomically and
 * durably on each call (temp, fsync, rename, fsync dir) — a file of its
 * own, so a log file whose writeback failed is never trusted with it.
 * Format (little-endian; docs/FORMAT.md):
 *     OFFSET SIZE DESCRIPTION
 *     0      8    magic "QVVOID\0\0"
 *     8      4    version (1)
 *     12     4    n: ranges
 *     16     16*n ranges: u64 lo, u64 hi (inclusive)
 *     16+16n 4    CRC32C of every byte before it
 * A damaged list makes wal_open fail with QV_CORRUPT: replaying records
 * that were voided would resurrect writes answered as failed.
 * Memory: the call allocates nothing when it matters most (after an apply
 * that failed for want of memory): room for the next range and its
 * encoding is reserved at open and after each void.
 * Errors: QV_IO if the list could not be made durable, QV_NOMEM only when
 * that reserve could not be made earlier (the range is then not voided
 * and the log is broken: nothing more is appended to a log whose replay
 * would apply something it must not), QV_INTERNAL for lo > hi.
 */
typedef struct wal_range {
    uint64_t lo, hi;
} wal_range;
qv_status wal_void(wal *w, uint64_t lo, uint64_t hi, qv_error *err);

/* The system calls the log makes, replaceable by tests to inject faults
 * (short writes, ENOSPC, EIO on write and sync, failed truncates). */
typedef struct wal_io_ops {
    ssize_t (*pwritev)(int fd, const struct iovec *iov, int cnt, off_t off);
    int (*fdatasync)(int fd);
    int (*fsync)(int fd);
    int (*ftruncate)(int fd, off_t len);
    int (*fallocate)(int fd, off_t off, off_t len);  /* mode 0: allocate and extend */
} wal_io_ops;
extern wal_io_ops wal_io;

#endif

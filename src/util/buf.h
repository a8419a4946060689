/*
 * buf.h — growable byte buffer (malloc-backed), used for response bodies,
 * file images and anything that is written front to back.
 *
 * Growth doubles the capacity, so appending N bytes costs O(N) amortised.
 * On allocation failure the buffer sets `oom` and drops further appends;
 * callers check qv_buf_ok() once at the end instead of after every append.
 * data is always NUL-terminated when cap > 0 (not counted in len).
 * Threading: none.
 */
#ifndef QV_UTIL_BUF_H
#define QV_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct qv_buf {
    char  *data;
    size_t len;
    size_t cap;
    bool   oom;  /* an allocation failed; contents are incomplete */
} qv_buf;

#define QV_BUF_INIT {NULL, 0, 0, false}

/* Make room for at least extra more bytes; false (and oom set) on failure. */
bool qv_buf_reserve(qv_buf *b, size_t extra);
void qv_buf_append(qv_buf *b, const void *p, size_t n);
void qv_buf_printf(qv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the bytes to the caller (who frees them); the buffer becomes empty. */
char *qv_buf_detach(qv_buf *b, size_t *len);
void qv_buf_free(qv_buf *b);

static inline bool qv_buf_ok(const qv_buf *b) { return !b->oom; }
static inline void qv_buf_putc(qv_buf *b, char c)
{
    if (b->len + 1 < b->cap || qv_buf_reserve(b, 1)) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
    }
}
static inline void qv_buf_puts(qv_buf *b, const char *s) { qv_buf_append(b, s, strlen(s)); }

#endif

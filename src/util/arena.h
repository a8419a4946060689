/*
 * arena.h — bump allocator for memory that dies together (one request, one parse).
 *
 * Allocation is a pointer bump inside the current block; a block that is too
 * small is followed by a new one of max(request, 2 x previous) bytes, so N
 * bytes cost O(log N) malloc calls. Nothing is freed one by one: qv_arena_reset
 * keeps the newest (largest) block for reuse, qv_arena_free returns
 * everything.
 *
 * Threading: none; an arena belongs to one thread at a time.
 * Failure: qv_arena_alloc returns NULL when malloc fails or size overflows.
 */
#ifndef QV_UTIL_ARENA_H
#define QV_UTIL_ARENA_H

#include <stddef.h>

typedef struct qv_arena_block qv_arena_block;

typedef struct qv_arena {
    qv_arena_block *head;     /* newest block; allocations come from here */
    size_t          first_size; /* size of the first block */
    size_t          total;    /* bytes malloc'd by this arena, for accounting */
} qv_arena;

/* Start an arena whose first block holds first_size bytes (0: a default). */
void  qv_arena_init(qv_arena *a, size_t first_size);
/* Return size bytes aligned to 16; NULL on overflow or out of memory. */
void *qv_arena_alloc(qv_arena *a, size_t size);
/* As qv_arena_alloc, zero-filled. */
void *qv_arena_calloc(qv_arena *a, size_t n, size_t size);
/* Copy len bytes of s into the arena and NUL-terminate. */
char *qv_arena_strndup(qv_arena *a, const char *s, size_t len);
/* printf into the arena. */
char *qv_arena_printf(qv_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Forget every allocation; keeps the newest (largest) block. */
void  qv_arena_reset(qv_arena *a);
/* Free every block; the arena may be initialised again. */
void  qv_arena_free(qv_arena *a);

#endif

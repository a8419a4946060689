/* arena.c — see arena.h. */
#include "util/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_DEFAULT_FIRST 4096

struct qv_arena_block {
    qv_arena_block *prev;
    size_t          size;  /* usable bytes in data */
    size_t          used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void qv_arena_init(qv_arena *a, size_t first_size)
{
    a->head = NULL;
    a->first_size = first_size ? first_size : ARENA_DEFAULT_FIRST;
    a->total = 0;
}

static qv_arena_block *arena_grow(qv_arena *a, size_t need)
{
    size_t size = a->head ? a->head->size * 2 : a->first_size;
    if (size < need)
        size = need;
    if (size > SIZE_MAX - sizeof(qv_arena_block))
        return NULL;
    qv_arena_block *b = malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    b->prev = a->head;
    b->size = size;
    b->used = 0;
    a->head = b;
    a->total += size;
    return b;
}

void *qv_arena_alloc(qv_arena *a, size_t size)
{
    if (size > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    qv_arena_block *b = a->head;
    if (!b || b->size - b->used < size) {
        b = arena_grow(a, size);
        if (!b)
            return NULL;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

void *qv_arena_calloc(qv_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = qv_arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

char *qv_arena_strndup(qv_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = qv_arena_alloc(a, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

char *qv_arena_printf(qv_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = qv_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void qv_arena_reset(qv_arena *a)
{
    /* Keep the newest block: it is the largest, so an arena reused for
     * similar work settles on one block and stops calling malloc. */
    qv_arena_block *keep = a->head;
    if (!keep)
        return;
    for (qv_arena_block *b = keep->prev; b;) {
        qv_arena_block *prev = b->prev;
        a->total -= b->size;
        free(b);
        b = prev;
    }
    keep->prev = NULL;
    keep->used = 0;
}

void qv_arena_free(qv_arena *a)
{
    qv_arena_reset(a);
    free(a->head);
    a->head = NULL;
    a->total = 0;
}

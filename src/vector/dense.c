/* dense.c — chunk memory of dense vector columns (dense.h). */
#define _GNU_SOURCE
#include "vector/dense.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

float *vec_chunk_alloc(uint32_t dim, bool mapped)
{
    size_t bytes = vec_chunk_bytes(dim);
    if (mapped) {
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    bytes = (bytes + VEC_ALIGN - 1) / VEC_ALIGN * VEC_ALIGN;  /* aligned_alloc wants a multiple */
    return aligned_alloc(VEC_ALIGN, bytes);
}

void vec_chunk_free(float *chunk, uint32_t dim, bool mapped)
{
    if (!mapped)
        free(chunk);
    else if (chunk)
        munmap(chunk, vec_chunk_bytes(dim));
}

bool vec_chunk_map(float *chunk, uint32_t dim, int fd, uint64_t off)
{
    void *p = mmap(chunk, vec_chunk_bytes(dim), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, (off_t)off);
    if (p == MAP_FAILED)
        return false;
    /* Graph walks read vectors at random: no read-ahead around a fault,
     * which would make resident what no search asked for. */
    (void)madvise(p, vec_chunk_bytes(dim), MADV_RANDOM);
    return true;
}

bool vec_chunk_detach(float *chunk, uint32_t dim)
{
    size_t bytes = vec_chunk_bytes(dim);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    memcpy(p, chunk, bytes);
    if (mremap(p, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, chunk) == MAP_FAILED) {
        munmap(p, bytes);
        return false;
    }
    return true;
}

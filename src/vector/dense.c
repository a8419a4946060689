/* dense.c — chunk memory of dense vector columns (dense.h). */
#include "vector/dense.h"

#include <stdlib.h>

float *vec_chunk_alloc(uint32_t dim)
{
    size_t bytes = (size_t)VEC_CHUNK * dim * sizeof(float);
    bytes = (bytes + VEC_ALIGN - 1) / VEC_ALIGN * VEC_ALIGN;  /* aligned_alloc wants a multiple */
    return aligned_alloc(VEC_ALIGN, bytes);
}

void vec_chunk_free(float *chunk) { free(chunk); }

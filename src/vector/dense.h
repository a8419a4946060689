/*
 * dense.h — a column of dense vectors, one per vector name of a collection.
 *
 * Vectors live in chunks of VEC_CHUNK slots (dim floats per slot, 64-byte
 * aligned, so SIMD loads of a vector whose dim is a multiple of 16 never
 * split a cache line). Growth adds chunks and never moves a vector, so a
 * pointer to a vector stays valid while its chunk exists: readers (search,
 * the HNSW builder) may keep using a column's chunks while the writer adds
 * new ones, as long as the chunk-pointer array they read is not freed under
 * them (the owner's business; core/ swaps it under its lock).
 *
 * Saved chunks: the owner (core/'s checkpoint) records, per chunk, whether
 * it changed since it was last saved (dirty) and where that saved image
 * lies in the column's chunk file and its checksum (saved_at, saved_crc),
 * so that a checkpoint writes only the chunks that changed.
 *
 * Threading: none of its own. Who owns what: the column owns its name, its
 * chunk array, every chunk, its presence bits and the saved-chunk record.
 */
#ifndef QV_VECTOR_DENSE_H
#define QV_VECTOR_DENSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEC_CHUNK_SHIFT 10
#define VEC_CHUNK       (1u << VEC_CHUNK_SHIFT)  /* slots per chunk */
#define VEC_ALIGN       64

typedef struct vec_dense {
    char     *name;    /* the vector's name ("" = the unnamed one) */
    uint32_t  dim;
    bool      on_disk; /* chunks are mappings: of the column's chunk file once saved
                        * (MAP_PRIVATE: a write copies the page), else anonymous */
    float   **chunks;  /* chunks of VEC_CHUNK * dim floats, VEC_ALIGN-aligned */
    uint64_t *has;     /* presence bit per slot */
    uint8_t  *dirty;   /* per chunk (as many entries as chunks has room for): written
                        * since it was last saved */
    uint32_t  file_no; /* its chunk file's number; 0: none yet */
    float   **spare;   /* n_spare chunk-sized buffers (cap_spare room) for a checkpoint's copies */
    uint32_t  n_spare, cap_spare;
    bool      pinned;  /* a chunk maps an image no checkpoint names, and could not be
                        * moved off it: the file is never cut, new images go past its end */
    uint32_t  n_saved; /* chunks with an entry in saved_at and saved_crc */
    uint32_t *saved_at, *saved_crc; /* per chunk: its location in the chunk file as
                                     * of the last checkpoint (UINT32_MAX none), CRC32C */
} vec_dense;

/* The vector of slot (its chunk must exist; its bit says if it is set). */
static inline const float *vec_dense_get(const vec_dense *d, uint32_t slot)
{
    return d->chunks[slot >> VEC_CHUNK_SHIFT] + (size_t)(slot & (VEC_CHUNK - 1)) * d->dim;
}

static inline bool vec_dense_has(const vec_dense *d, uint32_t slot)
{
    return d->has[slot >> 6] >> (slot & 63) & 1;
}

/* One chunk for dim floats per slot, aligned (mapped: page-aligned,
 * replaceable by vec_chunk_map); NULL when out of memory. Free it with
 * vec_chunk_free, with the same dim and mapped. */
float *vec_chunk_alloc(uint32_t dim, bool mapped);
void   vec_chunk_free(float *chunk, uint32_t dim, bool mapped);
/* The bytes of a chunk of dim floats per slot (a multiple of the page size
 * for any dim: VEC_CHUNK x 4 bytes per float). */
static inline size_t vec_chunk_bytes(uint32_t dim) { return (size_t)VEC_CHUNK * dim * sizeof(float); }
/* Map the chunk's image at offset off of fd over a mapped chunk, in place
 * (its address stays; what it held is dropped: the image must hold the
 * same bytes, or the caller must want them). False if the system refused
 * (the chunk is then as it was). */
bool   vec_chunk_map(float *chunk, uint32_t dim, int fd, uint64_t off);
/* Move a mapped chunk's bytes to anonymous memory, in place (one mremap:
 * a reader sees the same bytes throughout), so that it no longer reads any
 * file. The chunk must not be written meanwhile. False if the system
 * refused (the chunk is then as it was). */
bool   vec_chunk_detach(float *chunk, uint32_t dim);

#endif

/*
 * config.h — a collection's configuration: the typed form the engine uses,
 * and its one JSON codec, shared by the API (CreateCollection,
 * UpdateCollection, CollectionConfig shapes of Qdrant) and by the
 * collection's config file on disk (the CollectionConfig shape).
 *
 * The tunable sections (hnsw, optimizers, wal, sparse index params) are
 * described by field tables: one table drives parsing, range validation,
 * applying a diff and printing, so a new field is one line.
 *
 * Ownership: a cfg_collection owns its strings and arrays; free it with
 * cfg_free. Threading: none (callers hold the catalog lock).
 */
#ifndef QV_CORE_CONFIG_H
#define QV_CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "json/jr.h"
#include "json/jw.h"
#include "quiver.h"

#define CFG_MAX_DIM 65536          /* Qdrant's limit on a dense vector's size */
#define CFG_MAX_NAMED_VECTORS 256  /* named dense + sparse vectors per collection */

typedef enum cfg_distance {
    CFG_COSINE = 0,
    CFG_EUCLID,
    CFG_DOT,
    CFG_MANHATTAN,
} cfg_distance;

extern const char *const cfg_distance_names[4];

/* A section of plain fields (numbers, booleans). `set` has bit i when the
 * section's field i was given (or, for a complete section, is not null). */
typedef struct cfg_hnsw {
    uint32_t set;
    uint64_t m, ef_construct, full_scan_threshold, max_indexing_threads, payload_m;
    bool     on_disk, inline_storage;
} cfg_hnsw;

typedef struct cfg_optimizers {
    uint32_t set;
    double   deleted_threshold;
    uint64_t vacuum_min_vector_number, default_segment_number, max_segment_size,
             memmap_threshold, indexing_threshold, flush_interval_sec,
             max_optimization_threads;
    bool     prevent_unoptimized;
} cfg_optimizers;

typedef struct cfg_wal {
    uint32_t set;
    uint64_t wal_capacity_mb, wal_segments_ahead, wal_retain_closed;
} cfg_wal;

typedef struct cfg_sparse_index {
    uint32_t set;
    uint64_t full_scan_threshold;
    bool     on_disk;
} cfg_sparse_index;

typedef struct cfg_vector {
    char        *name;          /* "" for the single unnamed vector */
    uint32_t     size;          /* dimension, 1..CFG_MAX_DIM */
    cfg_distance distance;
    bool         on_disk_set, on_disk;
    bool         datatype_set;  /* "float32" was given (the only type stored) */
    cfg_hnsw     hnsw;          /* per-vector override: a diff (set bits only) */
} cfg_vector;

typedef struct cfg_sparse {
    char            *name;
    bool             has_index;
    cfg_sparse_index index;     /* a diff */
    bool             idf;       /* modifier "idf" (else none) */
    bool             modifier_set;
} cfg_sparse;

typedef struct cfg_collection {
    bool        unnamed;        /* vectors given as one VectorParams, not a map */
    uint32_t    n_vectors;
    cfg_vector *vectors;
    uint32_t    n_sparse;
    cfg_sparse *sparse;
    uint32_t    shard_number, replication_factor, write_consistency_factor;
    bool        on_disk_payload;
    cfg_hnsw       hnsw;        /* complete */
    cfg_optimizers optimizers;  /* complete */
    cfg_wal        wal;         /* complete */
    char       *metadata_json;  /* an object's compact JSON, or NULL */
} cfg_collection;

typedef enum cfg_shape {
    CFG_CREATE,   /* CreateCollection (PUT /collections/{name} body) */
    CFG_STORED,   /* CollectionConfig (our config file; GET's "config") */
} cfg_shape;

/* Set every field to Qdrant's defaults (no vectors). */
void cfg_defaults(cfg_collection *c);

/* Parse a CreateCollection or CollectionConfig document (root may be NULL
 * for "all defaults") into c, which starts from defaults. Validates fully.
 * On failure c is freed and err says why (QV_BAD_FORMAT / QV_VALIDATION /
 * QV_UNSUPPORTED). */
qv_status cfg_parse(const jr_value *root, cfg_shape shape, cfg_collection *c, qv_error *err);

/* Apply an UpdateCollection document to a copy of *c. On success *c is
 * replaced by the updated config; on failure *c is unchanged. */
qv_status cfg_update(const jr_value *patch, cfg_collection *c, qv_error *err);

/* Print c as CollectionConfig. */
void cfg_print(jw *w, const cfg_collection *c);

/* Deep copy; QV_NOMEM on failure. */
qv_status cfg_copy(cfg_collection *dst, const cfg_collection *src, qv_error *err);
void cfg_free(cfg_collection *c);

/* Copy into dst what a PATCH may change and the engine tunes by (hnsw and
 * optimizer settings, per-vector hnsw and on_disk, sparse index params and
 * modifier, on_disk_payload), vectors matched by name: only scalars are
 * written, nothing is allocated, so it cannot fail and readers of dst's
 * vector list (names, sizes) are undisturbed. */
void cfg_take_tuning(cfg_collection *dst, const cfg_collection *src);

/* Longest vector name, in bytes (Qdrant's limit). */
#define CFG_MAX_VECTOR_NAME_LEN 200

/* Refuse a name holding any of < > : " / \ | ? *, NUL or U+001F, with
 * Qdrant's message `<kind> name cannot contain "<c>" char` (QV_VALIDATION).
 * name is counted (len bytes; JSON strings may hold NUL). */
qv_status cfg_name_chars_check(const char *kind, const char *name, size_t len, qv_error *err);

/* A dense or sparse vector name as Qdrant accepts it: 1 to
 * CFG_MAX_VECTOR_NAME_LEN bytes and cfg_name_chars_check("vector"). */
qv_status cfg_vector_name_check(const char *name, size_t len, qv_error *err);

/* The dense vector named name ("" = unnamed), or NULL. */
const cfg_vector *cfg_find_vector(const cfg_collection *c, const char *name);
/* Index of the sparse vector named name, or -1. */
int cfg_find_sparse(const cfg_collection *c, const char *name);

/* A vector to add to a collection (PUT /collections/{c}/vectors/{name}):
 * Qdrant's VectorNameConfig, {"dense": DenseVectorConfig} or
 * {"sparse": SparseVectorConfig}. Names are unset (NULL). */
typedef struct cfg_new_vector {
    bool       sparse;
    cfg_vector dense;
    cfg_sparse sp;
} cfg_new_vector;

/* Parse a VectorNameConfig, validated as at collection creation (the size
 * range message is "dense.size: value 0 invalid, must be from 1 to 65536"). */
qv_status cfg_parse_new_vector(const jr_value *root, cfg_new_vector *nv, qv_error *err);

/* Add nv as vector name, at the end of its kind (dense vectors keep their
 * indices, and an unnamed vector becomes the map entry ""). The same name
 * with the same space (size, distance, datatype; modifier) is a no-op
 * (*added false); with another, or as the other kind, QV_BAD_INPUT in
 * Qdrant's words. On failure c is unchanged. */
qv_status cfg_add_vector(cfg_collection *c, const char *name, const cfg_new_vector *nv,
                         bool *added, qv_error *err);

/* Remove vector name (dense or sparse); false if there is none. The
 * vectors after it move down one index. Cannot fail. */
bool cfg_remove_vector(cfg_collection *c, const char *name);

#endif

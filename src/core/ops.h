/*
 * ops.h — write operations: the typed form, its parser from Qdrant's JSON
 * shapes, and its binary encoding (the body of one WAL record).
 *
 * A request (an upsert, a delete, a batch of N operations, …) becomes one
 * op_batch: parsed and validated in full against the collection's config
 * by the request thread, encoded as one record, logged, then decoded and
 * applied by the collection's writer. Replay after a crash decodes the same
 * bytes, so what is recovered is exactly what was applied.
 *
 * Record body format (little-endian; also in docs/FORMAT.md):
 *   u32 n_ops, then n_ops times:
 *     u8 kind (op_kind), u8 flags (OPF_*), u16 0, u32 n: byte length of the op body
 *       flags: OPF_FILTER 0x01 (an update_filter precedes the points);
 *              OPF_INSERT_ONLY 0x02, OPF_UPDATE_ONLY 0x04 (UPSERT's update_mode;
 *              neither: upsert; both: malformed); other bits: malformed
 *     op body:
 *       UPSERT, UPDATE_VECTORS: [OPF_FILTER: u32 len, filter JSON] u32 n_points, then
 *           points: u8 uuid, u64 hi, u64 lo,
 *                   (UPSERT only) u32 payload length or 0xFFFFFFFF for none, payload blob,
 *                   u16 n_vectors, then vectors: u8 sparse, u16 index, u32 n,
 *                                   (sparse) u32 indices[n], f32 values[n]
 *       DELETE, CLEAR_PAYLOAD:           selector
 *       SET_PAYLOAD, OVERWRITE_PAYLOAD:  u32 len, payload blob, u32 len, key path, selector
 *       DELETE_PAYLOAD:                  u32 n_keys, then (u32 len, key path) each, selector
 *       DELETE_VECTORS:                  u16 n, then (u8 sparse, u16 index) each, selector
 *   selector: u8 1, u32 len, filter JSON   |   u8 0, u32 n, then n ids (u8 uuid, u64 hi, u64 lo)
 *
 * Memory: parsed and decoded batches live in the caller's arena and may
 * point into the JSON tree or the record bytes, which must outlive them.
 */
#ifndef QV_CORE_OPS_H
#define QV_CORE_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "json/jpid.h"
#include "filter/filter.h"
#include "json/jr.h"
#include "quiver.h"
#include "util/arena.h"
#include "util/buf.h"

#define OPS_MAX_OPERATIONS 10000   /* operations in one batch request */
#define OPS_MAX_POINTS     100000  /* points in one upsert / update_vectors */
#define OPS_MAX_SPARSE_NNZ 1000000 /* non-zeros in one sparse vector */

typedef enum op_kind {
    OP_UPSERT = 1,
    OP_DELETE,
    OP_SET_PAYLOAD,
    OP_OVERWRITE_PAYLOAD,
    OP_DELETE_PAYLOAD,
    OP_CLEAR_PAYLOAD,
    OP_UPDATE_VECTORS,
    OP_DELETE_VECTORS,
} op_kind;

#define OPF_FILTER      0x01  /* UPSERT / UPDATE_VECTORS carry an update_filter */
#define OPF_INSERT_ONLY 0x02  /* UPSERT: update_mode insert_only */
#define OPF_UPDATE_ONLY 0x04  /* UPSERT: update_mode update_only */

/* An upsert's update_mode (Qdrant's UpdateMode), judged per point against
 * the state before the operation (as Qdrant does: an id listed twice in one
 * operation is judged by the state before it both times; a later operation
 * of a batch sees what the earlier ones wrote):
 *   UPSERT       new ids inserted; existing ones replaced if they match the
 *                update_filter (all of them without one);
 *   INSERT_ONLY  new ids inserted; existing ones untouched (update_filter
 *                ignored, as in Qdrant);
 *   UPDATE_ONLY  existing ids that match the update_filter replaced; new
 *                ids skipped. */
typedef enum op_update_mode { OPM_UPSERT, OPM_INSERT_ONLY, OPM_UPDATE_ONLY } op_update_mode;

typedef struct op_vector {
    bool            sparse;
    uint16_t        index;    /* into cfg->vectors or cfg->sparse */
    uint32_t        n;        /* dense: the dimension; sparse: non-zeros */
    const float    *values;
    const uint32_t *indices;  /* sparse only */
} op_vector;

typedef struct op_point {
    qv_point_id    id;
    const uint8_t *payload;   /* NULL: not given (an upsert then clears it) */
    uint32_t       payload_len;
    uint16_t       n_vectors;
    op_vector     *vectors;
} op_point;

typedef struct op_selector {
    bool         by_filter;
    uint32_t     n_ids;
    qv_point_id *ids;
    const char  *filter_json;  /* compact text, kept for the record */
    uint32_t     filter_len;
    flt_filter  *filter;       /* parsed */
} op_selector;

typedef struct op_item {
    op_kind        kind;
    uint32_t       n_points;   /* UPSERT, UPDATE_VECTORS */
    op_point      *points;
    const char    *update_filter_json;  /* UPSERT, UPDATE_VECTORS: NULL or text */
    uint32_t       update_filter_len;
    flt_filter    *update_filter;
    op_update_mode mode;       /* UPSERT */
    op_selector    sel;        /* the others */
    const uint8_t *payload;    /* SET/OVERWRITE_PAYLOAD */
    uint32_t       payload_len;
    const char    *key;        /* SET_PAYLOAD key path, or NULL */
    uint32_t       key_len;
    uint32_t       n_keys;     /* DELETE_PAYLOAD */
    const char   **keys;
    uint32_t      *key_lens;
    pl_path       *paths;      /* parsed keys (DELETE_PAYLOAD) or key (SET_PAYLOAD) */
    uint16_t       n_names;    /* DELETE_VECTORS */
    op_vector     *names;      /* sparse + index only */
} op_item;

typedef struct op_batch {
    uint32_t n;
    op_item *ops;
    uint64_t seq;  /* the operation id of ops[0] (ops[i] is seq + i), for point versions;
                    * 0 = not known. Set by whoever applies the batch, not by the codec. */
} op_batch;

/* How to read a write request's JSON for ops_parse (jr_parse_opts): arrays
 * of numbers below `vector`/`vectors` in float form, never below payloads,
 * filters or sparse indices (which need the exact numbers). ops_parse takes
 * trees read with these options or without any. */
extern const jr_opts ops_json_opts;

/* Parse a request body of the given kind (quiver.h's qv_update_kind) into
 * batch, validating it in full against cfg. Errors: QV_BAD_FORMAT (shape),
 * QV_BAD_INPUT (wrong dimension, unknown vector name), QV_VALIDATION
 * (limits), with messages in Qdrant's words. Dense vectors in float form
 * are used in place (Cosine ones normalized there): the tree's floats
 * change, and batch points into them. */
qv_status ops_parse(qv_arena *a, const cfg_collection *cfg, int kind, const jr_value *root,
                    op_batch *batch, qv_error *err);

/* Append the record body of batch to out. */
qv_status ops_encode(const op_batch *batch, qv_buf *out, qv_error *err);

/* A sparse vector's indices and values (JSON arrays) as Qdrant validates
 * them, wherever one is given (writes, search queries): the same length
 * (QV_VALIDATION "<vwhere>.values: must be the same length as indices"), at
 * most OPS_MAX_SPARSE_NNZ, u32 indices and f32 values (QV_BAD_FORMAT
 * "<where>.indices[i]: expected u32"), no index twice (QV_VALIDATION
 * "<vwhere>.indices: must be unique"; O(n), a radix sort). where names the
 * object in format errors, vwhere in validation errors (Qdrant's differ).
 * The arrays are in a. */
qv_status ops_parse_sparse(qv_arena *a, const jr_value *ix, const jr_value *vs, const char *where,
                           const char *vwhere, uint32_t **idx, float **val, uint32_t *n, qv_error *err);

/* Decode a record body (from ops_encode, possibly via the WAL) into batch,
 * parsing its filters. QV_CORRUPT on malformed bytes. */
qv_status ops_decode(qv_arena *a, const void *body, size_t len, op_batch *batch, qv_error *err);

#endif

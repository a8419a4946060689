/*
 * read.h — what a read returns of each point (with_payload, with_vector)
 * and how a point is written as Qdrant's Record JSON. Shared by retrieve,
 * scroll and search.
 */
#ifndef QV_CORE_READ_H
#define QV_CORE_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/store.h"
#include "json/jr.h"
#include "json/jw.h"
#include "payload/pljson.h"

typedef enum rd_payload_mode { RD_PAYLOAD_NONE, RD_PAYLOAD_ALL, RD_PAYLOAD_INCLUDE, RD_PAYLOAD_EXCLUDE } rd_payload_mode;

typedef struct rd_select {
    rd_payload_mode payload;
    pl_path        *paths;      /* INCLUDE / EXCLUDE */
    size_t          n_paths;
    bool            vectors;    /* any vector at all */
    bool            all_vectors;
    bool           *dense_on;   /* per dense vector, when !all_vectors */
    bool           *sparse_on;  /* per sparse vector, when !all_vectors */
} rd_select;

/* with_payload: true | false | ["key", ...] | {"include": [...]} | {"exclude": [...]};
 * v NULL or null means dflt. */
qv_status rd_parse_with_payload(qv_arena *a, const jr_value *v, bool dflt, rd_select *sel,
                                qv_error *err);
/* with_vector: true | false | ["name", ...]; v NULL or null means dflt. */
qv_status rd_parse_with_vector(qv_arena *a, const cfg_collection *cfg, const jr_value *v, bool dflt,
                               rd_select *sel, qv_error *err);

/* The same for a request object: its "with_vector" or the alias
 * "with_vectors" (as Qdrant's serde alias; both at once is QV_BAD_FORMAT). */
qv_status rd_parse_with_vector_of(qv_arena *a, const cfg_collection *cfg, const jr_value *req,
                                  bool dflt, rd_select *sel, qv_error *err);

/* {"id": …, "payload": … | null, "vector": … | null}. Caller holds the
 * collection's read lock. */
void rd_write_record(jw *w, const store *s, const cfg_collection *cfg, uint32_t slot,
                     const rd_select *sel);
/* Only the "payload" and "vector" fields of a record, for writers of other
 * point shapes (search's ScoredPoint). */
void rd_write_payload_vector(jw *w, const store *s, const cfg_collection *cfg, uint32_t slot,
                             const rd_select *sel);
/* The same with "order_value" (scroll with order_by). */
void rd_write_record_ordered(jw *w, const store *s, const cfg_collection *cfg, uint32_t slot,
                             const rd_select *sel, const fidx_value *order);
/* Only the "order_value" field (a query's ScoredPoint with order_by). */
void rd_write_order_value(jw *w, const fidx_value *order);

/*
 * order_by of scroll and of query: "key" or {key, direction, start_from}.
 * rd_parse_order_by checks the shape (no store needed); rd_order_seek, under
 * the collection's read lock, finds the range-capable index on the key
 * (integer with range, float, datetime: QV_UNSUPPORTED "No range index for
 * `order_by` key ..." otherwise, as Qdrant), reads start_from by the index's
 * type and opens the walk over (value, slot) pairs in order.
 */
typedef struct rd_order {
    pl_path         key;
    bool            desc;
    const jr_value *start;  /* start_from, or NULL */
} rd_order;

qv_status rd_parse_order_by(qv_arena *a, const jr_value *ob, const char *field, rd_order *o, qv_error *err);
qv_status rd_order_seek(const store *s, const rd_order *o, fidx_order_it *it, qv_error *err);

#endif

/*
 * hnsw.h — a Hierarchical Navigable Small World graph over the slots of one
 * dense vector column (Malkov & Yashunin, 2016; hnswlib is the reference
 * implementation this one learns from).
 *
 * The graph stores links only: node ids are the column's slots (uint32) and
 * every distance is computed from vec_dense_get(col, slot), so the caller
 * passes the column to each call that reads vectors. The graph knows
 * nothing about point ids, payloads or JSON.
 *
 * Memory (hnsw_memory): per slot of capacity one level-0 block of
 * 1 + 2m uint32 (a header word: link count, lock bit, in-graph and tombstone
 * bits; then 2m links), one byte of level and one pointer to the upper
 * levels; a node of level L > 0 owns one malloc'd block of L * (1 + m)
 * uint32 (per level a count word and m links). Levels are random,
 * floor(-ln(u) * 1/ln(m)) with u drawn from (seed, slot), so a graph built
 * from the same inserts has the same levels whatever the thread order.
 * Against hnswlib at the same m (2m*4 + 4 bytes of level 0 + an 8-byte
 * label + m*4 + 4 per upper level): we keep no label (slot = id) and no
 * mutex per node (the lock is a bit of the header word), but pay the level
 * byte and the upper pointer: 4 + 8m + 9 bytes plus the upper levels.
 *
 * Search: greedy descent through the upper levels, then a best-first
 * search of width ef = max(ef, k) on level 0; up to k (order, slot) pairs
 * come back sorted closest first (order as dist.h: smaller = closer; ties
 * by slot). A filter (an allowed-slot bitset and/or a callback) decides
 * which slots may be returned; traversal passes through the others. When
 * the caller marks the filter selective (two_hop, or an estimated
 * selectivity below HNSW_TWO_HOP_BELOW), search expands ACORN-style: from
 * each node it expands it also measures the allowed neighbours of its
 * non-allowed neighbours (two hops), so the matches around the query are
 * found without walking to each of them. Non-allowed nodes still route
 * (an unfiltered beam of width ef; and every node while fewer than ef
 * matches are known), so matches beyond a gap, e.g. in the next cluster,
 * are reached too: recall holds at 1% selectivity. Tombstoned slots
 * (hnsw_delete) route searches but are never returned.
 *
 * Threading:
 * - hnsw_insert, hnsw_update and hnsw_delete may run concurrently with each
 *   other and with hnsw_search (per-node spin locks in the header words, a
 *   mutex for the entry point; links are read and written with
 *   acquire/release atomics, so a search sees every node it reaches fully
 *   linked). Inserting one slot twice at the same time is the caller's
 *   bug.
 * - hnsw_search calls may run concurrently with each other and with the
 *   writers above (scratch memory comes from a pool under a mutex).
 * - hnsw_save and hnsw_save_buf read the graph: searches may run meanwhile,
 *   writers (insert, update, delete, repair) may not.
 * - hnsw_reserve, hnsw_drop and hnsw_free need the graph to themselves:
 *   reserve moves the level-0 array, so no insert or search may run during
 *   it (the owner grows the graph before handing new slots to builders).
 * - The column: its vectors for every slot in the graph must stay valid
 *   while a call reads them (dense.h: chunks never move).
 *
 * Errors: QV_NOMEM, QV_VALIDATION (bad params, slot beyond capacity), QV_IO
 * (save/load), QV_CORRUPT (a damaged file: the caller rebuilds the graph).
 *
 * File format (hnsw_save/hnsw_load; docs/FORMAT.md), little-endian:
 *   OFFSET SIZE DESCRIPTION
 *   0      8    magic "QVHNSW\r\n"
 *   8      4    version (1)
 *   12     4    m
 *   16     4    ef_construct
 *   20     4    metric (dist_metric)
 *   24     4    dim
 *   28     8    seed
 *   36     4    capacity (slots)
 *   40     4    nodes (records that follow)
 *   44     4    entry slot (0xFFFFFFFF = empty graph)
 *   48     4    max level
 *   52     ...  per node, in slot order: u32 slot, u8 level L, u8 flags
 *               (0x01 = tombstone), then for each level 0..L: u16 count n
 *               (<= 2m at level 0, <= m above), n × u32 linked slots
 *   end-4  4    CRC-32C of every byte before it
 * A load checks the magic, version, size, CRC, every count and level bound,
 * and that every link and the entry name a node of the file.
 */
#ifndef QV_VECTOR_HNSW_H
#define QV_VECTOR_HNSW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "vector/dense.h"
#include "vector/dist.h"

#define HNSW_MAX_M       128  /* m above this is refused */
#define HNSW_MAX_LEVEL   31   /* levels are clamped here (never reached in practice) */
#define HNSW_TWO_HOP_BELOW 0.3f  /* estimated selectivity under which search expands two hops */

typedef struct hnsw_params {
    uint32_t    m;            /* links per node above level 0; level 0 gets 2m (2..HNSW_MAX_M) */
    uint32_t    ef_construct; /* search width while inserting (>= 1; raised to m) */
    dist_metric metric;       /* Cosine expects normalized vectors, query included */
    uint32_t    dim;          /* floats per vector (the column's dim) */
    uint64_t    seed;         /* levels are drawn from (seed, slot) */
} hnsw_params;

typedef struct hnsw hnsw;

/* Which slots a search may return: allowed (a bitset, bit s of word s/64)
 * and/or allow(ctx, slot); both must agree when both are set. selectivity is
 * the caller's estimate of the allowed fraction (0 = unknown); two_hop
 * forces the ACORN-style expansion (see top). */
typedef struct hnsw_filter {
    const uint64_t *allowed;   /* bits for slots < allowed_slots; slots past it are not allowed */
    uint32_t        allowed_slots;
    bool          (*allow)(void *ctx, uint32_t slot);
    void           *ctx;
    float           selectivity;
    bool            two_hop;
} hnsw_filter;

typedef struct hnsw_hit {
    float    order;  /* dist.h order: smaller = closer; dist_score() for Qdrant's score */
    uint32_t slot;
} hnsw_hit;

/* A new empty graph for slots < capacity (may be 0; see hnsw_reserve). */
qv_status hnsw_new(const hnsw_params *p, uint32_t capacity, hnsw **out, qv_error *err);
void      hnsw_free(hnsw *g);

/* Grow to n_slots (never shrinks). Not concurrent with anything (see top). */
qv_status hnsw_reserve(hnsw *g, uint32_t n_slots, qv_error *err);

/* Link slot (< capacity, its vector set in col) into the graph. A slot
 * already in the graph is updated instead (hnsw_update). */
qv_status hnsw_insert(hnsw *g, const vec_dense *col, uint32_t slot, qv_error *err);

/* The vector of slot changed (or the slot was reused for a new point):
 * its links are chosen again for its new place, and it is no longer a
 * tombstone. Links into it from its old neighbourhood stay (they still
 * route). A slot not in the graph is inserted. */
qv_status hnsw_update(hnsw *g, const vec_dense *col, uint32_t slot, qv_error *err);

/* Tombstone slot: never returned again until hnsw_update; still routes.
 * A slot not in the graph is ignored. */
void hnsw_delete(hnsw *g, uint32_t slot);

/*
 * Repair of tombstones, in two steps over a set `doomed` of them (a bitset
 * for slots < n_doomed, taken by the caller, e.g. every tombstone at one
 * moment; one updated since, no longer a tombstone, counts as live in both):
 * hnsw_repair relinks each node of slots [from, to) that links to a doomed
 * slot: at each such level its links are chosen again by the heuristic
 * among its other links and the doomed neighbours' links (two hops; the
 * closest ef_construct of them), topped up with the closest others to the
 * number of links it had, and each chosen neighbour links back to it (as
 * after an insert); or, when none are left, by a search from
 * the entry as hnsw_update does. Costs about one distance per candidate and
 * the heuristic's; runs like an insert (concurrently with searches and
 * with other hnsw_repair calls on other slots, not with inserts or
 * updates).
 * hnsw_drop then removes from the graph every doomed slot that is still a
 * tombstone: links to it are cut, its memory
 * freed, and a new entry chosen if it was the entry; the slot can then be
 * inserted afresh. Needs the graph to itself (searches read the upper
 * levels it frees). Returns how many were dropped. Searches never depend on
 * either step: tombstones route and are never returned.
 */
qv_status hnsw_repair(hnsw *g, const vec_dense *col, const uint64_t *doomed, uint32_t n_doomed, uint32_t from,
                      uint32_t to, qv_error *err);
uint32_t  hnsw_drop(hnsw *g, const uint64_t *doomed, uint32_t n_doomed);

/* Up to k nearest allowed, live slots to query (dim floats; normalized for
 * Cosine), closest first, into out[0..*n_out). ef = max(ef, k). filter may
 * be NULL. QV_NOMEM only. */
qv_status hnsw_search(hnsw *g, const vec_dense *col, const float *query, uint32_t k, uint32_t ef,
                      const hnsw_filter *filter, hnsw_hit *out, uint32_t *n_out, qv_error *err);

/* Facts. */
uint32_t hnsw_count(const hnsw *g);     /* slots in the graph, tombstones included */
uint32_t hnsw_deleted(const hnsw *g);   /* tombstones */
uint32_t hnsw_capacity(const hnsw *g);
bool     hnsw_contains(const hnsw *g, uint32_t slot);   /* in the graph, tombstone or not */
bool     hnsw_tombstone(const hnsw *g, uint32_t slot);
const hnsw_params *hnsw_get_params(const hnsw *g);
/* Bytes of graph memory: the per-slot arrays for the capacity plus every
 * upper-level block (vectors and the search scratch pool aside). */
size_t   hnsw_memory(const hnsw *g);

/* Write the graph to dir/name atomically (fsutil.h), format above. */
qv_status hnsw_save(const hnsw *g, const char *dir, const char *name, qv_error *err);
/* The same bytes in a malloc'd buffer (for tests and for callers with their own files). */
qv_status hnsw_save_buf(const hnsw *g, uint8_t **data, size_t *len, qv_error *err);
/* Read a graph saved by hnsw_save: QV_CORRUPT for any damage or a capacity
 * above max_capacity (checked before allocating: the caller's bound, e.g.
 * the slots of its column), QV_IO when the file cannot be read. */
qv_status hnsw_load(const char *path, uint32_t max_capacity, hnsw **out, qv_error *err);
qv_status hnsw_load_buf(const uint8_t *data, size_t len, uint32_t max_capacity, hnsw **out,
                        qv_error *err);

#endif

/*
 * idtree.h — the ordered index of a collection's point ids: a B+tree in
 * memory mapping each qv_point_id to its store slot, in scroll order
 * (integers ascending, then UUIDs by their bytes; pid_cmp's order).
 *
 * It exists for scrolling: a page of `limit` ids from any offset costs
 * O(log n + limit) (idt_seek, then idt_next per id), and it is kept in step
 * with every write, one id at a time.
 *
 * Shape: leaves hold up to IDT_CAP (128) ids with their slots and are
 * chained left to right; inner nodes hold up to IDT_CAP separators and
 * IDT_CAP + 1 children. Keys are stored split, not as qv_point_id: one array
 * of `hi` words, one of `lo` words, and per node the count of integer ids,
 * which always come first in a node because they sort before every UUID —
 * so the UUID flag costs no byte per key, and a search compares one word
 * per step for integers, two for UUIDs.
 * One id costs 20 bytes in a full leaf (8 hi + 8 lo + 4 slot). A full leaf
 * splits in half, except where ids arrive in ascending order: an id past
 * the last id, or an integer past the last integer, cuts the leaf just
 * after itself, so ascending ids (integers, or time-ordered UUIDs) fill
 * leaves completely. Descending ids get half-full leaves.
 * Measured at 1M ids: 29.4 bytes per id inserted in random order, 20.3 in
 * ascending order (idt_memory; malloc adds ~16 bytes per 2.6 KB node).
 * Erasing rebalances: a node under a third full borrows from or merges with
 * a neighbour (merging when the two fit in three quarters of a node), so no
 * leaf is ever empty (but a lone root) and the tree keeps its fill after
 * mass deletes; the gap between the two thresholds stops split/merge
 * ping-pong when one key comes and goes.
 *
 * Costs: idt_insert, idt_erase, idt_find and idt_seek descend log_64(n)
 * nodes (3 levels at 1M ids) with a binary search in each, and shift up to
 * 128 entries of a leaf; a split or merge moves one node's worth of
 * entries. idt_next is O(1). Nothing is ever scanned.
 *
 * Threading: none inside. Readers (idt_find, idt_seek, idt_next,
 * idt_count, idt_memory) only read and may run concurrently with each other;
 * writers (idt_insert, idt_erase, idt_free) need exclusive access. The
 * collection's reader-writer lock provides both.
 *
 * Ownership: the caller embeds the idtree (it is a few words) and owns it;
 * the tree owns its nodes and frees them in idt_free. Ids are copied in and
 * out; the tree keeps no pointer to caller memory.
 *
 * Iterators: an idt_iter points into a leaf. It is valid only until the
 * next idt_insert, idt_erase or idt_free on its tree — a reader holds the
 * read lock from idt_seek to its last idt_next.
 *
 * Ids: `uuid` is 0 or 1. An integer id's `hi` is ignored and read back as
 * 0 (pointid.h: 0 for integers).
 */
#ifndef QV_INDEX_IDTREE_H
#define QV_INDEX_IDTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/pointid.h"
#include "quiver.h"

#define IDT_CAP 128  /* keys per node */

/* Embedded by the caller; the fields are private to idtree.c. */
typedef struct idtree {
    void    *root;     /* NULL until the first insert; a leaf when height == 0 */
    unsigned height;   /* inner levels above the leaves */
    uint64_t count;    /* ids in the tree */
    size_t   leaves;   /* nodes allocated, for idt_memory */
    size_t   inners;
} idtree;

/* A position in the id order; see "Iterators" above. */
typedef struct idt_iter {
    const void *leaf;  /* NULL: past the end */
    unsigned    pos;
} idt_iter;

/* Make t an empty tree. Allocates nothing; always QV_OK. */
qv_status idt_init(idtree *t);

/* Free every node; t is then empty, as after idt_init, and may be reused. */
void idt_free(idtree *t);

/*
 * Add id -> slot. The caller guarantees id is absent; if it is present
 * anyway nothing changes and the answer is QV_CONFLICT. Allocates at most
 * one node per level plus a new root, all before changing anything: on
 * QV_NOMEM the tree is exactly as before.
 */
qv_status idt_insert(idtree *t, const qv_point_id *id, uint32_t slot);

/*
 * Remove id; false if it was absent (nothing changes). Never allocates and
 * cannot fail, so undo paths may call it. Frees nodes that merging empties.
 */
bool idt_erase(idtree *t, const qv_point_id *id);

/* The slot of id into *slot (may be NULL); false if absent. */
bool idt_find(const idtree *t, const qv_point_id *id, uint32_t *slot);

/* Position *it before the first id >= *from (from NULL: the first id). */
/* Point an existing id at another slot; false if absent. Never allocates
 * (for undo paths). */
bool idt_update(idtree *t, const qv_point_id *id, uint32_t slot);

void idt_seek(const idtree *t, const qv_point_id *from, idt_iter *it);

/*
 * The id at *it into *id and its slot into *slot (either may be NULL), and
 * step past it; false, with nothing written, once past the last id.
 */
bool idt_next(idt_iter *it, qv_point_id *id, uint32_t *slot);

/* Ids in the tree. O(1). */
uint64_t idt_count(const idtree *t);

/* Bytes of nodes the tree holds (not malloc's bookkeeping). O(1). */
size_t idt_memory(const idtree *t);

#endif

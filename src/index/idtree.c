/* idtree.c — see idtree.h. */
#include "index/idtree.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Tests include this file to fail allocations on purpose. */
#ifndef IDT_ALLOC
#define IDT_ALLOC(size) malloc(size)
#endif

#define IDT_MIN       (IDT_CAP / 3)      /* fewer keys than this: rebalance on erase */
#define IDT_MERGE_MAX (IDT_CAP * 3 / 4)  /* two neighbours this small merge, else share */
#define IDT_MAX_DEPTH 32  /* far above any height reachable in memory */

/*
 * The keys of a node, sorted: [0, nint) are integer ids, [nint, n) UUIDs.
 * In a leaf they are the ids; in an inner node key i separates child i
 * (ids < key i) from child i + 1 (ids >= key i).
 */
typedef struct idt_keys {
    uint16_t n;
    uint16_t nint;
    uint64_t hi[IDT_CAP];
    uint64_t lo[IDT_CAP];
} idt_keys;

typedef struct idt_leaf {
    idt_keys         k;
    struct idt_leaf *next;  /* the leaf to the right, NULL for the last */
    uint32_t         slot[IDT_CAP];
} idt_leaf;

typedef struct idt_inner {
    idt_keys k;
    void    *child[IDT_CAP + 1];  /* k.n + 1 in use; leaves at the last level */
} idt_inner;

/*
 * Entries of two nodes (plus one) laid end to end, for splits and for
 * sharing between neighbours: fill it in order, then cut it in two.
 */
typedef struct idt_run {
    unsigned n, nint;
    uint64_t hi[2 * IDT_CAP + 1];
    uint64_t lo[2 * IDT_CAP + 1];
    uint32_t slot[2 * IDT_CAP + 1];
    void    *child[2 * IDT_CAP + 2];
    unsigned nchild;
} idt_run;

/* ---- keys ------------------------------------------------------------------ */

/* Integer ids among [a, b) of keys whose first p are integers. */
static inline unsigned ints_in(unsigned p, unsigned a, unsigned b)
{
    return p <= a ? 0 : p >= b ? b - a : p - a;
}

/*
 * Binary searches: integer ids compare their `lo` word alone (their `hi` is
 * 0, stored as 0), UUIDs both words, each within its own part of the keys.
 * `le` picks the first key > id instead of the first key >= id.
 */
static inline unsigned search(const idt_keys *k, const qv_point_id *id, bool le)
{
    unsigned base, len;
    if (!id->uuid) {
        base = 0;
        len = k->nint;
        while (len) {
            unsigned half = len / 2, i = base + half;
            if (k->lo[i] < id->lo || (le && k->lo[i] == id->lo)) {
                base = i + 1;
                len -= half + 1;
            } else {
                len = half;
            }
        }
        return base;
    }
    base = k->nint;
    len = k->n - base;
    while (len) {
        unsigned half = len / 2, i = base + half;
        if (k->hi[i] < id->hi ||
            (k->hi[i] == id->hi && (k->lo[i] < id->lo || (le && k->lo[i] == id->lo)))) {
            base = i + 1;
            len -= half + 1;
        } else {
            len = half;
        }
    }
    return base;
}

/* First i with key i >= id. */
static unsigned keys_lower(const idt_keys *k, const qv_point_id *id)
{
    return search(k, id, false);
}

/* First i with key i > id: the child of an inner node that holds id. */
static unsigned keys_upper(const idt_keys *k, const qv_point_id *id)
{
    return search(k, id, true);
}

/* Whether key i of k is id; i must come from keys_lower(k, id). */
static inline bool keys_is(const idt_keys *k, unsigned i, const qv_point_id *id)
{
    if (!id->uuid)
        return i < k->nint && k->lo[i] == id->lo;
    return i < k->n && k->hi[i] == id->hi && k->lo[i] == id->lo;
}

static inline void keys_get(const idt_keys *k, unsigned i, qv_point_id *out)
{
    out->hi = k->hi[i];
    out->lo = k->lo[i];
    out->uuid = i >= k->nint;
}

/* Open a gap at i (k->n < IDT_CAP) and put id there; id belongs at i. */
static void keys_insert(idt_keys *k, unsigned i, const qv_point_id *id)
{
    size_t move = (size_t)(k->n - i) * sizeof k->hi[0];
    memmove(&k->hi[i + 1], &k->hi[i], move);
    memmove(&k->lo[i + 1], &k->lo[i], move);
    k->hi[i] = id->uuid ? id->hi : 0;
    k->lo[i] = id->lo;
    k->n++;
    k->nint += !id->uuid;
}

static void keys_remove(idt_keys *k, unsigned i)
{
    size_t move = (size_t)(k->n - i - 1) * sizeof k->hi[0];
    memmove(&k->hi[i], &k->hi[i + 1], move);
    memmove(&k->lo[i], &k->lo[i + 1], move);
    k->nint -= i < k->nint;
    k->n--;
}

/* Replace key i by id, which sorts between keys i - 1 and i + 1. */
static void keys_replace(idt_keys *k, unsigned i, const qv_point_id *id)
{
    bool was_int = i < k->nint;
    if (was_int && id->uuid) {
        assert(i == k->nint - 1u);
        k->nint--;
    } else if (!was_int && !id->uuid) {
        assert(i == k->nint);
        k->nint++;
    }
    k->hi[i] = id->uuid ? id->hi : 0;
    k->lo[i] = id->lo;
}

/* Append keys b to keys a; every key of a sorts before every key of b. */
static void keys_concat(idt_keys *a, const idt_keys *b)
{
    assert(a->n + b->n <= IDT_CAP);
    assert(b->nint == 0 || a->nint == a->n);
    memcpy(&a->hi[a->n], b->hi, b->n * sizeof b->hi[0]);
    memcpy(&a->lo[a->n], b->lo, b->n * sizeof b->lo[0]);
    a->n += b->n;
    a->nint += b->nint;
}

/* ---- runs ------------------------------------------------------------------ */

static void run_key(idt_run *r, const qv_point_id *id)
{
    r->hi[r->n] = id->uuid ? id->hi : 0;
    r->lo[r->n] = id->lo;
    r->nint += !id->uuid;
    r->n++;
}

/* Append keys [from, to) of k (and their slots, if slot is given). */
static void run_keys(idt_run *r, const idt_keys *k, const uint32_t *slot, unsigned from,
                     unsigned to)
{
    unsigned cnt = to - from;
    memcpy(&r->hi[r->n], &k->hi[from], cnt * sizeof r->hi[0]);
    memcpy(&r->lo[r->n], &k->lo[from], cnt * sizeof r->lo[0]);
    if (slot)
        memcpy(&r->slot[r->n], &slot[from], cnt * sizeof r->slot[0]);
    r->nint += ints_in(k->nint, from, to);
    r->n += cnt;
}

static void run_children(idt_run *r, void *const *child, unsigned cnt)
{
    memcpy(&r->child[r->nchild], child, cnt * sizeof r->child[0]);
    r->nchild += cnt;
}

/* Keys [from, to) of the run become all the keys of k. */
static void run_store(const idt_run *r, unsigned from, unsigned to, idt_keys *k)
{
    assert(to - from <= IDT_CAP);
    memcpy(k->hi, &r->hi[from], (to - from) * sizeof k->hi[0]);
    memcpy(k->lo, &r->lo[from], (to - from) * sizeof k->lo[0]);
    k->n = (uint16_t)(to - from);
    k->nint = (uint16_t)ints_in(r->nint, from, to);
}

static inline void run_get(const idt_run *r, unsigned i, qv_point_id *out)
{
    out->hi = r->hi[i];
    out->lo = r->lo[i];
    out->uuid = i >= r->nint;
}

/* Leaves a, b: entries [0, m) of the run to a, [m, n) to b; *sep = key m. */
static void run_to_leaves(const idt_run *r, unsigned m, idt_leaf *a, idt_leaf *b,
                          qv_point_id *sep)
{
    run_store(r, 0, m, &a->k);
    memcpy(a->slot, r->slot, m * sizeof r->slot[0]);
    run_store(r, m, r->n, &b->k);
    memcpy(b->slot, &r->slot[m], (r->n - m) * sizeof r->slot[0]);
    run_get(r, m, sep);
}

/* Inner nodes a, b: keys [0, m) and children [0, m] to a, key m up into
 * *sep, keys (m, n) and children (m, n] to b. */
static void run_to_inners(const idt_run *r, unsigned m, idt_inner *a, idt_inner *b,
                          qv_point_id *sep)
{
    assert(r->nchild == r->n + 1);
    run_store(r, 0, m, &a->k);
    memcpy(a->child, r->child, (m + 1) * sizeof r->child[0]);
    run_store(r, m + 1, r->n, &b->k);
    memcpy(b->child, &r->child[m + 1], (r->n - m) * sizeof r->child[0]);
    run_get(r, m, sep);
}

/* ---- the tree ------------------------------------------------------------ */

qv_status idt_init(idtree *t)
{
    memset(t, 0, sizeof *t);
    return QV_OK;
}

static void free_node(void *node, unsigned height)
{
    if (height) {
        idt_inner *in = node;
        for (unsigned i = 0; i <= in->k.n; i++)
            free_node(in->child[i], height - 1);
    }
    free(node);
}

void idt_free(idtree *t)
{
    if (t->root)
        free_node(t->root, t->height);
    idt_init(t);
}

/* The leaf that holds id (or would), recording the inner nodes passed and
 * the child taken in each when path is given. */
static idt_leaf *descend(const idtree *t, const qv_point_id *id, idt_inner **path,
                         unsigned *idx)
{
    void *node = t->root;
    for (unsigned d = 0; d < t->height; d++) {
        idt_inner *in = node;
        unsigned c = keys_upper(&in->k, id);
        if (path) {
            path[d] = in;
            idx[d] = c;
        }
        node = in->child[c];
    }
    return node;
}

/*
 * Whether a full leaf should be cut just after the new id instead of in
 * half: ids that arrive in ascending order then fill every leaf. True for
 * an id past the last id, and for an integer past the last integer (where
 * the leaf goes on with UUIDs, or the next leaf starts them).
 */
static bool cut_after(const idt_leaf *leaf, unsigned pos, const qv_point_id *id)
{
    const idt_keys *k = &leaf->k;
    if (id->uuid)
        return pos == k->n && !leaf->next;
    return pos == k->nint && (k->nint < k->n || !leaf->next || leaf->next->k.nint == 0);
}

qv_status idt_insert(idtree *t, const qv_point_id *id, uint32_t slot)
{
    if (!t->root) {
        idt_leaf *leaf = IDT_ALLOC(sizeof *leaf);
        if (!leaf)
            return QV_NOMEM;
        leaf->k.n = leaf->k.nint = 0;
        leaf->next = NULL;
        t->root = leaf;
        t->leaves = 1;
    }

    idt_inner *path[IDT_MAX_DEPTH];
    unsigned idx[IDT_MAX_DEPTH];
    assert(t->height < IDT_MAX_DEPTH);
    idt_leaf *leaf = descend(t, id, path, idx);
    unsigned pos = keys_lower(&leaf->k, id);
    if (keys_is(&leaf->k, pos, id))
        return QV_CONFLICT;

    if (leaf->k.n < IDT_CAP) {  /* the common case: room in the leaf */
        memmove(&leaf->slot[pos + 1], &leaf->slot[pos], (leaf->k.n - pos) * sizeof leaf->slot[0]);
        leaf->slot[pos] = slot;
        keys_insert(&leaf->k, pos, id);
        t->count++;
        return QV_OK;
    }

    /* Allocate every node the split chain needs before touching anything. */
    idt_leaf *right = IDT_ALLOC(sizeof *right);
    if (!right)
        return QV_NOMEM;
    idt_inner *fresh[IDT_MAX_DEPTH + 1];
    unsigned nfresh = 0;
    int d = (int)t->height - 1;
    while (d >= 0 && path[d]->k.n == IDT_CAP)
        d--;
    unsigned need = (unsigned)((int)t->height - 1 - d) + (d < 0);  /* full levels + new root */
    for (; nfresh < need; nfresh++) {
        fresh[nfresh] = IDT_ALLOC(sizeof(idt_inner));
        if (!fresh[nfresh]) {
            while (nfresh)
                free(fresh[--nfresh]);
            free(right);
            return QV_NOMEM;
        }
    }
    t->leaves++;
    t->inners += nfresh;
    t->count++;

    /* Split the leaf; the separator and right node then go up a level. */
    qv_point_id sep;
    idt_run r;
    r.n = r.nint = r.nchild = 0;
    run_keys(&r, &leaf->k, leaf->slot, 0, pos);
    r.slot[r.n] = slot;
    run_key(&r, id);
    run_keys(&r, &leaf->k, leaf->slot, pos, leaf->k.n);
    bool cut = cut_after(leaf, pos, id);
    /* At the end of the leaf the new id starts the right one alone; the
     * inner nodes above then keep appending too. */
    bool append = cut && pos == leaf->k.n;
    run_to_leaves(&r, !cut ? (r.n + 1) / 2 : append ? pos : pos + 1, leaf, right, &sep);
    right->next = leaf->next;
    leaf->next = right;

    void *new_child = right;
    unsigned used = 0;
    for (d = (int)t->height - 1; d >= 0; d--) {
        idt_inner *in = path[d];
        unsigned c = idx[d];
        if (in->k.n < IDT_CAP) {
            memmove(&in->child[c + 2], &in->child[c + 1], (in->k.n - c) * sizeof in->child[0]);
            in->child[c + 1] = new_child;
            keys_insert(&in->k, c, &sep);
            assert(used == nfresh);
            return QV_OK;
        }
        r.n = r.nint = r.nchild = 0;
        run_keys(&r, &in->k, NULL, 0, c);
        run_key(&r, &sep);
        run_keys(&r, &in->k, NULL, c, in->k.n);
        run_children(&r, in->child, c + 1);
        run_children(&r, &new_child, 1);
        run_children(&r, &in->child[c + 1], in->k.n - c);
        /* An append keeps appending: leave this node full, as the leaf. */
        append = append && c == in->k.n;
        idt_inner *sib = fresh[used++];
        run_to_inners(&r, append ? r.n - 2 : r.n / 2, in, sib, &sep);
        new_child = sib;
    }

    /* The root split: a new root above the two halves. */
    assert(used + 1 == nfresh);
    idt_inner *root = fresh[used];
    root->k.n = root->k.nint = 0;
    keys_insert(&root->k, 0, &sep);
    root->child[0] = t->root;
    root->child[1] = new_child;
    t->root = root;
    t->height++;
    return QV_OK;
}

/*
 * Rebalance leaves a = p->child[i] and b = p->child[i + 1], one of them
 * underfull: merge b into a (true: the caller removes b from p) or share
 * their ids evenly (false).
 */
static bool fix_leaves(idtree *t, idt_inner *p, unsigned i)
{
    idt_leaf *a = p->child[i], *b = p->child[i + 1];
    if (a->k.n + b->k.n <= IDT_MERGE_MAX) {
        memcpy(&a->slot[a->k.n], b->slot, b->k.n * sizeof b->slot[0]);
        keys_concat(&a->k, &b->k);
        a->next = b->next;
        free(b);
        t->leaves--;
        return true;
    }
    idt_run r;
    r.n = r.nint = r.nchild = 0;
    run_keys(&r, &a->k, a->slot, 0, a->k.n);
    run_keys(&r, &b->k, b->slot, 0, b->k.n);
    qv_point_id sep;
    run_to_leaves(&r, r.n / 2, a, b, &sep);
    keys_replace(&p->k, i, &sep);
    return false;
}

/* As fix_leaves, for inner nodes: the separator between them comes down
 * into the merged node, or is chosen anew when they share. */
static bool fix_inners(idtree *t, idt_inner *p, unsigned i)
{
    idt_inner *a = p->child[i], *b = p->child[i + 1];
    qv_point_id sep;
    keys_get(&p->k, i, &sep);
    if (a->k.n + 1 + b->k.n <= IDT_MERGE_MAX) {
        memcpy(&a->child[a->k.n + 1], b->child, (b->k.n + 1u) * sizeof b->child[0]);
        keys_insert(&a->k, a->k.n, &sep);
        keys_concat(&a->k, &b->k);
        free(b);
        t->inners--;
        return true;
    }
    idt_run r;
    r.n = r.nint = r.nchild = 0;
    run_keys(&r, &a->k, NULL, 0, a->k.n);
    run_key(&r, &sep);
    run_keys(&r, &b->k, NULL, 0, b->k.n);
    run_children(&r, a->child, a->k.n + 1u);
    run_children(&r, b->child, b->k.n + 1u);
    run_to_inners(&r, r.n / 2, a, b, &sep);
    keys_replace(&p->k, i, &sep);
    return false;
}

bool idt_erase(idtree *t, const qv_point_id *id)
{
    if (!t->root)
        return false;
    idt_inner *path[IDT_MAX_DEPTH];
    unsigned idx[IDT_MAX_DEPTH];
    idt_leaf *leaf = descend(t, id, path, idx);
    unsigned pos = keys_lower(&leaf->k, id);
    if (!keys_is(&leaf->k, pos, id))
        return false;
    memmove(&leaf->slot[pos], &leaf->slot[pos + 1], (leaf->k.n - pos - 1u) * sizeof leaf->slot[0]);
    keys_remove(&leaf->k, pos);
    t->count--;

    /* Walk up while the node below is underfull: each merge takes a child
     * from its parent, which may then be underfull in turn. */
    const idt_keys *below = &leaf->k;
    for (int d = (int)t->height - 1; d >= 0 && below->n < IDT_MIN; d--) {
        idt_inner *p = path[d];
        unsigned c = idx[d], i;
        assert(p->k.n >= 1);  /* inner nodes have two children or more */
        if (c == 0)
            i = 0;
        else if (c == p->k.n)
            i = c - 1;
        else  /* the smaller neighbour: likelier to merge */
            i = ((idt_keys *)p->child[c - 1])->n <= ((idt_keys *)p->child[c + 1])->n ? c - 1 : c;
        bool merged = d == (int)t->height - 1 ? fix_leaves(t, p, i) : fix_inners(t, p, i);
        if (!merged)
            break;
        memmove(&p->child[i + 1], &p->child[i + 2], (p->k.n - i - 1u) * sizeof p->child[0]);
        keys_remove(&p->k, i);
        below = &p->k;
    }
    if (t->height && ((idt_inner *)t->root)->k.n == 0) {  /* one child left: it becomes the root */
        idt_inner *old = t->root;
        t->root = old->child[0];
        t->height--;
        t->inners--;
        free(old);
    }
    return true;
}

bool idt_find(const idtree *t, const qv_point_id *id, uint32_t *slot)
{
    if (!t->root)
        return false;
    const idt_leaf *leaf = descend(t, id, NULL, NULL);
    unsigned pos = keys_lower(&leaf->k, id);
    if (!keys_is(&leaf->k, pos, id))
        return false;
    if (slot)
        *slot = leaf->slot[pos];
    return true;
}

bool idt_update(idtree *t, const qv_point_id *id, uint32_t slot)
{
    if (!t->root)
        return false;
    idt_leaf *leaf = (idt_leaf *)descend(t, id, NULL, NULL);
    unsigned pos = keys_lower(&leaf->k, id);
    if (!keys_is(&leaf->k, pos, id))
        return false;
    leaf->slot[pos] = slot;
    return true;
}

void idt_seek(const idtree *t, const qv_point_id *from, idt_iter *it)
{
    it->leaf = NULL;
    it->pos = 0;
    if (!t->root)
        return;
    if (!from) {
        const void *node = t->root;
        for (unsigned d = 0; d < t->height; d++)
            node = ((const idt_inner *)node)->child[0];
        it->leaf = node;
        return;
    }
    const idt_leaf *leaf = descend(t, from, NULL, NULL);
    it->leaf = leaf;
    it->pos = keys_lower(&leaf->k, from);  /* == n: the answer starts the next leaf */
}

bool idt_next(idt_iter *it, qv_point_id *id, uint32_t *slot)
{
    const idt_leaf *leaf = it->leaf;
    while (leaf && it->pos >= leaf->k.n) {
        leaf = leaf->next;
        it->pos = 0;
    }
    it->leaf = leaf;
    if (!leaf)
        return false;
    if (id)
        keys_get(&leaf->k, it->pos, id);
    if (slot)
        *slot = leaf->slot[it->pos];
    it->pos++;
    return true;
}

uint64_t idt_count(const idtree *t)
{
    return t->count;
}

size_t idt_memory(const idtree *t)
{
    return t->leaves * sizeof(idt_leaf) + t->inners * sizeof(idt_inner);
}

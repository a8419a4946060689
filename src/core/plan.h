/*
 * plan.h — which points a filtered read looks at (internal to core). One
 * planner for scroll, count, facet and search.
 *
 * plan_make picks the candidates: among the filter's top-level `must`
 * field conditions, the one a payload index answers with the fewest
 * estimated points gives them (sorted slots); every candidate is then
 * checked with the whole filter, so the answer is the scan's answer.
 * Without such a condition, or when the best one would still select most
 * points, every live slot is a candidate. A text index plans too: where one
 * exists, the scan judges match.text / text_any with its tokenizer
 * (filter.h, flt_point.text_index), so both mean "all / one of the tokens".
 *
 * On top: plan_estimate, the number of matching points (exact when the
 * index answer settles it, else from a fixed sample of the candidates), so
 * a search can choose between exact scoring of few points and graph
 * traversal; plan_allowed, the matching slots as a bitset; plan_count.
 *
 * Repeated filters (plan_use_cache): a filter that no index answers costs
 * a payload check per point it meets; asked again and again (a tenant, a
 * category: the usual filtered search), it is evaluated once into its
 * matching slots, kept while the store's generation (store.gen) is the
 * same, as Lucene keeps the bitsets of frequent filters. An answer is
 * built only for a filter asked twice at one generation, so under a stream
 * of writes a filter costs at most one extra scan per generation, and only
 * when it is asked again before the next write. At most PLAN_CACHE_ENTRIES
 * filters and PLAN_CACHE_BYTES of answers, process-wide (generations never
 * repeat, so stores cannot mix), least recently used first out. Threading:
 * one mutex around the table; answers are reference-counted, so a plan
 * reads its bits while the entry moves on.
 *
 * Parts of filters: a filter seen for the first time often shares a
 * top-level `must` condition with the filters before it (the tenant or
 * category, and then something that differs each time), so the cache
 * keeps answers of such conditions too, by their own text, under the same
 * rule (built when asked twice at one generation), as Lucene caches the
 * clauses of boolean queries. A filter without an answer of its own is
 * then judged only on the slots of its smallest cached part.
 *
 * Threading: the caller holds the collection's read lock from plan_make to
 * plan_free (the plan points into the store). Plans share nothing but the
 * cache's answers (above).
 */
#ifndef QV_CORE_PLAN_H
#define QV_CORE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/store.h"
#include "filter/filter.h"

/* Points looked at to estimate a filter that no index settles. */
#define PLAN_SAMPLE 256

typedef struct plan {
    const store          *s;
    const cfg_collection *cfg;
    const flt_filter     *f;        /* NULL: every point matches */
    bool                  indexed;  /* slots holds the candidates; else every live slot */
    uint32_t             *slots;    /* malloc'd, sorted, when indexed */
    size_t                n;
    bool                  settled;  /* the candidates are exactly the answer (one exact
                                     * condition and nothing else) */
    const uint64_t       *bits;     /* from the cache: exactly the matching live slots */
    uint64_t              bits_count;
    struct plan_answer   *answer;   /* the cache entry bits belongs to (plan_free lets go) */
    uint64_t             *own_bits; /* bits narrowed from a part's answer (malloc'd) */
    const uint64_t       *sieve;    /* a large part's answer: slots outside it cannot match */
    struct plan_answer   *sieve_answer;
} plan;

/* A part's answer is narrowed into the plan's own bits when it holds at
 * most 1 / PLAN_NARROW of the points (one check of the whole filter per
 * slot it holds), else kept as a sieve that turns the slots outside it
 * down without a check (a graph walk then judges only where it goes). */
#define PLAN_NARROW 32

/* A top-level `must` condition of a filter, for the cache: its canonical
 * text and its node. */
typedef struct plan_part {
    const char     *key;
    size_t          len;
    const flt_node *node;
} plan_part;

/* Parts of one filter looked up in the cache, at most. */
#define PLAN_PARTS 4

#define PLAN_CACHE_ENTRIES 16
#define PLAN_CACHE_BYTES   (64u << 20)

/* Plan a read of s (schema cfg) through filter f (NULL: no filter). Cannot
 * fail: without memory for the candidates it plans a scan. */
void plan_make(plan *p, const store *s, const cfg_collection *cfg, const flt_filter *f);
/* A plan that asks no index: every live slot is a candidate (for a read
 * whose visiting order comes from elsewhere, as scroll by order_by). */
void plan_scan(plan *p, const store *s, const cfg_collection *cfg, const flt_filter *f);
void plan_free(plan *p);

/* Whether live slot matches the filter (the whole filter, always; from
 * the bits when the cache answered). */
static inline bool plan_match(const plan *p, uint32_t slot)
{
    if (p->bits)
        return p->bits[slot >> 6] >> (slot & 63) & 1;
    if (p->sieve && !(p->sieve[slot >> 6] >> (slot & 63) & 1))
        return false;
    return store_matches(p->s, p->cfg, p->f, slot);
}

/* Whether slot is among the answer: live and matching; for a settled plan
 * only liveness is checked. For the candidate loops of the readers. */
static inline bool plan_accepts(const plan *p, uint32_t slot)
{
    return store_live(p->s, slot) && (p->settled || plan_match(p, slot));
}

/*
 * Answer a scan plan's filter from the cache of repeated filters (see
 * top): key (len bytes) names the filter, its canonical text. On a hit,
 * the same text at s->gen, p->bits and p->bits_count are set and
 * plan_match, plan_estimate read them; the second ask of a text at one
 * generation (the first, with eager: for a filter the caller expects to
 * be cheaper to scan once than to judge where a search walks) evaluates
 * the filter into bits (one check per live slot) and keeps them. Without
 * an answer of its own, the filter's parts (its top-level `must`
 * conditions, n_parts of them, none when the filter is a single
 * condition) are asked the same way, and the smallest part's answer,
 * kept or built now, narrows p (PLAN_NARROW): into p's own bits, or as
 * p's sieve; a part asked the second time is built rather than the whole
 * filter.
 * Returns whether p has bits. Cannot fail: without memory it leaves p as
 * it was. Nothing for indexed plans (their index answers).
 */
bool plan_use_cache(plan *p, const char *key, size_t len, bool eager, const plan_part *parts, size_t n_parts);

/* How many candidates to visit, and the i-th (i < plan_visits). */
static inline size_t plan_visits(const plan *p) { return p->indexed ? p->n : p->s->n_slots; }
static inline uint32_t plan_candidate(const plan *p, size_t i)
{
    return p->indexed ? p->slots[i] : (uint32_t)i;
}

/* The exact number of matching points: O(1) without a filter or when
 * settled, else one check per candidate. */
uint64_t plan_count(const plan *p);

/*
 * The estimated number of matching points, and whether it is exact. Exact
 * without a filter, for a settled plan, or when there are at most
 * PLAN_SAMPLE candidates (all checked); else PLAN_SAMPLE candidates spread
 * evenly over them are checked and the share that matches is scaled up.
 * Deterministic; O(PLAN_SAMPLE) filter checks.
 */
uint64_t plan_estimate(const plan *p, bool *exact);  /* exact from the cache's bits */

/*
 * The matching slots as a bitset of s->n_slots bits (malloc'd words,
 * qv_bits_words(n_slots) of them; the caller frees) and their number. O(n_slots
 * / 64) plus one check per candidate. QV_NOMEM with nothing allocated.
 */
qv_status plan_allowed(const plan *p, uint64_t **bits, uint64_t *count, qv_error *err);

#endif

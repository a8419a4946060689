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
 * Conditions of filters: a filter seen for the first time is mostly made
 * of conditions seen before (the tenant or category, and then something
 * that differs each time, as a has_id list), so the cache keeps answers
 * of single conditions too, by their own text, under the same rule (built
 * when asked twice at one generation), as Lucene caches the clauses of
 * boolean queries. A filter without an answer of its own is then worked
 * out as bitset algebra: must is an intersection, should a union, must_not
 * a complement, over the answers of its conditions at every depth: cached
 * ones, has_id lists (looked up), payload index answers, and sub-filters
 * worked out the same way. When every condition is known that is the
 * answer; else it is a superset, whose slots are judged by the whole
 * filter when they are few (PLAN_NARROW), or which is kept as a sieve.
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
#include "json/jr.h"

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
    uint64_t             *own_bits; /* bits or sieve, when the plan's own (malloc'd) */
    const uint64_t       *sieve;    /* a superset of the answer: slots outside it cannot match */
} plan;

/* A superset from the algebra is narrowed into the plan's own bits when it
 * holds at most 1 / PLAN_NARROW of the points (one check of the whole
 * filter per slot it holds), else kept as a sieve that turns the slots
 * outside it down without a check (a graph walk then judges only where it
 * goes). */
#define PLAN_NARROW 32

#define PLAN_CACHE_ENTRIES 64
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
 * Answer a scan plan's filter from the cache (see top). src is the
 * filter's JSON; its canonical text (jw_tree) names it, and the texts of
 * its conditions name theirs. On a hit of the whole text at s->gen,
 * p->bits and p->bits_count are set and plan_match, plan_estimate read
 * them. Else the bitset algebra over its conditions (one condition's
 * answer built per call at most: one asked the second time) gives p its
 * own bits, or a sieve; without bits, the second ask of the whole text at
 * one generation evaluates the filter into bits (one check per live slot)
 * and keeps them — the first ask already when plan_estimate puts the
 * matches at most 1 / eager_share of the points (0: never), for a filter
 * the caller expects to be cheaper to scan once than to judge where a
 * search walks; the estimate is taken only then, not for filters the
 * cache or the algebra answered.
 * Returns whether p has bits. Cannot fail: without memory it leaves p as
 * it was. Nothing for indexed plans (their index answers).
 */
bool plan_use_cache(plan *p, const jr_value *src, uint32_t eager_share);

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

/* bench_sparse.c — sparse search in process: the inverted index
 * (vector/sparse.h) against the exact scan the engine used before it (every
 * stored vector looked up in a hash table of the query), top-10, on
 * generated text-like data: --docs (100,000) documents of ~--nnz (100)
 * indices out of --dims (30,000), drawn Zipf(1) like words, queries of
 * ~--qnnz (30) from the same law; with --weighted, values grow with the
 * rarity of the index (ln(2 + rank)), as BM25 or SPLADE weigh words, which
 * is where the index's MaxScore pruning pays. Also the build time and the index's bytes
 * per posting. Both answers are compared (on --scan-queries, default 40):
 * they must be equal bit for bit.
 * Prints figures, asserts nothing but that equality. On a shared machine
 * compare the work (postings walked) or instruction counts (callgrind)
 * rather than the times. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "vector/sparse.h"

static uint64_t seed = 42;
static uint64_t rnd(void)  /* splitmix64 */
{
    uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double unif(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

typedef struct doc {
    uint32_t  n;
    uint32_t *idx;
    float    *val;
} doc;

static double *cdf;
static uint32_t dims, last_rank;
static bool weighted;  /* --weighted: values scaled by ln(2 + frequency rank) */

/* A Zipf(1) index: rank r with probability 1/(r+1) / H. Ranks are spread
 * over the index space so that common indices are not all small. */
static uint32_t zipf(void)
{
    double u = unif();
    uint32_t lo = 0, hi = dims - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    last_rank = lo;
    return (uint32_t)(((uint64_t)lo * 2654435761u) % dims);
}

/* n unique indices (give or take half), values in (0, 2] (times the
 * rank's weight with --weighted), sorted. */
static void make(doc *d, uint32_t mean, uint8_t *mark)
{
    uint32_t want = mean / 2 + (uint32_t)(rnd() % (mean + 1));
    if (want > dims / 2)
        want = dims / 2;
    d->idx = malloc((size_t)want * sizeof *d->idx);
    d->val = malloc((size_t)want * sizeof *d->val);
    uint32_t *tmp = malloc((size_t)want * 2 * sizeof *tmp);
    d->n = 0;
    while (d->n < want) {
        uint32_t k = zipf();
        if (mark[k])
            continue;
        mark[k] = 1;
        d->idx[d->n] = k;
        double v = 0.01 + 2.0 * unif();
        d->val[d->n++] = (float)(weighted ? v * log(2.0 + last_rank) : v);
    }
    for (uint32_t i = 0; i < d->n; i++)
        mark[d->idx[i]] = 0;
    sparse_sort(d->idx, d->val, d->n, tmp);
    free(tmp);
}

/* The scan: the query in an open-addressing table, every document's
 * entries looked up in it (the engine's exact path). */
typedef struct qtable {
    uint32_t *key;
    float    *val;
    uint32_t  mask;
} qtable;

static void table_of(const doc *q, qtable *t)
{
    uint32_t cap = 4;
    while (cap < q->n * 2)
        cap *= 2;
    t->key = malloc(cap * sizeof *t->key);
    t->val = malloc(cap * sizeof *t->val);
    memset(t->key, 0xff, cap * sizeof *t->key);
    t->mask = cap - 1;
    for (uint32_t i = 0; i < q->n; i++) {
        uint32_t j = (q->idx[i] * 2654435761u) & t->mask;
        while (t->key[j] != UINT32_MAX)
            j = (j + 1) & t->mask;
        t->key[j] = q->idx[i];
        t->val[j] = q->val[i];
    }
}

/* noinline: callgrind --toggle-collect=scan counts it apart */
__attribute__((noinline)) static void scan(const doc *docs, uint32_t n, const qtable *t, topk *k)
{
    for (uint32_t s = 0; s < n; s++) {
        const doc *d = &docs[s];
        float dot = 0;
        bool shared = false;
        for (uint32_t i = 0; i < d->n; i++) {
            uint32_t key = d->idx[i];
            for (uint32_t j = (key * 2654435761u) & t->mask; t->key[j] != UINT32_MAX; j = (j + 1) & t->mask)
                if (t->key[j] == key) {
                    dot += d->val[i] * t->val[j];
                    shared = true;
                    break;
                }
        }
        if (shared)
            topk_push(k, -dot, s);
    }
}

static sparse_vec one(void *ctx, size_t i) { return *(const sparse_vec *)ctx; }

static unsigned long arg(int argc, char **argv, const char *name, unsigned long dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtoul(argv[i + 1], NULL, 10);
    return dflt;
}

int main(int argc, char **argv)
{
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        quick |= strcmp(argv[i], "--quick") == 0;
        weighted |= strcmp(argv[i], "--weighted") == 0;
    }
    uint32_t n_docs = (uint32_t)arg(argc, argv, "--docs", quick ? 10000 : 100000);
    uint32_t nnz = (uint32_t)arg(argc, argv, "--nnz", 100);
    uint32_t qnnz = (uint32_t)arg(argc, argv, "--qnnz", 30);
    uint32_t n_q = (uint32_t)arg(argc, argv, "--queries", quick ? 50 : 200);
    dims = (uint32_t)arg(argc, argv, "--dims", 30000);
    seed = arg(argc, argv, "--seed", 42);
    if (!n_docs || !nnz || !qnnz || !n_q || dims < 4) {
        fprintf(stderr, "usage: bench_sparse [--quick] [--weighted] [--docs N] [--nnz N] [--qnnz N] [--dims N] [--queries N] [--scan-queries N] [--seed S]\n");
        return 2;
    }
    cdf = malloc(dims * sizeof *cdf);
    double h = 0;
    for (uint32_t r = 0; r < dims; r++)
        cdf[r] = (h += 1.0 / (r + 1));
    for (uint32_t r = 0; r < dims; r++)
        cdf[r] /= h;
    uint8_t *mark = calloc(dims, 1);
    doc *docs = malloc((size_t)n_docs * sizeof *docs), *qs = malloc((size_t)n_q * sizeof *qs);
    uint64_t postings = 0;
    for (uint32_t i = 0; i < n_docs; i++) {
        make(&docs[i], nnz, mark);
        postings += docs[i].n;
    }
    for (uint32_t i = 0; i < n_q; i++)
        make(&qs[i], qnnz, mark);

    sparse_index *x;
    if (sparse_new(&x, NULL))
        return 1;
    double t0 = qv_mono_seconds();
    for (uint32_t s = 0; s < n_docs; s++) {
        sparse_vec v = {docs[s].n, docs[s].idx, docs[s].val};
        if (sparse_reserve(x, 1, one, &v, NULL))
            return 1;
        sparse_insert(x, s, v);
    }
    double build = qv_mono_seconds() - t0;
    printf("data: %u documents, %.1f indices each on average, of %u (Zipf 1), values %s; %u queries of ~%u\n",
           n_docs, (double)postings / n_docs, dims, weighted ? "weighted by rarity" : "uniform", n_q, qnnz);
    printf("index: built in %.2f s (%.0f postings/s); %.1f MB, %.2f bytes per posting (8 of data)\n", build,
           (double)postings / build, sparse_memory(x) / 1e6, (double)sparse_memory(x) / (double)postings);

    /* Work per query: the postings the index walks, against every stored
     * entry the scan looks up. */
    double walked = 0;
    for (uint32_t i = 0; i < n_q; i++)
        for (uint32_t j = 0; j < qs[i].n; j++)
            walked += sparse_df(x, qs[i].idx[j]);
    walked /= n_q;

    topk a, b;
    topk_init(&a, 10, NULL, NULL, NULL, NULL);
    topk_init(&b, 10, NULL, NULL, NULL, NULL);
    qtable *tables = malloc((size_t)n_q * sizeof *tables);
    for (uint32_t i = 0; i < n_q; i++)
        table_of(&qs[i], &tables[i]);
    uint32_t scan_q = (uint32_t)arg(argc, argv, "--scan-queries", 40);  /* the scan is slow: fewer */
    if (scan_q > n_q || scan_q == 0)
        scan_q = scan_q ? n_q : 1;
    t0 = qv_mono_seconds();
    for (uint32_t i = 0; i < scan_q; i++) {
        topk_reset(&a);
        scan(docs, n_docs, &tables[i], &a);
    }
    double t_scan = (qv_mono_seconds() - t0) / scan_q;
    t0 = qv_mono_seconds();
    for (uint32_t i = 0; i < n_q; i++) {
        topk_reset(&b);
        sparse_search(x, (sparse_vec){qs[i].n, qs[i].idx, qs[i].val}, NULL, &b, NULL);
    }
    double t_index = (qv_mono_seconds() - t0) / n_q;
    /* the same answers */
    uint32_t differ = 0;
    for (uint32_t i = 0; i < scan_q; i++) {
        topk_reset(&a);
        topk_reset(&b);
        scan(docs, n_docs, &tables[i], &a);
        sparse_search(x, (sparse_vec){qs[i].n, qs[i].idx, qs[i].val}, NULL, &b, NULL);
        uint32_t na = topk_sorted(&a), nb = topk_sorted(&b);
        bool same = na == nb;
        for (uint32_t j = 0; same && j < na; j++)
            same = a.items[j].slot == b.items[j].slot && a.items[j].order == b.items[j].order;
        differ += !same;
    }
    printf("exact scan:     %8.1f queries/s (%.0f stored entries looked up per query)\n", 1 / t_scan,
           (double)postings);
    printf("inverted index: %8.1f queries/s (its lists hold %.0f postings a query, %.1f%% of the data)\n", 1 / t_index,
           walked, 100 * walked / (double)postings);
    printf("speedup: %.1fx; answers equal on %u of %u queries\n", t_scan / t_index, scan_q - differ, scan_q);
    return differ ? 1 : 0;
}

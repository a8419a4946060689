/*
 * search_data.h — the data sets of the search benchmark (bench/ only, never
 * in CI) and their exact ground truth, cached on disk.
 *
 * Sets: "clustered" (points around 100 gaussian centres) and "isotropic"
 * (one standard gaussian), both n x dim generated from a seed (100,000 x 128
 * by default), queries drawn from the same distribution with another
 * stream of the same seed; and "fashion-mnist", Debian's dataset-fashion-
 * mnist (60,000 x 784 bytes as floats, 0..255; queries from t10k). Metric:
 * Euclid for all (the order is the squared L2).
 *
 * Ground truth: the SD_GT_K nearest base vectors of every query, nearest
 * first, ties by index, with the best kernels of vector/dist.h on a few
 * threads; computed once and kept in the cache directory (default
 * build/bench-cache) under the set's key, with the vectors, so that other
 * programs (bench/ref_hnswlib.cpp) read the very same data:
 *   <key>.base   <key>.query : "QVSDVEC1", u32 n, u32 dim, n*dim f32
 *   <key>.gt                 : "QVSDGT01", u32 nq, u32 k, nq*k u32 indices,
 *                              nq*k f32 orders
 * (little-endian, this machine's). A cache file with a bad header or size
 * is recomputed.
 *
 * Errors are printed to stderr; functions return 0 or -1.
 * Threading: sd_ground_truth runs its own threads; the rest is one thread.
 */
#ifndef QV_BENCH_SEARCH_DATA_H
#define QV_BENCH_SEARCH_DATA_H

#include <stddef.h>
#include <stdint.h>

#define SD_GT_K 100

typedef struct sd_set {
    char      key[96];  /* e.g. "clustered-n100000-d128-q1000-s42" */
    uint32_t  n, dim, nq;
    float    *base;     /* n * dim, 64-byte aligned */
    float    *queries;  /* nq * dim, 64-byte aligned */
    uint32_t  gt_k;     /* SD_GT_K once sd_ground_truth ran, else 0 */
    uint32_t *gt;       /* nq * gt_k base indices, nearest first */
    float    *gt_order; /* their squared L2 */
} sd_set;

typedef struct sd_opts {
    const char *set;        /* "clustered", "isotropic", "fashion-mnist" */
    uint32_t    n, dim, nq; /* generated sets (0 = 100000, 128, 1000); fashion-mnist: n, nq caps */
    uint64_t    seed;
    const char *cache_dir;  /* NULL = "build/bench-cache" */
    const char *mnist_dir;  /* NULL = /usr/share/datasets/fashion-mnist */
    int         threads;    /* for the ground truth; 0 = 2 */
} sd_opts;

/* The vectors and the ground truth of a set, from the cache or made (and
 * then cached). Prints what it did and how long it took. */
int  sd_prepare(const sd_opts *o, sd_set *s);
void sd_free(sd_set *s);

/* Pieces of sd_prepare, for tools that want them alone. */
int sd_generate(sd_set *s, const char *kind, uint32_t n, uint32_t dim, uint32_t nq, uint64_t seed);
int sd_load_fashion_mnist(sd_set *s, const char *dir, uint32_t max_n, uint32_t max_nq);
int sd_ground_truth(sd_set *s, int threads);

/* Cache paths: dst gets "<dir>/<key>.<what>". */
void sd_path(char *dst, size_t cap, const char *dir, const char *key, const char *what);

/* recall@at of got[0..n_got) (base indices) against query q's truth. */
double sd_recall(const sd_set *s, uint32_t q, const uint32_t *got, uint32_t n_got, uint32_t at);

#endif

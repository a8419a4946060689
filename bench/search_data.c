/* search_data.c — data sets and ground truth of the search bench (search_data.h). */
#define _GNU_SOURCE
#include "search_data.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "vector/dist.h"
#include "vector/topk.h"

#define CLUSTERS      100
#define CLUSTER_SIGMA 0.5
#define MNIST_DIR     "/usr/share/datasets/fashion-mnist"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s) { return ((double)(splitmix(s) >> 11) + 0.5) / 9007199254740992.0; }

/* Standard normal (Box-Muller; one of the pair is dropped: simpler, fast enough). */
static double gauss(uint64_t *s)
{
    double u = unif(s), v = unif(s);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static float *falloc(size_t count)
{
    size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p)
        fprintf(stderr, "search_data: out of memory (%zu floats)\n", count);
    return p;
}

void sd_free(sd_set *s)
{
    free(s->base);
    free(s->queries);
    free(s->gt);
    free(s->gt_order);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------ generated */

int sd_generate(sd_set *s, const char *kind, uint32_t n, uint32_t dim, uint32_t nq, uint64_t seed)
{
    bool clustered = strcmp(kind, "clustered") == 0;
    if (!clustered && strcmp(kind, "isotropic") != 0) {
        fprintf(stderr, "search_data: unknown set %s\n", kind);
        return -1;
    }
    memset(s, 0, sizeof *s);
    snprintf(s->key, sizeof s->key, "%s-n%u-d%u-q%u-s%llu", kind, n, dim, nq, (unsigned long long)seed);
    s->n = n, s->dim = dim, s->nq = nq;
    s->base = falloc((size_t)n * dim);
    s->queries = falloc((size_t)nq * dim);
    float *centres = clustered ? falloc((size_t)CLUSTERS * dim) : NULL;
    if (!s->base || !s->queries || (clustered && !centres))
        goto fail;
    /* Separate streams for centres, base and queries: changing nq leaves
     * the base as it was. */
    uint64_t sc = seed * 3 + 1, sb = seed * 3 + 2, sq = seed * 3 + 3;
    splitmix(&sc), splitmix(&sb), splitmix(&sq);
    if (clustered)
        for (size_t i = 0; i < (size_t)CLUSTERS * dim; i++)
            centres[i] = (float)gauss(&sc);
    for (int pass = 0; pass < 2; pass++) {
        float *v = pass ? s->queries : s->base;
        uint32_t cnt = pass ? nq : n;
        uint64_t *st = pass ? &sq : &sb;
        for (uint32_t p = 0; p < cnt; p++) {
            float *x = v + (size_t)p * dim;
            if (clustered) {
                const float *c = centres + (size_t)(splitmix(st) % CLUSTERS) * dim;
                for (uint32_t j = 0; j < dim; j++)
                    x[j] = c[j] + (float)(CLUSTER_SIGMA * gauss(st));
            } else {
                for (uint32_t j = 0; j < dim; j++)
                    x[j] = (float)gauss(st);
            }
        }
    }
    free(centres);
    return 0;
fail:
    free(centres);
    sd_free(s);
    return -1;
}

/* -------------------------------------------------------- fashion-mnist */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An idx3-ubyte.gz file: up to max images as floats; *out_n, *out_dim. */
static float *read_idx3(const char *path, uint32_t max, uint32_t *out_n, uint32_t *out_dim)
{
    float *v = NULL;
    unsigned char *row = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "search_data: %s: %s (install dataset-fashion-mnist)\n", path, strerror(errno));
        return NULL;
    }
    unsigned char h[16];
    if (gzread(f, h, 16) != 16 || be32(h) != 0x803) {
        fprintf(stderr, "search_data: %s: not an idx3-ubyte file\n", path);
        goto fail;
    }
    uint32_t n = be32(h + 4), dim = be32(h + 8) * be32(h + 12);
    if (dim == 0 || dim > 65536 || n == 0) {
        fprintf(stderr, "search_data: %s: bad shape %u x %u\n", path, n, dim);
        goto fail;
    }
    if (max && n > max)
        n = max;
    v = falloc((size_t)n * dim);
    row = malloc(dim);
    if (!v || !row)
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        if (gzread(f, row, dim) != (int)dim) {
            fprintf(stderr, "search_data: %s: short read at image %u\n", path, i);
            goto fail;
        }
        for (uint32_t j = 0; j < dim; j++)
            v[(size_t)i * dim + j] = row[j];
    }
    free(row);
    gzclose(f);
    *out_n = n, *out_dim = dim;
    return v;
fail:
    free(v);
    free(row);
    gzclose(f);
    return NULL;
}

int sd_load_fashion_mnist(sd_set *s, const char *dir, uint32_t max_n, uint32_t max_nq)
{
    memset(s, 0, sizeof *s);
    char p[4096];
    uint32_t qd = 0;
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir ? dir : MNIST_DIR);
    if (!(s->base = read_idx3(p, max_n, &s->n, &s->dim)))
        goto fail;
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", dir ? dir : MNIST_DIR);
    if (!(s->queries = read_idx3(p, max_nq, &s->nq, &qd)))
        goto fail;
    if (qd != s->dim) {
        fprintf(stderr, "search_data: fashion-mnist: train dim %u, t10k dim %u\n", s->dim, qd);
        goto fail;
    }
    snprintf(s->key, sizeof s->key, "fashion-mnist-n%u-q%u", s->n, s->nq);
    return 0;
fail:
    sd_free(s);
    return -1;
}

/* --------------------------------------------------------- ground truth */

typedef struct gt_job {
    sd_set         *s;
    atomic_uint     next;
    int             failed;
} gt_job;

static void *gt_worker(void *arg)
{
    gt_job *j = arg;
    sd_set *s = j->s;
    dist_fn l2 = dist_kernels_best()->l2sq;
    topk t;
    if (topk_init(&t, s->gt_k, NULL, NULL, NULL, NULL) != QV_OK) {
        j->failed = 1;
        return NULL;
    }
    for (;;) {
        uint32_t q = atomic_fetch_add(&j->next, 1);
        if (q >= s->nq)
            break;
        const float *qv = s->queries + (size_t)q * s->dim;
        topk_reset(&t);
        for (uint32_t i = 0; i < s->n; i++) {
            float d = l2(qv, s->base + (size_t)i * s->dim, s->dim);
            if (d <= topk_worst(&t))
                topk_push(&t, d, i);
        }
        uint32_t got = topk_sorted(&t);
        for (uint32_t r = 0; r < s->gt_k; r++) {
            s->gt[(size_t)q * s->gt_k + r] = r < got ? t.items[r].slot : UINT32_MAX;
            s->gt_order[(size_t)q * s->gt_k + r] = r < got ? t.items[r].order : INFINITY;
        }
    }
    topk_free(&t);
    return NULL;
}

int sd_ground_truth(sd_set *s, int threads)
{
    if (threads < 1)
        threads = 2;
    if (threads > 64)
        threads = 64;
    s->gt_k = SD_GT_K;
    free(s->gt);
    free(s->gt_order);
    s->gt = malloc((size_t)s->nq * s->gt_k * sizeof *s->gt);
    s->gt_order = malloc((size_t)s->nq * s->gt_k * sizeof *s->gt_order);
    if (!s->gt || !s->gt_order) {
        fprintf(stderr, "search_data: out of memory (ground truth)\n");
        return -1;
    }
    gt_job j = {.s = s};
    pthread_t th[64];
    int started = 0;
    for (; started < threads; started++)
        if (pthread_create(&th[started], NULL, gt_worker, &j) != 0)
            break;
    if (started == 0)
        gt_worker(&j);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (j.failed) {
        fprintf(stderr, "search_data: out of memory (ground truth)\n");
        return -1;
    }
    return 0;
}

double sd_recall(const sd_set *s, uint32_t q, const uint32_t *got, uint32_t n_got, uint32_t at)
{
    if (at > s->gt_k)
        at = s->gt_k;
    const uint32_t *truth = s->gt + (size_t)q * s->gt_k;
    uint32_t hit = 0;
    for (uint32_t i = 0; i < n_got && i < at; i++)
        for (uint32_t r = 0; r < at; r++)
            if (got[i] == truth[r]) {
                hit++;
                break;
            }
    return at ? (double)hit / at : 1.0;
}

/* ---------------------------------------------------------------- cache */

void sd_path(char *dst, size_t cap, const char *dir, const char *key, const char *what)
{
    snprintf(dst, cap, "%s/%s.%s", dir, key, what);
}

static int mkdirs(const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *c = p + 1; *c; c++)
        if (*c == '/') {
            *c = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return -1;
            *c = '/';
        }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Write parts to path via path.tmp and a rename, so a crash leaves no
 * half file under the real name. */
static int write_file(const char *path, const void *const *parts, const size_t *lens, int count)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        goto fail;
    for (int i = 0; i < count; i++)
        if (lens[i] && fwrite(parts[i], 1, lens[i], f) != lens[i]) {
            fclose(f);
            goto fail;
        }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "search_data: cannot write %s: %s\n", path, strerror(errno));
    remove(tmp);
    return -1;
}

static int save_vecs(const char *path, const float *v, uint32_t n, uint32_t dim)
{
    uint32_t h[2] = {n, dim};
    const void *parts[] = {"QVSDVEC1", h, v};
    size_t lens[] = {8, sizeof h, (size_t)n * dim * sizeof(float)};
    return write_file(path, parts, lens, 3);
}

/* Reads a file whose header is magic + two u32 and whose size is exactly
 * what body_size says for them; NULL (quietly) when missing or wrong. */
static void *read_file(const char *path, const char *magic, uint32_t *a, uint32_t *b,
                       size_t (*body_size)(uint32_t, uint32_t))
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char m[8];
    uint32_t h[2];
    void *body = NULL;
    struct stat st;
    if (fread(m, 1, 8, f) != 8 || memcmp(m, magic, 8) != 0 || fread(h, sizeof h, 1, f) != 1 ||
        fstat(fileno(f), &st) != 0)
        goto out;
    size_t bytes = body_size(h[0], h[1]);
    if ((size_t)st.st_size != 16 + bytes)
        goto out;
    body = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (body && fread(body, 1, bytes, f) != bytes) {
        free(body);
        body = NULL;
    }
    *a = h[0], *b = h[1];
out:
    fclose(f);
    return body;
}

static size_t vec_bytes(uint32_t n, uint32_t dim) { return (size_t)n * dim * sizeof(float); }
static size_t gt_bytes(uint32_t nq, uint32_t k) { return (size_t)nq * k * (sizeof(uint32_t) + sizeof(float)); }

static int load_cache(const char *dir, sd_set *s)
{
    char p[4200];
    uint32_t n, dim, nq, qdim, gq, k;
    sd_path(p, sizeof p, dir, s->key, "base");
    float *base = read_file(p, "QVSDVEC1", &n, &dim, vec_bytes);
    sd_path(p, sizeof p, dir, s->key, "query");
    float *q = read_file(p, "QVSDVEC1", &nq, &qdim, vec_bytes);
    sd_path(p, sizeof p, dir, s->key, "gt");
    uint32_t *gt = read_file(p, "QVSDGT01", &gq, &k, gt_bytes);
    if (!base || !q || !gt || qdim != dim || gq != nq || k != SD_GT_K) {
        free(base);
        free(q);
        free(gt);
        return -1;
    }
    s->n = n, s->dim = dim, s->nq = nq, s->gt_k = k;
    s->base = base, s->queries = q, s->gt = gt;
    s->gt_order = malloc((size_t)nq * k * sizeof(float));
    if (!s->gt_order)
        return -1;
    memcpy(s->gt_order, gt + (size_t)nq * k, (size_t)nq * k * sizeof(float));
    return 0;
}

static int save_cache(const char *dir, const sd_set *s)
{
    char p[4200];
    if (mkdirs(dir) != 0) {
        fprintf(stderr, "search_data: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    sd_path(p, sizeof p, dir, s->key, "base");
    if (save_vecs(p, s->base, s->n, s->dim) != 0)
        return -1;
    sd_path(p, sizeof p, dir, s->key, "query");
    if (save_vecs(p, s->queries, s->nq, s->dim) != 0)
        return -1;
    sd_path(p, sizeof p, dir, s->key, "gt");
    uint32_t h[2] = {s->nq, s->gt_k};
    const void *parts[] = {"QVSDGT01", h, s->gt, s->gt_order};
    size_t lens[] = {8, sizeof h, (size_t)s->nq * s->gt_k * sizeof(uint32_t),
                     (size_t)s->nq * s->gt_k * sizeof(float)};
    return write_file(p, parts, lens, 4);
}

int sd_prepare(const sd_opts *o, sd_set *s)
{
    const char *dir = o->cache_dir ? o->cache_dir : "build/bench-cache";
    bool mnist = strcmp(o->set, "fashion-mnist") == 0;
    uint32_t n = o->n ? o->n : mnist ? 60000 : 100000;
    uint32_t dim = o->dim ? o->dim : 128;
    uint32_t nq = o->nq ? o->nq : 1000;
    if (mnist && n > 60000)  /* what the files hold: the key must match them */
        n = 60000;
    if (mnist && nq > 10000)
        nq = 10000;
    memset(s, 0, sizeof *s);
    /* The key first, so that a cached set is not even generated. */
    if (mnist)
        snprintf(s->key, sizeof s->key, "fashion-mnist-n%u-q%u", n, nq);
    else
        snprintf(s->key, sizeof s->key, "%s-n%u-d%u-q%u-s%llu", o->set, n, dim, nq,
                 (unsigned long long)o->seed);
    double t0 = now();
    if (load_cache(dir, s) == 0) {
        printf("data: %s: %u x %u, %u queries, from %s (%.2f s)\n", s->key, s->n, s->dim, s->nq, dir,
               now() - t0);
        return 0;
    }
    char key[sizeof s->key];
    memcpy(key, s->key, sizeof key);
    sd_free(s);
    if (mnist ? sd_load_fashion_mnist(s, o->mnist_dir, n, nq) : sd_generate(s, o->set, n, dim, nq, o->seed))
        return -1;
    if (strcmp(key, s->key) != 0)  /* fewer images in the files than asked */
        fprintf(stderr, "data: %s has %u x %u only\n", key, s->n, s->nq);
    double t1 = now();
    if (sd_ground_truth(s, o->threads) != 0)
        goto fail;
    double t2 = now();
    printf("data: %s: %u x %u, %u queries, made in %.2f s, ground truth top-%u in %.2f s (%d threads, %s)\n",
           s->key, s->n, s->dim, s->nq, t1 - t0, s->gt_k, t2 - t1, o->threads ? o->threads : 2,
           dist_kernels_best()->name);
    if (save_cache(dir, s) != 0)
        goto fail;
    return 0;
fail:
    sd_free(s);
    return -1;
}

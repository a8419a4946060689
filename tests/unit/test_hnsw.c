/* test_hnsw.c — the HNSW graph (vector/hnsw.h): recall against brute force
 * for every metric, filtered recall with the two-hop expansion, tombstones,
 * updates, save/load, damage, parallel inserts, memory per point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "vector/hnsw.h"

/* Sizes: big enough that the graph matters, small enough for ASan. */
#define N    10000  /* the shared graph (filters, save/load, memory) */
#define NS   5000   /* each graph of its own */
#define DIM  32
#define NQ   100
#define K    10
#define CLUSTERS 40

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t x = (rng_state += 0x9E3779B97F4A7C15ull);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
static float unif(void) { return (float)((rnd() >> 11) * 0x1.0p-53); }
static float gauss(void)
{
    float u = unif() + 1e-9f, v = unif();
    return sqrtf(-2 * logf(u)) * cosf(6.2831853f * v);
}

/* Clustered points: a centre in [-1,1]^dim plus gaussian noise. */
static float centres[CLUSTERS][DIM];
static void gen_point(float *v, bool normalize)
{
    int c = (int)(rnd() % CLUSTERS);
    for (int i = 0; i < DIM; i++)
        v[i] = centres[c][i] + 0.45f * gauss();
    if (normalize)
        dist_normalize(v, DIM);
}

typedef struct data {
    vec_dense col;
    uint32_t  n;
    float     q[NQ][DIM];
} data;

static void data_make(data *d, uint32_t n, uint64_t seed, bool normalize)
{
    rng_state = seed;
    for (int c = 0; c < CLUSTERS; c++)
        for (int i = 0; i < DIM; i++)
            centres[c][i] = 2 * unif() - 1;
    uint32_t chunks = (n + VEC_CHUNK - 1) / VEC_CHUNK;
    d->n = n;
    d->col.name = NULL;
    d->col.dim = DIM;
    d->col.chunks = calloc(chunks, sizeof *d->col.chunks);
    d->col.has = calloc((size_t)chunks * VEC_CHUNK / 64, sizeof(uint64_t));
    assert_non_null(d->col.chunks);
    for (uint32_t c = 0; c < chunks; c++)
        assert_non_null(d->col.chunks[c] = vec_chunk_alloc(DIM, false));
    for (uint32_t s = 0; s < n; s++) {
        gen_point((float *)vec_dense_get(&d->col, s), normalize);
        d->col.has[s >> 6] |= 1ull << (s & 63);
    }
    for (int i = 0; i < NQ; i++)
        gen_point(d->q[i], normalize);
}

static void data_free(data *d)
{
    uint32_t chunks = (d->n + VEC_CHUNK - 1) / VEC_CHUNK;
    for (uint32_t c = 0; c < chunks; c++)
        vec_chunk_free(d->col.chunks[c], DIM, false);
    free(d->col.chunks);
    free(d->col.has);
}

static float *vmut(data *d, uint32_t s) { return (float *)vec_dense_get(&d->col, s); }

/* Exact top K over slots that pass ok (NULL = all). */
typedef bool (*okfn)(void *ctx, uint32_t s);
static uint32_t brute(const data *d, dist_metric m, const float *q, okfn ok, void *ctx, uint32_t *out)
{
    dist_fn fn = dist_order_fn(dist_kernels_scalar(), m);
    float bd[K];
    uint32_t n = 0;
    for (uint32_t s = 0; s < d->n; s++) {
        if (ok && !ok(ctx, s))
            continue;
        float x = fn(q, vec_dense_get(&d->col, s), DIM);
        if (n == K && x >= bd[K - 1])
            continue;
        uint32_t i = n < K ? n++ : K - 1;
        while (i > 0 && bd[i - 1] > x) {
            bd[i] = bd[i - 1];
            out[i] = out[i - 1];
            i--;
        }
        bd[i] = x;
        out[i] = s;
    }
    return n;
}

static hnsw *build(data *d, dist_metric m, uint32_t mm, uint32_t efc)
{
    hnsw_params p = {.m = mm, .ef_construct = efc, .metric = m, .dim = DIM, .seed = 42};
    hnsw *g;
    qv_error err;
    assert_int_equal(hnsw_new(&p, d->n, &g, &err), QV_OK);
    for (uint32_t s = 0; s < d->n; s++)
        assert_int_equal(hnsw_insert(g, &d->col, s, &err), QV_OK);
    assert_int_equal(hnsw_count(g), d->n);
    return g;
}

/* Mean recall@K over the queries; also checks every returned slot passes ok
 * and the order is sorted. */
static double recall(hnsw *g, data *d, dist_metric m, uint32_t ef, const hnsw_filter *f, okfn ok, void *ctx)
{
    uint32_t hit = 0, total = 0;
    for (int i = 0; i < NQ; i++) {
        uint32_t truth[K];
        uint32_t nt = brute(d, m, d->q[i], ok, ctx, truth);
        hnsw_hit out[K];
        uint32_t n;
        qv_error err;
        assert_int_equal(hnsw_search(g, &d->col, d->q[i], K, ef, f, out, &n, &err), QV_OK);
        assert_true(n <= K);
        for (uint32_t j = 0; j < n; j++) {
            if (ok)
                assert_true(ok(ctx, out[j].slot));
            if (j)
                assert_true(out[j - 1].order <= out[j].order);
        }
        for (uint32_t t = 0; t < nt; t++)
            for (uint32_t j = 0; j < n; j++)
                if (out[j].slot == truth[t]) {
                    hit++;
                    break;
                }
        total += nt;
    }
    return total ? (double)hit / total : 1.0;
}

static void recall_metric(dist_metric m, bool normalize)
{
    data d;
    data_make(&d, NS, 7 + (uint64_t)m, normalize);
    hnsw *g = build(&d, m, 16, 64);
    double r = recall(g, &d, m, 64, NULL, NULL, NULL);
    printf("metric %d: recall@10 at ef 64 = %.3f\n", (int)m, r);
    assert_true(r >= 0.95);
    hnsw_free(g);
    data_free(&d);
}

static void recall_cosine(void **state) { recall_metric(DIST_COSINE, true); }
static void recall_dot(void **state) { recall_metric(DIST_DOT, true); }
static void recall_euclid(void **state) { recall_metric(DIST_EUCLID, false); }
static void recall_manhattan(void **state) { recall_metric(DIST_MANHATTAN, false); }

/* One Euclid graph shared by the tests below (built once). */
static data shared;
static hnsw *shared_g;
static int shared_setup(void **state)
{
    data_make(&shared, N, 99, false);
    shared_g = build(&shared, DIST_EUCLID, 16, 100);
    return 0;
}
static int shared_teardown(void **state)
{
    hnsw_free(shared_g);
    data_free(&shared);
    return 0;
}

static bool bit_ok(void *ctx, uint32_t s)
{
    const uint64_t *bits = ctx;
    return bits[s >> 6] >> (s & 63) & 1;
}

static void filtered_at(double frac, bool use_callback)
{
    uint64_t *bits = calloc((N + 63) / 64, 8);
    rng_state = 1234;
    uint32_t want = (uint32_t)(N * frac);
    for (uint32_t got = 0; got < want;) {
        uint32_t s = (uint32_t)(rnd() % N);
        if (!(bits[s >> 6] >> (s & 63) & 1)) {
            bits[s >> 6] |= 1ull << (s & 63);
            got++;
        }
    }
    hnsw_filter f = {.selectivity = (float)frac};
    if (use_callback) {
        f.allow = bit_ok;
        f.ctx = bits;
    } else {
        f.allowed = bits;
        f.allowed_slots = N;
    }
    double r = recall(shared_g, &shared, DIST_EUCLID, 64, &f, bit_ok, bits);
    printf("filtered %.0f%% (%s): recall@10 at ef 64 = %.3f\n", frac * 100, use_callback ? "callback" : "bitset", r);
    assert_true(r >= 0.95);
    free(bits);
}

static void filtered_1pct(void **state) { filtered_at(0.01, false); }
static void filtered_10pct(void **state) { filtered_at(0.10, true); }
static void filtered_50pct(void **state) { filtered_at(0.50, false); }

static void save_load_round_trip(void **state)
{
    qv_error err;
    char dir[] = "/tmp/test_hnsw_XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(hnsw_save(shared_g, dir, "g.hnsw", &err), QV_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/g.hnsw", dir);
    hnsw *h;
    assert_int_equal(hnsw_load(path, UINT32_MAX - 1, &h, &err), QV_OK);
    assert_int_equal(hnsw_count(h), hnsw_count(shared_g));
    assert_int_equal(hnsw_memory(h), hnsw_memory(shared_g));
    for (int i = 0; i < NQ; i++) {
        hnsw_hit a[K], b[K];
        uint32_t na, nb;
        assert_int_equal(hnsw_search(shared_g, &shared.col, shared.q[i], K, 32, NULL, a, &na, &err), QV_OK);
        assert_int_equal(hnsw_search(h, &shared.col, shared.q[i], K, 32, NULL, b, &nb, &err), QV_OK);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na * sizeof *a);
    }
    /* The same bytes again. */
    uint8_t *b1, *b2;
    size_t l1, l2;
    assert_int_equal(hnsw_save_buf(shared_g, &b1, &l1, &err), QV_OK);
    assert_int_equal(hnsw_save_buf(h, &b2, &l2, &err), QV_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    free(b2);
    hnsw_free(h);
    /* Damage: every kind is refused with QV_CORRUPT. */
    hnsw *bad = NULL;
    b1[l1 / 2] ^= 0x10;
    assert_int_equal(hnsw_load_buf(b1, l1, UINT32_MAX - 1, &bad, &err), QV_CORRUPT);
    assert_null(bad);
    printf("damaged: %s\n", err.msg);
    b1[l1 / 2] ^= 0x10;
    assert_int_equal(hnsw_load_buf(b1, l1 - 9, UINT32_MAX - 1, &bad, &err), QV_CORRUPT);
    assert_int_equal(hnsw_load_buf(b1, 20, UINT32_MAX - 1, &bad, &err), QV_CORRUPT);
    /* A capacity above the caller's bound is refused before allocating. */
    assert_int_equal(hnsw_load_buf(b1, l1, hnsw_capacity(shared_g) - 1, &bad, &err), QV_CORRUPT);
    assert_non_null(strstr(err.msg, "capacity"));
    assert_null(bad);
    hnsw *exact = NULL;
    assert_int_equal(hnsw_load_buf(b1, l1, hnsw_capacity(shared_g), &exact, &err), QV_OK);
    hnsw_free(exact);
    b1[0] = 'X';
    assert_int_equal(hnsw_load_buf(b1, l1, UINT32_MAX - 1, &bad, &err), QV_CORRUPT);
    free(b1);
    /* A damaged file on disk too. */
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 100, SEEK_SET);
    fputc(0xAB, fp);
    fclose(fp);
    assert_int_equal(hnsw_load(path, UINT32_MAX - 1, &bad, &err), QV_CORRUPT);
    assert_null(bad);
    qv_rm_rf(dir);
}

static bool live_ok(void *ctx, uint32_t s)
{
    const uint8_t *dead = ctx;
    return !dead[s];
}

static void deleted_never_returned(void **state)
{
    data d;
    data_make(&d, NS, 5, false);
    hnsw *g = build(&d, DIST_EUCLID, 16, 64);
    uint8_t *dead = calloc(NS, 1);
    rng_state = 77;
    for (int i = 0; i < NS / 5; i++) {  /* 20% */
        uint32_t s = (uint32_t)(rnd() % NS);
        dead[s] = 1;
        hnsw_delete(g, s);
        hnsw_delete(g, s);  /* twice is once */
    }
    uint32_t nd = 0;
    for (int s = 0; s < NS; s++)
        nd += dead[s];
    assert_int_equal(hnsw_deleted(g), nd);
    /* Also delete each query's exact nearest, so a stale answer would show. */
    for (int i = 0; i < NQ; i++) {
        uint32_t t[K];
        brute(&d, DIST_EUCLID, d.q[i], live_ok, dead, t);
        dead[t[0]] = 1;
        hnsw_delete(g, t[0]);
    }
    double r = recall(g, &d, DIST_EUCLID, 64, NULL, live_ok, dead);
    printf("after deleting ~21%%: recall@10 = %.3f\n", r);
    assert_true(r >= 0.95);
    /* An update brings a slot back. */
    uint32_t s0 = 0;
    while (!dead[s0])
        s0++;
    qv_error err;
    memcpy(vmut(&d, s0), d.q[0], sizeof d.q[0]);
    assert_int_equal(hnsw_update(g, &d.col, s0, &err), QV_OK);
    hnsw_hit out[K];
    uint32_t n;
    assert_int_equal(hnsw_search(g, &d.col, d.q[0], K, 64, NULL, out, &n, &err), QV_OK);
    assert_int_equal(out[0].slot, s0);
    free(dead);
    hnsw_free(g);
    data_free(&d);
}

/* Mean level-0 link count of the nodes of a graph, read from its image. */
static double mean_links0(const hnsw *g)
{
    uint8_t *b;
    size_t len;
    qv_error err;
    assert_int_equal(hnsw_save_buf(g, &b, &len, &err), QV_OK);
    uint32_t nodes = (uint32_t)b[40] | (uint32_t)b[41] << 8 | (uint32_t)b[42] << 16 | (uint32_t)b[43] << 24;
    const uint8_t *p = b + 52;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < nodes; i++) {
        uint32_t level = p[4];
        p += 6;
        for (uint32_t lev = 0; lev <= level; lev++) {
            uint32_t n = (uint32_t)p[0] | (uint32_t)p[1] << 8;
            if (lev == 0)
                sum += n;
            p += 2 + 4 * (size_t)n;
        }
    }
    free(b);
    return nodes ? (double)sum / nodes : 0;
}

/* Tombstones repaired: half the points deleted (the entry among them),
 * their neighbours relinked in two calls (as the indexer does it, in
 * ranges), the tombstones dropped; recall holds, nothing dead is left,
 * and the dropped slots can be inserted afresh. */
static void repair_drops_tombstones(void **state)
{
    data d;
    data_make(&d, NS, 21, false);
    hnsw *g = build(&d, DIST_EUCLID, 8, 64);
    uint8_t *dead = calloc(NS, 1);
    uint64_t *doomed = calloc(NS / 64 + 1, sizeof *doomed);
    rng_state = 4;
    for (uint32_t s = 0; s < NS; s++)
        if (rnd() % 2) {
            dead[s] = 1;
            hnsw_delete(g, s);
        }
    hnsw_hit out[K];
    uint32_t n;
    qv_error err;
    /* The entry: the node a search on an empty query starts from is any;
     * find the top one by level through a save instead. */
    uint8_t *img;
    size_t len;
    assert_int_equal(hnsw_save_buf(g, &img, &len, &err), QV_OK);
    uint32_t entry = (uint32_t)img[44] | (uint32_t)img[45] << 8 | (uint32_t)img[46] << 16 | (uint32_t)img[47] << 24;
    free(img);
    if (!dead[entry]) {
        dead[entry] = 1;
        hnsw_delete(g, entry);
    }
    uint32_t nd = 0;
    for (uint32_t s = 0; s < NS; s++)
        if (dead[s]) {
            doomed[s >> 6] |= 1ull << (s & 63);
            nd++;
        }
    assert_int_equal(hnsw_deleted(g), nd);
    for (uint32_t s = 0; s < NS; s++)
        assert_int_equal(hnsw_tombstone(g, s), dead[s]);
    double before = recall(g, &d, DIST_EUCLID, 16, NULL, live_ok, dead), links_before = mean_links0(g);
    assert_int_equal(hnsw_repair(g, &d.col, doomed, NS, 0, NS / 3, &err), QV_OK);
    assert_int_equal(hnsw_repair(g, &d.col, doomed, NS, NS / 3, NS, &err), QV_OK);
    /* Between the two steps a doomed slot is reused: it stays. */
    uint32_t back = 0;
    while (!dead[back] || back == entry)
        back++;
    memcpy(vmut(&d, back), d.q[1], sizeof d.q[1]);
    assert_int_equal(hnsw_update(g, &d.col, back, &err), QV_OK);
    dead[back] = 0;
    assert_int_equal(hnsw_drop(g, doomed, NS), nd - 1);
    assert_int_equal(hnsw_deleted(g), 0);
    assert_int_equal(hnsw_count(g), NS - nd + 1);
    assert_false(hnsw_contains(g, entry));
    assert_false(hnsw_tombstone(g, entry));
    assert_true(hnsw_contains(g, back));
    assert_false(hnsw_tombstone(g, back));
    double after = recall(g, &d, DIST_EUCLID, 16, NULL, live_ok, dead), links_after = mean_links0(g);
    printf("half deleted: recall@10 at ef 16 %.3f with tombstones, %.3f repaired and dropped; "
           "level-0 links per node %.1f, then %.1f\n", before, after, links_before, links_after);
    assert_true(after >= 0.95);
    assert_true(links_after >= 0.7 * links_before);  /* dropping alone halves them */
    assert_int_equal(hnsw_search(g, &d.col, d.q[1], K, 64, NULL, out, &n, &err), QV_OK);
    assert_int_equal(out[0].slot, back);
    /* A saved repaired graph loads (every link names a node). */
    hnsw *h;
    assert_int_equal(hnsw_save_buf(g, &img, &len, &err), QV_OK);
    assert_int_equal(hnsw_load_buf(img, len, NS, &h, &err), QV_OK);
    free(img);
    hnsw_free(h);
    /* The dropped slots take new points. */
    for (uint32_t s = 0; s < NS; s++)
        if (dead[s]) {
            gen_point(vmut(&d, s), false);
            assert_int_equal(hnsw_insert(g, &d.col, s, &err), QV_OK);
        }
    assert_int_equal(hnsw_count(g), NS);
    double all = recall(g, &d, DIST_EUCLID, 64, NULL, NULL, NULL);
    printf("dropped slots filled again: recall@10 %.3f\n", all);
    assert_true(all >= 0.95);
    /* Everything deleted and dropped: an empty graph, which takes a node. */
    memset(doomed, 0xff, (NS / 64 + 1) * sizeof *doomed);
    for (uint32_t s = 0; s < NS; s++)
        hnsw_delete(g, s);
    assert_int_equal(hnsw_repair(g, &d.col, doomed, NS, 0, NS, &err), QV_OK);
    assert_int_equal(hnsw_drop(g, doomed, NS), NS);
    assert_int_equal(hnsw_count(g), 0);
    assert_int_equal(hnsw_search(g, &d.col, d.q[0], K, 64, NULL, out, &n, &err), QV_OK);
    assert_int_equal(n, 0);
    assert_int_equal(hnsw_insert(g, &d.col, 7, &err), QV_OK);
    assert_int_equal(hnsw_search(g, &d.col, d.q[0], K, 64, NULL, out, &n, &err), QV_OK);
    assert_int_equal(n, 1);
    free(doomed);
    free(dead);
    hnsw_free(g);
    data_free(&d);
}

static void updated_found_at_new_place(void **state)
{
    data d;
    data_make(&d, NS, 11, false);
    hnsw *g = build(&d, DIST_EUCLID, 16, 64);
    qv_error err;
    /* Move 200 points far from where they were: to fresh random places. */
    float moved[200][DIM];
    uint32_t slots[200];
    rng_state = 555;
    for (int i = 0; i < 200; i++) {
        slots[i] = (uint32_t)(i * 47 % NS);
        for (int j = 0; j < DIM; j++)
            moved[i][j] = 2 * unif() - 1;
        memcpy(vmut(&d, slots[i]), moved[i], sizeof moved[i]);
        assert_int_equal(hnsw_update(g, &d.col, slots[i], &err), QV_OK);
    }
    uint32_t found = 0;
    for (int i = 0; i < 200; i++) {
        hnsw_hit out[K];
        uint32_t n;
        assert_int_equal(hnsw_search(g, &d.col, moved[i], K, 64, NULL, out, &n, &err), QV_OK);
        found += n && out[0].slot == slots[i];
    }
    printf("updated found at their new place: %u/200\n", found);
    assert_true(found >= 196);
    assert_true(recall(g, &d, DIST_EUCLID, 64, NULL, NULL, NULL) >= 0.95);
    hnsw_free(g);
    data_free(&d);
}

typedef struct job {
    hnsw     *g;
    data     *d;
    uint32_t  from, step;
} job;

static void *insert_job(void *arg)
{
    job *j = arg;
    qv_error err;
    for (uint32_t s = j->from; s < j->d->n; s += j->step)
        if (hnsw_insert(j->g, &j->d->col, s, &err) != QV_OK)
            return (void *)1;
    return NULL;
}

/* A search thread running while the inserts go on: it must never fail. */
typedef struct searcher {
    hnsw *g;
    data *d;
    volatile int *stop;
    uint32_t runs;
} searcher;

static void *search_job(void *arg)
{
    searcher *s = arg;
    qv_error err;
    while (!*s->stop) {
        hnsw_hit out[K];
        uint32_t n;
        if (hnsw_search(s->g, &s->d->col, s->d->q[s->runs % NQ], K, 32, NULL, out, &n, &err) != QV_OK)
            return (void *)1;
        for (uint32_t i = 0; i < n; i++)
            if (out[i].slot >= s->d->n)
                return (void *)1;
        s->runs++;
    }
    return NULL;
}

static void parallel_insert(void **state)
{
    data d;
    data_make(&d, NS, 21, false);
    hnsw_params p = {.m = 16, .ef_construct = 64, .metric = DIST_EUCLID, .dim = DIM, .seed = 3};
    hnsw *g;
    qv_error err;
    assert_int_equal(hnsw_new(&p, NS, &g, &err), QV_OK);
    /* A few points first so that the searcher has a graph. */
    for (uint32_t s = 0; s < 2; s++)
        assert_int_equal(hnsw_insert(g, &d.col, s, &err), QV_OK);
    job j[2] = {{g, &d, 2, 2}, {g, &d, 3, 2}};
    volatile int stop = 0;
    searcher se = {g, &d, &stop, 0};
    pthread_t t[3];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, insert_job, &j[i]), 0);
    assert_int_equal(pthread_create(&t[2], NULL, search_job, &se), 0);
    void *rv;
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    stop = 1;
    pthread_join(t[2], &rv);
    assert_null(rv);
    assert_int_equal(hnsw_count(g), NS);
    double r = recall(g, &d, DIST_EUCLID, 64, NULL, NULL, NULL);
    printf("2-thread build: recall@10 = %.3f (%u searches ran meanwhile)\n", r, se.runs);
    assert_true(r >= 0.95);
    hnsw_free(g);
    data_free(&d);
}

static void memory_per_point(void **state)
{
    const hnsw_params *p = hnsw_get_params(shared_g);
    size_t ours = hnsw_memory(shared_g);
    /* hnswlib at the same m, for the same levels: level 0 and label per
     * point, m*4+4 per upper level. Upper bytes are ours minus the per-slot part. */
    size_t per_slot = (size_t)(1 + 2 * p->m) * 4 + 1 + sizeof(void *);
    size_t upper = ours - (size_t)N * per_slot;
    size_t theirs = (size_t)N * ((2 * p->m * 4 + 4) + 8) + upper;
    printf("memory per point at m %u: ours %.1f B, hnswlib %.1f B (%.3fx)\n", p->m, (double)ours / N,
           (double)theirs / N, (double)ours / theirs);
    assert_true(ours * 10 <= theirs * 11);
}

static void small_and_edge_cases(void **state)
{
    data d;
    data_make(&d, 64, 3, false);
    hnsw_params p = {.m = 4, .ef_construct = 8, .metric = DIST_EUCLID, .dim = DIM, .seed = 1};
    hnsw *g;
    qv_error err;
    hnsw_params bad = p;
    bad.m = 1;
    assert_int_equal(hnsw_new(&bad, 10, &g, &err), QV_VALIDATION);
    assert_int_equal(hnsw_new(&p, 0, &g, &err), QV_OK);
    hnsw_hit out[K];
    uint32_t n = 7;
    assert_int_equal(hnsw_search(g, &d.col, d.q[0], K, 10, NULL, out, &n, &err), QV_OK);
    assert_int_equal(n, 0);  /* empty graph */
    assert_int_equal(hnsw_insert(g, &d.col, 0, &err), QV_VALIDATION);  /* beyond capacity */
    assert_int_equal(hnsw_reserve(g, 64, &err), QV_OK);
    assert_int_equal(hnsw_insert(g, &d.col, 5, &err), QV_OK);
    assert_int_equal(hnsw_search(g, &d.col, d.q[0], K, 10, NULL, out, &n, &err), QV_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].slot, 5);
    hnsw_delete(g, 5);
    assert_int_equal(hnsw_search(g, &d.col, d.q[0], K, 10, NULL, out, &n, &err), QV_OK);
    assert_int_equal(n, 0);
    for (uint32_t s = 0; s < 64; s++)
        assert_int_equal(hnsw_insert(g, &d.col, s, &err), QV_OK);  /* 5 again = update */
    assert_int_equal(hnsw_count(g), 64);
    assert_int_equal(hnsw_deleted(g), 0);
    /* Exact at this size: ef covers everything. */
    uint32_t truth[K];
    brute(&d, DIST_EUCLID, d.q[1], NULL, NULL, truth);
    assert_int_equal(hnsw_search(g, &d.col, d.q[1], K, 64, NULL, out, &n, &err), QV_OK);
    assert_int_equal(n, K);
    for (int i = 0; i < K; i++)
        assert_int_equal(out[i].slot, truth[i]);
    /* Save and load an empty graph too. */
    hnsw *e, *e2;
    assert_int_equal(hnsw_new(&p, 10, &e, &err), QV_OK);
    uint8_t *b;
    size_t l;
    assert_int_equal(hnsw_save_buf(e, &b, &l, &err), QV_OK);
    assert_int_equal(hnsw_load_buf(b, l, UINT32_MAX - 1, &e2, &err), QV_OK);
    assert_int_equal(hnsw_count(e2), 0);
    free(b);
    hnsw_free(e);
    hnsw_free(e2);
    hnsw_free(g);
    data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_and_edge_cases),
        cmocka_unit_test(recall_cosine),
        cmocka_unit_test(recall_dot),
        cmocka_unit_test(recall_euclid),
        cmocka_unit_test(recall_manhattan),
        cmocka_unit_test(deleted_never_returned),
        cmocka_unit_test(repair_drops_tombstones),
        cmocka_unit_test(updated_found_at_new_place),
        cmocka_unit_test(parallel_insert),
    };
    const struct CMUnitTest shared_tests[] = {
        cmocka_unit_test(filtered_1pct),
        cmocka_unit_test(filtered_10pct),
        cmocka_unit_test(filtered_50pct),
        cmocka_unit_test(save_load_round_trip),
        cmocka_unit_test(memory_per_point),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rc |= cmocka_run_group_tests(shared_tests, shared_setup, shared_teardown);
    return rc;
}

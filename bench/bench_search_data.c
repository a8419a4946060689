/* bench_search_data.c — makes (or finds in the cache) a data set of the
 * search benchmark with its ground truth, and prints where the files are,
 * for bench/run and bench/ref_hnswlib (search_data.h).
 *
 *   bench_search_data [--set clustered|isotropic|fashion-mnist] [--seed S]
 *                     [--n N] [--dim D] [--queries Q] [--threads T]
 *                     [--cache DIR] [--check]
 *
 * --check recomputes the truth of a few queries with the scalar kernels
 * and a full sort, and fails if the cached truth disagrees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search_data.h"
#include "vector/dist.h"

static int usage(void)
{
    fprintf(stderr, "usage: bench_search_data [--set clustered|isotropic|fashion-mnist] [--seed S] [--n N]\n"
                    "       [--dim D] [--queries Q] [--threads T] [--cache DIR] [--check]\n");
    return 2;
}

static int check(const sd_set *s)
{
    const dist_kernels *k = dist_kernels_scalar();
    float *d = malloc((size_t)s->n * sizeof *d);
    if (!d)
        return -1;
    int bad = 0;
    uint32_t step = s->nq / 7 ? s->nq / 7 : 1;
    for (uint32_t q = 0; q < s->nq; q += step) {
        const float *qv = s->queries + (size_t)q * s->dim;
        for (uint32_t i = 0; i < s->n; i++)
            d[i] = k->l2sq(qv, s->base + (size_t)i * s->dim, s->dim);
        /* Every listed neighbour's order matches and nothing unlisted is
         * closer than the last listed (up to float rounding). */
        const uint32_t *g = s->gt + (size_t)q * s->gt_k;
        float last = s->gt_order[(size_t)q * s->gt_k + s->gt_k - 1];
        uint32_t closer = 0;
        for (uint32_t r = 0; r < s->gt_k; r++)
            if (g[r] >= s->n || d[g[r]] > s->gt_order[(size_t)q * s->gt_k + r] * 1.0001f + 1e-6f ||
                (r && s->gt_order[(size_t)q * s->gt_k + r] < s->gt_order[(size_t)q * s->gt_k + r - 1]))
                bad++;
        for (uint32_t i = 0; i < s->n; i++)
            closer += d[i] < last * 0.9999f;
        if (closer > s->gt_k)
            bad++;
    }
    free(d);
    printf("check: %s: ground truth %s\n", s->key, bad ? "WRONG" : "ok");
    return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    sd_opts o = {.set = "clustered", .seed = 42};
    int do_check = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--check") == 0) {
            do_check = 1;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (strcmp(a, "--set") == 0)
            o.set = v;
        else if (strcmp(a, "--seed") == 0)
            o.seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--n") == 0)
            o.n = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(a, "--dim") == 0)
            o.dim = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(a, "--queries") == 0)
            o.nq = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(a, "--threads") == 0)
            o.threads = atoi(v);
        else if (strcmp(a, "--cache") == 0)
            o.cache_dir = v;
        else
            return usage();
    }
    sd_set s;
    if (sd_prepare(&o, &s) != 0)
        return 1;
    const char *dir = o.cache_dir ? o.cache_dir : "build/bench-cache";
    char p[4200];
    static const char *const what[] = {"base", "query", "gt"};
    for (int i = 0; i < 3; i++) {
        sd_path(p, sizeof p, dir, s.key, what[i]);
        printf("%s=%s\n", what[i], p);
    }
    int rc = do_check ? check(&s) != 0 : 0;
    sd_free(&s);
    return rc;
}

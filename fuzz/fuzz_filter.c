/*
 * fuzz_filter — libFuzzer target for the filter language: JSON text through
 * jr_parse and flt_parse, then flt_match against a few fixed points.
 *
 * Any input: no crash, leak or UB. A rejection carries QV_BAD_FORMAT,
 * QV_VALIDATION or QV_NOMEM and a message. An accepted filter is evaluated
 * on points with rich payloads (nested objects, arrays, geo, datetimes,
 * text, null, u64), integer and UUID ids, and vectors; the planning hook
 * must agree with flt_match: flt_each over the root plus flt_node_match
 * per condition, combined by the clause rules of filter.h, gives the same
 * answer, and every field condition converts with flt_field_view.
 */
#include "fuzz_common.h"

#include <stdbool.h>

#include "filter/filter.h"
#include "index/fieldidx.h"
#include "payload/pljson.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *const payload_json[] = {
    "{\"city\": \"Berlin\", \"count\": 3, \"price\": 11.5, \"tags\": [\"a\", \"b\"],"
    " \"loc\": {\"lon\": 13.4, \"lat\": 52.5}, \"when\": \"2024-01-02T03:04:05Z\","
    " \"nested\": [{\"x\": 1, \"y\": \"a\"}, {\"x\": 2, \"y\": \"b\", \"z\": [true]}],"
    " \"n\": null, \"empty\": [], \"text\": \"the quick brown fox\", \"flag\": true,"
    " \"deep\": {\"a\": {\"b\": [1, 2, {\"c\": 3}]}}}",
    "{\"city\": [\"London\", \"Paris\"], \"count\": -7, \"price\": 1e30,"
    " \"loc\": [{\"lon\": -0.1, \"lat\": 51.5}, {\"lon\": 2.35, \"lat\": 48.85}],"
    " \"when\": [\"2023-05-05\", \"not a date\", 5], \"flag\": false,"
    " \"big\": 18446744073709551615, \"neg\": -9223372036854775808,"
    " \"uuid\": \"550e8400-e29b-41d4-a716-446655440000\", \"n\": [null, 1],"
    " \"nested\": {\"x\": 3}, \"text\": [\"hello world\", \"\"], \"\": 0}",
    "{\"count\": 3.0, \"city\": \"\", \"empty\": {}, \"tags\": [[\"a\"]], \"price\": -0.0}",
};
#define N_PAYLOADS (sizeof payload_json / sizeof *payload_json)
#define N_POINTS   (N_PAYLOADS + 1)  /* the last one has no payload */

static qv_buf      blobs[N_PAYLOADS];
static qv_point_id ids[N_POINTS] = {
    {.lo = 1},
    {.lo = UINT64_MAX},
    {.hi = 0x550e8400e29b41d4ull, .lo = 0xa716446655440000ull, .uuid = 1},
    {.lo = 0},
};
static flt_point points[N_POINTS];

/* Point i has the unnamed vector when i is even, "a" when i < 2. */
static bool has_vector(const void *ctx, const char *name)
{
    uintptr_t i = (uintptr_t)ctx;
    return (name[0] == '\0' && i % 2 == 0) || (strcmp(name, "a") == 0 && i < 2);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    for (size_t i = 0; i < N_PAYLOADS; i++) {
        qv_arena a;
        qv_arena_init(&a, 0);
        jr_value *root;
        jr_error je;
        qv_error err;
        blobs[i] = (qv_buf)QV_BUF_INIT;
        if (jr_parse(&a, payload_json[i], strlen(payload_json[i]), &root, &je) != 0 ||
            pl_encode(root, &blobs[i], &err) != 0 || !qv_buf_ok(&blobs[i]))
            fuzz_die("bad fixed payload");
        qv_arena_free(&a);
    }
    for (size_t i = 0; i < N_POINTS; i++) {
        points[i] = (flt_point){.id = &ids[i], .has_vector = has_vector, .ctx = (const void *)(uintptr_t)i};
        if (i < N_PAYLOADS) {
            points[i].payload = (const uint8_t *)blobs[i].data;
            points[i].payload_len = blobs[i].len;
        } else {
            points[i].payload = pl_empty;
            points[i].payload_len = pl_empty_len;
        }
    }
    return 0;
}

typedef struct walk {
    const flt_point *p;
    qv_arena        *a;
    bool             must, must_not, any_should;
    uint32_t         min_hits;
} walk;

static void check_node(const flt_node *n, qv_arena *a);

static bool on_cond(void *ctx, const flt_cond *c)
{
    walk *w = ctx;
    bool hit = flt_node_match(c->node, w->p);
    switch (c->clause) {
    case FLT_MUST: w->must &= hit; break;
    case FLT_MUST_NOT: w->must_not |= hit; break;
    case FLT_SHOULD: w->any_should |= hit; break;
    case FLT_MIN_SHOULD: w->min_hits += hit; break;
    }
    bool keyed = c->kind == FLT_COND_FIELD || c->kind == FLT_COND_IS_EMPTY ||
                 c->kind == FLT_COND_IS_NULL || c->kind == FLT_COND_NESTED;
    if (keyed != (c->key != NULL) || (c->kind == FLT_COND_FIELD) != (c->tests != 0))
        fuzz_die("flt_each: key or tests do not fit the kind");
    if (c->kind == FLT_COND_FIELD) {
        fidx_cond fc;
        if (flt_field_view(c->node, &fc) != QV_OK)
            fuzz_die("flt_field_view refused a field condition");
    } else if (c->kind == FLT_COND_NESTED) {
        if (!flt_nested_filter(c->node))
            fuzz_die("nested condition without a filter");
    }
    return true;
}

/* The planner's view of node n must give flt_node_match's answer on every
 * point; sub-filters are checked the same way. */
static bool on_sub(void *ctx, const flt_cond *c)
{
    qv_arena *a = ctx;
    if (c->kind == FLT_COND_FILTER)
        check_node(c->node, a);
    else if (c->kind == FLT_COND_NESTED)
        check_node(flt_nested_filter(c->node), a);
    return true;
}

static void check_node(const flt_node *n, qv_arena *a)
{
    bool has_should;
    uint32_t min_count;
    flt_filter_info(n, &has_should, &min_count);
    for (size_t i = 0; i < N_POINTS; i++) {
        walk w = {.p = &points[i], .a = a, .must = true};
        flt_each(n, on_cond, &w);
        bool want = w.must && !w.must_not && (!has_should || w.any_should) && w.min_hits >= min_count;
        if (flt_node_match(n, &points[i]) != want)
            fuzz_die("flt_each + flt_node_match disagree with the filter's own answer");
    }
    flt_each(n, on_sub, a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    jr_value *root;
    jr_error je;
    qv_error err = {0};
    flt_filter *f = NULL;
    if (jr_parse(&a, (const char *)data, size, &root, &je) != 0)
        goto done;
    qv_status rc = flt_parse(&a, root, "filter", &f, &err);
    if (rc != QV_OK) {
        if ((rc != QV_BAD_FORMAT && rc != QV_VALIDATION && rc != QV_NOMEM) || !err.msg[0])
            fuzz_die("flt_parse failed without a proper code and message");
        goto done;
    }
    for (size_t i = 0; i < N_POINTS; i++) {
        bool m = flt_match(f, &points[i]);
        if (m != flt_match(f, &points[i]))
            fuzz_die("flt_match is not deterministic");
    }
    check_node(flt_root(f), &a);
done:
    qv_arena_free(&a);
    return 0;
}

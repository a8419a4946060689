/*
 * bench_json — speed of the JSON reader and writer on a Qdrant-like upsert
 * body: 1000 points x 128 random floats with a small payload.
 *
 * Usage: bench_json [iterations]   (default 50)
 * Prints one "name: value unit" line per figure. Parsing counts the whole
 * job of an upsert handler's first step: jr_parse of the body plus jr_get and
 * jr_get_f32 of every vector element.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json/jr.h"
#include "json/jw.h"

#define POINTS 1000
#define DIM    128

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static volatile double sink;

static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Roughly normal-looking values of an embedding: sum of uniforms, scaled. */
static float rand_component(void)
{
    double s = 0;
    for (int i = 0; i < 4; i++)
        s += (double)(xorshift() >> 11) / 9007199254740992.0 - 0.5;
    return (float)(s * 0.1);
}

static void build_body(qv_buf *b, float *vecs)
{
    jw w;
    jw_init(&w, b);
    jw_obj_begin(&w);
    jw_key(&w, "points");
    jw_arr_begin(&w);
    for (int i = 0; i < POINTS; i++) {
        jw_obj_begin(&w);
        jw_key(&w, "id");
        jw_uint(&w, (uint64_t)i + 1);
        jw_key(&w, "vector");
        jw_arr_begin(&w);
        for (int j = 0; j < DIM; j++)
            jw_f32(&w, vecs[i * DIM + j]);
        jw_arr_end(&w);
        jw_key(&w, "payload");
        jw_obj_begin(&w);
        jw_key(&w, "city");
        jw_str(&w, i % 2 ? "Berlin" : "Zürich");
        jw_key(&w, "price");
        jw_f64(&w, i * 1.25);
        jw_key(&w, "tags");
        jw_arr_begin(&w);
        jw_str(&w, "a");
        jw_str(&w, "b\"c");
        jw_arr_end(&w);
        jw_obj_end(&w);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
}

/* Walk the parsed body as a handler would: every vector element as float. */
static double consume(const jr_value *root)
{
    double sum = 0;
    const jr_value *pts = jr_get(root, "points");
    for (uint32_t i = 0; pts && i < pts->len; i++) {
        const jr_value *vec = jr_get(&pts->u.items[i], "vector");
        for (uint32_t j = 0; vec && j < vec->len; j++) {
            float f;
            if (jr_get_f32(&vec->u.items[j], &f))
                sum += f;
        }
    }
    return sum;
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 50;
    if (iters < 1)
        iters = 1;
    float *vecs = malloc(sizeof(float) * POINTS * DIM);
    if (!vecs)
        return 1;
    for (int i = 0; i < POINTS * DIM; i++)
        vecs[i] = rand_component();

    qv_buf body = QV_BUF_INIT;
    build_body(&body, vecs);
    if (!qv_buf_ok(&body))
        return 1;

    qv_arena arena;
    qv_arena_init(&arena, 1 << 20);
    double sum = 0, t0 = now();
    for (int it = 0; it < iters; it++) {
        jr_value *root;
        jr_error err;
        if (jr_parse(&arena, body.data, body.len, &root, &err) != 0) {
            fprintf(stderr, "parse failed: %s at %u:%u\n", err.msg, err.line, err.column);
            return 1;
        }
        sum += consume(root);
        qv_arena_reset(&arena);
    }
    double dt = now() - t0;
    double floats = (double)POINTS * DIM * iters;
    printf("body: %zu bytes, %d points x %d floats\n", body.len, POINTS, DIM);
    printf("parse: %.0f MB/s\n", (double)body.len * iters / dt / 1e6);
    printf("parse: %.1f M floats/s (incl. jr_get_f32)\n", floats / dt / 1e6);

    /* Writer: the vectors alone, as a search/scroll response prints them. */
    qv_buf out = QV_BUF_INIT;
    size_t bytes = 0;
    t0 = now();
    for (int it = 0; it < iters; it++) {
        out.len = 0;
        jw w;
        jw_init(&w, &out);
        jw_arr_begin(&w);
        for (int i = 0; i < POINTS * DIM; i++)
            jw_f32(&w, vecs[i]);
        jw_arr_end(&w);
        bytes += out.len;
    }
    dt = now() - t0;
    printf("write jw_f32: %.1f M floats/s\n", floats / dt / 1e6);
    printf("write jw_f32: %.0f MB/s\n", (double)bytes / dt / 1e6);

    sink = sum; /* keeps the walk from being optimised away */
    qv_buf_free(&out);
    qv_buf_free(&body);
    qv_arena_free(&arena);
    free(vecs);
    return 0;
}

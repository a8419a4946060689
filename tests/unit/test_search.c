/*
 * test_search.c — the typed search call (qv_search in quiver.h) against
 * the JSON one (qv_points_search) on the same collections: the same hits
 * and scores, exact and through the HNSW graph, filtered, with offset and
 * score_threshold, integer and UUID ids; the query buffer left as it was;
 * and each refusal with Qdrant's words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver.h"
#include "util/fsutil.h"

#define DIM 8

typedef struct fixture {
    char   dir[64];
    qv_db *db;
} fixture;

static uint64_t rng_state = 12345;
static float frand(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng_state >> 11) * 0x1.0p-53 * 2 - 1);
}

static void vec_json(char *p, size_t cap, const float *v)
{
    size_t n = (size_t)snprintf(p, cap, "[");
    for (int d = 0; d < DIM; d++)
        n += (size_t)snprintf(p + n, cap - n, "%s%.9g", d ? "," : "", v[d]);
    snprintf(p + n, cap - n, "]");
}

/* n points with ids 1..n (or UUIDs), payload {"g": id % 10}, in batches. */
static void fill(qv_db *db, const char *name, const char *vname, uint32_t n, bool uuids)
{
    qv_error err;
    char *body = malloc(1 << 20);
    assert_non_null(body);
    for (uint32_t first = 0; first < n; first += 500) {
        size_t len = (size_t)sprintf(body, "{\"points\":[");
        for (uint32_t i = first; i < n && i < first + 500; i++) {
            float v[DIM];
            for (int d = 0; d < DIM; d++)
                v[d] = frand();
            char vj[256], id[64];
            char vv[300];
            vec_json(vj, sizeof vj, v);
            if (vname)
                snprintf(vv, sizeof vv, "{\"%s\":%s}", vname, vj);
            else
                snprintf(vv, sizeof vv, "%s", vj);
            if (uuids)
                snprintf(id, sizeof id, "\"%08x-0000-4000-8000-%012x\"", i * 2654435761u, i + 1);
            else
                snprintf(id, sizeof id, "%u", i + 1);
            len += (size_t)sprintf(body + len, "%s{\"id\":%s,\"vector\":%s,\"payload\":{\"g\":%u}}",
                                   i > first ? "," : "", id, vv, (i + 1) % 10);
        }
        len += (size_t)sprintf(body + len, "]}");
        qv_write_opts o = {.wait = true};
        qv_update_result res;
        if (qv_points_update(db, name, QV_UPDATE_UPSERT, body, len, &o, &res, &err) != QV_OK)
            fail_msg("upsert: %s", err.msg);
    }
    free(body);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/qv_search_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    qv_error err;
    assert_int_equal(qv_open(f->dir, &f->db, &err), QV_OK);
    static const char euclid[] = "{\"vectors\":{\"size\":8,\"distance\":\"Euclid\"},"
                                 "\"sparse_vectors\":{\"sp\":{}}}";
    static const char cosine[] = "{\"vectors\":{\"v\":{\"size\":8,\"distance\":\"Cosine\"}}}";
    /* Indexed from 1 KB of vectors: 32 points of 8 floats. */
    static const char graph[] = "{\"vectors\":{\"size\":8,\"distance\":\"Dot\"},"
                                "\"hnsw_config\":{\"m\":8,\"ef_construct\":32,\"full_scan_threshold\":10},"
                                "\"optimizers_config\":{\"indexing_threshold\":1}}";
    assert_int_equal(qv_collection_create(f->db, "e", euclid, sizeof euclid - 1, &err), QV_OK);
    assert_int_equal(qv_collection_create(f->db, "c", cosine, sizeof cosine - 1, &err), QV_OK);
    assert_int_equal(qv_collection_create(f->db, "g", graph, sizeof graph - 1, &err), QV_OK);
    fill(f->db, "e", NULL, 300, false);
    fill(f->db, "c", "v", 200, true);
    fill(f->db, "g", NULL, 3000, false);
    /* Wait for the observable end of indexing, bounded. */
    bool green = false;
    for (int i = 0; i < 2000000 && !green; i++) {
        qv_collection_info info;
        assert_int_equal(qv_collection_info_get(f->db, "g", &info, &err), QV_OK);
        green = strcmp(info.status, "green") == 0 && info.indexed_vectors_count == 3000;
        qv_free(info.config_json);
        qv_free(info.payload_schema_json);
        sched_yield();
    }
    assert_true(green);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qv_close(f->db);
    qv_rm_rf(f->dir);
    free(f);
    return 0;
}

/* The JSON search for the same request: its ids (as text) and scores. */
typedef struct json_hits {
    size_t n;
    char   id[64][48];
    float  score[64];
} json_hits;

static void json_search(qv_db *db, const char *name, const char *vname, const float *q, uint32_t limit,
                        uint32_t offset, const char *extra, json_hits *out)
{
    char vj[256], body[2048];
    vec_json(vj, sizeof vj, q);
    if (vname)
        snprintf(body, sizeof body, "{\"vector\":{\"name\":\"%s\",\"vector\":%s},\"limit\":%u,\"offset\":%u%s}",
                 vname, vj, limit, offset, extra ? extra : "");
    else
        snprintf(body, sizeof body, "{\"vector\":%s,\"limit\":%u,\"offset\":%u%s}", vj, limit, offset,
                 extra ? extra : "");
    char *json;
    size_t len;
    qv_error err;
    assert_int_equal(qv_points_search(db, name, body, strlen(body), &json, &len, &err), QV_OK);
    json_error_t je;
    json_t *arr = json_loadb(json, len, 0, &je);
    assert_non_null(arr);
    out->n = json_array_size(arr);
    assert_true(out->n <= 64);
    for (size_t i = 0; i < out->n; i++) {
        json_t *h = json_array_get(arr, i), *id = json_object_get(h, "id");
        if (json_is_string(id))
            snprintf(out->id[i], sizeof out->id[i], "%s", json_string_value(id));
        else
            snprintf(out->id[i], sizeof out->id[i], "%llu", (unsigned long long)json_integer_value(id));
        out->score[i] = (float)json_number_value(json_object_get(h, "score"));
    }
    json_decref(arr);
    qv_free(json);
}

static void hit_text(const qv_hit *h, char *dst, size_t cap)
{
    if (!h->is_uuid) {
        snprintf(dst, cap, "%llu", (unsigned long long)h->id);
        return;
    }
    size_t n = 0;
    for (int b = 0; b < 16; b++)
        n += (size_t)snprintf(dst + n, cap - n, "%s%02x", b == 4 || b == 6 || b == 8 || b == 10 ? "-" : "",
                              h->uuid[b]);
}

/* qv_search gives what qv_points_search gives, hit for hit. */
static void same(qv_db *db, const char *name, const char *vname, qv_search_request *r, const char *extra)
{
    json_hits want;
    json_search(db, name, vname, r->query, r->limit, r->offset, extra, &want);
    qv_hit got[64];
    size_t n;
    qv_error err;
    r->vector = vname;
    assert_int_equal(qv_search(db, name, r, got, &n, &err), QV_OK);
    assert_int_equal(n, want.n);
    for (size_t i = 0; i < n; i++) {
        char id[48];
        hit_text(&got[i], id, sizeof id);
        assert_string_equal(id, want.id[i]);
        assert_true(got[i].score == want.score[i]);
    }
}

static void random_query(float *q)
{
    for (int d = 0; d < DIM; d++)
        q[d] = frand();
}

static void test_exact_as_json(void **state)
{
    fixture *f = *state;
    float q[DIM];
    for (int i = 0; i < 20; i++) {
        random_query(q);
        qv_search_request r = {.query = q, .dim = DIM, .limit = 10};
        same(f->db, "e", NULL, &r, NULL);
        r = (qv_search_request){.query = q, .dim = DIM, .limit = 7, .offset = 5};
        same(f->db, "e", NULL, &r, NULL);
        /* Euclid's threshold is an upper bound on the distance. */
        r = (qv_search_request){.query = q, .dim = DIM, .limit = 50, .has_threshold = true, .score_threshold = 1.6f};
        same(f->db, "e", NULL, &r, ",\"score_threshold\":1.6");
    }
}

static void test_filter_as_json(void **state)
{
    fixture *f = *state;
    static const char flt[] = "{\"must\":[{\"key\":\"g\",\"match\":{\"any\":[3,7]}}]}";
    float q[DIM];
    for (int i = 0; i < 10; i++) {
        random_query(q);
        qv_search_request r = {.query = q, .dim = DIM, .limit = 10, .filter_json = flt, .filter_len = sizeof flt - 1};
        same(f->db, "e", NULL, &r, ",\"filter\":{\"must\":[{\"key\":\"g\",\"match\":{\"any\":[3,7]}}]}");
        same(f->db, "g", NULL, &r, ",\"filter\":{\"must\":[{\"key\":\"g\",\"match\":{\"any\":[3,7]}}]}");
    }
    /* A null filter is no filter. */
    random_query(q);
    qv_search_request r = {.query = q, .dim = DIM, .limit = 10, .filter_json = "null", .filter_len = 4};
    same(f->db, "e", NULL, &r, NULL);
}

static void test_cosine_uuids(void **state)
{
    fixture *f = *state;
    float q[DIM], copy[DIM];
    for (int i = 0; i < 10; i++) {
        random_query(q);
        memcpy(copy, q, sizeof q);
        qv_search_request r = {.query = q, .dim = DIM, .limit = 10};
        same(f->db, "c", "v", &r, NULL);
        assert_memory_equal(q, copy, sizeof q);  /* normalized in a copy */
    }
}

static void test_graph_as_json(void **state)
{
    fixture *f = *state;
    float q[DIM];
    for (int i = 0; i < 30; i++) {
        random_query(q);
        qv_search_request r = {.query = q, .dim = DIM, .limit = 10, .hnsw_ef = 16};
        same(f->db, "g", NULL, &r, ",\"params\":{\"hnsw_ef\":16}");
        r = (qv_search_request){.query = q, .dim = DIM, .limit = 10, .exact = true};
        same(f->db, "g", NULL, &r, ",\"params\":{\"exact\":true}");
    }
}

/* The ids of a filtered search (exact or through the graph), at most
 * limit (<= 300) of them, sorted. */
static size_t search_ids(qv_db *db, const char *name, const char *flt, bool exact, size_t limit, uint64_t *ids)
{
    float q[DIM] = {0.5f, -0.25f, 0.125f, 0, 0, 0, 0, 1};
    qv_search_request r = {.query = q, .dim = DIM, .limit = limit, .exact = exact, .filter_json = flt,
                           .filter_len = strlen(flt)};
    static qv_hit out[300];
    size_t n;
    qv_error err;
    if (qv_search(db, name, &r, out, &n, &err) != QV_OK)
        fail_msg("search %s: %s", flt, err.msg);
    for (size_t i = 0; i < n; i++)
        ids[i] = out[i].id;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            uint64_t t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    return n;
}

static size_t filtered_ids(qv_db *db, const char *name, const char *flt, bool exact, uint64_t *ids)
{
    return search_ids(db, name, flt, exact, 64, ids);
}

static void update(qv_db *db, const char *name, qv_update_kind kind, const char *body)
{
    qv_write_opts o = {.wait = true};
    qv_update_result res;
    qv_error err;
    if (qv_points_update(db, name, kind, body, strlen(body), &o, &res, &err) != QV_OK)
        fail_msg("update: %s", err.msg);
}

/* A filter asked again and again is answered from the planner's cache
 * (plan.h); every write is seen all the same: a point the write makes
 * match comes, one it deletes or makes not match goes. */
static void test_repeated_filter_follows_writes(void **state)
{
    fixture *f = *state;
    static const char flt[] = "{\"must\":[{\"key\":\"g\",\"match\":{\"value\":4}}]}";
    uint64_t ids[64];
    for (int round = 0; round < 3; round++) {
        assert_int_equal(filtered_ids(f->db, "e", flt, false, ids), 30);  /* ids 4, 14, ..., 294 */
        for (size_t i = 0; i < 30; i++)
            assert_int_equal(ids[i], 4 + 10 * i);
        assert_int_equal(filtered_ids(f->db, "e", flt, true, ids), 30);
    }
    update(f->db, "e", QV_UPDATE_SET_PAYLOAD, "{\"payload\":{\"g\":4},\"points\":[7]}");
    update(f->db, "e", QV_UPDATE_DELETE, "{\"points\":[14]}");
    update(f->db, "e", QV_UPDATE_SET_PAYLOAD, "{\"payload\":{\"g\":0},\"points\":[24]}");
    for (int round = 0; round < 3; round++) {
        assert_int_equal(filtered_ids(f->db, "e", flt, round & 1, ids), 29);
        assert_int_equal(ids[0], 4);
        assert_int_equal(ids[1], 7);
        assert_int_equal(ids[2], 34);
    }
    /* Through the graph too (600 matches of 3000: more than the full scan
     * threshold). */
    static const char wide[] = "{\"must\":[{\"key\":\"g\",\"match\":{\"any\":[1,2]}}]}";
    for (int round = 0; round < 3; round++) {
        size_t n = filtered_ids(f->db, "g", wide, false, ids);
        assert_int_equal(n, 64);
        for (size_t i = 0; i < n; i++)
            assert_true(ids[i] % 10 == 1 || ids[i] % 10 == 2);
    }
    update(f->db, "g", QV_UPDATE_SET_PAYLOAD, "{\"payload\":{\"g\":9},\"filter\":{\"must\":[{\"key\":\"g\",\"match\":{\"value\":2}}]}}");
    for (int round = 0; round < 3; round++) {
        size_t n = filtered_ids(f->db, "g", wide, false, ids);
        assert_int_equal(n, 64);
        for (size_t i = 0; i < n; i++)
            assert_true(ids[i] % 10 == 1);
    }
}

/* Filters that are new each time but share a `must` condition are judged
 * on the cached answer of that condition (plan.h, parts): each still gets
 * exactly its own points, through writes, in both forms of `must`. */
static void test_new_filters_sharing_a_part(void **state)
{
    fixture *f = *state;
    uint64_t ids[64];
    char flt[256];
    for (int round = 0; round < 8; round++) {
        unsigned out = 6 + 10 * (unsigned)round;
        snprintf(flt, sizeof flt,
                 round & 1 ? "{\"must\":{\"key\":\"g\",\"match\":{\"value\":6}},\"must_not\":[{\"has_id\":[%u]}]}"
                           : "{\"must\":[{\"key\":\"g\",\"match\":{\"value\":6}}],\"must_not\":[{\"has_id\":[%u]}]}",
                 out);
        assert_int_equal(filtered_ids(f->db, "e", flt, false, ids), 29);
        for (size_t i = 0, want = 6; i < 29; i++, want += 10) {
            want += want == out ? 10 : 0;
            assert_int_equal(ids[i], want);
        }
        size_t n = filtered_ids(f->db, "g", flt, false, ids);  /* 299 of 3000: through the graph */
        assert_int_equal(n, 64);
        for (size_t i = 0; i < n; i++)
            assert_true(ids[i] % 10 == 6 && ids[i] != out);
    }
    update(f->db, "e", QV_UPDATE_SET_PAYLOAD, "{\"payload\":{\"g\":6},\"points\":[9]}");
    update(f->db, "e", QV_UPDATE_DELETE, "{\"points\":[16]}");
    for (int round = 0; round < 4; round++) {
        snprintf(flt, sizeof flt,
                 "{\"must\":[{\"key\":\"g\",\"match\":{\"value\":6}},{\"key\":\"g\",\"range\":{\"gte\":0}}],"
                 "\"must_not\":[{\"has_id\":[%u]}]}",
                 26 + 10 * (unsigned)round);
        assert_int_equal(filtered_ids(f->db, "e", flt, false, ids), 29);  /* 9 in; 16 and one more out */
        assert_int_equal(ids[0], 6);
        assert_int_equal(ids[1], 9);
        for (size_t i = 0; i < 29; i++)
            assert_true(ids[i] != 16 && ids[i] != 26 + 10 * (unsigned)round);
    }
}

/* Filters new each time, of every shape, worked out from the answers of
 * their conditions (plan.h: bitset algebra over cached conditions, has_id
 * lists, sub-filters): each gets exactly its own points, asked over and
 * over (so its conditions are cached) and through writes. */
static void test_filters_worked_out_from_conditions(void **state)
{
    fixture *f = *state;
    static const char *const forms[] = {
        "{\"should\":[{\"key\":\"g\",\"match\":{\"value\":3}},{\"has_id\":[%u]}]}",
        "{\"should\":[{\"must\":[{\"key\":\"g\",\"match\":{\"value\":3}},{\"has_id\":[%u,%u]}]},"
        "{\"key\":\"g\",\"match\":{\"value\":5}}]}",
        "{\"must_not\":[{\"should\":[{\"key\":\"g\",\"match\":{\"value\":1}},{\"key\":\"g\",\"match\":{\"value\":2}}]}],"
        "\"must\":{\"has_id\":[%u,%u,%u]}}",
        "{\"min_should\":{\"conditions\":[{\"key\":\"g\",\"match\":{\"value\":1}},{\"has_id\":[%u]},"
        "{\"key\":\"g\",\"match\":{\"value\":2}}],\"min_count\":2}}",
        "{\"must\":[{\"key\":\"g\",\"range\":{\"gte\":7}}],\"should\":[{\"has_id\":[%u]},{\"key\":\"g\",\"match\":{\"value\":8}}]}",
        "{\"should\":[],\"must\":[{\"key\":\"g\",\"match\":{\"value\":3}}],\"must_not\":{\"has_id\":[%u]}}",
        "{\"must_not\":[{\"has_id\":[%u]},{\"key\":\"g\",\"match\":{\"value\":0}}]}",
    };
    qv_error err;
    static const char cfg[] = "{\"vectors\":{\"size\":8,\"distance\":\"Dot\"}}";
    assert_int_equal(qv_collection_create(f->db, "a", cfg, sizeof cfg - 1, &err), QV_OK);
    fill(f->db, "a", NULL, 300, false);
    static unsigned g[301];
    static bool live[301];
    for (unsigned id = 1; id <= 300; id++) {
        g[id] = id % 10;
        live[id] = true;
    }
    static uint64_t ids[300];
    char flt[512];
    for (int phase = 0; phase < 2; phase++) {
        for (int round = 0; round < 12; round++)
            for (size_t fi = 0; fi < sizeof forms / sizeof *forms; fi++) {
                unsigned x = 1 + (unsigned)(round * 37 + (int)fi * 11) % 300, y = 1 + (x + 100) % 300,
                         z = 1 + (x + 200) % 300;
                snprintf(flt, sizeof flt, forms[fi], x, y, z);
                size_t n = search_ids(f->db, "a", flt, false, 300, ids), want = 0;
                for (unsigned id = 1; id <= 300; id++) {
                    bool in, has = id == x || id == y || id == z;
                    switch (fi) {
                    case 0: in = g[id] == 3 || id == x; break;
                    case 1: in = (g[id] == 3 && (id == x || id == y)) || g[id] == 5; break;
                    case 2: in = g[id] != 1 && g[id] != 2 && has; break;
                    case 3: in = (g[id] == 1) + (id == x) + (g[id] == 2) >= 2; break;
                    case 4: in = g[id] >= 7 && (id == x || g[id] == 8); break;
                    case 5: in = false; break;
                    default: in = id != x && g[id] != 0; break;
                    }
                    if (!in || !live[id])
                        continue;
                    if (want >= n || ids[want] != id)
                        fail_msg("phase %d round %d filter %s: id %u missing (got %zu)", phase, round, flt, id, n);
                    want++;
                }
                if (n != want)
                    fail_msg("phase %d filter %s: %zu ids, want %zu", phase, flt, n, want);
            }
        /* Writes move points between the conditions' answers. */
        update(f->db, "a", QV_UPDATE_SET_PAYLOAD, "{\"payload\":{\"g\":3},\"points\":[1,2,101]}");
        update(f->db, "a", QV_UPDATE_DELETE, "{\"points\":[13,15,8]}");
        g[1] = g[2] = g[101] = 3;
        live[13] = live[15] = live[8] = false;
    }
}

/* A text index changes what match.text means (substring without one,
 * tokens with one): a cached answer from before it is not used after. */
static void test_repeated_filter_follows_a_text_index(void **state)
{
    fixture *f = *state;
    qv_error err;
    static const char cfg[] = "{\"vectors\":{\"size\":8,\"distance\":\"Dot\"}}";
    assert_int_equal(qv_collection_create(f->db, "t", cfg, sizeof cfg - 1, &err), QV_OK);
    update(f->db, "t", QV_UPDATE_UPSERT,
           "{\"points\":[{\"id\":1,\"vector\":[1,0,0,0,0,0,0,0],\"payload\":{\"t\":\"hello world\"}},"
           "{\"id\":2,\"vector\":[0,1,0,0,0,0,0,0],\"payload\":{\"t\":\"lo wo\"}},"
           "{\"id\":3,\"vector\":[0,0,1,0,0,0,0,0],\"payload\":{\"t\":\"other\"}}]}");
    /* should: the planner does not take its candidates from the index */
    static const char flt[] = "{\"should\":[{\"key\":\"t\",\"match\":{\"text\":\"lo wo\"}}]}";
    uint64_t ids[64];
    for (int round = 0; round < 3; round++)
        assert_int_equal(filtered_ids(f->db, "t", flt, false, ids), 2);  /* substrings: 1 and 2 */
    static const char idx[] = "{\"field_name\":\"t\",\"field_schema\":{\"type\":\"text\",\"tokenizer\":\"word\"}}";
    qv_write_opts o = {.wait = true};
    qv_update_result res;
    assert_int_equal(qv_index_create(f->db, "t", idx, sizeof idx - 1, &o, &res, &err), QV_OK);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(filtered_ids(f->db, "t", flt, false, ids), 1);  /* the tokens lo, wo: 2 only */
        assert_int_equal(ids[0], 2);
    }
}

static void expect_fail(qv_db *db, const char *name, const qv_search_request *r, qv_status code, const char *msg)
{
    qv_hit out[16];
    size_t n = 99;
    qv_error err;
    assert_int_equal(qv_search(db, name, r, out, &n, &err), code);
    assert_int_equal(err.code, code);
    assert_int_equal(n, 0);
    if (msg && !strstr(err.msg, msg))
        fail_msg("message `%s` lacks `%s`", err.msg, msg);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    float q[DIM] = {0};
    qv_search_request r = {.query = q, .dim = DIM, .limit = 10};
    expect_fail(f->db, "missing", &r, QV_NOT_FOUND, "Collection `missing` doesn't exist!");
    r.vector = "nope";
    expect_fail(f->db, "e", &r, QV_BAD_INPUT, "Not existing vector name error: nope");
    r.vector = "sp";
    expect_fail(f->db, "e", &r, QV_BAD_INPUT, "`sp` is a sparse vector");
    r = (qv_search_request){.query = q, .dim = 3, .limit = 10};
    expect_fail(f->db, "e", &r, QV_BAD_INPUT, "Vector dimension error: expected dim: 8, got 3");
    r = (qv_search_request){.query = q, .dim = DIM, .limit = 0};
    expect_fail(f->db, "e", &r, QV_VALIDATION, "limit: value 0 invalid");
    r = (qv_search_request){.query = q, .dim = DIM, .limit = (1u << 20) + 1};
    expect_fail(f->db, "e", &r, QV_VALIDATION, "at most");
    r = (qv_search_request){.query = NULL, .dim = DIM, .limit = 10};
    expect_fail(f->db, "e", &r, QV_BAD_INPUT, NULL);
    r = (qv_search_request){.query = q, .dim = DIM, .limit = 10, .filter_json = "{\"must\":", .filter_len = 8};
    expect_fail(f->db, "e", &r, QV_BAD_FORMAT, NULL);
    r = (qv_search_request){.query = q, .dim = DIM, .limit = 10, .filter_json = "{\"must\":5}", .filter_len = 10};
    expect_fail(f->db, "e", &r, QV_BAD_FORMAT, NULL);
    /* The filter's length is honoured: the text past it is not read. */
    r = (qv_search_request){.query = q, .dim = DIM, .limit = 10, .filter_json = "{}garbage", .filter_len = 2};
    qv_hit out[10];
    size_t n;
    qv_error err;
    assert_int_equal(qv_search(f->db, "e", &r, out, &n, &err), QV_OK);
    assert_int_equal(n, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_as_json),
        cmocka_unit_test(test_filter_as_json),
        cmocka_unit_test(test_cosine_uuids),
        cmocka_unit_test(test_graph_as_json),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_repeated_filter_follows_writes),
        cmocka_unit_test(test_new_filters_sharing_a_part),
        cmocka_unit_test(test_filters_worked_out_from_conditions),
        cmocka_unit_test(test_repeated_filter_follows_a_text_index),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_store.c — point ids, operation records and the in-memory store:
 * all-or-nothing batches, the id map under churn, checkpoints, commit
 * listeners, and the planner of filtered reads. */
#define _GNU_SOURCE  /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

#include "core/config.h"
#include "core/internal.h"
#include "core/ops.h"
#include "core/plan.h"
#include "json/jpid.h"
#include "core/store.h"
#include "json/jr.h"
#include "json/jw.h"
#include "payload/pljson.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/fsutil.h"

/* ---- ids ---- */

static void ids_parse_and_print(void **state)
{
    qv_point_id a, b;
    char text[PID_TEXT_MAX];
    assert_true(pid_parse_uuid("550E8400-E29B-41D4-A716-446655440000", 36, &a));
    pid_format(&a, text);
    assert_string_equal(text, "550e8400-e29b-41d4-a716-446655440000");
    static const char *const forms[] = {"550e8400e29b41d4a716446655440000",
                                        "{550e8400-e29b-41d4-a716-446655440000}",
                                        "urn:uuid:550e8400-e29b-41d4-a716-446655440000"};
    for (int i = 0; i < 3; i++) {
        assert_true(pid_parse_uuid(forms[i], strlen(forms[i]), &b));
        assert_true(pid_equal(&a, &b));
    }
    assert_false(pid_parse_uuid("550e8400-e29b-41d4-a716-44665544000g", 36, &b));
    assert_false(pid_parse_uuid("550e8400e29b-41d4-a716-4466554400000", 36, &b));
    assert_false(pid_parse_uuid("5", 1, &b));
    assert_true(pid_from_text("18446744073709551615", &b));
    assert_int_equal(b.lo, UINT64_MAX);
    assert_false(pid_from_text("18446744073709551616", &b));
    assert_false(pid_from_text("-1", &b));
    qv_point_id n1 = {0, 1, 0}, n2 = {0, 2, 0};
    assert_true(pid_cmp(&n1, &n2) < 0);
    assert_true(pid_cmp(&n2, &a) < 0);  /* integers before UUIDs */
}

/* ---- helpers ---- */

typedef struct fixture {
    qv_arena       a;
    cfg_collection cfg;
    store          st;
} fixture;

static void fx_init(fixture *f, const char *config)
{
    qv_arena_init(&f->a, 0);
    jr_value *root;
    jr_error je;
    qv_error err;
    assert_int_equal(jr_parse(&f->a, config, strlen(config), &root, &je), 0);
    assert_int_equal(cfg_parse(root, CFG_CREATE, &f->cfg, &err), QV_OK);
    assert_int_equal(store_init(&f->st, &f->cfg, &err), QV_OK);
}

static void fx_free(fixture *f)
{
    store_free(&f->st);
    cfg_free(&f->cfg);
    qv_arena_free(&f->a);
}

/* Parse, encode, decode (the real write path) and apply one request, as
 * the operations from sequence number seq on (0: unknown). */
static qv_status run_at(fixture *f, int kind, const char *json, uint64_t seq, qv_error *err)
{
    jr_value *root;
    jr_error je;
    op_batch parsed, decoded;
    qv_buf rec = QV_BUF_INIT;
    assert_int_equal(jr_parse(&f->a, json, strlen(json), &root, &je), 0);
    qv_status rc = ops_parse(&f->a, &f->cfg, kind, root, &parsed, err);
    if (rc)
        return rc;
    assert_int_equal(ops_encode(&parsed, &rec, err), QV_OK);
    assert_int_equal(ops_decode(&f->a, rec.data, rec.len, &decoded, err), QV_OK);
    decoded.seq = seq;
    rc = store_apply(&f->st, &f->cfg, &decoded, &f->a, err);
    qv_buf_free(&rec);
    return rc;
}

static qv_status run(fixture *f, int kind, const char *json, qv_error *err)
{
    return run_at(f, kind, json, 0, err);
}

static uint64_t version_of(const store *s, uint64_t id)
{
    qv_point_id pid = {.lo = id};
    int64_t slot = store_find(s, &pid);
    assert_true(slot >= 0);
    return s->versions[slot];
}

/* A text picture of the whole store, to compare states. */
static char *picture(const store *s)
{
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_arr_begin(&w);
    for (uint32_t slot = 0; slot < s->n_slots; slot++) {
        if (!store_live(s, slot))
            continue;
        const uint8_t *blob;
        size_t len;
        jw_arr_begin(&w);
        pid_write(&w, &s->ids[slot]);
        store_payload(s, slot, &blob, &len);
        pl_write_json(&w, blob, len);
        for (uint32_t v = 0; v < s->n_dense; v++) {
            if (!store_has_dense(s, v, slot)) {
                jw_null(&w);
                continue;
            }
            jw_arr_begin(&w);
            for (uint32_t i = 0; i < s->dense[v].dim; i++)
                jw_f32(&w, store_dense(s, v, slot)[i]);
            jw_arr_end(&w);
        }
        for (uint32_t v = 0; v < s->n_sparse; v++)
            jw_uint(&w, s->sparse[v][slot] ? s->sparse[v][slot]->n : 999);
        jw_arr_end(&w);
    }
    jw_arr_end(&w);
    return qv_buf_detach(&b, NULL);
}

static const char *NAMED = "{\"vectors\":{\"a\":{\"size\":2,\"distance\":\"Dot\"},"
                           "\"b\":{\"size\":3,\"distance\":\"Cosine\"}},\"sparse_vectors\":{\"s\":{}}}";

static void writes_apply_in_order(void **state)
{
    fixture f;
    qv_error err;
    fx_init(&f, NAMED);
    assert_int_equal(run(&f, QV_UPDATE_UPSERT,
                         "{\"points\":[{\"id\":1,\"vector\":{\"a\":[1,2],\"b\":[3,4,0]},\"payload\":{\"k\":1}},"
                         "{\"id\":\"550e8400-e29b-41d4-a716-446655440000\",\"vector\":{\"s\":"
                         "{\"indices\":[7,3],\"values\":[0.5,0.25]}}}]}",
                         &err),
                     QV_OK);
    char *p = picture(&f.st);
    assert_string_equal(p, "[[1,{\"k\":1},[1.0,2.0],[0.6,0.8,0.0],999],"
                           "[\"550e8400-e29b-41d4-a716-446655440000\",{},null,null,2]]");
    free(p);
    assert_int_equal(run(&f, QV_UPDATE_BATCH,
                         "{\"operations\":[{\"set_payload\":{\"payload\":{\"x\":{\"y\":2}},\"points\":[1]}},"
                         "{\"delete_payload\":{\"keys\":[\"k\"],\"points\":[1]}},"
                         "{\"update_vectors\":{\"points\":[{\"id\":1,\"vector\":{\"a\":[5,6]}}]}},"
                         "{\"delete_vectors\":{\"vector\":[\"b\"],\"filter\":{\"must\":[{\"has_id\":[1]}]}}},"
                         "{\"delete\":{\"points\":[\"550e8400-e29b-41d4-a716-446655440000\", 77]}}]}",
                         &err),
                     QV_OK);
    p = picture(&f.st);
    assert_string_equal(p, "[[1,{\"x\":{\"y\":2}},[5.0,6.0],null,999]]");
    free(p);
    assert_int_equal(f.st.n_points, 1);
    fx_free(&f);
}

/* Each point carries the id of the operation that last wrote it; a batch
 * that fails leaves the versions as they were; checkpoints keep them. */
static void versions_follow_writes(void **state)
{
    fixture f, g;
    qv_error err;
    fx_init(&f, "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}");
    assert_int_equal(run_at(&f, QV_UPDATE_UPSERT,
                            "{\"points\":[{\"id\":1,\"vector\":[1,1]},{\"id\":2,\"vector\":[2,2]},"
                            "{\"id\":3,\"vector\":[3,3]}]}", 5, &err), QV_OK);
    assert_int_equal(run_at(&f, QV_UPDATE_SET_PAYLOAD, "{\"payload\":{\"a\":1},\"points\":[1]}", 6, &err), QV_OK);
    assert_int_equal(version_of(&f.st, 1), 6);
    assert_int_equal(version_of(&f.st, 2), 5);
    /* ops[i] of a batch is seq + i */
    assert_int_equal(run_at(&f, QV_UPDATE_BATCH,
                            "{\"operations\":[{\"clear_payload\":{\"points\":[1]}},"
                            "{\"update_vectors\":{\"points\":[{\"id\":2,\"vector\":[0,1]}]}}]}", 10, &err), QV_OK);
    assert_int_equal(version_of(&f.st, 1), 10);
    assert_int_equal(version_of(&f.st, 2), 11);
    assert_int_equal(version_of(&f.st, 3), 5);
    /* all or nothing, versions too */
    assert_int_equal(run_at(&f, QV_UPDATE_BATCH,
                            "{\"operations\":[{\"set_payload\":{\"payload\":{\"b\":1},\"points\":[1,2,3]}},"
                            "{\"delete\":{\"points\":[3]}},"
                            "{\"update_vectors\":{\"points\":[{\"id\":999,\"vector\":[1,1]}]}}]}", 20, &err),
                     QV_NOT_FOUND);
    assert_int_equal(version_of(&f.st, 1), 10);
    assert_int_equal(version_of(&f.st, 2), 11);
    assert_int_equal(version_of(&f.st, 3), 5);
    /* a reused slot starts from its new write */
    assert_int_equal(run_at(&f, QV_UPDATE_DELETE, "{\"points\":[3]}", 30, &err), QV_OK);
    assert_int_equal(run_at(&f, QV_UPDATE_UPSERT, "{\"points\":[{\"id\":4,\"vector\":[4,4]}]}", 31, &err), QV_OK);
    assert_int_equal(version_of(&f.st, 4), 31);
    char dir[] = "/tmp/qv-store-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/points.snap", dir);
    assert_int_equal(store_save(&f.st, dir, "points.snap", 31, &err), QV_OK);
    fx_init(&g, "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}");
    uint64_t seq;
    assert_int_equal(store_load(&g.st, &g.cfg, path, &seq, &err), QV_OK);
    assert_int_equal(version_of(&g.st, 1), 10);
    assert_int_equal(version_of(&g.st, 2), 11);
    assert_int_equal(version_of(&g.st, 4), 31);
    qv_rm_rf(dir);
    fx_free(&f);
    fx_free(&g);
}

static void failed_batch_changes_nothing(void **state)
{
    fixture f;
    qv_error err;
    fx_init(&f, "{\"vectors\":{\"size\":2,\"distance\":\"Euclid\"}}");
    assert_int_equal(run(&f, QV_UPDATE_UPSERT,
                         "{\"points\":[{\"id\":1,\"vector\":[1,1],\"payload\":{\"a\":1}},"
                         "{\"id\":2,\"vector\":[2,2],\"payload\":{\"a\":2}}]}",
                         &err),
                     QV_OK);
    char *before = picture(&f.st);
    /* Every kind of change, then an operation that fails while applying. */
    assert_int_equal(run(&f, QV_UPDATE_BATCH,
                         "{\"operations\":["
                         "{\"upsert\":{\"points\":[{\"id\":3,\"vector\":[3,3]},{\"id\":1,\"vector\":[9,9]}]}},"
                         "{\"set_payload\":{\"payload\":{\"b\":1},\"points\":[1,2,3]}},"
                         "{\"overwrite_payload\":{\"payload\":{\"c\":1},\"points\":[2]}},"
                         "{\"clear_payload\":{\"points\":[1]}},"
                         "{\"delete\":{\"points\":[2]}},"
                         "{\"upsert\":{\"points\":[{\"id\":2,\"vector\":[4,4]}]}},"
                         "{\"delete_vectors\":{\"vector\":[\"\"],\"points\":[3]}},"
                         "{\"update_vectors\":{\"points\":[{\"id\":999,\"vector\":[1,1]}]}}]}",
                         &err),
                     QV_NOT_FOUND);
    assert_string_equal(err.msg, "No point with id 999 found");
    char *after = picture(&f.st);
    assert_string_equal(before, after);
    assert_int_equal(f.st.n_points, 2);
    free(before);
    free(after);
    /* A validation failure never reaches the store. */
    assert_int_equal(run(&f, QV_UPDATE_BATCH,
                         "{\"operations\":[{\"delete\":{\"points\":[1]}},"
                         "{\"upsert\":{\"points\":[{\"id\":5,\"vector\":[1]}]}}]}",
                         &err),
                     QV_BAD_INPUT);
    assert_string_equal(err.msg, "Vector dimension error: expected dim: 2, got 1");
    assert_int_equal(f.st.n_points, 2);
    fx_free(&f);
}

/* Random inserts and deletes against a reference bitmap: the id map must
 * find exactly the live ids (exercises backward-shift deletion). */
/* Delete and re-upsert the same ids inside batches that commit or roll
 * back: the id index must follow exactly. */
static void id_index_follows_batches(void **state)
{
    fixture f;
    qv_error err;
    fx_init(&f, "{\"vectors\":{\"size\":1,\"distance\":\"Dot\"}}");
    assert_int_equal(run(&f, QV_UPDATE_UPSERT,
                         "{\"points\":[{\"id\":1,\"vector\":[1]},{\"id\":2,\"vector\":[2]}]}", &err),
                     QV_OK);
    const char *churn = "{\"operations\":[{\"delete\":{\"points\":[1]}},"
                        "{\"upsert\":{\"points\":[{\"id\":1,\"vector\":[5]},{\"id\":3,\"vector\":[3]}]}},"
                        "{\"delete\":{\"points\":[1,3]}},"
                        "{\"upsert\":{\"points\":[{\"id\":1,\"vector\":[7]}]}}%s]}";
    char body[512];
    snprintf(body, sizeof body, churn, ",{\"update_vectors\":{\"points\":[{\"id\":9,\"vector\":[1]}]}}");
    assert_int_equal(run(&f, QV_UPDATE_BATCH, body, &err), QV_NOT_FOUND);
    char *p = picture(&f.st);
    assert_string_equal(p, "[[1,{},[1.0]],[2,{},[2.0]]]");
    free(p);
    snprintf(body, sizeof body, churn, "");
    assert_int_equal(run(&f, QV_UPDATE_BATCH, body, &err), QV_OK);
    idt_iter it;
    qv_point_id id;
    uint32_t slot;
    uint64_t want[] = {1, 2}, n = 0;
    idt_seek(&f.st.order, NULL, &it);
    while (idt_next(&it, &id, &slot)) {
        assert_true(n < 2);
        assert_int_equal(id.lo, want[n]);
        assert_int_equal(store_find(&f.st, &id), slot);
        n++;
    }
    assert_int_equal(n, 2);
    p = picture(&f.st);
    assert_non_null(strstr(p, "[1,{},[7.0]]"));
    free(p);
    fx_free(&f);
}

static void id_map_under_churn(void **state)
{
    fixture f;
    qv_error err;
    fx_init(&f, "{\"vectors\":{\"size\":1,\"distance\":\"Dot\"}}");
    enum { N = 3000 };
    static bool live[N];
    uint64_t x = 88172645463325252ull;
    char body[128];
    for (int step = 0; step < 6000; step++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned id = (unsigned)(x % N);
        qv_arena_reset(&f.a);
        if (x >> 63) {
            snprintf(body, sizeof body, "{\"points\":[{\"id\":%u,\"vector\":[1]}]}", id);
            assert_int_equal(run(&f, QV_UPDATE_UPSERT, body, &err), QV_OK);
            live[id] = true;
        } else {
            snprintf(body, sizeof body, "{\"points\":[%u]}", id);
            assert_int_equal(run(&f, QV_UPDATE_DELETE, body, &err), QV_OK);
            live[id] = false;
        }
    }
    uint64_t count = 0;
    for (unsigned id = 0; id < N; id++) {
        qv_point_id pid = {0, id, 0};
        assert_int_equal(store_find(&f.st, &pid) >= 0, live[id]);
        count += live[id];
    }
    assert_int_equal(f.st.n_points, count);
    /* The scroll order holds exactly the live ids, ascending, with their slots. */
    idt_iter it;
    qv_point_id id;
    uint32_t slot;
    uint64_t seen = 0, prev = 0;
    idt_seek(&f.st.order, NULL, &it);
    while (idt_next(&it, &id, &slot)) {
        assert_true(live[id.lo]);
        assert_true(seen == 0 || id.lo > prev);
        assert_int_equal(store_find(&f.st, &id), slot);
        prev = id.lo;
        seen++;
    }
    assert_int_equal(seen, count);
    fx_free(&f);
}

static void checkpoint_round_trip(void **state)
{
    fixture f, g;
    qv_error err;
    fx_init(&f, NAMED);
    char body[256];
    for (int i = 0; i < 2500; i++) {  /* more than two chunks */
        qv_arena_reset(&f.a);
        snprintf(body, sizeof body,
                 "{\"points\":[{\"id\":%d,\"vector\":{\"a\":[%d,0.5]%s},\"payload\":{\"i\":%d,\"t\":\"x%d\"}}]}",
                 i, i, i % 3 ? ",\"s\":{\"indices\":[1,2],\"values\":[1,2]}" : "", i, i);
        assert_int_equal(run(&f, QV_UPDATE_UPSERT, body, &err), QV_OK);
    }
    assert_int_equal(run(&f, QV_UPDATE_DELETE, "{\"filter\":{\"must\":[{\"key\":\"i\",\"match\":{\"any\":[5,6,7]}}]}}", &err), QV_OK);
    char dir[] = "/tmp/qv-store-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(store_save(&f.st, dir, "points.snap", 4242, &err), QV_OK);
    fx_init(&g, NAMED);
    char path[256];
    uint64_t seq = 0;
    snprintf(path, sizeof path, "%s/points.snap", dir);
    assert_int_equal(store_load(&g.st, &g.cfg, path, &seq, &err), QV_OK);
    assert_int_equal(seq, 4242);
    char *p1 = picture(&f.st), *p2 = picture(&g.st);
    assert_string_equal(p1, p2);
    free(p1);
    free(p2);
    /* Every point in its slot again (a saved graph names slots), the holes
     * free and reused first. */
    assert_int_equal(g.st.n_slots, f.st.n_slots);
    for (uint32_t slot = 0; slot < f.st.n_slots; slot++) {
        assert_int_equal(store_live(&g.st, slot), store_live(&f.st, slot));
        if (store_live(&f.st, slot))
            assert_int_equal(store_find(&g.st, &f.st.ids[slot]), slot);
    }
    assert_int_equal(g.st.n_free, 3);
    for (int i = 0; i < 3; i++) {
        qv_arena_reset(&g.a);
        snprintf(body, sizeof body, "{\"points\":[{\"id\":%d,\"vector\":{\"a\":[1,2]}}]}", 90000 + i);
        assert_int_equal(run(&g, QV_UPDATE_UPSERT, body, &err), QV_OK);
        qv_point_id id = {.lo = (uint64_t)(90000 + i)};
        int64_t at = store_find(&g.st, &id);
        assert_true(at >= 5 && at <= 7);
    }
    assert_int_equal(g.st.n_slots, f.st.n_slots);
    fx_free(&g);
    fx_init(&g, NAMED);
    /* A damaged file is refused. */
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 200, SEEK_SET);
    fputc(0x5a, fp);
    fclose(fp);
    store_free(&g.st);
    assert_int_equal(store_init(&g.st, &g.cfg, &err), QV_OK);
    assert_int_equal(store_load(&g.st, &g.cfg, path, &seq, &err), QV_CORRUPT);
    qv_rm_rf(dir);
    fx_free(&f);
    fx_free(&g);
}

static void record_decoding_rejects_damage(void **state)
{
    fixture f;
    qv_error err;
    fx_init(&f, NAMED);
    const char *json = "{\"operations\":[{\"upsert\":{\"points\":[{\"id\":1,\"vector\":{\"a\":[1,2]},"
                       "\"payload\":{\"q\":[1,2,{\"r\":null}]}}]}},{\"delete\":{\"filter\":{\"must\":"
                       "[{\"key\":\"q\",\"match\":{\"value\":1}}]}}}]}";
    jr_value *root;
    jr_error je;
    op_batch b, d;
    qv_buf rec = QV_BUF_INIT;
    assert_int_equal(jr_parse(&f.a, json, strlen(json), &root, &je), 0);
    assert_int_equal(ops_parse(&f.a, &f.cfg, QV_UPDATE_BATCH, root, &b, &err), QV_OK);
    assert_int_equal(ops_encode(&b, &rec, &err), QV_OK);
    for (size_t cut = 0; cut < rec.len; cut++)  /* every truncation */
        assert_int_not_equal(ops_decode(&f.a, rec.data, cut, &d, &err), QV_OK);
    uint64_t x = 12345;
    for (int i = 0; i < 2000; i++) {  /* random byte flips: no crash */
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t at = (size_t)(x >> 33) % rec.len;
        char saved = rec.data[at];
        rec.data[at] ^= (char)(1 + (x >> 20) % 255);
        qv_arena_reset(&f.a);
        (void)ops_decode(&f.a, rec.data, rec.len, &d, &err);
        rec.data[at] = saved;
    }
    qv_buf_free(&rec);
    fx_free(&f);
}

/* Overwrite n bytes at off of a checkpoint and fix its CRC, so that only
 * the patched field is wrong. */
static void patch_snap(const char *path, long off, const void *bytes, size_t n)
{
    char *data;
    size_t len;
    assert_int_equal(qv_read_file(path, 1 << 20, &data, &len), 0);
    assert_true(len >= 8 && (size_t)off + n <= len - 8);
    memcpy(data + off, bytes, n);
    uint32_t crc = qv_crc32c(0, data, len - 8);
    memcpy(data + len - 8, &crc, 4);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    free(data);
}

/* The same in the one block of a checkpoint's block file (blk, from
 * offset 0): the block's CRC in the checkpoint's block list (its last
 * entry, just before the checkpoint's own CRC) is fixed too. */
static void patch_block(const char *snap, const char *blk, long off, const void *bytes, size_t n)
{
    char *data;
    size_t len;
    assert_int_equal(qv_read_file(blk, 1 << 20, &data, &len), 0);
    assert_true((size_t)off + n <= len);
    memcpy(data + off, bytes, n);
    uint32_t crc = qv_crc32c(0, data, len);
    FILE *fp = fopen(blk, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    free(data);
    assert_int_equal(qv_read_file(snap, 1 << 20, &data, &len), 0);
    free(data);
    patch_snap(snap, (long)len - 8 - 4, &crc, 4);
}

static qv_status load_again(fixture *g, const char *path, qv_error *err)
{
    uint64_t seq;
    store_free(&g->st);
    assert_int_equal(store_init(&g->st, &g->cfg, err), QV_OK);
    return store_load(&g->st, &g->cfg, path, &seq, err);
}

/* Found by fuzz_store: lengths read from a damaged checkpoint were
 * allocated before checking that the file holds that many bytes (a 4-byte
 * field could make the load allocate 1 GiB), and ids that no request can
 * name (UUID flag 2, an integer with high bits) were loaded. */
static void checkpoint_refuses_impossible_fields(void **state)
{
    fixture f, g;
    qv_error err;
    fx_init(&f, NAMED);
    fx_init(&g, NAMED);
    assert_int_equal(run(&f, QV_UPDATE_UPSERT,
                         "{\"points\":[{\"id\":7,\"vector\":{\"a\":[1,2],\"s\":{\"indices\":[3],"
                         "\"values\":[1]}},\"payload\":{\"k\":\"v\"}}]}", &err), QV_OK);
    char dir[] = "/tmp/qv-store-XXXXXX", path[256], blk[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/points.snap", dir);
    /* Layout (store.h): the point's record is in the one block of the
     * block file (blk-3.dat: the vectors' chunk files are 1 and 2): u32
     * count, then slot, id (u8 0, u64 0, u64 7), version (u64), payload
     * length, payload, dense a (1: its floats are in its chunk file),
     * dense b (1), nnz. The id is found by its bytes. */
    snprintf(blk, sizeof blk, "%s/blk-3.dat", dir);
    char *data;
    size_t len;
    assert_int_equal(store_save(&f.st, dir, "points.snap", 9, &err), QV_OK);
    assert_int_equal(qv_read_file(blk, 1 << 20, &data, &len), 0);
    static const uint8_t id7[17] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
    const char *at = memmem(data, len, id7, sizeof id7);
    assert_non_null(at);
    long id_at = at - data, plen_at = id_at + 17 + 8;
    uint32_t plen;
    memcpy(&plen, data + plen_at, 4);
    free(data);
    long nnz_at = plen_at + 4 + (long)plen + 1 + 1;
    assert_int_equal(load_again(&g, path, &err), QV_OK);  /* the layout is as assumed */

    uint32_t big = 1u << 30;
    patch_block(path, blk, plen_at, &big, 4);
    assert_int_equal(load_again(&g, path, &err), QV_CORRUPT);
    assert_non_null(strstr(err.msg, "more than the file holds"));

    /* Each patch is undone by a checkpoint into a new block file (whose
     * one image is again at offset 0). */
    f.st.blk_file = 0;
    assert_int_equal(store_save(&f.st, dir, "points.snap", 9, &err), QV_OK);
    snprintf(blk, sizeof blk, "%s/blk-%u.dat", dir, f.st.blk_file);
    uint32_t nnz = 1000000;
    patch_block(path, blk, nnz_at, &nnz, 4);
    assert_int_equal(load_again(&g, path, &err), QV_CORRUPT);
    assert_non_null(strstr(err.msg, "more than the file holds"));

    f.st.blk_file = 0;
    assert_int_equal(store_save(&f.st, dir, "points.snap", 9, &err), QV_OK);
    snprintf(blk, sizeof blk, "%s/blk-%u.dat", dir, f.st.blk_file);
    patch_block(path, blk, id_at, "\2", 1);
    assert_int_equal(load_again(&g, path, &err), QV_CORRUPT);
    f.st.blk_file = 0;
    assert_int_equal(store_save(&f.st, dir, "points.snap", 9, &err), QV_OK);
    snprintf(blk, sizeof blk, "%s/blk-%u.dat", dir, f.st.blk_file);
    patch_block(path, blk, id_at + 1, "\1", 1);  /* integer id with hi = 1 */
    assert_int_equal(load_again(&g, path, &err), QV_CORRUPT);
    qv_rm_rf(dir);
    fx_free(&f);
    fx_free(&g);
}

/* A delete record naming one id, with the id's three fields given. */
static size_t delete_record(uint8_t *rec, uint8_t uuid, uint64_t hi, uint64_t lo)
{
    uint32_t n_ops = 1, body = 1 + 4 + 17, n_ids = 1;
    uint8_t *p = rec;
    memcpy(p, &n_ops, 4), p += 4;
    *p++ = OP_DELETE, *p++ = 0, *p++ = 0, *p++ = 0;
    memcpy(p, &body, 4), p += 4;
    *p++ = 0;  /* by ids */
    memcpy(p, &n_ids, 4), p += 4;
    *p++ = uuid;
    memcpy(p, &hi, 8), p += 8;
    memcpy(p, &lo, 8), p += 8;
    return (size_t)(p - rec);
}

/* Found by fuzz_ops: a record could carry ids no request can name (UUID
 * flag other than 0/1, an integer with high bits set); applied, they made
 * points that print like other points and can never be addressed. */
static void record_decoding_rejects_impossible_ids(void **state)
{
    fixture f;
    qv_error err;
    op_batch d;
    uint8_t rec[64];
    fx_init(&f, NAMED);
    assert_int_equal(ops_decode(&f.a, rec, delete_record(rec, 0, 0, 5), &d, &err), QV_OK);
    assert_int_equal(ops_decode(&f.a, rec, delete_record(rec, 1, 77, 5), &d, &err), QV_OK);
    assert_int_equal(ops_decode(&f.a, rec, delete_record(rec, 2, 0, 5), &d, &err), QV_CORRUPT);
    assert_int_equal(ops_decode(&f.a, rec, delete_record(rec, 0, 1, 5), &d, &err), QV_CORRUPT);
    fx_free(&f);
}

/* Replace f's config with one parsed from json and make the store's
 * columns follow by name through store_layout_* (what a vector DDL does). */
/* Where relayout saves a checkpoint between preparing and committing each
 * change, as a vector DDL does (collection.h); NULL: none. */
static const char *relayout_dir;

static void layout_commit(fixture *f, store_layout *l)
{
    qv_error err;
    if (relayout_dir)
        assert_int_equal(store_save(&f->st, relayout_dir, "points.snap", 5, &err), QV_OK);
    store_layout_commit(&f->st, l);
}

static void relayout(fixture *f, const char *json)
{
    qv_error err;
    jr_value *root;
    jr_error je;
    cfg_collection next;
    assert_int_equal(jr_parse(&f->a, json, strlen(json), &root, &je), 0);
    assert_int_equal(cfg_parse(root, CFG_CREATE, &next, &err), QV_OK);
    /* removals first, then additions, one column at a time */
    for (uint32_t i = f->st.n_dense; i-- > 0;) {
        if (cfg_find_vector(&next, f->st.dense[i].name))
            continue;
        store_layout l;
        assert_int_equal(store_layout_remove(&f->st, false, i, &l, &err), QV_OK);
        layout_commit(f, &l);
    }
    for (uint32_t i = f->st.n_sparse; i-- > 0;) {
        if (cfg_find_sparse(&next, f->st.sparse_names[i]) >= 0)
            continue;
        store_layout l;
        assert_int_equal(store_layout_remove(&f->st, true, i, &l, &err), QV_OK);
        layout_commit(f, &l);
    }
    for (uint32_t i = 0; i < next.n_vectors; i++) {
        bool have = false;
        for (uint32_t j = 0; j < f->st.n_dense; j++)
            have |= strcmp(f->st.dense[j].name, next.vectors[i].name) == 0;
        if (have)
            continue;
        store_layout l;
        assert_int_equal(store_layout_add(&f->st, false, next.vectors[i].name, next.vectors[i].size, next.vectors[i].on_disk, &l, &err), QV_OK);
        layout_commit(f, &l);
    }
    for (uint32_t i = 0; i < next.n_sparse; i++) {
        bool have = false;
        for (uint32_t j = 0; j < f->st.n_sparse; j++)
            have |= strcmp(f->st.sparse_names[j], next.sparse[i].name) == 0;
        if (have)
            continue;
        store_layout l;
        assert_int_equal(store_layout_add(&f->st, true, next.sparse[i].name, 0, false, &l, &err), QV_OK);
        layout_commit(f, &l);
    }
    /* the test configs list kept columns first, in store order */
    assert_int_equal(f->st.n_dense, next.n_vectors);
    assert_int_equal(f->st.n_sparse, next.n_sparse);
    for (uint32_t i = 0; i < next.n_vectors; i++)
        assert_string_equal(f->st.dense[i].name, next.vectors[i].name);
    for (uint32_t i = 0; i < next.n_sparse; i++)
        assert_string_equal(f->st.sparse_names[i], next.sparse[i].name);
    cfg_free(&f->cfg);
    f->cfg = next;
}

static void columns_added_and_removed(void **state)
{
    fixture f;
    qv_error err;
    fx_init(&f, NAMED);
    char body[256];
    for (int i = 0; i < 1500; i++) {  /* two chunks */
        qv_arena_reset(&f.a);
        snprintf(body, sizeof body,
                 "{\"points\":[{\"id\":%d,\"vector\":{\"a\":[%d,1],\"b\":[0,0,%d],"
                 "\"s\":{\"indices\":[%d],\"values\":[1]}}}]}",
                 i, i, i + 1, i);
        assert_int_equal(run(&f, QV_UPDATE_UPSERT, body, &err), QV_OK);
    }
    /* remove a: b moves to index 0 and keeps its data; add c (empty) */
    relayout(&f, "{\"vectors\":{\"b\":{\"size\":3,\"distance\":\"Cosine\"},"
                 "\"c\":{\"size\":2,\"distance\":\"Dot\"}},\"sparse_vectors\":{\"s\":{}}}");
    assert_false(store_has_dense(&f.st, 1, 1499));
    assert_true(store_has_dense(&f.st, 0, 1499));
    assert_true(store_dense(&f.st, 0, 1499)[2] == 1.0f);  /* normalized (0,0,1500) */
    /* the new column takes writes in every chunk, also in new slots */
    assert_int_equal(run(&f, QV_UPDATE_UPDATE_VECTORS,
                         "{\"points\":[{\"id\":3,\"vector\":{\"c\":[7,8]}},{\"id\":1400,\"vector\":{\"c\":[9,9]}}]}", &err),
                     QV_OK);
    assert_int_equal(run(&f, QV_UPDATE_UPSERT, "{\"points\":[{\"id\":5000,\"vector\":{\"c\":[1,2]}}]}", &err), QV_OK);
    char *p = picture(&f.st);
    assert_non_null(strstr(p, "[3,{},[0.0,0.0,1.0],[7.0,8.0],1]"));
    assert_non_null(strstr(p, "[1400,{},[0.0,0.0,1.0],[9.0,9.0],1]"));
    assert_non_null(strstr(p, "[5000,{},null,[1.0,2.0],999]"));
    assert_non_null(strstr(p, "[7,{},[0.0,0.0,1.0],null,1]"));
    free(p);
    /* remove the sparse one, then add it again: empty */
    relayout(&f, "{\"vectors\":{\"b\":{\"size\":3,\"distance\":\"Cosine\"},\"c\":{\"size\":2,\"distance\":\"Dot\"}}}");
    relayout(&f, "{\"vectors\":{\"b\":{\"size\":3,\"distance\":\"Cosine\"},"
                 "\"c\":{\"size\":2,\"distance\":\"Dot\"}},\"sparse_vectors\":{\"s\":{}}}");
    p = picture(&f.st);
    assert_non_null(strstr(p, "[3,{},[0.0,0.0,1.0],[7.0,8.0],999]"));
    free(p);
    /* a prepared change that is dropped leaves the store as it was */
    store_layout l;
    assert_int_equal(store_layout_add(&f.st, false, "d", 16, false, &l, &err), QV_OK);
    store_layout_discard(&l);
    assert_int_equal(store_layout_remove(&f.st, true, 0, &l, &err), QV_OK);
    store_layout_discard(&l);
    assert_int_equal(f.st.n_dense, 2);
    assert_int_equal(f.st.n_sparse, 1);
    assert_int_equal(store_layout_remove(&f.st, false, 2, &l, &err), QV_INTERNAL);
    fx_free(&f);
}

static int count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static long file_size(const char *dir, const char *name)
{
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* Dense vectors live in chunk files (st_checkpoint.c): a checkpoint
 * writes only the chunks that changed, each to a place the last one does
 * not use (its images are never overwritten), frees the places it no
 * longer needs for the next one, and a damaged chunk refuses to load. */
static void checkpoint_writes_what_changed(void **state)
{
    fixture f, g;
    qv_error err;
    fx_init(&f, "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}");
    fx_init(&g, "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}");
    char *body = malloc(1 << 16);
    assert_non_null(body);
    for (int first = 0; first < 3000; first += 500) {  /* three chunks of 1024 slots */
        size_t len = (size_t)sprintf(body, "{\"points\":[");
        for (int i = first; i < first + 500; i++)
            len += (size_t)sprintf(body + len, "%s{\"id\":%d,\"vector\":[%d,1]}", i > first ? "," : "", i, i);
        sprintf(body + len, "]}");
        qv_arena_reset(&f.a);
        assert_int_equal(run(&f, QV_UPDATE_UPSERT, body, &err), QV_OK);
    }
    free(body);
    char dir[] = "/tmp/qv-store-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/points.snap", dir);
    long chunk = 1024 * 2 * 4;
    f.st.vacuum_min = UINT64_MAX;  /* no vacuum until it is looked at below */
    assert_int_equal(store_save(&f.st, dir, "points.snap", 1, &err), QV_OK);
    assert_int_equal(file_size(dir, "vec-1.dat"), 3 * chunk);
    long snap = file_size(dir, "points.snap");
    assert_true(snap < 3000 * 40);  /* ids, versions, presence: no floats */
    /* Nothing changed: nothing moves. */
    assert_int_equal(store_save(&f.st, dir, "points.snap", 1, &err), QV_OK);
    assert_int_equal(file_size(dir, "vec-1.dat"), 3 * chunk);
    /* A vector of chunk 1 changes: that chunk goes to a fourth place. */
    qv_arena_reset(&f.a);
    assert_int_equal(run(&f, QV_UPDATE_UPSERT, "{\"points\":[{\"id\":1500,\"vector\":[7,7]}]}", &err), QV_OK);
    assert_int_equal(store_save(&f.st, dir, "points.snap", 2, &err), QV_OK);
    assert_int_equal(file_size(dir, "vec-1.dat"), 4 * chunk);
    assert_int_equal(load_again(&g, path, &err), QV_OK);
    char *want = picture(&f.st), *got = picture(&g.st);
    assert_string_equal(got, want);
    free(got);
    /* Then one of chunk 0: it takes the place chunk 1 left. */
    qv_arena_reset(&f.a);
    assert_int_equal(run(&f, QV_UPDATE_UPSERT, "{\"points\":[{\"id\":3,\"vector\":[5,6]}]}", &err), QV_OK);
    assert_int_equal(store_save(&f.st, dir, "points.snap", 3, &err), QV_OK);
    assert_int_equal(file_size(dir, "vec-1.dat"), 4 * chunk);
    assert_int_equal(load_again(&g, path, &err), QV_OK);
    free(want);
    want = picture(&f.st);
    got = picture(&g.st);
    assert_string_equal(got, want);
    free(got);
    /* The loaded store knows where its chunks lie: its own next
     * checkpoint of one change writes one chunk. */
    g.st.vacuum_min = UINT64_MAX;
    qv_arena_reset(&g.a);
    assert_int_equal(run(&g, QV_UPDATE_UPSERT, "{\"points\":[{\"id\":2999,\"vector\":[1,2]}]}", &err), QV_OK);
    assert_int_equal(store_save(&g.st, dir, "points.snap", 4, &err), QV_OK);
    assert_int_equal(file_size(dir, "vec-1.dat"), 4 * chunk);
    /* The points' blocks: one changed block is appended per checkpoint;
     * once dead images pass vacuum_ratio (0.2) of the live ones, the block
     * file is written anew and the old one removed. The chunk file gives
     * back its tail: chunks past the first three images move down, and the
     * file is cut after the last one named. */
    long blocks = file_size(dir, "blk-2.dat");
    assert_true(blocks > 0);
    qv_arena_reset(&g.a);
    assert_int_equal(run(&g, QV_UPDATE_SET_PAYLOAD, "{\"points\":[2000],\"payload\":{\"x\":1}}", &err), QV_OK);
    assert_int_equal(store_save(&g.st, dir, "points.snap", 5, &err), QV_OK);
    long grown = file_size(dir, "blk-2.dat") - blocks;
    assert_true(grown > 0 && grown < blocks / 2);
    g.st.vacuum_min = 1000;  /* the default */
    for (int round = 0; count_files(dir, "blk-2") && round < 400; round++) {
        qv_arena_reset(&g.a);
        assert_int_equal(run(&g, QV_UPDATE_SET_PAYLOAD, "{\"points\":[2001],\"payload\":{\"y\":2}}", &err), QV_OK);
        assert_int_equal(store_save(&g.st, dir, "points.snap", 6, &err), QV_OK);
    }
    assert_int_equal(count_files(dir, "blk-2"), 0);
    assert_int_equal(count_files(dir, "blk-"), 1);
    for (int round = 0; file_size(dir, "vec-1.dat") > 3 * chunk && round < 4; round++)
        assert_int_equal(store_save(&g.st, dir, "points.snap", 6, &err), QV_OK);
    assert_int_equal(file_size(dir, "vec-1.dat"), 3 * chunk);
    assert_int_equal(load_again(&f, path, &err), QV_OK);
    free(want);
    want = picture(&f.st);
    got = picture(&g.st);
    assert_string_equal(got, want);
    free(got);
    /* A damaged chunk is found. */
    char vpath[256];
    snprintf(vpath, sizeof vpath, "%s/vec-1.dat", dir);
    FILE *fp = fopen(vpath, "r+b");
    assert_non_null(fp);
    for (long at = 0; at < 3 * chunk; at += chunk) {  /* one byte of every place */
        fseek(fp, at + 100, SEEK_SET);
        fputc(0x55, fp);
    }
    fclose(fp);
    assert_int_equal(load_again(&g, path, &err), QV_CORRUPT);
    assert_non_null(strstr(err.msg, "checksum mismatch"));
    free(want);
    qv_rm_rf(dir);
    fx_free(&f);
    fx_free(&g);
}

/* The name of the file mapped at addr in this process ("" if none or
 * anonymous), from /proc/self/maps. */
static void mapped_file(const void *addr, char *out, size_t cap)
{
    FILE *fp = fopen("/proc/self/maps", "r");
    assert_non_null(fp);
    char line[1024];
    out[0] = '\0';
    while (fgets(line, sizeof line, fp)) {
        unsigned long lo, hi;
        int at = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &at) < 2 || (uintptr_t)addr < lo ||
            (uintptr_t)addr >= hi)
            continue;
        snprintf(out, cap, "%s", line + at);
        out[strcspn(out, "\n")] = '\0';
    }
    fclose(fp);
}

/* on_disk vectors: chunks are mappings of their chunk file's images once
 * saved (a write copies the page; the next checkpoint maps the new image),
 * anonymous before; answers are the same as in memory, and a load maps
 * the checked images. */
static void on_disk_chunks_are_mapped(void **state)
{
    static const char cfg[] = "{\"vectors\":{\"size\":2,\"distance\":\"Dot\",\"on_disk\":true}}";
    fixture f, g;
    qv_error err;
    fx_init(&f, cfg);
    fx_init(&g, cfg);
    char body[128];
    for (int i = 0; i < 2000; i++) {
        qv_arena_reset(&f.a);
        snprintf(body, sizeof body, "{\"points\":[{\"id\":%d,\"vector\":[%d,2]}]}", i, i);
        assert_int_equal(run(&f, QV_UPDATE_UPSERT, body, &err), QV_OK);
    }
    char dir[] = "/tmp/qv-store-XXXXXX", path[256], where[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/points.snap", dir);
    mapped_file(f.st.dense[0].chunks[1], where, sizeof where);
    assert_null(strstr(where, "vec-"));  /* not saved yet: anonymous */
    assert_int_equal(store_save(&f.st, dir, "points.snap", 1, &err), QV_OK);
    mapped_file(f.st.dense[0].chunks[1], where, sizeof where);
    assert_non_null(strstr(where, "/vec-1.dat"));
    /* A write goes to the process's copy of the page, never to the file. */
    qv_arena_reset(&f.a);
    assert_int_equal(run(&f, QV_UPDATE_UPSERT, "{\"points\":[{\"id\":1500,\"vector\":[-3,4]}]}", &err), QV_OK);
    int64_t slot = store_find(&f.st, &(qv_point_id){.lo = 1500});
    assert_true(slot >= 0 && store_dense(&f.st, 0, (uint32_t)slot)[0] == -3.0f);
    assert_int_equal(load_again(&g, path, &err), QV_OK);
    assert_true(store_dense(&g.st, 0, (uint32_t)slot)[0] == 1500.0f);  /* the saved image */
    mapped_file(g.st.dense[0].chunks[0], where, sizeof where);
    assert_non_null(strstr(where, "/vec-1.dat"));
    assert_int_equal(store_save(&f.st, dir, "points.snap", 2, &err), QV_OK);
    assert_true(store_dense(&f.st, 0, (uint32_t)slot)[0] == -3.0f);  /* now from the new image */
    mapped_file(f.st.dense[0].chunks[1], where, sizeof where);
    assert_non_null(strstr(where, "/vec-1.dat"));
    assert_int_equal(file_size(dir, "vec-1.dat"), 3 * 1024 * 2 * 4);  /* chunk 1 moved to a third image */
    /* Vacuum: chunk 1 moves back below, is mapped there, and the file is
     * cut after it (a chunk still mapped past the end would fault). */
    assert_int_equal(store_save(&f.st, dir, "points.snap", 3, &err), QV_OK);
    assert_int_equal(file_size(dir, "vec-1.dat"), 2 * 1024 * 2 * 4);
    assert_true(store_dense(&f.st, 0, (uint32_t)slot)[0] == -3.0f);
    assert_true(store_dense(&f.st, 0, 1999)[1] == 2.0f);
    assert_int_equal(load_again(&g, path, &err), QV_OK);
    char *want = picture(&f.st), *got = picture(&g.st);
    assert_string_equal(got, want);
    free(want);
    free(got);
    qv_rm_rf(dir);
    fx_free(&f);
    fx_free(&g);
}

/* Checkpoints across vector changes, saved between each change's prepare
 * and commit as the DDL does: the columns keep their chunk files, a
 * removed column's file goes, an added one gets a new file. */
static void checkpoint_across_vector_changes(void **state)
{
    fixture f, g;
    qv_error err;
    fx_init(&f, NAMED);
    char body[256];
    for (int i = 0; i < 1500; i++) {
        qv_arena_reset(&f.a);
        snprintf(body, sizeof body, "{\"points\":[{\"id\":%d,\"vector\":{\"a\":[%d,1],\"b\":[0,1,%d]}}]}", i, i, i);
        assert_int_equal(run(&f, QV_UPDATE_UPSERT, body, &err), QV_OK);
    }
    char dir[] = "/tmp/qv-store-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/points.snap", dir);
    assert_int_equal(store_save(&f.st, dir, "points.snap", 4, &err), QV_OK);
    assert_true(file_size(dir, "vec-1.dat") > 0 && file_size(dir, "vec-2.dat") > 0);
    relayout_dir = dir;
    relayout(&f, "{\"vectors\":{\"b\":{\"size\":3,\"distance\":\"Cosine\"},"
                 "\"c\":{\"size\":2,\"distance\":\"Dot\"}},\"sparse_vectors\":{\"s\":{}}}");
    relayout_dir = NULL;
    qv_arena_reset(&f.a);
    assert_int_equal(run(&f, QV_UPDATE_UPDATE_VECTORS, "{\"points\":[{\"id\":3,\"vector\":{\"c\":[7,8]}}]}", &err), QV_OK);
    assert_int_equal(store_save(&f.st, dir, "points.snap", 6, &err), QV_OK);
    assert_int_equal(file_size(dir, "vec-1.dat"), -1);  /* a's */
    assert_true(file_size(dir, "vec-2.dat") > 0);       /* b's, kept */
    assert_int_equal(count_files(dir, "vec-"), 2);      /* and c's, new */
    assert_int_equal(count_files(dir, "blk-"), 1);      /* the points' blocks, in one file */
    fx_init(&g, "{\"vectors\":{\"b\":{\"size\":3,\"distance\":\"Cosine\"},"
                "\"c\":{\"size\":2,\"distance\":\"Dot\"}},\"sparse_vectors\":{\"s\":{}}}");
    assert_int_equal(load_again(&g, path, &err), QV_OK);
    char *want = picture(&f.st), *got = picture(&g.st);
    assert_string_equal(got, want);
    assert_non_null(strstr(got, "[7.0,8.0]"));
    free(want);
    free(got);
    qv_rm_rf(dir);
    fx_free(&f);
    fx_free(&g);
}

static void checkpoint_columns_by_name(void **state)
{
    fixture f, g;
    qv_error err;
    fx_init(&f, NAMED);
    assert_int_equal(run(&f, QV_UPDATE_UPSERT,
                         "{\"points\":[{\"id\":1,\"vector\":{\"a\":[1,2],\"b\":[0,3,4],"
                         "\"s\":{\"indices\":[5],\"values\":[0.5]}},\"payload\":{\"x\":1}},"
                         "{\"id\":2,\"vector\":{\"b\":[1,0,0]}}]}",
                         &err),
                     QV_OK);
    char dir[] = "/tmp/qv-store-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/points.snap", dir);
    assert_int_equal(store_save(&f.st, dir, "points.snap", 7, &err), QV_OK);
    uint64_t seq;
    /* another list: b kept (now first), a gone, c and t new, s kept */
    fx_init(&g, "{\"vectors\":{\"b\":{\"size\":3,\"distance\":\"Cosine\"},\"c\":{\"size\":5,\"distance\":\"Dot\"}},"
                "\"sparse_vectors\":{\"t\":{},\"s\":{}}}");
    assert_int_equal(store_load(&g.st, &g.cfg, path, &seq, &err), QV_OK);
    assert_int_equal(seq, 7);
    char *p = picture(&g.st);
    assert_string_equal(p, "[[1,{\"x\":1},[0.0,0.6,0.8],null,999,1],[2,{},[1.0,0.0,0.0],null,999,999]]");
    free(p);
    fx_free(&g);
    /* the same name with another dimension, or as the other kind: damage */
    static const char *const bad[] = {
        "{\"vectors\":{\"b\":{\"size\":4,\"distance\":\"Cosine\"}}}",
        "{\"vectors\":{\"s\":{\"size\":1,\"distance\":\"Dot\"}}}",
        "{\"sparse_vectors\":{\"a\":{}}}",
    };
    for (int i = 0; i < 3; i++) {
        fx_init(&g, bad[i]);
        assert_int_equal(store_load(&g.st, &g.cfg, path, &seq, &err), QV_CORRUPT);
        fx_free(&g);
    }
    /* no columns at all in the config: points keep their payloads */
    fx_init(&g, "{}");
    assert_int_equal(store_load(&g.st, &g.cfg, path, &seq, &err), QV_OK);
    p = picture(&g.st);
    assert_string_equal(p, "[[1,{\"x\":1}],[2,{}]]");
    free(p);
    fx_free(&g);
    qv_rm_rf(dir);
    fx_free(&f);
}

/* A store with more free slots than store_slot_bound allows is written
 * compacted: its points load into the first slots. */
static void checkpoint_compacts_sparse_store(void **state)
{
    fixture f, g;
    qv_error err;
    fx_init(&f, "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}");
    qv_buf b = QV_BUF_INIT;
    for (int i = 0; i < 70000; i += 1000) {
        b.len = 0;
        qv_buf_append(&b, "{\"points\":[", 11);
        for (int j = i; j < i + 1000; j++) {
            char one[96];
            int n = snprintf(one, sizeof one, "%s{\"id\":%d,\"vector\":[%d,1]}", j > i ? "," : "", j, j);
            qv_buf_append(&b, one, (size_t)n);
        }
        qv_buf_append(&b, "]}", 3);  /* with the NUL */
        qv_arena_reset(&f.a);
        assert_int_equal(run(&f, QV_UPDATE_UPSERT, (const char *)b.data, &err), QV_OK);
    }
    qv_buf_free(&b);
    assert_int_equal(run(&f, QV_UPDATE_DELETE, "{\"filter\":{\"must\":[{\"has_id\":[5,69998]}]}}", &err), QV_OK);
    assert_true(store_keeps_slots(&f.st));
    assert_int_equal(run(&f, QV_UPDATE_DELETE, "{\"filter\":{\"must_not\":[{\"has_id\":[3,40000,69999]}]}}", &err),
                     QV_OK);
    assert_int_equal(f.st.n_points, 3);
    assert_false(store_keeps_slots(&f.st));
    char dir[] = "/tmp/qv-store-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(store_save(&f.st, dir, "points.snap", 1, &err), QV_OK);
    snprintf(path, sizeof path, "%s/points.snap", dir);
    fx_init(&g, "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}");
    uint64_t seq;
    assert_int_equal(store_load(&g.st, &g.cfg, path, &seq, &err), QV_OK);
    assert_int_equal(g.st.n_slots, 3);
    assert_int_equal(g.st.n_free, 0);
    char *p1 = picture(&f.st), *p2 = picture(&g.st);
    assert_string_equal(p1, p2);
    free(p1);
    free(p2);
    fx_free(&g);
    fx_free(&f);
    qv_rm_rf(dir);
}

/* A checkpoint in the first format (dimensions only, no names) still loads. */
/* A checkpoint of one point (id 42, payload {}, dense v [3, 4], no sparse
 * s) in an older format: version 1 (dimensions only) or 2 (dimensions and
 * names); neither keeps point versions. */
static void old_snapshot(qv_buf *b, uint32_t version)
{
    uint32_t u32;
    uint64_t u64;
    qv_buf_append(b, "QVSNAP\0\0", 8);
#define PUT32(v) (u32 = (v), qv_buf_append(b, &u32, 4))
#define PUT64(v) (u64 = (v), qv_buf_append(b, &u64, 8))
    PUT32(version);
    PUT32(1);  /* n_dense */
    PUT32(1);  /* n_sparse */
    PUT32(0);
    PUT64(99);  /* seq */
    PUT64(1);   /* points */
    PUT32(2);   /* dim */
    if (version == 2) {  /* the names: dense "v", sparse "s" */
        PUT32(1);
        qv_buf_append(b, "v", 1);
        PUT32(1);
        qv_buf_append(b, "s", 1);
    }
    qv_buf_append(b, "\0", 1);  /* integer id */
    PUT64(0);
    PUT64(42);
    PUT32(2);  /* payload: {} */
    qv_buf_append(b, "\xE0\0", 2);
    qv_buf_append(b, "\1", 1);
    float v[2] = {3, 4};
    qv_buf_append(b, v, 8);
    PUT32(UINT32_MAX);  /* no sparse vector */
    uint32_t crc = qv_crc32c(0, b->data, b->len);
    PUT32(crc);
#undef PUT32
#undef PUT64
    qv_buf_append(b, "QVND", 4);
    assert_true(qv_buf_ok(b));
}

static void checkpoint_old_versions_load(void **state)
{
    for (uint32_t version = 1; version <= 2; version++) {
        qv_buf b = QV_BUF_INIT;
        old_snapshot(&b, version);
        char dir[] = "/tmp/qv-store-XXXXXX";
        assert_non_null(mkdtemp(dir));
        assert_int_equal(qv_write_file_atomic(dir, "points.snap", b.data, b.len), 0);
        char path[256];
        snprintf(path, sizeof path, "%s/points.snap", dir);
        fixture f;
        qv_error err;
        uint64_t seq;
        fx_init(&f, "{\"vectors\":{\"v\":{\"size\":2,\"distance\":\"Dot\"}},\"sparse_vectors\":{\"s\":{}}}");
        assert_int_equal(store_load(&f.st, &f.cfg, path, &seq, &err), QV_OK);
        assert_int_equal(seq, 99);
        char *p = picture(&f.st);
        assert_string_equal(p, "[[42,{},[3.0,4.0],999]]");
        free(p);
        assert_int_equal(version_of(&f.st, 42), 0);  /* versions 1 and 2 keep none */
        fx_free(&f);
        /* Version 1 matches by position: another list is refused; version 2
         * by name: a column the config lacks is skipped. */
        fx_init(&f, "{\"vectors\":{\"v\":{\"size\":2,\"distance\":\"Dot\"}}}");
        assert_int_equal(store_load(&f.st, &f.cfg, path, &seq, &err), version == 1 ? QV_CORRUPT : QV_OK);
        fx_free(&f);
        qv_rm_rf(dir);
        qv_buf_free(&b);
    }
}

/* ---- listeners ---- */

/* Records what each commit reported, as "id:flags" per change. */
typedef struct spy {
    char     seen[512];
    int      commits;
    bool     refuse;  /* reserve answers QV_NOMEM */
    bool     wants;
} spy;

static bool spy_active(void *ctx, const store *s)
{
    (void)s;
    return ((spy *)ctx)->wants;
}

static qv_status spy_reserve(void *ctx, const store *s, const st_change *ch, size_t n, qv_error *err)
{
    (void)s, (void)ch, (void)n;
    return ((spy *)ctx)->refuse ? qv_fail(err, QV_NOMEM, "spy refuses") : QV_OK;
}

static void spy_commit(void *ctx, const store *s, const st_change *ch, size_t n)
{
    spy *sp = ctx;
    sp->commits++;
    for (size_t i = 0; i < n; i++) {
        char id[PID_TEXT_MAX];
        pid_format(&s->ids[ch[i].slot], id);
        size_t at = strlen(sp->seen);
        snprintf(sp->seen + at, sizeof sp->seen - at, "%s%s:%s%s%s%s%s", at ? " " : "", id,
                 ch[i].what & ST_CH_INSERTED ? "I" : "", ch[i].what & ST_CH_DELETED ? "D" : "",
                 ch[i].what & ST_CH_PAYLOAD ? "P" : "", ch[i].what & ST_CH_VECTORS ? "V" : "",
                 ch[i].old_payload ? "+old" : "");
    }
}

/* A listener hears every slot a batch touched, once, with what happened to
 * it; a listener that refuses before the commit point undoes the batch. */
static void listeners_hear_each_commit(void **state)
{
    fixture f;
    qv_error err;
    spy sp = {.wants = true};
    fx_init(&f, "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}");
    assert_int_equal(store_listen(&f.st, &(st_listener){&sp, spy_active, spy_reserve, spy_commit}, &err),
                     QV_OK);
    assert_int_equal(run(&f, QV_UPDATE_UPSERT,
                         "{\"points\":[{\"id\":1,\"vector\":[1,1],\"payload\":{\"a\":1}},"
                         "{\"id\":2,\"vector\":[2,2]}]}", &err), QV_OK);
    assert_string_equal(sp.seen, "1:IPV 2:IPV");
    sp.seen[0] = '\0';
    assert_int_equal(run(&f, QV_UPDATE_BATCH,
                         "{\"operations\":[{\"update_vectors\":{\"points\":[{\"id\":1,\"vector\":[3,3]}]}},"
                         "{\"set_payload\":{\"payload\":{\"b\":1},\"points\":[2]}},"
                         "{\"delete\":{\"points\":[2]}},"
                         "{\"upsert\":{\"points\":[{\"id\":3,\"vector\":[1,2]}]}},"
                         "{\"delete\":{\"points\":[3]}}]}", &err), QV_OK);
    /* 2 is deleted (its payload before the batch was empty); 3 came and went. */
    assert_string_equal(sp.seen, "1:V+old 2:DP+old 3:IDPV");
    assert_int_equal(sp.commits, 2);
    char *before = picture(&f.st);
    sp.refuse = true;
    assert_int_equal(run(&f, QV_UPDATE_DELETE, "{\"points\":[1]}", &err), QV_NOMEM);
    char *after = picture(&f.st);
    assert_string_equal(before, after);
    assert_int_equal(sp.commits, 2);
    /* Inactive: neither asked to reserve nor told. */
    sp.wants = false;
    assert_int_equal(run(&f, QV_UPDATE_DELETE, "{\"points\":[1]}", &err), QV_OK);
    assert_int_equal(sp.commits, 2);
    assert_int_equal(f.st.n_points, 0);
    store_unlisten(&f.st, &sp);
    assert_int_equal(f.st.n_listeners, 1);  /* the payload indexes remain */
    free(before);
    free(after);
    fx_free(&f);
}

/* ---- the planner (core/plan.h) ---- */

static flt_filter *parse_filter(fixture *f, const char *json)
{
    jr_value *root;
    jr_error je;
    qv_error err;
    flt_filter *flt;
    assert_int_equal(jr_parse(&f->a, json, strlen(json), &root, &je), 0);
    assert_int_equal(flt_parse(&f->a, root, "filter", &flt, &err), QV_OK);
    return flt;
}

/* Whatever the plan (index candidates, settled, scan), its count, its
 * allowed bitset and its estimate agree with checking every live point. */
static void planner_agrees_with_scan(void **state)
{
    fixture f;
    qv_error err;
    fx_init(&f, "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}");
    qv_buf req = QV_BUF_INIT;
    for (int i = 0; i < 3000; i += 500) {
        req.len = 0;
        qv_buf_puts(&req, "{\"points\":[");
        for (int j = i; j < i + 500; j++) {
            char one[128];
            snprintf(one, sizeof one, "%s{\"id\":%d,\"vector\":[1,2],\"payload\":{\"k\":%d,\"t\":%d}}",
                     j > i ? "," : "", j, j % 100, j % 3);
            qv_buf_puts(&req, one);
        }
        qv_buf_puts(&req, "]}");
        qv_buf_putc(&req, '\0');
        assert_int_equal(run(&f, QV_UPDATE_UPSERT, req.data, &err), QV_OK);
    }
    qv_buf_free(&req);
    assert_int_equal(run(&f, QV_UPDATE_DELETE, "{\"filter\":{\"must\":[{\"key\":\"t\",\"match\":{\"value\":0}},"
                                               "{\"key\":\"k\",\"range\":{\"lt\":50}}]}}", &err), QV_OK);
    static const char *const filters[] = {
        "{\"must\":[{\"key\":\"k\",\"match\":{\"value\":7}}]}",                 /* settled by the index */
        "{\"must\":[{\"key\":\"k\",\"match\":{\"value\":7}},{\"key\":\"t\",\"match\":{\"value\":1}}]}",
        "{\"must\":[{\"key\":\"t\",\"match\":{\"value\":2}}]}",                 /* scan, sampled */
        "{\"must_not\":[{\"key\":\"k\",\"range\":{\"gte\":3}}]}",
    };
    for (int round = 0; round < 2; round++) {
        if (round == 1) {  /* then with an integer index on k */
            pl_path key;
            fidx_params params;
            fidx *x;
            assert_int_equal(pl_path_parse(&f.a, "k", 1, &key, &err), 0);
            fidx_params_default(FIDX_INTEGER, &params);
            assert_int_equal(fidx_new(&key, &params, &x), QV_OK);
            store_fill_index(&f.st, x);
            assert_int_equal(store_attach_index(&f.st, x, &err), QV_OK);
        }
        for (size_t q = 0; q < sizeof filters / sizeof *filters; q++) {
            plan pl;
            plan_make(&pl, &f.st, &f.cfg, parse_filter(&f, filters[q]));
            uint64_t want = 0;
            for (uint32_t slot = 0; slot < f.st.n_slots; slot++)
                want += store_live(&f.st, slot) && plan_match(&pl, slot);
            assert_int_equal(plan_count(&pl), want);
            uint64_t *bits, n;
            assert_int_equal(plan_allowed(&pl, &bits, &n, &err), QV_OK);
            assert_int_equal(n, want);
            for (uint32_t slot = 0; slot < f.st.n_slots; slot++)
                assert_int_equal(bits[slot >> 6] >> (slot & 63) & 1,
                                 store_live(&f.st, slot) && plan_match(&pl, slot));
            free(bits);
            bool exact;
            uint64_t est = plan_estimate(&pl, &exact);
            if (exact)
                assert_int_equal(est, want);
            else  /* a sample of PLAN_SAMPLE: within a few points in a hundred */
                assert_true(est + f.st.n_points / 20 >= want && est <= want + f.st.n_points / 20);
            if (round == 1 && q == 0)
                assert_true(pl.indexed && pl.settled && exact);
            if (q == 2)
                assert_false(exact);
            plan_free(&pl);
        }
    }
    /* Without a filter: every live point. */
    plan pl;
    plan_make(&pl, &f.st, &f.cfg, NULL);
    bool exact;
    assert_int_equal(plan_estimate(&pl, &exact), f.st.n_points);
    assert_true(exact);
    plan_free(&pl);
    fx_free(&f);
}

/* ---- per-thread scratch ---- */

#define SCRATCH_THREADS 8

static void *scratch_worker(void *arg)
{
    pthread_barrier_t *b = arg;
    qv_arena *a = qv_scratch();
    /* 12 MB each (under QV_SCRATCH_KEEP), 96 MB in all: over the budget */
    bool ok = a && qv_arena_alloc(a, (size_t)12 << 20);
    if (a)
        qv_scratch_done(a);
    pthread_barrier_wait(b);  /* every thread keeps what it may */
    pthread_barrier_wait(b);  /* the count was read */
    return ok ? arg : NULL;
}

/* Threads that are alive but idle keep at most QV_SCRATCH_BUDGET in all,
 * and nothing once they exit. */
static void scratch_is_bounded_across_threads(void **state)
{
    (void)state;
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, SCRATCH_THREADS + 1);
    pthread_t t[SCRATCH_THREADS];
    for (int i = 0; i < SCRATCH_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, scratch_worker, &b), 0);
    pthread_barrier_wait(&b);
    size_t kept = qv_scratch_kept();
    pthread_barrier_wait(&b);
    for (int i = 0; i < SCRATCH_THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_non_null(r);
    }
    pthread_barrier_destroy(&b);
    assert_true(kept >= (size_t)12 << 20);  /* some kept their block */
    assert_true(kept <= QV_SCRATCH_BUDGET);
    assert_int_equal(qv_scratch_kept(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ids_parse_and_print),
        cmocka_unit_test(scratch_is_bounded_across_threads),
        cmocka_unit_test(writes_apply_in_order),
        cmocka_unit_test(failed_batch_changes_nothing),
        cmocka_unit_test(versions_follow_writes),
        cmocka_unit_test(id_index_follows_batches),
        cmocka_unit_test(id_map_under_churn),
        cmocka_unit_test(checkpoint_round_trip),
        cmocka_unit_test(record_decoding_rejects_damage),
        cmocka_unit_test(checkpoint_refuses_impossible_fields),
        cmocka_unit_test(record_decoding_rejects_impossible_ids),
        cmocka_unit_test(columns_added_and_removed),
        cmocka_unit_test(checkpoint_writes_what_changed),
        cmocka_unit_test(on_disk_chunks_are_mapped),
        cmocka_unit_test(checkpoint_across_vector_changes),
        cmocka_unit_test(checkpoint_columns_by_name),
        cmocka_unit_test(checkpoint_old_versions_load),
        cmocka_unit_test(checkpoint_compacts_sparse_store),
        cmocka_unit_test(listeners_hear_each_commit),
        cmocka_unit_test(planner_agrees_with_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * mkseeds — writes the seed corpora of the fuzz targets that read binary
 * formats (operation records, WAL files, checkpoints) and of the filter
 * target, through the real encoders: `make fuzz-seeds` runs it. Run it
 * again after a format change (a new checkpoint version makes the old seeds
 * useless) and commit the result; keep each corpus a few KB.
 *
 * Usage: fuzz_mkseeds FUZZ_DIR   (writes FUZZ_DIR/corpus_{filter,ops,wal,store}/)
 */
#include "fuzz_store.h"

#include <errno.h>
#include <sys/stat.h>

#include "storage/wal.h"
#include "util/fsutil.h"

static const char *out_dir;

static void write_seed(const char *corpus, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/corpus_%s", out_dir, corpus);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        fuzz_die("mkdir");
    snprintf(path, sizeof path, "%s/corpus_%s/%s", out_dir, corpus, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        fuzz_die("cannot write a seed");
}

static const char *const filters[] = {
    "{}",
    "{\"must\": [{\"key\": \"city\", \"match\": {\"value\": \"Berlin\"}}]}",
    "{\"should\": [{\"key\": \"count\", \"range\": {\"gte\": 1, \"lt\": 5.5}},"
    " {\"key\": \"when\", \"range\": {\"gt\": \"2023-01-01T00:00:00Z\"}}],"
    " \"must_not\": [{\"is_null\": {\"key\": \"n\"}}]}",
    "{\"must\": [{\"key\": \"tags[]\", \"match\": {\"any\": [\"a\", \"z\"]}},"
    " {\"key\": \"count\", \"match\": {\"except\": [1, 2]}}, {\"is_empty\": {\"key\": \"empty\"}}]}",
    "{\"must\": [{\"key\": \"loc\", \"geo_radius\": {\"center\": {\"lon\": 13.4, \"lat\": 52.5},"
    " \"radius\": 1000}}, {\"key\": \"loc\", \"geo_bounding_box\": {\"top_left\": {\"lon\": 0, \"lat\": 60},"
    " \"bottom_right\": {\"lon\": 20, \"lat\": 40}}}]}",
    "{\"must\": [{\"key\": \"loc\", \"geo_polygon\": {\"exterior\": {\"points\": [{\"lon\": 0, \"lat\": 0},"
    " {\"lon\": 20, \"lat\": 0}, {\"lon\": 20, \"lat\": 60}, {\"lon\": 0, \"lat\": 0}]},"
    " \"interiors\": []}}]}",
    "{\"min_should\": {\"conditions\": [{\"key\": \"text\", \"match\": {\"text\": \"quick fox\"}},"
    " {\"key\": \"text\", \"match\": {\"phrase\": \"brown fox\"}}, {\"key\": \"text\","
    " \"match\": {\"text_any\": \"fox dog\"}}, {\"key\": \"city\", \"match\": {\"prefix\": \"Be\"}}],"
    " \"min_count\": 2}}",
    "{\"must\": [{\"nested\": {\"key\": \"nested\", \"filter\": {\"must\": [{\"key\": \"x\","
    " \"match\": {\"value\": 2}}, {\"key\": \"y\", \"values_count\": {\"gte\": 1}}]}}},"
    " {\"has_id\": [1, \"550e8400-e29b-41d4-a716-446655440000\"]}, {\"has_vector\": \"a\"},"
    " {\"slice\": {\"total\": 3, \"index\": 1}}]}",
    "{\"must\": [{\"should\": [{\"key\": \"flag\", \"match\": {\"value\": true}},"
    " {\"key\": \"deep.a.b[].c\", \"is_empty\": false}]}, {\"key\": \"big\", \"range\": {\"lte\": 1e20}}]}",
};

static const struct {
    const char *name;
    int         kind;
    const char *json;
} requests[] = {
    {"upsert", QV_UPDATE_UPSERT,
     "{\"points\": [{\"id\": 5, \"vector\": {\"a\": [1, 0, 0, 1], \"s\": {\"indices\": [1, 9],"
     " \"values\": [0.5, 2]}}, \"payload\": {\"city\": \"Oslo\", \"n\": [1, 2.5, null]}},"
     " {\"id\": \"550e8400-e29b-41d4-a716-446655440001\", \"vector\": {\"b\": [3, 4]}}]}"},
    {"upsert_filter", QV_UPDATE_UPSERT,
     "{\"points\": [{\"id\": 1, \"vector\": {}, \"payload\": {\"k\": 2}}],"
     " \"update_filter\": {\"must\": [{\"key\": \"k\", \"match\": {\"value\": 1}}]}}"},
    {"delete_ids", QV_UPDATE_DELETE, "{\"points\": [1, 2, 99]}"},
    {"delete_filter", QV_UPDATE_DELETE,
     "{\"filter\": {\"must\": [{\"key\": \"k\", \"range\": {\"gt\": 0}}]}}"},
    {"set_payload", QV_UPDATE_SET_PAYLOAD,
     "{\"payload\": {\"x\": {\"y\": true}}, \"points\": [1, 2], \"key\": \"k[0]\"}"},
    {"overwrite_payload", QV_UPDATE_OVERWRITE_PAYLOAD, "{\"payload\": {\"z\": \"w\"}, \"points\": [2]}"},
    {"delete_payload", QV_UPDATE_DELETE_PAYLOAD, "{\"keys\": [\"k\", \"x.y\"], \"points\": [1]}"},
    {"clear_payload", QV_UPDATE_CLEAR_PAYLOAD, "{\"points\": [\"550e8400-e29b-41d4-a716-446655440000\"]}"},
    {"update_vectors", QV_UPDATE_UPDATE_VECTORS,
     "{\"points\": [{\"id\": 2, \"vector\": {\"a\": [0, 1, 0, 0], \"s\": {\"indices\": [], \"values\": []}}}]}"},
    {"delete_vectors", QV_UPDATE_DELETE_VECTORS, "{\"vector\": [\"a\", \"s\"], \"points\": [1, 2]}"},
    {"batch", QV_UPDATE_BATCH,
     "{\"operations\": [{\"upsert\": {\"points\": [{\"id\": 7, \"vector\": {\"b\": [1, 1]}}]}},"
     " {\"delete\": {\"points\": [7]}}, {\"clear_payload\": {\"filter\": {}}}]}"},
};
#define N_REQUESTS (sizeof requests / sizeof *requests)

static void read_all(const char *path, qv_buf *out)
{
    char *d;
    size_t n;
    if (qv_read_file(path, 1 << 20, &d, &n) != 0)
        fuzz_die("cannot read back a file");
    qv_buf_append(out, d, n);
    free(d);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FUZZ_DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    cfg_collection cfg;
    fuzz_config(&cfg);
    char name[64];
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
        snprintf(name, sizeof name, "seed%02zu.json", i);
        write_seed("filter", name, filters[i], strlen(filters[i]));
    }

    qv_buf rec[N_REQUESTS];
    for (size_t i = 0; i < N_REQUESTS; i++) {
        rec[i] = (qv_buf)QV_BUF_INIT;
        fuzz_record(&cfg, requests[i].kind, requests[i].json, &rec[i]);
        write_seed("ops", requests[i].name, rec[i].data, rec[i].len);
    }

    /* WAL files: the records above in one log (control byte 0: the harness
     * fixes CRCs; 2: strict replay), and a log with a torn tail. */
    char tmp[] = "/tmp/qv-mkseeds-XXXXXX";
    if (!mkdtemp(tmp))
        fuzz_die("mkdtemp");
    char path[128];
    snprintf(path, sizeof path, "%s/wal.log", tmp);
    wal *w;
    qv_error err;
    if (wal_open(path, 3, NULL, NULL, &w, NULL, &err) != QV_OK)
        fuzz_die(err.msg);
    for (size_t i = 0; i < N_REQUESTS; i++)
        if (wal_append(w, 3 + i * 2, rec[i].data, rec[i].len, &err) != QV_OK)
            fuzz_die(err.msg);
    wal_close(w);
    qv_buf log = QV_BUF_INIT;
    qv_buf_append(&log, "\0", 1);
    read_all(path, &log);
    write_seed("wal", "all_kinds", log.data, log.len);
    log.data[0] = 2;
    write_seed("wal", "all_kinds_strict", log.data, log.len);
    write_seed("wal", "torn_tail", log.data, 1 + 32 + 16 + 8 + rec[0].len / 2);
    write_seed("wal", "empty", log.data, 1 + 32);
    qv_buf_free(&log);

    /* Checkpoints: an empty store, and one with dense, sparse, payloads. */
    store s;
    qv_arena a;
    qv_arena_init(&a, 0);
    if (store_init(&s, &cfg, &err) != QV_OK)
        fuzz_die(err.msg);
    qv_buf cp = QV_BUF_INIT;
    s.save_inline = true;  /* a seed is one file, as the target reads one */
    if (store_save(&s, tmp, "points.snap", 0, &err) != QV_OK)
        fuzz_die(err.msg);
    snprintf(path, sizeof path, "%s/points.snap", tmp);
    read_all(path, &cp);
    write_seed("store", "empty.snap", cp.data, cp.len);
    for (size_t i = 0; i < N_REQUESTS; i++)
        fuzz_apply(&s, &cfg, rec[i].data, rec[i].len, &a, &err);  /* some fail: missing ids */
    qv_buf more = QV_BUF_INIT;
    fuzz_record(&cfg, QV_UPDATE_UPSERT,
                "{\"points\": [{\"id\": 11, \"vector\": {\"a\": [1, 2, 3, 4], \"b\": [1, 0],"
                " \"s\": {\"indices\": [4, 2, 8], \"values\": [1, -1, 0.25]}},"
                " \"payload\": {\"t\": \"x\", \"g\": {\"lon\": 1, \"lat\": 2}}},"
                " {\"id\": 12, \"vector\": {\"s\": {\"indices\": [0], \"values\": [3]}}}]}",
                &more);
    if (fuzz_apply(&s, &cfg, more.data, more.len, &a, &err) != QV_OK)
        fuzz_die(err.msg);
    if (store_save(&s, tmp, "points.snap", 42, &err) != QV_OK)
        fuzz_die(err.msg);
    cp.len = 0;
    read_all(path, &cp);
    write_seed("store", "points.snap", cp.data, cp.len);
    printf("mkseeds: %llu points in the checkpoint seed\n", (unsigned long long)s.n_points);
    store_free(&s);
    qv_buf_free(&cp);
    qv_buf_free(&more);
    for (size_t i = 0; i < N_REQUESTS; i++)
        qv_buf_free(&rec[i]);
    qv_arena_free(&a);
    cfg_free(&cfg);
    qv_rm_rf(tmp);
    return 0;
}

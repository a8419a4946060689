/* test_config.c — server settings (YAML, environment, flags) and the
 * collection config codec (core/config.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "json/jr.h"
#include "json/jw.h"
#include "server/settings.h"

/* ---- settings ---- */

static void settings_precedence(void **state)
{
    char path[] = "/tmp/qv-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *yaml = "log_level: DEBUG\n"
                       "service:\n"
                       "  host: 0.0.0.0\n"
                       "  http_port: 7000\n"
                       "  max_request_size_mb: 8\n"
                       "  api_key: ~\n"
                       "  cors: [a, b]\n"
                       "storage:\n"
                       "  storage_path: /yaml/dir\n"
                       "  performance: {max_search_threads: 0}\n";
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    char *env[] = {"QDRANT__SERVICE__HTTP_PORT=7001", "QDRANT__STORAGE__STORAGE_PATH=/env/dir",
                   "OTHER=1", NULL};
    char *argv[] = {"--config", path, "--port", "7002", NULL};
    qv_settings s;
    char err[256];
    assert_int_equal(settings_from_args(&s, 4, argv, env, err, sizeof err), 0);
    assert_string_equal(s.host, "0.0.0.0");          /* from YAML */
    assert_int_equal(s.max_body, 8u << 20);          /* from YAML */
    assert_string_equal(s.log_level, "DEBUG");
    assert_string_equal(s.storage, "/env/dir");      /* env beats YAML */
    assert_int_equal(s.port, 7002);                  /* flag beats env */
    unlink(path);
}

static void settings_errors(void **state)
{
    qv_settings s;
    char err[256];
    char *env[] = {NULL};
    char *bad_port[] = {"--port", "70000", NULL};
    assert_int_equal(settings_from_args(&s, 2, bad_port, env, err, sizeof err), -1);
    assert_non_null(strstr(err, "service.http_port"));
    char *unknown[] = {"--bogus", NULL};
    assert_int_equal(settings_from_args(&s, 1, unknown, env, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown argument"));
    char *missing[] = {"--config", "/nonexistent/quiver.yaml", NULL};
    assert_int_equal(settings_from_args(&s, 2, missing, env, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open config file"));
    char *envbad[] = {"QDRANT__SERVICE__HTTP_PORT=x", NULL};
    assert_int_equal(settings_from_args(&s, 0, NULL, envbad, err, sizeof err), -1);
    char *help[] = {"--help", NULL};
    assert_int_equal(settings_from_args(&s, 1, help, env, err, sizeof err), 1);
}

/* ---- collection config codec ---- */

static qv_status parse_text(const char *text, cfg_shape shape, cfg_collection *c, qv_error *err,
                            qv_arena *a)
{
    jr_value *root;
    jr_error je;
    assert_int_equal(jr_parse(a, text, strlen(text), &root, &je), 0);
    return cfg_parse(root, shape, c, err);
}

static char *print_cfg(const cfg_collection *c)
{
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    cfg_print(&w, c);
    assert_true(qv_buf_ok(&b));
    return qv_buf_detach(&b, NULL);
}

static void defaults_print_as_qdrant(void **state)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    cfg_collection c;
    qv_error err;
    assert_int_equal(parse_text("{\"vectors\":{\"size\":4,\"distance\":\"Cosine\"}}", CFG_CREATE, &c,
                                &err, &a),
                     QV_OK);
    char *out = print_cfg(&c);
    assert_string_equal(out,
        "{\"params\":{\"vectors\":{\"size\":4,\"distance\":\"Cosine\"},\"shard_number\":1,"
        "\"replication_factor\":1,\"write_consistency_factor\":1,\"on_disk_payload\":true},"
        "\"hnsw_config\":{\"m\":16,\"ef_construct\":100,\"full_scan_threshold\":10000,"
        "\"max_indexing_threads\":0,\"on_disk\":false},"
        "\"optimizer_config\":{\"deleted_threshold\":0.2,\"vacuum_min_vector_number\":1000,"
        "\"default_segment_number\":0,\"max_segment_size\":null,\"memmap_threshold\":null,"
        "\"indexing_threshold\":10000,\"flush_interval_sec\":5,\"max_optimization_threads\":null},"
        "\"wal_config\":{\"wal_capacity_mb\":32,\"wal_segments_ahead\":0,\"wal_retain_closed\":1},"
        "\"quantization_config\":null}");
    free(out);
    cfg_free(&c);
    qv_arena_free(&a);
}

/* What is printed parses back (as our config file) to the same print. */
static void stored_round_trip(void **state)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    cfg_collection c, d;
    qv_error err;
    const char *body =
        "{\"vectors\":{\"img\":{\"size\":3,\"distance\":\"Dot\",\"hnsw_config\":{\"m\":8},"
        "\"on_disk\":true},\"txt\":{\"size\":7,\"distance\":\"Manhattan\",\"datatype\":\"float32\"}},"
        "\"sparse_vectors\":{\"sp\":{\"index\":{\"on_disk\":true},\"modifier\":\"idf\"}},"
        "\"shard_number\":2,\"on_disk_payload\":false,\"hnsw_config\":{\"m\":32,\"payload_m\":4},"
        "\"optimizers_config\":{\"max_segment_size\":100000,\"deleted_threshold\":0.5},"
        "\"wal_config\":{\"wal_capacity_mb\":64},\"metadata\":{\"owner\":\"me\",\"n\":[1,2]}}";
    assert_int_equal(parse_text(body, CFG_CREATE, &c, &err, &a), QV_OK);
    char *first = print_cfg(&c);
    assert_int_equal(parse_text(first, CFG_STORED, &d, &err, &a), QV_OK);
    char *second = print_cfg(&d);
    assert_string_equal(first, second);
    assert_non_null(strstr(first, "\"hnsw_config\":{\"m\":32,\"ef_construct\":100"));
    assert_non_null(strstr(first, "\"payload_m\":4"));
    assert_non_null(strstr(first, "\"metadata\":{\"owner\":\"me\",\"n\":[1,2]}"));
    assert_non_null(cfg_find_vector(&d, "txt"));
    assert_null(cfg_find_vector(&d, ""));
    free(first);
    free(second);
    cfg_free(&c);
    cfg_free(&d);
    qv_arena_free(&a);
}

static void errors_name_the_field(void **state)
{
    static const struct {
        const char *body;
        qv_status   code;
        const char *msg;
    } cases[] = {
        {"{\"vectors\":{\"size\":65537,\"distance\":\"Cosine\"}}", QV_VALIDATION,
         "vectors.size: value 65537 invalid, must be from 1 to 65536"},
        {"{\"vectors\":{\"size\":0,\"distance\":\"Cosine\"}}", QV_VALIDATION,
         "vectors.size: value 0 invalid, must be from 1 to 65536"},
        {"{\"vectors\":{\"size\":4,\"distance\":\"Foo\"}}", QV_BAD_FORMAT,
         "vectors.distance: unknown variant `Foo`, expected one of `Cosine`, `Euclid`, `Dot`, `Manhattan`"},
        {"{\"vectors\":{\"size\":\"4\",\"distance\":\"Dot\"}}", QV_BAD_FORMAT,
         "vectors.size: invalid type: string \"4\", expected u64"},
        {"{\"vectors\":{\"size\":4}}", QV_BAD_FORMAT, "vectors: missing field `distance`"},
        {"{\"vectors\":{\"a\":{\"size\":4.5,\"distance\":\"Dot\"}}}", QV_BAD_FORMAT,
         "vectors.a.size: invalid type: floating point `4.5`, expected u64"},
        {"{\"hnsw_config\":{\"ef_construct\":1}}", QV_VALIDATION,
         "hnsw_config.ef_construct: value 1 invalid, must be 4 or larger"},
        {"{\"optimizers_config\":{\"deleted_threshold\":1.5}}", QV_VALIDATION,
         "optimizers_config.deleted_threshold: value 1.5 invalid, must be from 0.0 to 1.0"},
        {"{\"shard_number\":0}", QV_VALIDATION, "shard_number: value 0 invalid, must be 1 or larger"},
        {"{\"hnsw_config\":{\"on_disk\":1}}", QV_BAD_FORMAT,
         "hnsw_config.on_disk: invalid type: integer `1`, expected a boolean"},
        {"{\"quantization_config\":{\"scalar\":{\"type\":\"int8\"}}}", QV_UNSUPPORTED,
         "quantization_config is not supported by Quiver yet"},
        {"[]", QV_BAD_FORMAT, "body: invalid type: sequence, expected struct CreateCollection"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        qv_arena a;
        qv_arena_init(&a, 0);
        cfg_collection c;
        qv_error err = {0};
        assert_int_equal(parse_text(cases[i].body, CFG_CREATE, &c, &err, &a), cases[i].code);
        assert_string_equal(err.msg, cases[i].msg);
        qv_arena_free(&a);
    }
}

static void nulls_mean_not_given(void **state)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    cfg_collection c;
    qv_error err;
    assert_int_equal(parse_text("{\"vectors\":null,\"hnsw_config\":{\"m\":null},\"shard_number\":null,"
                                "\"quantization_config\":null,\"optimizers_config\":null}",
                                CFG_CREATE, &c, &err, &a),
                     QV_OK);
    assert_int_equal(c.hnsw.m, 16);
    assert_int_equal(c.shard_number, 1);
    assert_int_equal(c.n_vectors, 0);
    cfg_free(&c);
    qv_arena_free(&a);
}

static void update_is_all_or_nothing(void **state)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    cfg_collection c;
    qv_error err;
    jr_value *patch;
    jr_error je;
    assert_int_equal(parse_text("{\"vectors\":{\"v\":{\"size\":2,\"distance\":\"Dot\"}},"
                                "\"metadata\":{\"a\":1,\"b\":2}}",
                                CFG_CREATE, &c, &err, &a),
                     QV_OK);
    const char *good = "{\"hnsw_config\":{\"ef_construct\":200},\"optimizers_config\":"
                       "{\"indexing_threshold\":null,\"flush_interval_sec\":9},"
                       "\"vectors\":{\"v\":{\"on_disk\":true}},\"params\":{\"on_disk_payload\":false},"
                       "\"metadata\":{\"a\":null,\"c\":3}}";
    assert_int_equal(jr_parse(&a, good, strlen(good), &patch, &je), 0);
    assert_int_equal(cfg_update(patch, &c, &err), QV_OK);
    assert_int_equal(c.hnsw.ef_construct, 200);
    assert_int_equal(c.hnsw.m, 16);
    assert_int_equal(c.optimizers.flush_interval_sec, 9);
    assert_int_equal(c.optimizers.indexing_threshold, 10000);
    assert_true(c.vectors[0].on_disk);
    assert_false(c.on_disk_payload);
    assert_string_equal(c.metadata_json, "{\"b\":2,\"c\":3}");

    const char *bad = "{\"hnsw_config\":{\"m\":4},\"vectors\":{\"nope\":{\"on_disk\":true}}}";
    assert_int_equal(jr_parse(&a, bad, strlen(bad), &patch, &je), 0);
    assert_int_equal(cfg_update(patch, &c, &err), QV_BAD_INPUT);
    assert_string_equal(err.msg, "Not existing vector name error: nope");
    assert_int_equal(c.hnsw.m, 16);  /* unchanged */
    cfg_free(&c);
    qv_arena_free(&a);
}

/* Vector names: Qdrant's forbidden characters (reported in Qdrant's list
 * order), NUL counted, 200 bytes at most; jr_dup_field finds repeated
 * struct fields only. */
static void vector_names_and_dup_fields(void **state)
{
    (void)state;
    qv_error err;
    assert_int_equal(cfg_vector_name_check("dense-é", strlen("dense-é"), &err), QV_OK);
    assert_int_equal(cfg_vector_name_check("a*b<", 4, &err), QV_VALIDATION);
    assert_string_equal(err.msg, "vector name cannot contain \"<\" char");
    assert_int_equal(cfg_vector_name_check("a\0b", 3, &err), QV_VALIDATION);
    assert_string_equal(err.msg, "vector name cannot contain \"\\0\" char");
    assert_int_equal(cfg_vector_name_check("a\x1f", 2, &err), QV_VALIDATION);
    assert_int_equal(cfg_vector_name_check("", 0, &err), QV_VALIDATION);
    char name[202];
    memset(name, 'v', sizeof name);
    assert_int_equal(cfg_vector_name_check(name, 200, &err), QV_OK);
    assert_int_equal(cfg_vector_name_check(name, 201, &err), QV_VALIDATION);
    assert_string_equal(err.msg, "vector name must be at most 200 bytes long");
    assert_int_equal(cfg_name_chars_check("collection", "x|y", 3, &err), QV_VALIDATION);
    assert_string_equal(err.msg, "collection name cannot contain \"|\" char");

    qv_arena a;
    qv_arena_init(&a, 0);
    jr_value *v;
    jr_error je;
    static const char *const fields[] = {"id", "vector"};
    const char *doc = "{\"x\":1,\"x\":2,\"id\":1,\"vector\":[],\"id\":3}";
    assert_int_equal(jr_parse(&a, doc, strlen(doc), &v, &je), 0);
    assert_string_equal(jr_dup_field(v, fields, 2), "id");
    assert_null(jr_dup_field(v, fields + 1, 1));  /* "x" repeats but is not asked for */
    qv_arena_free(&a);
}

/* PUT /collections/{c}/vectors/{v}: parsing VectorNameConfig, adding and removing. */
static qv_status parse_new(const char *text, cfg_new_vector *nv, qv_error *err, qv_arena *a)
{
    jr_value *root;
    jr_error je;
    assert_int_equal(jr_parse(a, text, strlen(text), &root, &je), 0);
    return cfg_parse_new_vector(root, nv, err);
}

static void named_vector_changes(void **state)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    cfg_collection c, d;
    cfg_new_vector nv;
    qv_error err;
    bool added;
    static const struct { const char *body; qv_status rc; const char *msg; } bad[] = {
        {"{\"dense\":{\"size\":0,\"distance\":\"Dot\"}}", QV_VALIDATION,
         "dense.size: value 0 invalid, must be from 1 to 65536"},
        {"{\"dense\":{\"size\":65537,\"distance\":\"Dot\"}}", QV_VALIDATION,
         "dense.size: value 65537 invalid, must be from 1 to 65536"},
        {"{\"dense\":{\"size\":2}}", QV_BAD_FORMAT, "dense: missing field `distance`"},
        {"{\"dense\":{\"size\":2,\"distance\":\"Dot\",\"datatype\":\"uint8\"}}", QV_UNSUPPORTED, NULL},
        {"{\"sparse\":{\"datatype\":\"float16\"}}", QV_UNSUPPORTED, NULL},
        {"{\"sparse\":[]}", QV_BAD_FORMAT, NULL},
        {"{\"other\":{}}", QV_BAD_FORMAT, "missing field `dense` or `sparse`"},
        {"[]", QV_BAD_FORMAT, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(parse_new(bad[i].body, &nv, &err, &a), bad[i].rc);
        if (bad[i].msg)
            assert_string_equal(err.msg, bad[i].msg);
    }
    /* an unnamed vector becomes "" of a map; the stored form reads back */
    assert_int_equal(parse_text("{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}", CFG_CREATE, &c, &err, &a), QV_OK);
    assert_int_equal(parse_new("{\"dense\":{\"size\":3,\"distance\":\"Cosine\",\"datatype\":\"float32\",\"on_disk\":true}}",
                               &nv, &err, &a), QV_OK);
    assert_int_equal(cfg_add_vector(&c, "t", &nv, &added, &err), QV_OK);
    assert_true(added);
    assert_int_equal(parse_new("{\"sparse\":{\"modifier\":\"idf\",\"datatype\":\"float32\"}}", &nv, &err, &a), QV_OK);
    assert_int_equal(cfg_add_vector(&c, "s", &nv, &added, &err), QV_OK);
    char *out = print_cfg(&c);
    assert_non_null(strstr(out, "\"vectors\":{\"\":{\"size\":2,\"distance\":\"Dot\"},"
                                "\"t\":{\"size\":3,\"distance\":\"Cosine\",\"datatype\":\"float32\"}}"));
    assert_non_null(strstr(out, "\"sparse_vectors\":{\"s\":{\"modifier\":\"idf\"}}"));
    assert_int_equal(parse_text(out, CFG_STORED, &d, &err, &a), QV_OK);
    char *again = print_cfg(&d);
    assert_string_equal(out, again);
    free(again);
    cfg_free(&d);
    /* "" in a map is only for the stored form */
    assert_int_equal(parse_text("{\"vectors\":{\"\":{\"size\":2,\"distance\":\"Dot\"}}}", CFG_CREATE, &d, &err, &a),
                     QV_VALIDATION);
    /* the same again: a no-op; another space or kind: refused, unchanged */
    assert_int_equal(cfg_add_vector(&c, "s", &nv, &added, &err), QV_OK);
    assert_false(added);
    assert_int_equal(parse_new("{\"sparse\":{}}", &nv, &err, &a), QV_OK);
    assert_int_equal(cfg_add_vector(&c, "s", &nv, &added, &err), QV_BAD_INPUT);
    assert_string_equal(err.msg, "Sparse vector `s` already exists with a different configuration");
    assert_int_equal(cfg_add_vector(&c, "t", &nv, &added, &err), QV_BAD_INPUT);
    assert_string_equal(err.msg, "Vector `t` already exists as a dense vector");
    assert_int_equal(parse_new("{\"dense\":{\"size\":3,\"distance\":\"Cosine\"}}", &nv, &err, &a), QV_OK);
    assert_int_equal(cfg_add_vector(&c, "t", &nv, &added, &err), QV_BAD_INPUT);
    assert_string_equal(err.msg, "Vector `t` already exists with a different configuration");
    assert_int_equal(cfg_add_vector(&c, "s", &nv, &added, &err), QV_BAD_INPUT);
    assert_string_equal(err.msg, "Vector `s` already exists as a sparse vector");
    char *same = print_cfg(&c);
    assert_string_equal(out, same);
    free(same);
    free(out);
    /* removing */
    assert_true(cfg_remove_vector(&c, "t"));
    assert_true(cfg_remove_vector(&c, "s"));
    assert_false(cfg_remove_vector(&c, "s"));
    assert_int_equal(c.n_vectors, 1);
    assert_int_equal(c.n_sparse, 0);
    assert_non_null(cfg_find_vector(&c, ""));
    assert_int_equal(qv_vector_name_check("ok", &err), QV_OK);
    assert_int_equal(qv_vector_name_check("", &err), QV_VALIDATION);
    cfg_free(&c);
    qv_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(settings_precedence),
        cmocka_unit_test(settings_errors),
        cmocka_unit_test(defaults_print_as_qdrant),
        cmocka_unit_test(stored_round_trip),
        cmocka_unit_test(errors_name_the_field),
        cmocka_unit_test(nulls_mean_not_given),
        cmocka_unit_test(update_is_all_or_nothing),
        cmocka_unit_test(vector_names_and_dup_fields),
        cmocka_unit_test(named_vector_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

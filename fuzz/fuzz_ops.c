/*
 * fuzz_ops — libFuzzer target for the operation record decoder (ops_decode),
 * the body of every WAL record, and for store_apply on what it accepts.
 *
 * Any input: no crash, leak or UB; a rejection is QV_CORRUPT or QV_NOMEM
 * with a message. An accepted record encodes again to bytes that decode,
 * and that second encoding is identical (encode/decode are inverse on
 * canonical records). The batch is then applied to a store holding a few
 * points: when store_apply fails, the store must be exactly as before
 * (all or nothing); either way it stays consistent (fuzz_store.h).
 */
#include "fuzz_store.h"

#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static cfg_collection cfg;
static qv_buf         seed_rec = QV_BUF_INIT;  /* the points every input starts from */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    qv_log_set_level(QV_LOG_ERROR);
    fuzz_config(&cfg);
    fuzz_record(&cfg, QV_UPDATE_UPSERT,
                "{\"points\": ["
                "{\"id\": 1, \"vector\": {\"a\": [1, 2, 3, 4], \"b\": [0.5, 0.5]}, \"payload\": {\"k\": 1}},"
                "{\"id\": 2, \"vector\": {\"s\": {\"indices\": [7, 3], \"values\": [1, 2]}},"
                " \"payload\": {\"k\": [\"x\", {\"y\": null}]}},"
                "{\"id\": \"550e8400-e29b-41d4-a716-446655440000\", \"vector\": {}}]}",
                &seed_rec);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    qv_error err = {0};
    op_batch b, b2;
    qv_buf e1 = QV_BUF_INIT, e2 = QV_BUF_INIT;
    store s;
    bool have_store = false;
    qv_status rc = ops_decode(&a, data, size, &b, &err);
    if (rc != QV_OK) {
        if ((rc != QV_CORRUPT && rc != QV_NOMEM) || !err.msg[0])
            fuzz_die("ops_decode failed without a proper code and message");
        goto done;
    }
    if (ops_encode(&b, &e1, &err) != QV_OK || ops_decode(&a, e1.data, e1.len, &b2, &err) != QV_OK ||
        ops_encode(&b2, &e2, &err) != QV_OK)
        fuzz_die("a decoded record does not encode and decode again");
    if (e1.len != e2.len || memcmp(e1.data, e2.data, e1.len) != 0)
        fuzz_die("encode(decode(encode(decode(x)))) != encode(decode(x))");

    if (store_init(&s, &cfg, &err) != QV_OK)
        goto done;
    have_store = true;
    if (fuzz_apply(&s, &cfg, seed_rec.data, seed_rec.len, &a, &err) != QV_OK)
        fuzz_die("the seed points do not apply");
    /* Twice: the second time every upserted point exists already. */
    for (int round = 0; round < 2; round++) {
        uint64_t before = fuzz_digest(&s);
        rc = store_apply(&s, &cfg, &b, &a, &err);
        if (rc != QV_OK && fuzz_digest(&s) != before)
            fuzz_die("a failed batch changed the store");
        fuzz_digest(&s);
    }
done:
    if (have_store)
        store_free(&s);
    qv_buf_free(&e1);
    qv_buf_free(&e2);
    qv_arena_free(&a);
    return 0;
}

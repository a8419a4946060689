/*
 * fuzz_store.h — a scratch store for the targets that apply operations or
 * load checkpoints: a request applied through the real write path, a
 * digest of the whole store to compare states, and its invariants.
 */
#ifndef QV_FUZZ_STORE_H
#define QV_FUZZ_STORE_H

#include "fuzz_common.h"

#include "core/ops.h"
#include "core/store.h"
#include "util/buf.h"
#include "util/crc32c.h"

/* Parse a request of kind (qv_update_kind) and append its record body. */
static inline void fuzz_record(const cfg_collection *cfg, int kind, const char *json, qv_buf *out)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    jr_value *root;
    jr_error je;
    qv_error err;
    op_batch b;
    if (jr_parse(&a, json, strlen(json), &root, &je) != 0 ||
        ops_parse(&a, cfg, kind, root, &b, &err) != QV_OK || ops_encode(&b, out, &err) != QV_OK) {
        fprintf(stderr, "%s: %s\n", json, err.msg);
        fuzz_die("bad fixed request");
    }
    qv_arena_free(&a);
}

/* Decode and apply one record body; the store's answer (or the decoder's). */
static inline qv_status fuzz_apply(store *s, const cfg_collection *cfg, const void *body, size_t len,
                                   qv_arena *a, qv_error *err)
{
    op_batch b;
    qv_status rc = ops_decode(a, body, len, &b, err);
    return rc ? rc : store_apply(s, cfg, &b, a, err);
}

/* Order-independent digest of every live point (slots may move on undo),
 * after checking that the id map, the live bits and n_points agree. */
static inline uint64_t fuzz_digest(const store *s)
{
    uint64_t sum = 0, x = 0, live = 0;
    for (uint32_t slot = 0; slot < s->n_slots; slot++) {
        if (!store_live(s, slot))
            continue;
        live++;
        if (store_find(s, &s->ids[slot]) != (int64_t)slot)
            fuzz_die("a live slot's id does not map back to it");
        /* pointid.h: a UUID flag of 0 or 1, and integers have hi 0. */
        if (s->ids[slot].uuid > 1 || (!s->ids[slot].uuid && s->ids[slot].hi))
            fuzz_die("a stored point id is not one the API can name");
        const uint8_t *blob;
        size_t len;
        uint32_t c = qv_crc32c(0, &s->ids[slot].uuid, 1);
        c = qv_crc32c(c, &s->ids[slot].hi, 8);
        c = qv_crc32c(c, &s->ids[slot].lo, 8);
        store_payload(s, slot, &blob, &len);
        c = qv_crc32c(c, blob, len);
        for (uint32_t v = 0; v < s->n_dense; v++) {
            uint8_t has = store_has_dense(s, v, slot);
            c = qv_crc32c(c, &has, 1);
            if (has)
                c = qv_crc32c(c, store_dense(s, v, slot), (size_t)s->dense[v].dim * 4);
        }
        for (uint32_t v = 0; v < s->n_sparse; v++) {
            const st_sparse_vec *sv = s->sparse[v][slot];
            uint32_t n = sv ? sv->n : UINT32_MAX;
            c = qv_crc32c(c, &n, 4);
            if (sv)
                c = qv_crc32c(c, sv->data, (size_t)sv->n * 8);
        }
        sum += c;
        x ^= (uint64_t)c * 0x9e3779b97f4a7c15ull;
    }
    if (live != s->n_points)
        fuzz_die("n_points differs from the live slots");
    return sum ^ (x << 1) ^ live;
}

#endif

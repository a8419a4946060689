/*
 * fuzz_wal — libFuzzer target for WAL recovery: the input is a wal.log
 * file (after one control byte), opened with wal_open whose replay
 * callback decodes each record and applies it to a scratch store, as a
 * collection's recovery does.
 *
 * Control byte: bit 0 set keeps the file's checksums as given; clear (the
 * usual case) makes the harness fix the header's and every record's CRC
 * first, so mutations reach the length, sequence and body checks instead
 * of dying at the checksum. Bit 1 set makes replay refuse records that do
 * not decode or apply with QV_CORRUPT (what collection.c does), which must
 * abort the open and leave the file untouched.
 *
 * Checks: no crash, leak or UB; failures carry a message. After a good
 * open the log holds exactly the records replayed (wal_size is the file's
 * size: any tail was cut), appending one more record works, and opening
 * again replays the same records plus the new one with nothing cut.
 */
#include "fuzz_store.h"

#include "storage/wal.h"
#include "util/endian.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define HEADER 32u
#define HEAD   16u

static cfg_collection cfg;
static fuzz_file      file;

typedef struct replay_ctx {
    store   *s;
    qv_arena a;
    bool     strict;
    uint64_t n, last;
    uint32_t crc;  /* of the (seq, body) pairs seen, to compare two opens */
} replay_ctx;

static int replay(void *ctx, uint64_t seq, const void *body, size_t len)
{
    replay_ctx *r = ctx;
    if (((uintptr_t)body & 7) != 0)
        fuzz_die("replay body is not 8-byte aligned");
    if (r->n && seq <= r->last)
        fuzz_die("replayed sequence numbers do not increase");
    if (r->s) {
        qv_error err = {0};
        qv_arena_reset(&r->a);
        qv_status rc = fuzz_apply(r->s, &cfg, body, len, &r->a, &err);
        if (rc != QV_OK && !err.msg[0])
            fuzz_die("a failure without a message");
        if (r->strict && (rc == QV_CORRUPT || rc == QV_NOMEM))
            return -1;
    }
    r->n++;
    r->last = seq;
    r->crc = qv_crc32c(qv_crc32c(r->crc, &seq, 8), body, len);
    return 0;
}

/* Fix the checksums the way the scan reads the file (wal.h's format). */
static void fix_crcs(uint8_t *f, size_t size)
{
    if (size < HEADER)
        return;
    qv_put_le32(f + 24, qv_crc32c(0, f, 24));
    for (size_t off = HEADER; size - off >= HEAD;) {
        uint32_t n = qv_get_le32(f + off);
        size_t total = HEAD + (size_t)n + ((8 - (n & 7)) & 7);
        if (n > WAL_MAX_RECORD || size - off < total)
            break;
        qv_put_le32(f + off + 4, qv_crc32c(0, f + off + 8, 8 + (size_t)n));
        off += total;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    qv_log_set_level(QV_LOG_ERROR + 1);  /* recovery warns on every cut tail */
    fuzz_config(&cfg);
    fuzz_file_init(&file, "wal.log");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    size_t n = size - 1;
    uint8_t *f = malloc(n ? n : 1);
    if (!f)
        return 0;
    memcpy(f, data + 1, n);
    if (!(ctl & 1))
        fix_crcs(f, n);
    fuzz_file_set(&file, f, n);

    store s;
    qv_error err = {0};
    wal *w = NULL;
    uint64_t last = 0;
    replay_ctx r = {.s = &s, .strict = ctl & 2};
    qv_arena_init(&r.a, 0);
    if (store_init(&s, &cfg, &err) != QV_OK)
        fuzz_die("store_init");
    qv_status rc = wal_open(file.path, 1, replay, &r, &w, &last, &err);
    if (rc != QV_OK) {
        if (w || !err.msg[0] || (rc != QV_CORRUPT && rc != QV_NOMEM))
            fuzz_die("wal_open failed without a proper code and message");
        if (rc == QV_CORRUPT && r.strict && (uint64_t)fuzz_file_size(&file) != n)
            fuzz_die("a refused replay changed the file");
        goto done;
    }
    if ((uint64_t)fuzz_file_size(&file) != wal_size(w) || wal_size(w) > n)
        fuzz_die("wal_size is not the file's size after recovery");
    if (r.n && last != r.last)
        fuzz_die("last_seq is not the last replayed record");
    /* One more record after whatever recovery kept; last + 1 cannot wrap
     * to a stale number unless the file is at the very end of the space. */
    if (last < UINT64_MAX) {
        static const uint8_t body[5] __attribute__((aligned(8))) = {1, 2, 3, 4, 5};
        if (wal_append(w, last + 1, body, sizeof body, &err) != QV_OK)
            fuzz_die("append after recovery failed");
        uint64_t size_now = wal_size(w);
        wal_close(w);
        w = NULL;
        replay_ctx r2 = {.s = NULL};
        uint64_t last2;
        if (wal_open(file.path, 1, replay, &r2, &w, &last2, &err) != QV_OK)
            fuzz_die("reopening a recovered log failed");
        replay_ctx want = r;
        want.s = NULL;
        replay(&want, last + 1, body, sizeof body);
        if (r2.n != want.n || r2.crc != want.crc || last2 != last + 1 ||
            wal_size(w) != size_now || (uint64_t)fuzz_file_size(&file) != size_now)
            fuzz_die("the reopened log differs from what recovery kept plus one record");
    }
done:
    wal_close(w);
    store_free(&s);
    qv_arena_free(&r.a);
    free(f);
    return 0;
}

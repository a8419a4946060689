/* test_wal.c — CRC-32C (util/crc32c) and the write-ahead log (storage/wal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/wal.h"
#include "util/crc32c.h"
#include "util/fsutil.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)  /* xorshift64*: fixed seed, so failures reproduce */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

typedef struct tmpdir {
    char dir[64];
    char path[128];  /* dir/wal.log */
} tmpdir;

/* Each log test gets a fresh directory, removed even when the test fails. */
static int tmpdir_setup(void **state)
{
    tmpdir *t = malloc(sizeof *t);
    if (!t)
        return -1;
    strcpy(t->dir, "/tmp/qv-wal-XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s/wal.log", t->dir);
    *state = t;
    return 0;
}

static int tmpdir_teardown(void **state)
{
    tmpdir *t = *state;
    int rc = qv_rm_rf(t->dir);
    free(t);
    return rc;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    char *data;
    assert_int_equal(qv_read_file(path, (size_t)1 << 32, &data, len), 0);
    return (uint8_t *)data;
}

static void write_all(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* What replay saw. */
typedef struct seen {
    size_t    n;
    uint64_t  seq[64];
    uint8_t  *body[64];
    size_t    len[64];
    size_t    refuse_at;  /* return non-zero for this record (1-based); 0 = never */
} seen;

static int collect(void *ctx, uint64_t seq, const void *body, size_t len)
{
    seen *s = ctx;
    assert_true(s->n < 64);
    assert_int_equal((uintptr_t)body % 8, 0);
    if (s->refuse_at && s->n + 1 == s->refuse_at)
        return 1;
    s->seq[s->n] = seq;
    s->len[s->n] = len;
    s->body[s->n] = malloc(len ? len : 1);
    memcpy(s->body[s->n], body, len);
    s->n++;
    return 0;
}

static void seen_free(seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->body[i]);
    memset(s, 0, sizeof *s);
}

/* Records the test wrote, to compare with what replay gives back. */
typedef struct written {
    size_t    n;
    uint64_t  seq[64];
    uint8_t  *body[64];
    size_t    len[64];
    uint64_t  end[64];  /* file size after record i */
} written;

static void append_random(wal *w, written *wr, uint64_t seq, size_t len)
{
    qv_error err;
    uint8_t *b = malloc(len ? len : 1);
    fill_random(b, len);
    assert_int_equal(wal_append(w, seq, b, len, &err), QV_OK);
    assert_true(wr->n < 64);
    wr->seq[wr->n] = seq;
    wr->body[wr->n] = b;
    wr->len[wr->n] = len;
    wr->end[wr->n] = wal_size(w);
    wr->n++;
}

static void written_free(written *wr)
{
    for (size_t i = 0; i < wr->n; i++)
        free(wr->body[i]);
    memset(wr, 0, sizeof *wr);
}

/* The first k records of wr came back, in order. */
static void assert_replayed(const seen *s, const written *wr, size_t k)
{
    assert_int_equal(s->n, k);
    for (size_t i = 0; i < k; i++) {
        assert_int_equal(s->seq[i], wr->seq[i]);
        assert_int_equal(s->len[i], wr->len[i]);
        if (wr->len[i])
            assert_memory_equal(s->body[i], wr->body[i], wr->len[i]);
    }
}

/* Run wal_open with stderr going to a file, so the warning can be checked. */
static qv_status open_logged(const char *path, uint64_t first_seq, seen *s, wal **w,
                             uint64_t *last, qv_error *err, char *log, size_t logcap)
{
    fflush(stderr);
    FILE *f = tmpfile();
    assert_non_null(f);
    int saved = dup(2);
    dup2(fileno(f), 2);
    qv_status rc = wal_open(path, first_seq, s ? collect : NULL, s, w, last, err);
    dup2(saved, 2);
    close(saved);
    rewind(f);
    size_t n = fread(log, 1, logcap - 1, f);
    log[n] = '\0';
    fclose(f);
    return rc;
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Encode a record by the table in wal.h, independently of wal.c. Returns
 * its size. */
static size_t encode_record(uint8_t *out, uint64_t seq, const void *body, uint32_t n)
{
    size_t total = 16 + n + ((8 - n % 8) % 8);
    memset(out, 0, total);
    le32(out, n);
    le64(out + 8, seq);
    memcpy(out + 16, body, n);
    le32(out + 4, qv_crc32c(0, out + 8, 8 + (size_t)n));
    return total;
}

/* ---- CRC-32C ----------------------------------------------------------------- */

static void crc_known_vectors(void **state)
{
    uint8_t b[32];
    assert_int_equal(qv_crc32c(0, "123456789", 9), 0xE3069283);
    assert_int_equal(qv_crc32c_sw(0, "123456789", 9), 0xE3069283);
    assert_int_equal(qv_crc32c(0, "", 0), 0);
    /* RFC 3720 (iSCSI), appendix B.4 */
    memset(b, 0, 32);
    assert_int_equal(qv_crc32c(0, b, 32), 0x8A9136AA);
    assert_int_equal(qv_crc32c_sw(0, b, 32), 0x8A9136AA);
    memset(b, 0xFF, 32);
    assert_int_equal(qv_crc32c(0, b, 32), 0x62A8AB43);
    assert_int_equal(qv_crc32c_sw(0, b, 32), 0x62A8AB43);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    assert_int_equal(qv_crc32c(0, b, 32), 0x46DD794E);
    assert_int_equal(qv_crc32c_sw(0, b, 32), 0x46DD794E);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)(31 - i);
    assert_int_equal(qv_crc32c(0, b, 32), 0x113FDB5C);
    assert_int_equal(qv_crc32c_sw(0, b, 32), 0x113FDB5C);
}

static void crc_hw_matches_sw(void **state)
{
    uint8_t raw[300 + 8 + 8], *buf = raw + (8 - (uintptr_t)raw % 8);  /* buf 8-aligned */
    for (size_t align = 0; align < 8; align++) {
        for (size_t len = 0; len <= 300; len++) {
            fill_random(buf + align, len);
            uint32_t sw = qv_crc32c_sw(0, buf + align, len);
            assert_int_equal(qv_crc32c(0, buf + align, len), sw);
            /* Extending in two pieces, split anywhere, gives the same. */
            size_t cut = len ? (size_t)(rnd() % (len + 1)) : 0;
            assert_int_equal(qv_crc32c(qv_crc32c(0, buf + align, cut), buf + align + cut, len - cut), sw);
            assert_int_equal(qv_crc32c_sw(qv_crc32c_sw(0, buf + align, cut), buf + align + cut,
                                          len - cut), sw);
        }
    }
}

/* ---- the log ----------------------------------------------------------------- */

static void wal_new_file_has_the_documented_format(void **state)
{
    tmpdir *t = *state;
    wal *w;
    uint64_t last = 99;
    qv_error err;
    assert_int_equal(wal_open(t->path, 0, NULL, NULL, &w, &last, &err), QV_INTERNAL);
    assert_null(w);
    assert_int_not_equal(access(t->path, F_OK), 0);

    assert_int_equal(wal_open(t->path, 7, NULL, NULL, &w, &last, &err), QV_OK);
    assert_int_equal(last, 6);
    assert_int_equal(wal_size(w), 32);
    assert_int_equal(wal_append(w, 7, "abc", 3, &err), QV_OK);
    assert_int_equal(wal_size(w), 32 + 16 + 3 + 5);
    assert_int_equal(wal_sync(w, &err), QV_OK);
    wal_close(w);

    size_t len;
    uint8_t *f = read_all(t->path, &len), want[56] = "QVWAL\0\0\0\1\0\0\0\0\0\0\0\7";
    le32(want + 24, qv_crc32c(0, want, 24));
    encode_record(want + 32, 7, "abc", 3);
    assert_int_equal(len, 56);
    assert_memory_equal(f, want, 56);
    free(f);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", t->path);
    assert_int_not_equal(access(tmp, F_OK), 0);
}

static void wal_replays_what_was_appended(void **state)
{
    tmpdir *t = *state;
    wal *w;
    uint64_t last;
    qv_error err;
    written wr = {0};
    seen s = {0};
    assert_int_equal(wal_open(t->path, 1, collect, &s, &w, &last, &err), QV_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(last, 0);
    uint64_t seq = 1;
    for (int i = 0; i < 40; i++) {
        size_t len = i % 7 == 0 ? 0 : (size_t)(rnd() % 2000);
        if (i == 20)
            len = 3u << 20;  /* larger than the scan's 1 MiB read buffer */
        append_random(w, &wr, seq, len);
        seq += 1 + rnd() % 3;  /* gaps are allowed */
    }
    wal_close(w);
    assert_int_equal(file_size(t->path), wr.end[wr.n - 1]);

    /* first_seq only matters for a new file. */
    assert_int_equal(wal_open(t->path, 12345, collect, &s, &w, &last, &err), QV_OK);
    assert_replayed(&s, &wr, 40);
    assert_int_equal(last, wr.seq[39]);
    assert_int_equal(wal_size(w), wr.end[39]);
    append_random(w, &wr, seq, 10);
    wal_close(w);
    seen_free(&s);

    assert_int_equal(wal_open(t->path, 1, collect, &s, &w, &last, &err), QV_OK);
    assert_replayed(&s, &wr, 41);
    assert_int_equal(last, seq);
    wal_close(w);
    seen_free(&s);

    /* No callback: just positions at the end. */
    assert_int_equal(wal_open(t->path, 1, NULL, NULL, &w, &last, &err), QV_OK);
    assert_int_equal(last, seq);
    wal_close(w);
    written_free(&wr);
}

/* The one pair of calls that may run at once (wal.h): syncs in one thread
 * while another appends. Every sync succeeds, and the log holds every
 * record, in order, after a reopen. */
typedef struct syncer {
    wal        *w;
    atomic_bool stop;
    atomic_int  syncs;
    int         failed;
} syncer;

static void *sync_loop(void *arg)
{
    syncer *y = arg;
    qv_error err;
    while (!atomic_load(&y->stop)) {
        y->failed += wal_sync(y->w, &err) != QV_OK;
        atomic_fetch_add(&y->syncs, 1);
    }
    return NULL;
}

static void wal_syncs_while_another_thread_appends(void **state)
{
    tmpdir *t = *state;
    wal *w;
    qv_error err;
    written wr = {0};
    seen s = {0};
    assert_int_equal(wal_open(t->path, 1, NULL, NULL, &w, NULL, &err), QV_OK);
    syncer y = {.w = w};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sync_loop, &y), 0);
    for (uint64_t seq = 1; seq <= 60; seq++) {
        append_random(w, &wr, seq, (size_t)(rnd() % 50000));
        /* Halfway, let a sync happen before going on, so one surely runs
         * between appends (the appender could otherwise finish first). */
        while (seq == 30 && atomic_load(&y.syncs) == 0)
            sched_yield();
    }
    atomic_store(&y.stop, true);
    pthread_join(th, NULL);
    assert_int_equal(y.failed, 0);
    assert_true(atomic_load(&y.syncs) > 0);
    assert_int_equal(wal_sync(w, &err), QV_OK);
    wal_close(w);
    assert_int_equal(wal_open(t->path, 1, collect, &s, &w, NULL, &err), QV_OK);
    assert_replayed(&s, &wr, 60);
    wal_close(w);
    seen_free(&s);
    written_free(&wr);
}

/* Cut the file at off (inside the last record) and check that recovery keeps
 * the others, cuts the tail, and the log goes on. */
static void check_torn_at(tmpdir *t, const uint8_t *full, const written *wr, uint64_t off)
{
    size_t k = wr->n - 1;
    uint64_t good = wr->end[k - 1];
    write_all(t->path, full, off);
    seen s = {0};
    wal *w;
    uint64_t last;
    qv_error err;
    char log[1024], want[256];
    assert_int_equal(open_logged(t->path, 1, &s, &w, &last, &err, log, sizeof log), QV_OK);
    assert_replayed(&s, wr, k);
    seen_free(&s);
    assert_int_equal(last, wr->seq[k - 1]);
    assert_int_equal(wal_size(w), good);
    assert_int_equal(file_size(t->path), good);
    snprintf(want, sizeof want, "wal %s: cut torn tail at offset %llu (incomplete record)", t->path,
             (unsigned long long)good);
    assert_non_null(strstr(log, want));

    assert_int_equal(wal_append(w, wr->seq[k] + 5, "after", 5, &err), QV_OK);
    wal_close(w);
    assert_int_equal(wal_open(t->path, 1, collect, &s, &w, &last, &err), QV_OK);
    assert_int_equal(s.n, k + 1);
    assert_int_equal(s.seq[k], wr->seq[k] + 5);
    assert_memory_equal(s.body[k], "after", 5);
    assert_int_equal(last, wr->seq[k] + 5);
    wal_close(w);
    seen_free(&s);
}

static void wal_cuts_a_torn_tail(void **state)
{
    tmpdir *t = *state;
    wal *w;
    qv_error err;
    /* Every offset inside a small last record. */
    written wr = {0};
    assert_int_equal(wal_open(t->path, 1, NULL, NULL, &w, NULL, &err), QV_OK);
    for (uint64_t seq = 1; seq <= 4; seq++)
        append_random(w, &wr, seq, (size_t)(rnd() % 100));
    append_random(w, &wr, 5, 37);
    wal_close(w);
    size_t len;
    uint8_t *full = read_all(t->path, &len);
    for (uint64_t off = wr.end[3] + 1; off < len; off++)
        check_torn_at(t, full, &wr, off);
    free(full);
    written_free(&wr);

    /* A sample of offsets inside a large one: every byte of the head, then
     * through the body, then the padding. */
    assert_int_equal(qv_rm_rf(t->path), 0);
    assert_int_equal(wal_open(t->path, 1, NULL, NULL, &w, NULL, &err), QV_OK);
    append_random(w, &wr, 1, 0);
    append_random(w, &wr, 2, 5);
    append_random(w, &wr, 3, 200001);
    wal_close(w);
    full = read_all(t->path, &len);
    uint64_t start = wr.end[1];
    for (uint64_t d = 1; d <= 17; d++)
        check_torn_at(t, full, &wr, start + d);
    for (uint64_t d = 1000; d < 200000; d += 33333)
        check_torn_at(t, full, &wr, start + d);
    for (uint64_t off = len - 8; off < len; off++)
        check_torn_at(t, full, &wr, off);
    free(full);
    written_free(&wr);
}

/* Replace the file with data, reopen, and check that exactly the first keep
 * records of wr survive and the rest was cut for the given reason. */
static void check_cut(tmpdir *t, const uint8_t *data, size_t len, const written *wr, size_t keep,
                      const char *reason)
{
    write_all(t->path, data, len);
    seen s = {0};
    wal *w;
    uint64_t last;
    qv_error err;
    char log[1024], want[256];
    uint64_t good = keep ? wr->end[keep - 1] : 32;
    assert_int_equal(open_logged(t->path, 1, &s, &w, &last, &err, log, sizeof log), QV_OK);
    assert_replayed(&s, wr, keep);
    seen_free(&s);
    assert_int_equal(wal_size(w), good);
    assert_int_equal(file_size(t->path), good);
    if (!reason) {  /* preallocated space: cut without a word */
        if (log[0])
            fail_msg("expected a quiet cut, got \"%s\"", log);
    } else {
        snprintf(want, sizeof want, "cut torn tail at offset %llu (%s)",
                 (unsigned long long)good, reason);
        if (!strstr(log, want))
            fail_msg("expected \"%s\" in log, got \"%s\"", want, log);
    }
    wal_close(w);
}

static void wal_stops_at_a_damaged_record(void **state)
{
    tmpdir *t = *state;
    wal *w;
    qv_error err;
    written wr = {0};
    assert_int_equal(wal_open(t->path, 1, NULL, NULL, &w, NULL, &err), QV_OK);
    for (uint64_t seq = 1; seq <= 5; seq++)
        append_random(w, &wr, seq, 64);
    wal_close(w);
    size_t len;
    uint8_t *full = read_all(t->path, &len), *copy = malloc(len);
    uint64_t third = wr.end[1];  /* where record 3 starts */

    memcpy(copy, full, len);
    copy[third + 16 + 32] ^= 0x01;  /* a bit in the middle of its body */
    check_cut(t, copy, len, &wr, 2, "checksum mismatch");

    memcpy(copy, full, len);
    copy[third + 9] ^= 0x40;  /* its sequence number */
    check_cut(t, copy, len, &wr, 2, "checksum mismatch");

    memcpy(copy, full, len);
    copy[third + 5] ^= 0xFF;  /* its checksum */
    check_cut(t, copy, len, &wr, 2, "checksum mismatch");

    memcpy(copy, full, len);
    copy[third + 3] = 0x7F;  /* its length: far past the limit */
    check_cut(t, copy, len, &wr, 2, "record too large");

    memcpy(copy, full, len);
    copy[third + 2] = 0x01;  /* its length: 64 KiB more than the file holds */
    check_cut(t, copy, len, &wr, 2, "incomplete record");

    /* Damage in the first record leaves an empty log. */
    memcpy(copy, full, len);
    copy[32 + 16] ^= 0x80;
    check_cut(t, copy, len, &wr, 0, "checksum mismatch");

    free(copy);
    free(full);
    written_free(&wr);
}

static void wal_cuts_garbage_after_good_records(void **state)
{
    tmpdir *t = *state;
    wal *w;
    qv_error err;
    written wr = {0};
    assert_int_equal(wal_open(t->path, 10, NULL, NULL, &w, NULL, &err), QV_OK);
    for (uint64_t seq = 10; seq <= 12; seq++)
        append_random(w, &wr, seq, (size_t)(rnd() % 50));
    wal_close(w);
    size_t len;
    uint8_t *full = read_all(t->path, &len), *buf = malloc(len + 8192);
    memcpy(buf, full, len);

    fill_random(buf + len, 1);
    check_cut(t, buf, len + 1, &wr, 3, "incomplete record");
    fill_random(buf + len, 15);
    check_cut(t, buf, len + 15, &wr, 3, "incomplete record");
    /* Zeros: preallocated space (or blocks a crash left unwritten), cut
     * quietly, also when a whole record follows them. */
    memset(buf + len, 0, 4096);
    check_cut(t, buf, len + 4096, &wr, 3, NULL);
    size_t rn = encode_record(buf + len + 16, 13, "after", 5);
    check_cut(t, buf, len + 16 + rn, &wr, 3, NULL);
    /* A head that is zero but for one byte is damage, not free space. */
    memset(buf + len, 0, 4096);
    buf[len + 15] = 1;
    check_cut(t, buf, len + 4096, &wr, 3, "checksum mismatch");
    fill_random(buf + len, 100);
    le32(buf + len, 20);  /* a plausible length, random checksum */
    check_cut(t, buf, len + 100, &wr, 3, "checksum mismatch");
    le32(buf + len, WAL_MAX_RECORD + 1);
    check_cut(t, buf, len + 100, &wr, 3, "record too large");

    /* Whole, checksummed records whose sequence numbers do not go up. */
    size_t n = encode_record(buf + len, 12, "dup", 3);
    check_cut(t, buf, len + n, &wr, 3, "sequence out of order");
    n = encode_record(buf + len, 11, "old", 3);
    check_cut(t, buf, len + n, &wr, 3, "sequence out of order");
    /* ... and the first below the header's first_seq (10). */
    n = encode_record(buf + 32, 9, "stale", 5);
    check_cut(t, buf, 32 + n, &wr, 0, "sequence out of order");

    free(buf);
    free(full);
    written_free(&wr);
}

/* The file is preallocated ahead of the records; a process that dies
 * without closing leaves that space, and the next open replays every
 * synced record, cuts the rest without a warning, and appends after the
 * last record. A clean close leaves the file exactly its records. */
static void wal_preallocates_and_recovers_after_a_crash(void **state)
{
    tmpdir *t = *state;
    written wr = {0};
    wal *w;
    qv_error err;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (wal_open(t->path, 1, NULL, NULL, &w, NULL, &err) != QV_OK)
            _exit(2);
        for (uint64_t seq = 1; seq <= 40; seq++) {
            char body[3000];
            memset(body, (int)seq, sizeof body);
            if (wal_append(w, seq, body, sizeof body - seq, &err) != QV_OK)
                _exit(3);
        }
        if (wal_sync(w, &err) != QV_OK)
            _exit(4);
        _exit(file_size(t->path) > wal_size(w) ? 0 : 5);  /* no wal_close: a crash */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* The same records, written again here to compare with. */
    uint64_t end = 32;
    for (uint64_t seq = 1; seq <= 40; seq++) {
        size_t n = 3000 - seq;
        uint8_t *b = malloc(n);
        memset(b, (int)seq, n);
        wr.seq[wr.n] = seq;
        wr.body[wr.n] = b;
        wr.len[wr.n] = n;
        end += 16 + n + ((8 - (n & 7)) & 7);
        wr.end[wr.n++] = end;
    }
    seen s = {0};
    uint64_t last;
    char log[1024];
    assert_int_equal(open_logged(t->path, 1, &s, &w, &last, &err, log, sizeof log), QV_OK);
    assert_replayed(&s, &wr, 40);
    seen_free(&s);
    assert_int_equal(last, 40);
    if (log[0])
        fail_msg("expected a quiet open, got \"%s\"", log);
    assert_int_equal(file_size(t->path), end);
    assert_int_equal(wal_append(w, 41, "next", 4, &err), QV_OK);
    assert_true(file_size(t->path) > wal_size(w));  /* preallocated again */
    uint64_t size = wal_size(w);
    wal_close(w);
    assert_int_equal(file_size(t->path), size);
    assert_int_equal(open_logged(t->path, 1, &s, &w, &last, &err, log, sizeof log), QV_OK);
    assert_int_equal(s.n, 41);
    assert_int_equal(last, 41);
    seen_free(&s);
    wal_close(w);
    written_free(&wr);
}

static void wal_refuses_a_bad_header(void **state)
{
    tmpdir *t = *state;
    wal *w;
    qv_error err;
    assert_int_equal(wal_open(t->path, 3, NULL, NULL, &w, NULL, &err), QV_OK);
    assert_int_equal(wal_append(w, 3, "x", 1, &err), QV_OK);
    wal_close(w);
    size_t len;
    uint8_t *full = read_all(t->path, &len), *copy = malloc(len);
    struct {
        const char *what;
        size_t at;        /* byte to change */
        uint8_t value;
        int rechecksum;   /* fix the header CRC afterwards */
        size_t keep;      /* bytes of the file to keep */
    } cases[] = {
        {"bad magic", 0, 'X', 1, len},
        {"version 2", 8, 2, 1, len},
        {"header checksum", 25, 0x55, 0, len},
        {"first_seq changed", 16, 4, 0, len},
        {"first_seq 0", 16, 0, 1, len},
        {"short file", 0, 'Q', 0, 20},
        {"empty file", 0, 'Q', 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(copy, full, len);
        copy[cases[i].at] = cases[i].value;
        if (cases[i].rechecksum)
            le32(copy + 24, qv_crc32c(0, copy, 24));
        size_t keep = cases[i].keep;
        write_all(t->path, copy, keep);
        memset(&err, 0, sizeof err);
        w = (wal *)1;
        if (wal_open(t->path, 1, NULL, NULL, &w, NULL, &err) != QV_CORRUPT)
            fail_msg("%s: not refused as corrupt", cases[i].what);
        assert_null(w);
        assert_int_equal(err.code, QV_CORRUPT);
        assert_non_null(strstr(err.msg, t->path));
        assert_int_equal(file_size(t->path), keep);  /* left for a human to look at */
    }
    free(copy);
    free(full);
}

static void wal_append_checks_its_input(void **state)
{
    tmpdir *t = *state;
    wal *w;
    qv_error err;
    assert_int_equal(wal_open(t->path, 10, NULL, NULL, &w, NULL, &err), QV_OK);
    assert_int_equal(wal_append(w, 9, "a", 1, &err), QV_INTERNAL);  /* below first_seq */
    assert_int_equal(wal_append(w, 10, "a", 1, &err), QV_OK);
    uint64_t size = wal_size(w);
    assert_int_equal(wal_append(w, 10, "b", 1, &err), QV_INTERNAL);
    assert_int_equal(err.code, QV_INTERNAL);
    assert_int_equal(wal_append(w, 5, "b", 1, &err), QV_INTERNAL);
    assert_int_equal(wal_append(w, 11, "x", (size_t)WAL_MAX_RECORD + 1, &err), QV_BAD_INPUT);
    assert_int_equal(wal_size(w), size);
    assert_int_equal(wal_append(w, 11, "b", 1, &err), QV_OK);
    size = wal_size(w);
    wal_close(w);
    assert_int_equal(file_size(t->path), size);  /* the refused records left nothing */
    wal_close(NULL);
}

/* A write that fails half-way (file size limit: the kernel writes what fits,
 * then EFBIG) leaves the file as it was, and the log usable. */
static void wal_append_undoes_a_failed_write(void **state)
{
    tmpdir *t = *state;
    wal *w;
    qv_error err;
    written wr = {0};
    assert_int_equal(wal_open(t->path, 1, NULL, NULL, &w, NULL, &err), QV_OK);
    append_random(w, &wr, 1, 100);
    uint64_t size = wal_size(w);

    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = size + 100;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    uint8_t big[1000] = {1};
    qv_status rc = wal_append(w, 2, big, sizeof big, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, oldsig);

    assert_int_equal(rc, QV_IO);
    assert_non_null(strstr(err.msg, t->path));
    assert_non_null(strstr(err.msg, strerror(EFBIG)));
    assert_int_equal(wal_size(w), size);
    assert_int_equal(file_size(t->path), size);
    append_random(w, &wr, 2, 1000);  /* the same seq again: nothing was taken */
    wal_close(w);

    seen s = {0};
    assert_int_equal(wal_open(t->path, 1, collect, &s, &w, NULL, &err), QV_OK);
    assert_replayed(&s, &wr, 2);
    wal_close(w);
    seen_free(&s);
    written_free(&wr);
}

static int read_header_first_seq(const char *path, uint64_t *first_seq)
{
    size_t len;
    uint8_t *f = read_all(path, &len);
    int ok = len >= 32 && memcmp(f, "QVWAL\0\0\0", 8) == 0;
    *first_seq = 0;
    for (int i = 7; i >= 0; i--)
        *first_seq = *first_seq << 8 | f[16 + i];
    free(f);
    return ok;
}

/* A new file (a log segment) starts at its first_seq: nothing below it is
 * taken, an empty one reports first_seq - 1 as its last, wal_empty tells
 * whether it holds a record. */
static void wal_new_file_starts_at_first_seq(void **state)
{
    tmpdir *t = *state;
    wal *w;
    uint64_t last, fs;
    qv_error err;
    assert_int_equal(wal_open(t->path, 100, NULL, NULL, &w, &last, &err), QV_OK);
    assert_int_equal(last, 99);
    assert_true(wal_empty(w));
    assert_int_equal(file_size(t->path), 32);
    assert_true(read_header_first_seq(t->path, &fs));
    assert_int_equal(fs, 100);
    assert_int_equal(wal_append(w, 99, "x", 1, &err), QV_INTERNAL);
    assert_true(wal_empty(w));
    assert_int_equal(wal_append(w, 100, "new", 3, &err), QV_OK);
    assert_false(wal_empty(w));
    assert_int_equal(wal_sync(w, &err), QV_OK);
    wal_close(w);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", t->path);
    assert_int_not_equal(access(tmp, F_OK), 0);

    seen s = {0};
    assert_int_equal(wal_open(t->path, 1, collect, &s, &w, &last, &err), QV_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.seq[0], 100);
    assert_memory_equal(s.body[0], "new", 3);
    assert_int_equal(last, 100);
    assert_false(wal_empty(w));
    seen_free(&s);
    wal_close(w);
}

static void wal_open_fails_when_replay_refuses(void **state)
{
    tmpdir *t = *state;
    wal *w;
    qv_error err;
    written wr = {0};
    assert_int_equal(wal_open(t->path, 1, NULL, NULL, &w, NULL, &err), QV_OK);
    for (uint64_t seq = 1; seq <= 3; seq++)
        append_random(w, &wr, seq, 10);
    wal_close(w);
    seen s = {.refuse_at = 2};
    w = (wal *)1;
    assert_int_equal(wal_open(t->path, 1, collect, &s, &w, NULL, &err), QV_CORRUPT);
    assert_null(w);
    assert_non_null(strstr(err.msg, t->path));
    assert_int_equal(s.n, 1);
    assert_int_equal(file_size(t->path), wr.end[2]);  /* nothing cut */
    seen_free(&s);
    written_free(&wr);
}

static void wal_open_reports_io_errors(void **state)
{
    wal *w;
    qv_error err;
    assert_int_equal(wal_open("/nonexistent-dir/wal.log", 1, NULL, NULL, &w, NULL, &err), QV_IO);
    assert_null(w);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/wal.log"));
    assert_non_null(strstr(err.msg, strerror(ENOENT)));
}

/* Voided records stay in the file but never reach replay, across reopens;
 * rewind cuts what was appended after a mark; reset empties the list. */
static void wal_void_and_rewind(void **state)
{
    tmpdir *t = *state;
    wal *w;
    qv_error err;
    assert_int_equal(wal_open(t->path, 1, NULL, NULL, &w, NULL, &err), QV_OK);
    for (uint64_t q = 1; q <= 6; q++)
        assert_int_equal(wal_append(w, q, &q, sizeof q, &err), QV_OK);
    assert_int_equal(wal_void(w, 2, 3, &err), QV_OK);
    assert_int_equal(wal_void(w, 5, 5, &err), QV_OK);
    assert_int_equal(wal_void(w, 4, 3, &err), QV_INTERNAL);
    wal_pos mark = wal_mark(w);
    assert_int_equal(wal_append(w, 7, "x", 1, &err), QV_OK);
    assert_int_equal(wal_rewind(w, mark, &err), QV_OK);
    assert_int_equal(file_size(t->path), mark.size);
    assert_false(wal_broken(w));
    wal_close(w);

    seen s = {0};
    uint64_t last;
    assert_int_equal(wal_open(t->path, 1, collect, &s, &w, &last, &err), QV_OK);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.seq[0], 1);
    assert_int_equal(s.seq[1], 4);
    assert_int_equal(s.seq[2], 6);
    assert_int_equal(last, 6);  /* voided records still hold their numbers */
    seen_free(&s);
    wal_close(w);
}

/* A damaged list of voided records refuses the open: replaying them would
 * resurrect writes answered as failed. */
static void wal_refuses_a_damaged_void_list(void **state)
{
    tmpdir *t = *state;
    wal *w;
    qv_error err;
    assert_int_equal(wal_open(t->path, 1, NULL, NULL, &w, NULL, &err), QV_OK);
    assert_int_equal(wal_append(w, 1, "a", 1, &err), QV_OK);
    assert_int_equal(wal_void(w, 1, 1, &err), QV_OK);
    wal_close(w);
    char vp[160];
    snprintf(vp, sizeof vp, "%s.void", t->path);
    size_t len;
    uint8_t *f = read_all(vp, &len);
    assert_int_equal(len, 36);
    assert_memory_equal(f, "QVVOID\0\0", 8);
    f[20] ^= 1;  /* a bit of the range */
    FILE *o = fopen(vp, "wb");
    assert_non_null(o);
    assert_int_equal(fwrite(f, 1, len, o), len);
    fclose(o);
    free(f);
    assert_int_equal(wal_open(t->path, 1, NULL, NULL, &w, NULL, &err), QV_CORRUPT);
    assert_non_null(strstr(err.msg, "voided"));
    unlink(vp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_known_vectors),
        cmocka_unit_test(crc_hw_matches_sw),
        cmocka_unit_test_setup_teardown(wal_new_file_has_the_documented_format, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_replays_what_was_appended, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_syncs_while_another_thread_appends, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_cuts_a_torn_tail, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_stops_at_a_damaged_record, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_cuts_garbage_after_good_records, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_preallocates_and_recovers_after_a_crash, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_refuses_a_bad_header, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_append_checks_its_input, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_append_undoes_a_failed_write, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_new_file_starts_at_first_seq, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_void_and_rewind, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_refuses_a_damaged_void_list, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(wal_open_fails_when_replay_refuses, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test(wal_open_reports_io_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

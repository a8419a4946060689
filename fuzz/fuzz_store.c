/*
 * fuzz_store — libFuzzer target for checkpoint loading: the input is a
 * points.snap file, loaded with store_load into a collection with dense and
 * sparse vectors (fuzz_common.h).
 *
 * The input is one self-contained file (store.save_inline: the points and
 * vectors inline); a checkpoint naming chunk or block files, which the
 * harness has not, fails as damage. The checksum covers the whole file and is checked last, so mutations reach
 * every field without help; when the input ends with the end magic "QVND"
 * the harness also writes the right CRC before it, so that loads can
 * succeed. Checks: no crash, leak or UB, and no allocation beyond what the
 * file can hold; failures are QV_CORRUPT or QV_NOMEM with a message. A
 * loaded store is consistent, and saving it and loading that again gives
 * the same points and sequence number.
 */
#include "fuzz_store.h"

#include "util/endian.h"
#include "util/fsutil.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static cfg_collection cfg;
static fuzz_file      file;
static char           dir[64];  /* for store_save, which renames into a directory */

static void cleanup(void) { qv_rm_rf(dir); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    qv_log_set_level(QV_LOG_ERROR);
    fuzz_config(&cfg);
    fuzz_file_init(&file, "points.snap");
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/qv-fuzz-store-XXXXXX", base);
    if (!mkdtemp(dir))
        fuzz_die("mkdtemp");
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *f = malloc(size ? size : 1);
    if (!f)
        return 0;
    memcpy(f, data, size);
    if (size >= 8 && memcmp(f + size - 4, "QVND", 4) == 0)
        qv_put_le32(f + size - 8, qv_crc32c(0, f, size - 8));
    fuzz_file_set(&file, f, size);

    store s, s2;
    qv_error err = {0};
    uint64_t seq = 0, seq2 = 0;
    if (store_init(&s, &cfg, &err) != QV_OK)
        fuzz_die("store_init");
    qv_status rc = store_load(&s, &cfg, file.path, &seq, &err);
    if (rc != QV_OK) {
        if ((rc != QV_CORRUPT && rc != QV_NOMEM) || !err.msg[0])
            fuzz_die("store_load failed without a proper code and message");
        goto done;
    }
    uint64_t digest = fuzz_digest(&s);
    s.save_inline = (digest & 1) != 0;  /* both forms: one file, or the chunk and block files */
    if (store_save(&s, dir, "points.snap", seq, &err) != QV_OK)
        fuzz_die("cannot save a loaded store");
    char path[128];
    snprintf(path, sizeof path, "%s/points.snap", dir);
    if (store_init(&s2, &cfg, &err) != QV_OK)
        fuzz_die("store_init");
    rc = store_load(&s2, &cfg, path, &seq2, &err);
    if (rc != QV_OK || seq2 != seq || s2.n_points != s.n_points || fuzz_digest(&s2) != digest) {
        fprintf(stderr, "reload: %s\n", rc ? err.msg : "points differ");
        fuzz_die("a saved checkpoint does not load back the same");
    }
    store_free(&s2);
done:
    store_free(&s);
    free(f);
    return 0;
}

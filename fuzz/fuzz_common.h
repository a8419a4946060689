/*
 * fuzz_common.h — helpers shared by the libFuzzer targets: a file in memory
 * that code taking a path can open, and the collection the store targets
 * use. Header-only: each target is one executable.
 */
#ifndef QV_FUZZ_COMMON_H
#define QV_FUZZ_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"
#include "json/jr.h"
#include "util/arena.h"

/* Dense "a" (4, Dot), dense "b" (2, Cosine), sparse "s": every kind of
 * vector the store keeps. fuzz/mkseeds.c writes checkpoints of this shape. */
#define FUZZ_COLLECTION                                                             \
    "{\"vectors\": {\"a\": {\"size\": 4, \"distance\": \"Dot\"},"                   \
    " \"b\": {\"size\": 2, \"distance\": \"Cosine\"}},"                             \
    " \"sparse_vectors\": {\"s\": {}}}"

static inline void fuzz_die(const char *what)
{
    fprintf(stderr, "fuzz harness: %s\n", what);
    abort();
}

static inline void fuzz_config(cfg_collection *cfg)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    jr_value *root;
    jr_error je;
    qv_error err;
    if (jr_parse(&a, FUZZ_COLLECTION, strlen(FUZZ_COLLECTION), &root, &je) != 0 ||
        cfg_parse(root, CFG_CREATE, cfg, &err) != QV_OK)
        fuzz_die("bad FUZZ_COLLECTION");
    qv_arena_free(&a);
}

/*
 * A memfd, and the /proc path that opens it again: the code under test gets
 * a real file (open, pread, ftruncate, fsync all work) without touching a
 * disk or leaving files behind when a run crashes. One per process, reused.
 */
typedef struct fuzz_file {
    int  fd;
    char path[64];
} fuzz_file;

static inline void fuzz_file_init(fuzz_file *f, const char *name)
{
    f->fd = memfd_create(name, MFD_CLOEXEC);
    if (f->fd < 0)
        fuzz_die("memfd_create failed");
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

/* Replace the file's contents with data[0..size). */
static inline void fuzz_file_set(fuzz_file *f, const void *data, size_t size)
{
    if (ftruncate(f->fd, 0) != 0 || pwrite(f->fd, data, size, 0) != (ssize_t)size)
        fuzz_die("cannot write the memfd");
}

static inline off_t fuzz_file_size(const fuzz_file *f)
{
    return lseek(f->fd, 0, SEEK_END);
}

#endif

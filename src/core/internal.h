/*
 * internal.h — helpers shared by the engine's modules (not part of the API).
 */
#ifndef QV_CORE_INTERNAL_H
#define QV_CORE_INTERNAL_H

#include "quiver.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"

/* Parse a JSON request document into arena a; QV_BAD_FORMAT with the
 * reader's message and position ("expected value at line 1 column 1"). */
struct jr_value;
struct jr_opts;
qv_status qv_parse_request(qv_arena *a, const char *json, size_t len, struct jr_value **root,
                           qv_error *err);
/* The same with reader options (jr_parse_opts; NULL: none). */
qv_status qv_parse_request_opts(qv_arena *a, const char *json, size_t len,
                                const struct jr_opts *opts, struct jr_value **root, qv_error *err);

/* serde's derived request structs refuse a known field given twice: the
 * first of fields[0..n) that o repeats gives QV_BAD_FORMAT "<where>:
 * duplicate field `x`" (just "duplicate field `x`" when where is NULL). */
qv_status qv_no_dup(const struct jr_value *o, const char *const *fields, size_t n, const char *where,
                    qv_error *err);
#define QV_NO_DUP(o, where, err, ...)                                                  \
    qv_no_dup((o), (const char *const[]){__VA_ARGS__},                                 \
              sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *), (where), (err))

/* Hand a finished JSON buffer to the caller (*json malloc'd), or QV_NOMEM
 * (and free it) if building it ran out of memory. */
qv_status qv_take_json(qv_buf *b, char **json, size_t *len, qv_error *err);

/*
 * A per-thread arena for the temporary memory of one engine call (parse
 * trees, decoded operations). Reused call after call, so a busy thread stops
 * paying malloc and page faults for it; qv_scratch_done resets it, or frees
 * it when it grew past QV_SCRATCH_KEEP so one huge request does not pin its
 * memory, or when all threads together would keep more than
 * QV_SCRATCH_BUDGET. Freed at thread exit. One user at a time per thread.
 */
#define QV_SCRATCH_KEEP   (16u << 20)
#define QV_SCRATCH_BUDGET (64u << 20)
qv_arena *qv_scratch(void);
void      qv_scratch_done(qv_arena *a);
size_t    qv_scratch_kept(void);  /* bytes all threads keep now (for tests) */

#endif

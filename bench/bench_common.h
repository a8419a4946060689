/*
 * bench_common.h — what the end-to-end benchmarks share: the real server
 * started on a free port with a fresh storage dir, a keep-alive HTTP/1.1
 * client, parallel upload of prebuilt bodies, and the server's memory and
 * per-thread CPU read from /proc.
 *
 * Errors are printed to stderr where they happen; functions return 0 or -1.
 * Threading: one http_conn per thread; the rest is called from main only.
 */
#ifndef QV_BENCH_COMMON_H
#define QV_BENCH_COMMON_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "json/jw.h"
#include "util/buf.h"

#define MB        1e6
#define MAX_CONNS 8   /* upload connections at most */

double bc_now(void);  /* monotonic seconds */
uint64_t bc_splitmix64(uint64_t *s);
/* A whole decimal in [1, max], or 0. */
unsigned long long bc_count_arg(const char *s, unsigned long long max);

/* The options every bench takes: [--points N | --quick] [--connections C]
 * [QUIVER_BIN] (else $QUIVER_BIN, else build/quiver). Prints usage (with
 * name) and returns -1 on a bad argument. */
typedef struct bc_args {
    const char *bin;
    size_t      points;
    int         conns;
} bc_args;
int bc_parse_args(int argc, char **argv, const char *name, size_t default_points,
                  size_t quick_points, int default_conns, bc_args *out);
static inline const char *bc_verdict(bool met) { return met ? "met" : "NOT met"; }

/* --------------------------------------------------------------- server */

typedef struct bc_server {
    pid_t     pid;          /* 0 when not running */
    int       err_fd;       /* read end of its stderr, -1 when closed */
    pthread_t drain;
    bool      draining;
    unsigned  port;
    char      dir[PATH_MAX];
} bc_server;

/* `bin serve` on 127.0.0.1, port 0, storage in a new dir under $TMPDIR or
 * /tmp; returns once it said where it listens. Call bc_server_stop even on
 * failure. */
int bc_server_start(bc_server *s, const char *bin);
/* SIGTERM, wait, then remove the storage dir. 0 if it exited with status 0
 * (or never ran), else -1 after saying how it ended. */
int bc_server_stop(bc_server *s);
/* For restarts: bc_server_halt stops it as bc_server_stop does but keeps
 * s->dir; bc_server_start_in starts it on an existing storage dir. */
int bc_server_halt(bc_server *s);
int bc_server_start_in(bc_server *s, const char *bin, const char *dir);
/* Limits of a start (to the "listening on" line) and of a stop (SIGTERM
 * to exit, then SIGKILL), default 10 s each; a big restart needs more. */
extern int bc_start_timeout_ms, bc_stop_timeout_ms;
/* "tmpfs: fsync is free" or "disk". */
const char *bc_fs_kind(const char *dir);
/* VmRSS and VmHWM of pid in bytes; -1 if /proc cannot tell. */
int bc_proc_memory(pid_t pid, uint64_t *rss, uint64_t *hwm);

/* ------------------------------------------------------------------ cpu */

#define BC_MAX_THREADS 64

typedef struct bc_thread_cpu {
    int    tid;
    char   comm[32];
    double secs;   /* user + system */
    double sys;    /* system alone */
    unsigned long long faults;  /* minor page faults */
} bc_thread_cpu;

typedef struct bc_cpu_snapshot {
    double        proc, proc_sys;  /* the whole process (user + system, system), threads
                                    * that have ended included */
    unsigned long long proc_faults;
    int           n;
    bc_thread_cpu t[BC_MAX_THREADS];
} bc_cpu_snapshot;

/* Busy seconds of all cores since boot, and CPU seconds of this process. */
typedef struct bc_cpu_use {
    double machine, self;
} bc_cpu_use;

void bc_cpu_snap(pid_t pid, bc_cpu_snapshot *s);
bc_cpu_use bc_cpu_use_now(void);
/* "server cpu: T s in W s of WHAT = C cores; by thread: ..." and the
 * machine's use over the same time; after becomes the difference. */
void bc_report_cpu(const char *what, const bc_cpu_snapshot *before, bc_cpu_snapshot *after,
                   double wall, bc_cpu_use u0, bc_cpu_use u1);

/* ----------------------------------------------------------- HTTP client */

typedef struct bc_conn {
    unsigned port;
    int      fd;        /* -1 until connected, and after the server closes it */
    qv_buf   in;        /* received bytes not yet consumed (a pipelined reply) */
    unsigned connects;  /* 1 for as long as keep-alive holds */
    char     err[256];
} bc_conn;

void bc_conn_init(bc_conn *c, unsigned port);
void bc_conn_free(bc_conn *c);
/*
 * One request on a keep-alive connection (opened on first use or after the
 * server closed it). On success *status is the HTTP status and resp holds
 * the body, NUL-terminated. On failure c->err says why.
 */
int bc_request(bc_conn *c, const char *method, const char *path, const char *body,
               size_t body_len, int *status, qv_buf *resp);
/* bc_request in two halves, so that a client can work on one answer while
 * the server prepares the next. A request is sent whole before it returns;
 * a connection the server closed is not reopened between the halves. */
int bc_send(bc_conn *c, const char *method, const char *path, const char *body, size_t body_len);
int bc_receive(bc_conn *c, int *status, qv_buf *resp);
/* One request on c that must answer 200; prints what went wrong. */
int bc_request_ok(bc_conn *c, const char *method, const char *path, const char *body,
                  qv_buf *resp);
/* The same on a fresh connection. */
int bc_request_once(unsigned port, const char *method, const char *path, const char *body,
                    qv_buf *resp);

/* --------------------------------------------------------------- upload */

typedef struct bc_body_set {
    qv_buf *body;           /* n request bodies */
    size_t  n;
    size_t  bytes;          /* sum of body lengths */
    size_t  payload_bytes;  /* sum of the payload objects' JSON text */
} bc_body_set;

void bc_free_bodies(bc_body_set *bs);

/* What a bench writes for point id: its vector and its payload (JSON). */
typedef void (*bc_point_fn)(jw *w, uint64_t id);

/* A JSON array of n floats (shortest round-trip form). */
void bc_write_floats(jw *w, const float *v, uint32_t n);
/* A SearchRequest {"vector": q, "limit": k, "params": {"hnsw_ef": ef},
 * "filter": filter (JSON text, or NULL: none)} into body. */
void bc_search_body(qv_buf *body, const float *q, uint32_t dim, uint32_t k, uint32_t ef, const char *filter);

/* Upsert bodies {"points":[{"id","vector","payload"},…]} for ids 0..points-1,
 * batch points each. -1 when out of memory. */
int bc_build_bodies(bc_body_set *bs, size_t points, size_t batch, bc_point_fn vector,
                    bc_point_fn payload);
/* The same for ids first..first+points-1. */
int bc_build_bodies_from(bc_body_set *bs, uint64_t first, size_t points, size_t batch, bc_point_fn vector,
                         bc_point_fn payload);

/* Bodies handed out to worker threads, each taken once. */
typedef struct bc_work_queue {
    const bc_body_set *bodies;
    atomic_size_t      next;    /* index of the next body to take */
    atomic_bool        failed;  /* one worker failed: the others stop */
    double             t0;      /* when the upload started */
    double            *lat, *done;  /* per body (NULL: not kept): its request's seconds,
                                     * and when it was answered (since t0) */
} bc_work_queue;

/* PUT /collections/bench/points?wait=true of every body over conns
 * connections, one thread each; *secs is the wall time. */
int bc_run_upload(unsigned port, const bc_body_set *bs, int conns, double *secs);
/* The same, keeping per body (bs->n entries each, or NULL) its latency and
 * when it was answered. */
int bc_run_upload_timed(unsigned port, const bc_body_set *bs, int conns, double *secs, double *lat,
                        double *done);
/* Print how the upload went over time: points/s per tenth of the bodies
 * (by when they were answered; last / first) and write latency p50 / p99
 * / max (p99 / p50). lat and done as bc_run_upload_timed kept them; they
 * are sorted in place. */
void bc_report_upload_timing(const char *what, double *lat, double *done, size_t n, size_t points_per_body);

#endif

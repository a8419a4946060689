/*
 * bench_upload — end-to-end upload speed and memory of the real server,
 * set against the JSON reader alone on the very same request bodies.
 *
 * Usage: bench_upload [--points N | --quick] [--connections C] [QUIVER_BIN]
 *   QUIVER_BIN defaults to $QUIVER_BIN, else build/quiver. --quick = 10,000 points.
 *   C (default 2, at most 8) is for experiments; the parse-only figures always use
 *   2 threads, the cores of the machine this was written for.
 *
 * One run: start `quiver serve` on a free port with a fresh storage dir (under
 * $TMPDIR or /tmp), create collection "bench" (128 dims, Cosine), upload N
 * points in bodies of 1,000 with PUT .../points?wait=true over C keep-alive
 * connections, one thread each; report the server's CPU time per thread (was
 * the work spread over its workers?) and its VmRSS/VmHWM; check a little of
 * what was stored; time jr_parse (+ jr_get_f32 of every vector element, the
 * handler's first step) on the same bodies in 1 and 2 threads; stop the
 * server. Bodies are built before the clock starts, so the upload figure is
 * the server's speed plus the loopback, not the client's.
 *
 * Prints one "name: figure" line per figure; MB = 10^6 bytes. Figures are
 * compared with their targets in the text only: the exit status is non-zero
 * only when something failed (server, HTTP status, stored data).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json/jr.h"
#include "json/jw.h"
#include "util/arena.h"
#include "util/buf.h"

#define DIM          128
#define BATCH        1000
#define CONNS        2          /* upload connections by default = cores here */
#define MAX_CONNS    8
#define PARSE_THREADS 2         /* the ideal parallel parse on 2 cores */
#define QUICK_POINTS 10000
#define MB           1e6

#define TARGET_RATIO_MIN 0.50   /* end-to-end MB/s over parse-only MB/s */
#define TARGET_MEM_MAX   1.50   /* server RSS over raw data size */

#define START_TIMEOUT_MS 10000  /* for the "listening on" line */
#define STOP_TIMEOUT_MS  10000  /* after SIGTERM, before SIGKILL */
#define IO_TIMEOUT_S     120    /* one request; a batch with fsync takes ms */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ data */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The vector of point id, from a seed of its own, so that verification can
 * regenerate any point without keeping 51 MB of originals. Components are
 * k / 2^23 for k in [-2^23, 2^23): uniform in [-1, 1), exact in a float, and
 * 8-9 significant digits long in JSON, as real embeddings print. */
static void point_vector(uint64_t id, float *v)
{
    uint64_t s = id * 0xD1B54A32D192ED03ull + 42;
    for (int j = 0; j < DIM; j++) {
        int64_t k = (int64_t)(splitmix64(&s) >> 40) - (1 << 23);
        v[j] = (float)k / (float)(1 << 23);
    }
}

static unsigned point_category(uint64_t id) { return (unsigned)(id * 7 % 100); }

/* {"category":"c17","price":123,"tags":["a","b"]}, values varying with id. */
static void write_payload(jw *w, uint64_t id)
{
    static const char *const tags[] = {"a", "b", "c", "d"};
    char cat[16];
    snprintf(cat, sizeof cat, "c%u", point_category(id));
    jw_obj_begin(w);
    jw_key(w, "category");
    jw_str(w, cat);
    jw_key(w, "price");
    jw_uint(w, id * 37 % 1000);
    jw_key(w, "tags");
    jw_arr_begin(w);
    for (uint64_t t = 0; t <= id % 3; t++)
        jw_str(w, tags[(id + t) % 4]);
    jw_arr_end(w);
    jw_obj_end(w);
}

typedef struct body_set {
    qv_buf *body;           /* n request bodies */
    size_t  n;
    size_t  bytes;          /* sum of body lengths */
    size_t  payload_bytes;  /* sum of the payload objects' JSON text */
} body_set;

/* {"points":[{"id":…,"vector":[…],"payload":{…}},…]} for ids [first, first+count). */
static void build_body(qv_buf *b, uint64_t first, size_t count, size_t *payload_bytes)
{
    float v[DIM];
    jw w;
    jw_init(&w, b);
    jw_obj_begin(&w);
    jw_key(&w, "points");
    jw_arr_begin(&w);
    for (uint64_t id = first; id < first + count; id++) {
        point_vector(id, v);
        jw_obj_begin(&w);
        jw_key(&w, "id");
        jw_uint(&w, id);
        jw_key(&w, "vector");
        jw_arr_begin(&w);
        for (int j = 0; j < DIM; j++)
            jw_f32(&w, v[j]);
        jw_arr_end(&w);
        jw_key(&w, "payload");
        size_t at = b->len;
        write_payload(&w, id);
        *payload_bytes += b->len - at;
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
}

static int build_bodies(size_t points, body_set *bs)
{
    memset(bs, 0, sizeof *bs);
    bs->n = (points + BATCH - 1) / BATCH;
    bs->body = calloc(bs->n ? bs->n : 1, sizeof *bs->body);
    if (!bs->body)
        return -1;
    for (size_t i = 0; i < bs->n; i++) {
        uint64_t first = (uint64_t)i * BATCH;
        size_t count = points - first < BATCH ? points - first : BATCH;
        build_body(&bs->body[i], first, count, &bs->payload_bytes);
        if (!qv_buf_ok(&bs->body[i]))
            return -1;
        bs->bytes += bs->body[i].len;
    }
    return 0;
}

static void free_bodies(body_set *bs)
{
    for (size_t i = 0; bs->body && i < bs->n; i++)
        qv_buf_free(&bs->body[i]);
    free(bs->body);
    bs->body = NULL;
}

/* --------------------------------------------------------------- server */

typedef struct server {
    pid_t     pid;          /* 0 when not running */
    int       err_fd;       /* read end of its stderr, -1 when closed */
    pthread_t drain;
    bool      draining;
    unsigned  port;
    char      dir[PATH_MAX];
} server;

/* Splits a pipe into lines; a line longer than the buffer comes in pieces. */
typedef struct line_reader {
    int    fd;
    size_t len;
    char   buf[4096];
} line_reader;

/* Next line into out (NUL-terminated, no '\n'). Returns 1, or 0 at EOF, or
 * -1 on error or when no byte came within timeout_ms (< 0: wait forever). */
static int next_line(line_reader *r, char *out, size_t cap, int timeout_ms)
{
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->len);
        size_t take = nl ? (size_t)(nl - r->buf) : r->len == sizeof r->buf ? r->len : 0;
        if (nl || take) {
            size_t n = take < cap - 1 ? take : cap - 1;
            memcpy(out, r->buf, n);
            out[n] = '\0';
            size_t used = take + (nl ? 1 : 0);
            memmove(r->buf, r->buf + used, r->len - used);
            r->len -= used;
            return 1;
        }
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        int pr = poll(&p, 1, timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -1;
        ssize_t got = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0) {
            if (!r->len)
                return 0;
            r->buf[r->len++] = '\n';  /* a last line without newline */
            continue;
        }
        r->len += (size_t)got;
    }
}

/* The port of "... listening on http://HOST:PORT ...", or 0. */
static unsigned listening_port(const char *line)
{
    const char *p = strstr(line, "listening on http://");
    if (!p)
        return 0;
    p += strlen("listening on http://");
    const char *end = p + strcspn(p, " \t");
    const char *colon = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == ':')
            colon = q;  /* the last one: an IPv6 host has colons too */
    if (!colon)
        return 0;
    unsigned long port = strtoul(colon + 1, NULL, 10);
    return port > 0 && port < 65536 ? (unsigned)port : 0;
}

/* After start-up the server's stderr must still be read, or a full pipe
 * would block its logging; warnings and errors are passed on. */
static void *drain_stderr(void *arg)
{
    line_reader *r = arg;
    char line[1024];
    while (next_line(r, line, sizeof line, -1) == 1)
        if (strstr(line, " WARN ") || strstr(line, " ERROR "))
            fprintf(stderr, "server: %s\n", line);
    free(r);
    return NULL;
}

static void exec_server(const char *bin, const char *dir, int err_w)
{
    dup2(err_w, STDERR_FILENO);
    dup2(err_w, STDOUT_FILENO);  /* it has nothing to say there; keep our stdout ours */
    prctl(PR_SET_PDEATHSIG, SIGTERM);  /* no orphan server if the bench dies */
    execl(bin, bin, "serve", "--host", "127.0.0.1", "--port", "0", "--storage", dir,
          (char *)NULL);
    fprintf(stderr, "cannot run %s: %s\n", bin, strerror(errno));
    _exit(127);
}

/* Reads the server's stderr until it says where it listens; its earlier
 * lines are shown if it never does. The reader then goes to the drain thread. */
static int await_listening(server *s)
{
    line_reader *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->fd = s->err_fd;
    char line[1024];
    double deadline = now() + START_TIMEOUT_MS / 1e3;
    int got = -1;
    double left;
    while ((left = deadline - now()) > 0 &&
           (got = next_line(r, line, sizeof line, (int)(left * 1e3) + 1)) == 1) {
        if ((s->port = listening_port(line)) != 0)
            break;
        fprintf(stderr, "server: %s\n", line);
    }
    if (!s->port) {
        fprintf(stderr, "server did not report its port (%s)\n",
                got == 0 ? "it exited" : "timeout");
        free(r);
        return -1;
    }
    if (pthread_create(&s->drain, NULL, drain_stderr, r) != 0) {
        free(r);
        return -1;
    }
    s->draining = true;
    return 0;
}

static int server_start(server *s, const char *bin)
{
    memset(s, 0, sizeof *s);
    s->err_fd = -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/quiver-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", s->dir, strerror(errno));
        s->dir[0] = '\0';
        return -1;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    fflush(NULL);
    s->pid = fork();
    if (s->pid < 0) {
        s->pid = 0;
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (s->pid == 0)
        exec_server(bin, s->dir, p[1]);
    close(p[1]);
    s->err_fd = p[0];
    return await_listening(s);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    return remove(path);
}

/* Waits for the server's exit for a bounded time (pidfd), then kills it. */
static int reap(pid_t pid)
{
    int pfd = pidfd_open(pid, 0);
    if (pfd >= 0) {
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        if (poll(&p, 1, STOP_TIMEOUT_MS) == 0) {
            fprintf(stderr, "server did not stop within %d ms: SIGKILL\n", STOP_TIMEOUT_MS);
            kill(pid, SIGKILL);
        }
        close(pfd);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

/* SIGTERM, wait, then remove the storage dir. Returns 0 if the server
 * exited with status 0 (or never ran), else -1 after saying how it ended. */
static int server_stop(server *s)
{
    int rc = 0;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int status = reap(s->pid);
        if (WIFSIGNALED(status))
            fprintf(stderr, "server: killed by signal %d after SIGTERM\n", WTERMSIG(status));
        else if (WEXITSTATUS(status) != 0 && s->port)
            fprintf(stderr, "server: exit status %d after SIGTERM\n", WEXITSTATUS(status));
        rc = WIFSIGNALED(status) || (WEXITSTATUS(status) != 0 && s->port) ? -1 : 0;
        s->pid = 0;
    }
    /* EOF once the server is gone, unless something it started still holds
     * the pipe (a wrapper such as strace): then the thread is left to exit. */
    struct timespec limit;
    clock_gettime(CLOCK_REALTIME, &limit);
    limit.tv_sec += 2;
    if (!s->draining || pthread_timedjoin_np(s->drain, NULL, &limit) == 0)
        if (s->err_fd >= 0)
            close(s->err_fd);
    s->draining = false;
    s->err_fd = -1;
    if (s->dir[0])
        nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
    return rc;
}

/* VmRSS and VmHWM of pid in bytes; -1 if /proc cannot tell. */
static int proc_memory(pid_t pid, uint64_t *rss, uint64_t *hwm)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    unsigned long long kb;
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
            *rss = kb * 1024, found++;
        else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
            *hwm = kb * 1024, found++;
    }
    fclose(f);
    return found == 2 ? 0 : -1;
}

/* CPU time of each thread of a process, to see where the server's work
 * went: all on one thread, or spread over its workers. */
#define MAX_THREADS 64

typedef struct thread_cpu {
    int    tid;
    char   comm[32];
    double secs;   /* user + system */
} thread_cpu;

typedef struct cpu_snapshot {
    int        n;
    thread_cpu t[MAX_THREADS];
} cpu_snapshot;

/* One /proc/PID/task/TID/stat: comm is in parentheses and may hold spaces,
 * so fields are counted from the last ')'; utime and stime are fields 14, 15. */
static int read_thread_cpu(pid_t pid, int tid, thread_cpu *out)
{
    char path[96], line[1024];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    char *open = ok ? strchr(line, '(') : NULL, *close = ok ? strrchr(line, ')') : NULL;
    unsigned long long ut, st;
    if (!open || !close || close < open ||
        sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    size_t n = (size_t)(close - open - 1) < sizeof out->comm - 1 ? (size_t)(close - open - 1)
                                                                 : sizeof out->comm - 1;
    memcpy(out->comm, open + 1, n);
    out->comm[n] = '\0';
    out->tid = tid;
    out->secs = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    return 0;
}

static void cpu_snap(pid_t pid, cpu_snapshot *s)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    s->n = 0;
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) && s->n < MAX_THREADS)
        if (e->d_name[0] != '.' && read_thread_cpu(pid, atoi(e->d_name), &s->t[s->n]) == 0)
            s->n++;
    if (d)
        closedir(d);
}

static double cpu_before(const cpu_snapshot *s, int tid)
{
    for (int i = 0; i < s->n; i++)
        if (s->t[i].tid == tid)
            return s->t[i].secs;
    return 0;  /* started since */
}

static int by_secs_desc(const void *a, const void *b)
{
    double x = ((const thread_cpu *)a)->secs, y = ((const thread_cpu *)b)->secs;
    return (x < y) - (x > y);
}

/* Seconds of CPU that all cores spent busy (not idle, not iowait) since boot. */
static double machine_busy(void)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                       &v[3], &v[4], &v[5], &v[6], &v[7]) : 0;
    if (f)
        fclose(f);
    if (n < 5)
        return 0;
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec +
           u.ru_stime.tv_usec * 1e-6;
}

/* What the CPUs did during the upload, so that a slow figure can be told
 * apart from a busy machine: busy seconds of all cores since boot, and CPU
 * seconds of this process. */
typedef struct cpu_use {
    double machine, self;
} cpu_use;

static cpu_use cpu_use_now(void) { return (cpu_use){machine_busy(), self_cpu()}; }

/* "server cpu: T s in W s = C cores; by thread: ..." for the threads that
 * worked, then the machine's whole use over the same time. */
static void report_cpu(const cpu_snapshot *before, cpu_snapshot *after, double wall,
                       cpu_use u0, cpu_use u1)
{
    double total = 0;
    for (int i = 0; i < after->n; i++) {
        after->t[i].secs -= cpu_before(before, after->t[i].tid);
        total += after->t[i].secs;
    }
    qsort(after->t, (size_t)after->n, sizeof after->t[0], by_secs_desc);
    printf("server cpu: %.2f s in %.3f s of upload = %.2f cores; by thread:", total, wall,
           total / wall);
    for (int i = 0; i < after->n && after->t[i].secs > 0; i++)
        printf(" %s[%d] %.2f s", after->t[i].comm, after->t[i].tid, after->t[i].secs);
    printf("\n");
    double machine = u1.machine - u0.machine, self = u1.self - u0.self;
    double others = machine - total - self;
    printf("machine cpu: %.2f of %ld cores busy during the upload (server %.2f s, bench client "
           "%.2f s, other processes %.2f s)\n", machine / wall, sysconf(_SC_NPROCESSORS_ONLN),
           total, self, others > 0 ? others : 0);
}

/* ----------------------------------------------------------- HTTP client */

typedef struct http_conn {
    unsigned port;
    int      fd;        /* -1 until connected, and after the server closes it */
    qv_buf   in;        /* received bytes not yet consumed (a pipelined reply) */
    unsigned connects;  /* 1 for as long as keep-alive holds */
    char     err[256];
} http_conn;

static void conn_init(http_conn *c, unsigned port)
{
    memset(c, 0, sizeof *c);
    c->port = port;
    c->fd = -1;
}

static void conn_close(http_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in.len = 0;
}

static void conn_free(http_conn *c)
{
    conn_close(c);
    qv_buf_free(&c->in);
}

static int conn_fail(http_conn *c, const char *what, int e)
{
    snprintf(c->err, sizeof c->err, "%s: %s", what, e ? strerror(e) : "protocol error");
    conn_close(c);
    return -1;
}

static int conn_open(http_conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return conn_fail(c, "socket", errno);
    int one = 1;
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    /* Header and body go out in one sendmsg; NODELAY keeps a short tail
     * from waiting for the previous segment's ACK. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0)
        return conn_fail(c, "connect", errno);
    c->connects++;
    return 0;
}

/* Writes every byte of the iovecs, resuming after short writes. */
static int send_all(http_conn *c, struct iovec *iov, int n)
{
    while (n > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return conn_fail(c, "send", errno);
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++, n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

/* Appends what the socket has to c->in: bytes read, 0 at EOF, -1 on error. */
static ssize_t recv_more(http_conn *c)
{
    if (!qv_buf_reserve(&c->in, 65536))
        return conn_fail(c, "recv", ENOMEM);
    for (;;) {
        ssize_t r = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return conn_fail(c, "recv", errno == EAGAIN ? ETIMEDOUT : errno);
        c->in.len += (size_t)r;
        c->in.data[c->in.len] = '\0';
        return r;
    }
}

typedef struct resp_head {
    int      status;
    size_t   head_len;     /* through the blank line */
    bool     has_length;
    uint64_t length;       /* Content-Length */
    bool     close;        /* the server will close after this response */
} resp_head;

/* Header value of "Name: value" if name matches (case-insensitive), else NULL. */
static const char *header_value(const char *line, const char *name)
{
    size_t n = strlen(name);
    if (strncasecmp(line, name, n) != 0 || line[n] != ':')
        return NULL;
    line += n + 1;
    return line + strspn(line, " \t");
}

/* Status line and the headers that frame the body. The head is
 * NUL-terminated at head_len - 2 by the caller. */
static int parse_head(http_conn *c, char *head, resp_head *h)
{
    int minor;
    if (sscanf(head, "HTTP/1.%d %3d", &minor, &h->status) != 2 || h->status < 100)
        return conn_fail(c, "bad status line", 0);
    h->close = minor == 0;  /* HTTP/1.0 closes unless it says keep-alive */
    char *save = NULL;
    strtok_r(head, "\r\n", &save);
    for (char *line = strtok_r(NULL, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        const char *v;
        if ((v = header_value(line, "Content-Length"))) {
            char *end;
            errno = 0;
            h->length = strtoull(v, &end, 10);
            if (errno || end == v || *v == '-')
                return conn_fail(c, "bad Content-Length", 0);
            h->has_length = true;
        } else if ((v = header_value(line, "Transfer-Encoding")) && strcasecmp(v, "identity")) {
            return conn_fail(c, "Transfer-Encoding not supported by this client", 0);
        } else if ((v = header_value(line, "Connection"))) {
            if (strcasestr(v, "close"))
                h->close = true;
            else if (strcasestr(v, "keep-alive"))
                h->close = false;
        }
    }
    if (h->status < 200 || h->status == 204 || h->status == 304)
        h->has_length = true, h->length = 0;
    return 0;
}

/* Reads one complete response head into h (skipping 1xx interim ones). */
static int read_head(http_conn *c, resp_head *h)
{
    for (;;) {
        char *end;
        while (!(end = memmem(c->in.data ? c->in.data : "", c->in.len, "\r\n\r\n", 4))) {
            ssize_t r = recv_more(c);
            if (r <= 0)
                return r < 0 ? -1 : conn_fail(c, "connection closed before a response", 0);
        }
        memset(h, 0, sizeof *h);
        h->head_len = (size_t)(end - c->in.data) + 4;
        end[2] = '\0';  /* the head as one string; these bytes are consumed anyway */
        if (parse_head(c, c->in.data, h) != 0)
            return -1;
        if (h->status >= 200)
            return 0;
        memmove(c->in.data, c->in.data + h->head_len, c->in.len - h->head_len);
        c->in.len -= h->head_len;
    }
}

/* Reads the body framed by h into out and consumes it from c->in. */
static int read_body(http_conn *c, const resp_head *head, qv_buf *out)
{
    resp_head h = *head;
    for (;;) {
        size_t have = c->in.len - h.head_len;
        if (h.has_length && have >= h.length)
            break;
        ssize_t r = recv_more(c);
        if (r < 0)
            return -1;
        if (r == 0) {  /* no length: the body ends with the connection */
            if (h.has_length)
                return conn_fail(c, "connection closed inside a body", 0);
            h.has_length = true, h.length = have, h.close = true;
        }
    }
    size_t used = h.head_len + (size_t)h.length;
    out->len = 0;
    qv_buf_reserve(out, (size_t)h.length);  /* allocates even for 0: data is a string */
    qv_buf_append(out, c->in.data + h.head_len, (size_t)h.length);
    memmove(c->in.data, c->in.data + used, c->in.len - used);
    c->in.len -= used;
    if (h.close)
        conn_close(c);
    return qv_buf_ok(out) ? 0 : conn_fail(c, "response", ENOMEM);
}

/*
 * One request on a keep-alive connection (opened on first use or after the
 * server closed it). On success *status is the HTTP status and resp holds
 * the body, NUL-terminated. On failure c->err says why.
 */
static int http_request(http_conn *c, const char *method, const char *path, const char *body,
                        size_t body_len, int *status, qv_buf *resp)
{
    if (c->fd < 0 && conn_open(c) != 0)
        return -1;
    char head[512];
    int n = body ? snprintf(head, sizeof head,
                            "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                            "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                            method, path, c->port, body_len)
                 : snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
                            method, path, c->port);
    struct iovec iov[2] = {{head, (size_t)n}, {(void *)body, body ? body_len : 0}};
    if (send_all(c, iov, body ? 2 : 1) != 0)
        return -1;
    resp_head h;
    if (read_head(c, &h) != 0 || read_body(c, &h, resp) != 0)
        return -1;
    *status = h.status;
    return 0;
}

/* One-off request on a fresh connection; prints what went wrong. */
static int request_once(unsigned port, const char *method, const char *path, const char *body,
                        qv_buf *resp)
{
    http_conn c;
    conn_init(&c, port);
    int status = 0;
    int rc = http_request(&c, method, path, body, body ? strlen(body) : 0, &status, resp);
    if (rc != 0)
        fprintf(stderr, "%s %s: %s\n", method, path, c.err);
    else if (status != 200)
        fprintf(stderr, "%s %s: HTTP %d %s\n", method, path, status, resp->data);
    conn_free(&c);
    return rc == 0 && status == 200 ? 0 : -1;
}

/* ---------------------------------------------------------------- upload */

typedef struct work_queue {
    const body_set *bodies;
    atomic_size_t   next;    /* index of the next body to take */
    atomic_bool     failed;  /* one worker failed: the others stop */
} work_queue;

typedef struct upload_worker {
    work_queue *q;
    http_conn   conn;
    size_t      requests;
    char        err[320];
} upload_worker;

static void *upload_thread(void *arg)
{
    upload_worker *w = arg;
    qv_buf resp = QV_BUF_INIT;
    size_t i;
    while (!atomic_load(&w->q->failed) &&
           (i = atomic_fetch_add(&w->q->next, 1)) < w->q->bodies->n) {
        const qv_buf *b = &w->q->bodies->body[i];
        int status = 0;
        if (http_request(&w->conn, "PUT", "/collections/bench/points?wait=true", b->data, b->len,
                         &status, &resp) != 0)
            snprintf(w->err, sizeof w->err, "body %zu: %s", i, w->conn.err);
        else if (status != 200 || !strstr(resp.data, "\"completed\""))
            snprintf(w->err, sizeof w->err, "body %zu: HTTP %d %.200s", i, status, resp.data);
        if (w->err[0]) {
            atomic_store(&w->q->failed, true);
            break;
        }
        w->requests++;
    }
    qv_buf_free(&resp);
    return NULL;
}

/* Uploads every body over conns connections; *secs is the wall time. */
static int run_upload(unsigned port, const body_set *bs, int conns, double *secs)
{
    work_queue q = {.bodies = bs};
    upload_worker w[MAX_CONNS];
    pthread_t t[MAX_CONNS];
    int started = 0, rc = 0;
    double t0 = now();
    for (; started < conns; started++) {
        memset(&w[started], 0, sizeof w[started]);
        w[started].q = &q;
        conn_init(&w[started].conn, port);
        if (pthread_create(&t[started], NULL, upload_thread, &w[started]) != 0)
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    *secs = now() - t0;
    unsigned connects = 0;
    size_t requests = 0;
    for (int i = 0; i < started; i++) {
        if (w[i].err[0]) {
            fprintf(stderr, "upload failed: %s\n", w[i].err);
            rc = -1;
        }
        connects += w[i].conn.connects;
        requests += w[i].requests;
        conn_free(&w[i].conn);
    }
    if (started < conns || (rc == 0 && requests != bs->n)) {
        fprintf(stderr, "upload: %zu of %zu requests done\n", requests, bs->n);
        rc = -1;
    }
    if (rc == 0 && connects != (unsigned)started)
        printf("upload: note: %u connections opened for %d workers (keep-alive broken?)\n",
               connects, started);
    return rc;
}

/* ------------------------------------------------------------ parse-only */

typedef struct parse_worker {
    work_queue *q;
    double      sum;    /* of every element, so the walk cannot be skipped */
    char        err[200];
} parse_worker;

/* What the upsert handler does first: the tree, then every element as float. */
static int parse_and_walk(qv_arena *a, const qv_buf *b, double *sum, char *err, size_t cap)
{
    jr_value *root;
    jr_error e;
    if (jr_parse(a, b->data, b->len, &root, &e) != 0) {
        snprintf(err, cap, "parse: %s at %u:%u", e.msg, e.line, e.column);
        return -1;
    }
    const jr_value *pts = jr_get(root, "points");
    for (uint32_t i = 0; pts && i < pts->len; i++) {
        const jr_value *vec = jr_get(&pts->u.items[i], "vector");
        for (uint32_t j = 0; vec && j < vec->len; j++) {
            float f;
            if (jr_get_f32(&vec->u.items[j], &f))
                *sum += f;
        }
    }
    return 0;
}

static void *parse_thread(void *arg)
{
    parse_worker *w = arg;
    qv_arena a;
    /* Big enough for a whole body's tree (~4 MB), so that every reset reuses
     * one block: this is the reader at its best, the bound to compare with. */
    qv_arena_init(&a, 8u << 20);
    size_t i;
    while (!atomic_load(&w->q->failed) &&
           (i = atomic_fetch_add(&w->q->next, 1)) < w->q->bodies->n) {
        if (parse_and_walk(&a, &w->q->bodies->body[i], &w->sum, w->err, sizeof w->err) != 0) {
            atomic_store(&w->q->failed, true);
            break;
        }
        qv_arena_reset(&a);
    }
    qv_arena_free(&a);
    return NULL;
}

/* Parses every body once, spread over threads; returns the wall time or -1. */
static double run_parse(const body_set *bs, int threads)
{
    work_queue q = {.bodies = bs};
    parse_worker w[PARSE_THREADS];
    pthread_t t[PARSE_THREADS];
    int started = 0;
    double t0 = now();
    for (; started < threads; started++) {
        memset(&w[started], 0, sizeof w[started]);
        w[started].q = &q;
        if (pthread_create(&t[started], NULL, parse_thread, &w[started]) != 0)
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    double secs = now() - t0;
    for (int i = 0; i < started; i++)
        if (w[i].err[0]) {
            fprintf(stderr, "parse-only: %s\n", w[i].err);
            return -1;
        }
    return started == threads ? secs : -1;
}

/* --------------------------------------------------------------- verify */

static int get_json(unsigned port, const char *path, qv_buf *resp, qv_arena *a,
                    const jr_value **result)
{
    jr_value *root;
    jr_error e;
    if (request_once(port, "GET", path, NULL, resp) != 0)
        return -1;
    if (jr_parse(a, resp->data, resp->len, &root, &e) != 0 || !jr_get(root, "result")) {
        fprintf(stderr, "GET %s: unexpected answer %.200s\n", path, resp->data);
        return -1;
    }
    *result = jr_get(root, "result");
    return 0;
}

static int verify_count(unsigned port, size_t points, qv_buf *resp, qv_arena *a)
{
    const jr_value *res;
    uint64_t count;
    if (get_json(port, "/collections/bench", resp, a, &res) != 0)
        return -1;
    if (!jr_get_u64(jr_get(res, "points_count"), &count) || count != points) {
        fprintf(stderr, "verify: points_count is not %zu in %.300s\n", points, resp->data);
        return -1;
    }
    printf("verify: points_count %" PRIu64 " ok\n", count);
    return 0;
}

/* Largest |stored - normalised original| over the vector, or -1 if unreadable. */
static double vector_error(const jr_value *vec, uint64_t id)
{
    float v[DIM];
    point_vector(id, v);
    double norm = 0;
    for (int j = 0; j < DIM; j++)
        norm += (double)v[j] * v[j];
    norm = sqrt(norm);
    if (!jr_is(vec, JR_ARRAY) || vec->len != DIM)
        return -1;
    double worst = 0;
    for (int j = 0; j < DIM; j++) {
        float f;
        if (!jr_get_f32(&vec->u.items[j], &f))
            return -1;
        double d = fabs((double)f - v[j] / norm);
        worst = d > worst ? d : worst;
    }
    return worst;
}

static int verify_point(unsigned port, size_t points, qv_buf *resp, qv_arena *a)
{
    /* A different point each run, named in the output to replay a failure. */
    uint64_t seed = (uint64_t)(now() * 1e9);
    uint64_t id = splitmix64(&seed) % points;
    char path[96], cat[16];
    snprintf(path, sizeof path, "/collections/bench/points/%" PRIu64, id);
    snprintf(cat, sizeof cat, "c%u", point_category(id));
    const jr_value *res, *pc;
    uint64_t got_id;
    if (get_json(port, path, resp, a, &res) != 0)
        return -1;
    double err = vector_error(jr_get(res, "vector"), id);
    pc = jr_get(jr_get(res, "payload"), "category");
    if (!jr_get_u64(jr_get(res, "id"), &got_id) || got_id != id || err < 0 || err > 1e-6 ||
        !jr_is(pc, JR_STRING) || strcmp(pc->u.str, cat) != 0) {
        fprintf(stderr, "verify: point %" PRIu64 " differs (max |diff| %g): %.300s\n", id, err,
                resp->data);
        return -1;
    }
    printf("verify: point %" PRIu64 " vector = normalised original (max |diff| %.1e <= 1e-6), "
           "payload ok\n", id, err);
    return 0;
}

static int verify(unsigned port, size_t points)
{
    qv_buf resp = QV_BUF_INIT;
    qv_arena a;
    qv_arena_init(&a, 0);
    int rc = verify_count(port, points, &resp, &a);
    if (rc == 0 && points > 0)
        rc = verify_point(port, points, &resp, &a);
    qv_arena_free(&a);
    qv_buf_free(&resp);
    return rc;
}

/* --------------------------------------------------------------- report */

static const char *verdict(bool met) { return met ? "met" : "NOT met"; }

static void report_memory(uint64_t base_rss, uint64_t rss, uint64_t hwm, double raw)
{
    bool met = rss / raw <= TARGET_MEM_MAX;
    printf("memory: server VmRSS %.1f MB = %.2fx raw data, %.2fx without the idle %.1f MB "
           "(target <= %.1fx: %s)\n", rss / MB, rss / raw, ((double)rss - base_rss) / raw,
           base_rss / MB, TARGET_MEM_MAX, verdict(met));
    printf("memory: server VmHWM %.1f MB = %.2fx raw data, %.2fx without the idle %.1f MB\n",
           hwm / MB, hwm / raw, ((double)hwm - base_rss) / raw, base_rss / MB);
}

static void report_ratio(double upload_mbs, double parse1_mbs, double parse2_mbs)
{
    double r = upload_mbs / parse2_mbs;
    printf("ratio: end-to-end / parse-only (%d threads) = %.0f%% (target >= %.0f%%: %s)\n",
           PARSE_THREADS, 100 * r, 100 * TARGET_RATIO_MIN, verdict(r >= TARGET_RATIO_MIN));
    printf("ratio: end-to-end / parse-only (1 thread) = %.0f%%\n", 100 * upload_mbs / parse1_mbs);
}

static const char *fs_kind(const char *dir)
{
    struct statfs f;
    if (statfs(dir, &f) != 0)
        return "?";
    return f.f_type == TMPFS_MAGIC ? "tmpfs: fsync is free" : "disk";
}

/* ----------------------------------------------------------------- main */

static int usage(void)
{
    fprintf(stderr, "usage: bench_upload [--points N | --quick] [--connections C] [QUIVER_BIN]\n");
    return 2;
}

/* A whole decimal in [1, max], or 0. */
static unsigned long long count_arg(const char *s, unsigned long long max)
{
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    return *s >= '0' && *s <= '9' && !*end && n <= max ? n : 0;
}

static int parse_args(int argc, char **argv, const char **bin, size_t *points, int *conns)
{
    const char *env = getenv("QUIVER_BIN");
    *bin = env && *env ? env : "build/quiver";
    *points = 100000;
    *conns = CONNS;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            *points = QUICK_POINTS;
        } else if (strcmp(argv[i], "--points") == 0 && i + 1 < argc) {
            if (!(*points = (size_t)count_arg(argv[++i], 100000000ull)))
                return usage();
        } else if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc) {
            if (!(*conns = (int)count_arg(argv[++i], MAX_CONNS)))
                return usage();
        } else if (argv[i][0] != '-') {
            *bin = argv[i];
        } else {
            return usage();
        }
    }
    return 0;
}

/* Upload, memory, verification and parse-only, with the server running. */
static int bench(const server *srv, size_t points, int conns)
{
    body_set bs;
    uint64_t base_rss = 0, base_hwm = 0, rss = 0, hwm = 0;
    static cpu_snapshot cpu0, cpu1;  /* 3 KB each: off the stack */
    double t_up, t_p1, t_p2, t0 = now();
    int rc = -1;
    qv_buf resp = QV_BUF_INIT;

    if (proc_memory(srv->pid, &base_rss, &base_hwm) == 0)
        printf("memory: idle server VmRSS %.1f MB (VmHWM %.1f MB)\n", base_rss / MB,
               base_hwm / MB);
    if (build_bodies(points, &bs) != 0) {
        fprintf(stderr, "out of memory building the bodies\n");
        goto done;
    }
    printf("bodies: %zu x %d points of %d floats, %.1f MB of JSON (built in %.2f s)\n", bs.n,
           BATCH, DIM, bs.bytes / MB, now() - t0);
    if (request_once(srv->port, "PUT", "/collections/bench",
                     "{\"vectors\":{\"size\":128,\"distance\":\"Cosine\"}}", &resp) != 0)
        goto done;
    cpu_snap(srv->pid, &cpu0);
    cpu_use u0 = cpu_use_now();
    if (run_upload(srv->port, &bs, conns, &t_up) != 0)
        goto done;
    cpu_use u1 = cpu_use_now();
    cpu_snap(srv->pid, &cpu1);
    double up_mbs = bs.bytes / t_up / MB;
    printf("upload: %zu points in %.3f s = %.0f points/s, %.1f MB/s "
           "(%d connection%s, batches of %d, wait=true)\n",
           points, t_up, points / t_up, up_mbs, conns, conns == 1 ? "" : "s", BATCH);
    report_cpu(&cpu0, &cpu1, t_up, u0, u1);

    double raw = (double)points * DIM * sizeof(float) + (double)bs.payload_bytes;
    printf("raw data: %.1f MB vectors + %.1f MB payload JSON = %.1f MB\n",
           (double)points * DIM * sizeof(float) / MB, bs.payload_bytes / MB, raw / MB);
    if (proc_memory(srv->pid, &rss, &hwm) == 0)
        report_memory(base_rss, rss, hwm, raw);
    else
        printf("memory: /proc/%d/status unreadable\n", (int)srv->pid);

    if (verify(srv->port, points) != 0)
        goto done;

    if ((t_p1 = run_parse(&bs, 1)) < 0 || (t_p2 = run_parse(&bs, PARSE_THREADS)) < 0)
        goto done;
    double p1 = bs.bytes / t_p1 / MB, p2 = bs.bytes / t_p2 / MB;
    printf("parse-only: 1 thread  %.1f MB/s = %.0f points/s (jr_parse + jr_get_f32 of every "
           "element)\n", p1, points / t_p1);
    printf("parse-only: %d threads %.1f MB/s = %.0f points/s (%.2fx of 1 thread)\n", PARSE_THREADS, p2,
           points / t_p2, p2 / p1);
    report_ratio(up_mbs, p1, p2);
    rc = 0;
done:
    qv_buf_free(&resp);
    free_bodies(&bs);
    return rc;
}

int main(int argc, char **argv)
{
    const char *bin;
    size_t points;
    int conns;
    if (parse_args(argc, argv, &bin, &points, &conns) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);  /* lines show up as they are measured */

    server srv;
    int rc = 1;
    if (server_start(&srv, bin) == 0) {
        printf("server: %s pid %d on 127.0.0.1:%u, storage %s (%s)\n", bin, (int)srv.pid,
               srv.port, srv.dir, fs_kind(srv.dir));
        rc = bench(&srv, points, conns) == 0 ? 0 : 1;
    }
    if (server_stop(&srv) != 0)
        rc = 1;
    return rc;
}

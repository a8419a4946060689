/*
 * bench_common.c — see bench_common.h. Moved out of bench_upload.c so that
 * bench_read drives the server the same way; behaviour unchanged.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
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

#include "util/clock.h"

int bc_start_timeout_ms = 10000;  /* for the "listening on" line */
int bc_stop_timeout_ms  = 10000;  /* after SIGTERM, before SIGKILL */
#define START_TIMEOUT_MS bc_start_timeout_ms
#define STOP_TIMEOUT_MS  bc_stop_timeout_ms
#define IO_TIMEOUT_S     120    /* one request; a batch with fsync takes ms */

double bc_now(void) { return qv_mono_seconds(); }

uint64_t bc_splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

unsigned long long bc_count_arg(const char *s, unsigned long long max)
{
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    return *s >= '0' && *s <= '9' && !*end && n <= max ? n : 0;
}

/* --------------------------------------------------------------- server */

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
static int await_listening(bc_server *s)
{
    line_reader *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->fd = s->err_fd;
    char line[1024];
    double deadline = bc_now() + START_TIMEOUT_MS / 1e3;
    int got = -1;
    double left;
    while ((left = deadline - bc_now()) > 0 &&
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

int bc_server_start(bc_server *s, const char *bin)
{
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/quiver-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
        memset(s, 0, sizeof *s);
        s->err_fd = -1;
        return -1;
    }
    return bc_server_start_in(s, bin, dir);
}

int bc_server_start_in(bc_server *s, const char *bin, const char *dir)
{
    memset(s, 0, sizeof *s);
    s->err_fd = -1;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
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

int bc_server_stop(bc_server *s)
{
    int rc = bc_server_halt(s);
    if (s->dir[0])
        nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
    return rc;
}

int bc_server_halt(bc_server *s)
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
    return rc;
}

int bc_proc_memory(pid_t pid, uint64_t *rss, uint64_t *hwm)
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

const char *bc_fs_kind(const char *dir)
{
    struct statfs f;
    if (statfs(dir, &f) != 0)
        return "?";
    return f.f_type == TMPFS_MAGIC ? "tmpfs: fsync is free" : "disk";
}

/* ------------------------------------------------------------------ cpu */

/* One /proc/PID/task/TID/stat: comm is in parentheses and may hold spaces,
 * so fields are counted from the last ')'; utime and stime are fields 14, 15. */
static int read_thread_cpu(pid_t pid, int tid, bc_thread_cpu *out)
{
    char path[96], line[1024];
    if (tid)
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, tid);
    else  /* the process: its own times and those of its ended threads */
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    char *open = ok ? strchr(line, '(') : NULL, *close = ok ? strrchr(line, ')') : NULL;
    unsigned long long ut, st, minflt;
    if (!open || !close || close < open ||
        sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %llu %*u %*u %*u %llu %llu", &minflt, &ut, &st) != 3)
        return -1;
    out->faults = minflt;
    size_t n = (size_t)(close - open - 1) < sizeof out->comm - 1 ? (size_t)(close - open - 1)
                                                                 : sizeof out->comm - 1;
    memcpy(out->comm, open + 1, n);
    out->comm[n] = '\0';
    out->tid = tid;
    out->secs = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    out->sys = (double)st / (double)sysconf(_SC_CLK_TCK);
    return 0;
}

void bc_cpu_snap(pid_t pid, bc_cpu_snapshot *s)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    s->n = 0;
    bc_thread_cpu all;
    bool got = read_thread_cpu(pid, 0, &all) == 0;
    s->proc = got ? all.secs : 0;
    s->proc_sys = got ? all.sys : 0;
    s->proc_faults = got ? all.faults : 0;
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) && s->n < BC_MAX_THREADS)
        if (e->d_name[0] != '.' && read_thread_cpu(pid, atoi(e->d_name), &s->t[s->n]) == 0)
            s->n++;
    if (d)
        closedir(d);
}

static double cpu_before(const bc_cpu_snapshot *s, int tid)
{
    for (int i = 0; i < s->n; i++)
        if (s->t[i].tid == tid)
            return s->t[i].secs;
    return 0;  /* started since */
}

static int by_secs_desc(const void *a, const void *b)
{
    double x = ((const bc_thread_cpu *)a)->secs, y = ((const bc_thread_cpu *)b)->secs;
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

/* What the CPUs did, so that a slow figure can be told apart from a busy
 * machine. */
bc_cpu_use bc_cpu_use_now(void) { return (bc_cpu_use){machine_busy(), self_cpu()}; }

/* "server cpu: T s in W s = C cores; by thread: ..." for the threads that
 * worked, then the machine's whole use over the same time. */
void bc_report_cpu(const char *what, const bc_cpu_snapshot *before, bc_cpu_snapshot *after,
                   double wall, bc_cpu_use u0, bc_cpu_use u1)
{
    double live = 0, total = after->proc - before->proc;
    for (int i = 0; i < after->n; i++) {
        after->t[i].secs -= cpu_before(before, after->t[i].tid);
        live += after->t[i].secs;
    }
    if (total < live)  /* clock ticks: the two reads are not one instant */
        total = live;
    qsort(after->t, (size_t)after->n, sizeof after->t[0], by_secs_desc);
    printf("server cpu: %.2f s (%.2f s of it in the kernel; %llu page faults) in %.3f s of %s = %.2f cores; by thread:",
           total, after->proc_sys - before->proc_sys, after->proc_faults - before->proc_faults, wall, what,
           total / wall);
    for (int i = 0; i < after->n && after->t[i].secs > 0; i++)
        printf(" %s[%d] %.2f s", after->t[i].comm, after->t[i].tid, after->t[i].secs);
    if (total - live >= 0.005)
        printf(" threads ended meanwhile %.2f s", total - live);
    printf("\n");
    double machine = u1.machine - u0.machine, self = u1.self - u0.self;
    double others = machine - total - self;
    printf("machine cpu: %.2f of %ld cores busy during the %s (server %.2f s, bench client "
           "%.2f s, other processes %.2f s)\n", machine / wall, sysconf(_SC_NPROCESSORS_ONLN),
           what, total, self, others > 0 ? others : 0);
}

/* ----------------------------------------------------------- HTTP client */

void bc_conn_init(bc_conn *c, unsigned port)
{
    memset(c, 0, sizeof *c);
    c->port = port;
    c->fd = -1;
}

static void conn_close(bc_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in.len = 0;
}

void bc_conn_free(bc_conn *c)
{
    conn_close(c);
    qv_buf_free(&c->in);
}

static int conn_fail(bc_conn *c, const char *what, int e)
{
    snprintf(c->err, sizeof c->err, "%s: %s", what, e ? strerror(e) : "protocol error");
    conn_close(c);
    return -1;
}

static int conn_open(bc_conn *c)
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
static int send_all(bc_conn *c, struct iovec *iov, int n)
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
static ssize_t recv_more(bc_conn *c)
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
static int parse_head(bc_conn *c, char *head, resp_head *h)
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
static int read_head(bc_conn *c, resp_head *h)
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
static int read_body(bc_conn *c, const resp_head *head, qv_buf *out)
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

int bc_send(bc_conn *c, const char *method, const char *path, const char *body, size_t body_len)
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
    return send_all(c, iov, body ? 2 : 1);
}

int bc_receive(bc_conn *c, int *status, qv_buf *resp)
{
    resp_head h;
    if (c->fd < 0)
        return conn_fail(c, "receive without a request", 0);
    if (read_head(c, &h) != 0 || read_body(c, &h, resp) != 0)
        return -1;
    *status = h.status;
    return 0;
}

int bc_request(bc_conn *c, const char *method, const char *path, const char *body,
               size_t body_len, int *status, qv_buf *resp)
{
    if (bc_send(c, method, path, body, body_len) != 0)
        return -1;
    return bc_receive(c, status, resp);
}

int bc_request_ok(bc_conn *c, const char *method, const char *path, const char *body,
                  qv_buf *resp)
{
    int status = 0;
    int rc = bc_request(c, method, path, body, body ? strlen(body) : 0, &status, resp);
    if (rc != 0)
        fprintf(stderr, "%s %s: %s\n", method, path, c->err);
    else if (status != 200)
        fprintf(stderr, "%s %s: HTTP %d %s\n", method, path, status, resp->data);
    return rc == 0 && status == 200 ? 0 : -1;
}

int bc_request_once(unsigned port, const char *method, const char *path, const char *body,
                    qv_buf *resp)
{
    bc_conn c;
    bc_conn_init(&c, port);
    int rc = bc_request_ok(&c, method, path, body, resp);
    bc_conn_free(&c);
    return rc;
}

/* ---------------------------------------------------------------- upload */

void bc_free_bodies(bc_body_set *bs)
{
    for (size_t i = 0; bs->body && i < bs->n; i++)
        qv_buf_free(&bs->body[i]);
    free(bs->body);
    bs->body = NULL;
}

typedef struct upload_worker {
    bc_work_queue *q;
    bc_conn        conn;
    size_t         requests;
    char           err[320];
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
        double t = bc_now();
        int r = bc_request(&w->conn, "PUT", "/collections/bench/points?wait=true", b->data, b->len, &status, &resp);
        double now = bc_now();
        if (w->q->lat)
            w->q->lat[i] = now - t;
        if (w->q->done)
            w->q->done[i] = now - w->q->t0;
        if (r != 0)
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

int bc_run_upload(unsigned port, const bc_body_set *bs, int conns, double *secs)
{
    return bc_run_upload_timed(port, bs, conns, secs, NULL, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void bc_report_upload_timing(const char *what, double *lat, double *done, size_t n, size_t points_per_body)
{
    if (n < 10)
        return;
    qsort(done, n, sizeof *done, cmp_double);
    qsort(lat, n, sizeof *lat, cmp_double);
    printf("%s: points/s per 10%% of the bodies:", what);
    double prev = 0, first = 0, last = 0;
    for (int k = 1; k <= 10; k++) {
        size_t lo = (size_t)(k - 1) * n / 10, hi = (size_t)k * n / 10;
        double t = done[hi - 1], rate = (double)(hi - lo) * (double)points_per_body / (t - prev);
        printf(" %.0f", rate);
        if (k == 1)
            first = rate;
        last = rate;
        prev = t;
    }
    printf(" (last / first = %.2f)\n", last / first);
    double p50 = lat[n / 2], p99 = lat[(size_t)((double)n * 0.99)], max = lat[n - 1];
    printf("%s: write latency p50 / p99 / max: %.1f / %.1f / %.1f ms (p99 / p50 = %.1f)\n", what, p50 * 1e3,
           p99 * 1e3, max * 1e3, p99 / p50);
}

int bc_run_upload_timed(unsigned port, const bc_body_set *bs, int conns, double *secs, double *lat, double *done)
{
    bc_work_queue q = {.bodies = bs, .lat = lat, .done = done};
    upload_worker w[MAX_CONNS];
    pthread_t t[MAX_CONNS];
    int started = 0, rc = 0;
    double t0 = bc_now();
    q.t0 = t0;
    for (; started < conns; started++) {
        memset(&w[started], 0, sizeof w[started]);
        w[started].q = &q;
        bc_conn_init(&w[started].conn, port);
        if (pthread_create(&t[started], NULL, upload_thread, &w[started]) != 0)
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    *secs = bc_now() - t0;
    unsigned connects = 0;
    size_t requests = 0;
    for (int i = 0; i < started; i++) {
        if (w[i].err[0]) {
            fprintf(stderr, "upload failed: %s\n", w[i].err);
            rc = -1;
        }
        connects += w[i].conn.connects;
        requests += w[i].requests;
        bc_conn_free(&w[i].conn);
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

int bc_parse_args(int argc, char **argv, const char *name, size_t default_points,
                  size_t quick_points, int default_conns, bc_args *out)
{
    const char *env = getenv("QUIVER_BIN");
    out->bin = env && *env ? env : "build/quiver";
    out->points = default_points;
    out->conns = default_conns;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            out->points = quick_points;
        } else if (strcmp(argv[i], "--points") == 0 && i + 1 < argc) {
            if (!(out->points = (size_t)bc_count_arg(argv[++i], 100000000ull)))
                goto usage;
        } else if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc) {
            if (!(out->conns = (int)bc_count_arg(argv[++i], MAX_CONNS)))
                goto usage;
        } else if (argv[i][0] != '-') {
            out->bin = argv[i];
        } else {
            goto usage;
        }
    }
    return 0;
usage:
    fprintf(stderr, "usage: %s [--points N | --quick] [--connections C] [QUIVER_BIN]\n", name);
    return -1;
}

/* One body: ids [first, first+count). */
static void build_body(qv_buf *b, uint64_t first, size_t count, bc_point_fn vector,
                       bc_point_fn payload, size_t *payload_bytes)
{
    jw w;
    jw_init(&w, b);
    jw_obj_begin(&w);
    jw_key(&w, "points");
    jw_arr_begin(&w);
    for (uint64_t id = first; id < first + count; id++) {
        jw_obj_begin(&w);
        jw_key(&w, "id");
        jw_uint(&w, id);
        jw_key(&w, "vector");
        vector(&w, id);
        jw_key(&w, "payload");
        size_t at = b->len;
        payload(&w, id);
        *payload_bytes += b->len - at;
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
}

void bc_write_floats(jw *w, const float *v, uint32_t n)
{
    jw_arr_begin(w);
    for (uint32_t i = 0; i < n; i++)
        jw_f32(w, v[i]);
    jw_arr_end(w);
}

void bc_search_body(qv_buf *body, const float *q, uint32_t dim, uint32_t k, uint32_t ef, const char *filter)
{
    jw w;
    jw_init(&w, body);
    jw_obj_begin(&w);
    jw_key(&w, "vector");
    bc_write_floats(&w, q, dim);
    jw_key(&w, "limit");
    jw_uint(&w, k);
    jw_key(&w, "params");
    jw_obj_begin(&w);
    jw_key(&w, "hnsw_ef");
    jw_uint(&w, ef);
    jw_obj_end(&w);
    if (filter) {
        jw_key(&w, "filter");
        jw_raw(&w, filter, strlen(filter));
    }
    jw_obj_end(&w);
}

int bc_build_bodies(bc_body_set *bs, size_t points, size_t batch, bc_point_fn vector,
                    bc_point_fn payload)
{
    return bc_build_bodies_from(bs, 0, points, batch, vector, payload);
}

int bc_build_bodies_from(bc_body_set *bs, uint64_t first_id, size_t points, size_t batch, bc_point_fn vector,
                         bc_point_fn payload)
{
    memset(bs, 0, sizeof *bs);
    bs->n = (points + batch - 1) / batch;
    bs->body = calloc(bs->n ? bs->n : 1, sizeof *bs->body);
    if (!bs->body)
        return -1;
    for (size_t i = 0; i < bs->n; i++) {
        uint64_t first = (uint64_t)i * batch;
        size_t count = points - first < batch ? points - first : batch;
        build_body(&bs->body[i], first_id + first, count, vector, payload, &bs->payload_bytes);
        if (!qv_buf_ok(&bs->body[i]))
            return -1;
        bs->bytes += bs->body[i].len;
    }
    return 0;
}

/*
 * main.c — `quiver serve`: settings, the engine, the HTTP server, and a
 * clean stop on SIGINT/SIGTERM.
 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "quiver.h"
#include "server/http.h"
#include "server/settings.h"
#include "util/log.h"

extern char **environ;

static int usage(void)
{
    fprintf(stderr, "usage: quiver serve [--host H] [--port P] [--storage DIR] [--config FILE]\n");
    return 2;
}

static int serve(int argc, char **argv)
{
    qv_settings s;
    char msg[1024];
    int rc = settings_from_args(&s, argc, argv, environ, msg, sizeof msg);
    if (rc != 0) {
        fprintf(stderr, "%s\n", msg);
        return rc > 0 ? 0 : 2;
    }
    int level = qv_log_level_parse(s.log_level);
    if (level < 0) {
        fprintf(stderr, "invalid log level \"%s\"\n", s.log_level);
        return 2;
    }
    qv_log_set_level((qv_log_level)level);

    /* Large buffers (request bodies, parse arenas) are reused by their
     * owners; fixing the mmap threshold stops glibc from raising it after
     * each free, which would leave every transient megabyte in the heap. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);

    /* Signals go to this thread only: block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    qv_db *db;
    qv_error err;
    if (qv_open(s.storage, &db, &err) != QV_OK) {
        QV_ERROR("cannot open storage: %s", err.msg);
        return 1;
    }
    qv_http *http;
    unsigned port;
    if (http_start(&s, db, &http, &port, msg, sizeof msg) != 0) {
        QV_ERROR("%s", msg);
        qv_close(db);
        return 1;
    }
    QV_INFO("quiver %s listening on http://%s:%u storage %s", QV_API_VERSION, s.host, port,
            s.storage);

    int sig = 0;
    sigwait(&sigs, &sig);
    QV_INFO("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_stop(http);
    qv_close(db);
    QV_INFO("stopped");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 2, argv + 2);
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("quiver %s\n", QV_API_VERSION);
        return 0;
    }
    return usage();
}

/*
 * settings.h — server settings from defaults, a YAML config file in Qdrant's
 * layout, Qdrant's environment variables and command-line flags, in that
 * order of precedence (later wins).
 *
 * Keys (YAML path / environment variable):
 *   service.host                 QDRANT__SERVICE__HOST                 default 127.0.0.1
 *   service.http_port            QDRANT__SERVICE__HTTP_PORT            default 6333 (0: any free port)
 *   service.max_request_size_mb  QDRANT__SERVICE__MAX_REQUEST_SIZE_MB  default 32
 *   service.max_workers          QDRANT__SERVICE__MAX_WORKERS          default 0 (= no cap on handlers at once)
 *   storage.storage_path         QDRANT__STORAGE__STORAGE_PATH         default ./storage
 *   log_level                    QDRANT__LOG_LEVEL                     default INFO
 * Other keys of Qdrant's config are accepted and ignored.
 */
#ifndef QV_SERVER_SETTINGS_H
#define QV_SERVER_SETTINGS_H

#include <limits.h>
#include <stddef.h>

typedef struct qv_settings {
    char     host[256];
    unsigned port;
    size_t   max_body;       /* bytes */
    unsigned workers;        /* handlers running at once at most; 0 = no cap */
    char     storage[PATH_MAX];
    char     log_level[16];
    char     config_file[PATH_MAX];  /* "" when none */
} qv_settings;

void settings_defaults(qv_settings *s);

/* Set one key (YAML path form) from text; -1 with a message if the key is
 * known and the value is bad. Unknown keys return 0 and are ignored. */
int settings_set(qv_settings *s, const char *key, const char *value, char *err, size_t errlen);

/* Apply a YAML file. -1 with a message on I/O or syntax errors. */
int settings_load_yaml(qv_settings *s, const char *path, char *err, size_t errlen);

/* Apply QDRANT__A__B=value variables from envp. */
int settings_load_env(qv_settings *s, char **envp, char *err, size_t errlen);

/*
 * Everything for `quiver serve [--host H] [--port P] [--storage DIR]
 * [--config FILE]`: defaults, then FILE (or ./config/config.yaml if it
 * exists and no --config), then the environment, then the flags.
 * argv[0] is the first argument after "serve". Returns 0, or -1 with a
 * message; 1 when --help was asked (usage is in err).
 */
int settings_from_args(qv_settings *s, int argc, char **argv, char **envp, char *err, size_t errlen);

#endif

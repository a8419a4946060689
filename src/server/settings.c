/* settings.c — see settings.h. */
#include "server/settings.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#define USAGE "usage: quiver serve [--host H] [--port P] [--storage DIR] [--config FILE]"

void settings_defaults(qv_settings *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->host, sizeof s->host, "127.0.0.1");
    s->port = 6333;
    s->max_body = 32u << 20;
    snprintf(s->storage, sizeof s->storage, "./storage");
    snprintf(s->log_level, sizeof s->log_level, "INFO");
}

static int parse_uint(const char *v, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*v))
        return -1;
    unsigned long x = strtoul(v, &end, 10);
    if (errno || *end || x > max)
        return -1;
    *out = x;
    return 0;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= cap)
        return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

int settings_set(qv_settings *s, const char *key, const char *value, char *err, size_t errlen)
{
    unsigned long u;
    int bad = 0;
    if (strcmp(key, "service.host") == 0)
        bad = copy_str(s->host, sizeof s->host, value);
    else if (strcmp(key, "service.http_port") == 0)
        bad = parse_uint(value, 65535, &u) || (s->port = (unsigned)u, 0);
    else if (strcmp(key, "service.max_request_size_mb") == 0)
        bad = parse_uint(value, 4096, &u) || u == 0 || (s->max_body = (size_t)u << 20, 0);
    else if (strcmp(key, "service.max_workers") == 0)
        bad = parse_uint(value, 1024, &u) || (s->workers = (unsigned)u, 0);
    else if (strcmp(key, "storage.storage_path") == 0)
        bad = copy_str(s->storage, sizeof s->storage, value);
    else if (strcmp(key, "log_level") == 0)
        bad = copy_str(s->log_level, sizeof s->log_level, value);
    if (bad) {
        snprintf(err, errlen, "invalid value for %s: \"%s\"", key, value);
        return -1;
    }
    return 0;
}

/* Walk the YAML event stream keeping the path of mapping keys; every scalar
 * value is offered to settings_set under its dotted path. */
int settings_load_yaml(qv_settings *s, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t p;
    yaml_event_t ev;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    enum { MAX_DEPTH = 16 };
    char keys[MAX_DEPTH][128];
    bool expect_key[MAX_DEPTH];   /* in a mapping: the next scalar is a key */
    int depth = 0;                /* mapping depth; 0 = outside any mapping */
    int seq = 0;                  /* sequence nesting: values inside are ignored */
    int rc = 0;
    for (bool done = false; !done && rc == 0;) {
        if (!yaml_parser_parse(&p, &ev)) {
            snprintf(err, errlen, "config file %s: %s at line %zu", path,
                     p.problem ? p.problem : "syntax error", p.problem_mark.line + 1);
            rc = -1;
            break;
        }
        switch (ev.type) {
        case YAML_MAPPING_START_EVENT:
            if (seq == 0 && depth < MAX_DEPTH) {
                expect_key[depth++] = true;  /* its first scalar is a key */
            } else {
                seq++;  /* treat deeper structures as opaque */
            }
            break;
        case YAML_MAPPING_END_EVENT:
            if (seq > 0) {
                seq--;
            } else if (depth > 0) {
                depth--;
                if (depth > 0)
                    expect_key[depth - 1] = true;
            }
            break;
        case YAML_SEQUENCE_START_EVENT: seq++; break;
        case YAML_SEQUENCE_END_EVENT:
            seq--;
            if (seq == 0 && depth > 0)
                expect_key[depth - 1] = true;
            break;
        case YAML_SCALAR_EVENT:
            if (seq > 0 || depth == 0)
                break;
            if (expect_key[depth - 1]) {
                snprintf(keys[depth - 1], sizeof keys[0], "%s", (const char *)ev.data.scalar.value);
                expect_key[depth - 1] = false;
            } else {
                char full[MAX_DEPTH * 128] = "";
                for (int i = 0; i < depth; i++) {
                    if (i)
                        strcat(full, ".");
                    strcat(full, keys[i]);
                }
                const char *v = (const char *)ev.data.scalar.value;
                bool is_null = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                               (!*v || strcmp(v, "null") == 0 || strcmp(v, "~") == 0);
                if (!is_null)
                    rc = settings_set(s, full, v, err, errlen);
                expect_key[depth - 1] = true;
            }
            break;
        case YAML_STREAM_END_EVENT: done = true; break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

int settings_load_env(qv_settings *s, char **envp, char *err, size_t errlen)
{
    static const char prefix[] = "QDRANT__";
    for (char **e = envp; e && *e; e++) {
        if (strncmp(*e, prefix, sizeof prefix - 1) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char key[256];
        size_t j = 0;
        for (const char *c = *e + sizeof prefix - 1; c < eq && j < sizeof key - 1; c++) {
            if (c[0] == '_' && c[1] == '_') {
                key[j++] = '.';
                c++;
            } else {
                key[j++] = (char)tolower((unsigned char)*c);
            }
        }
        key[j] = '\0';
        if (settings_set(s, key, eq + 1, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int settings_from_args(qv_settings *s, int argc, char **argv, char **envp, char *err, size_t errlen)
{
    settings_defaults(s);
    /* The config file comes first whatever the flag order, so find it first. */
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc || copy_str(s->config_file, sizeof s->config_file, argv[i + 1])) {
                snprintf(err, errlen, "--config needs a file\n%s", USAGE);
                return -1;
            }
        }
    if (!s->config_file[0] && access("config/config.yaml", R_OK) == 0)
        snprintf(s->config_file, sizeof s->config_file, "config/config.yaml");
    if (s->config_file[0] && settings_load_yaml(s, s->config_file, err, errlen) != 0)
        return -1;
    if (settings_load_env(s, envp, err, errlen) != 0)
        return -1;
    static const struct { const char *flag, *key; } flags[] = {
        {"--host", "service.host"},
        {"--port", "service.http_port"},
        {"--storage", "storage.storage_path"},
        {"--max-request-size-mb", "service.max_request_size_mb"},
        {"--workers", "service.max_workers"},
        {"--log-level", "log_level"},
    };
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            snprintf(err, errlen, "%s", USAGE);
            return 1;
        }
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        size_t k = 0, nflags = sizeof flags / sizeof *flags;
        while (k < nflags && strcmp(argv[i], flags[k].flag) != 0)
            k++;
        if (k == nflags) {
            snprintf(err, errlen, "unknown argument \"%s\"\n%s", argv[i], USAGE);
            return -1;
        }
        if (i + 1 >= argc) {
            snprintf(err, errlen, "%s needs a value\n%s", argv[i], USAGE);
            return -1;
        }
        if (settings_set(s, flags[k].key, argv[++i], err, errlen) != 0)
            return -1;
    }
    return 0;
}

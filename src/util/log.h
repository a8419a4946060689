/*
 * log.h — one line per event on stderr: "2026-11-29T17:54:27.123Z INFO message".
 * Threading: safe; a line is written with one write(2).
 */
#ifndef QV_UTIL_LOG_H
#define QV_UTIL_LOG_H

typedef enum qv_log_level { QV_LOG_DEBUG, QV_LOG_INFO, QV_LOG_WARN, QV_LOG_ERROR } qv_log_level;

/* Lines below level are dropped (default INFO). */
void qv_log_set_level(qv_log_level level);
/* Parse "debug" | "info" | "warn" | "error" (any case); -1 if unknown. */
int  qv_log_level_parse(const char *s);
void qv_log(qv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define QV_INFO(...)  qv_log(QV_LOG_INFO, __VA_ARGS__)
#define QV_WARN(...)  qv_log(QV_LOG_WARN, __VA_ARGS__)
#define QV_ERROR(...) qv_log(QV_LOG_ERROR, __VA_ARGS__)

#endif

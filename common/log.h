/* log.h -- the diagnostics log: one event per line, Redis's log-line look.
 *
 *     12345:C 25 Nov 2026 14:20:01.123 * round 42 committed
 *
 * pid, a role letter (C coordinator, R replica, L launcher), the time with milliseconds, a
 * level mark (. debug, - verbose, * notice, # warning) and the message. Diagnostics are
 * never protocol data: the vote and decision logs are journals (journal.h).
 *
 * log_init() once at start-up; then log_msg() or the LOG_* shorthands anywhere. libevent's
 * own warnings are routed in by log_init().
 */
#ifndef TWOPC_LOG_H
#define TWOPC_LOG_H

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_VERBOSE, LOG_LEVEL_NOTICE, LOG_LEVEL_WARNING,
                 LOG_LEVEL_MAX };

/* role: one letter; path NULL logs to stderr. Returns 0, or -1 if path can't be opened
 * (then it logs to stderr). */
int log_init(char role, const char *path, enum log_level min);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG_DEBUG(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define LOG_VERBOSE(...) log_msg(LOG_LEVEL_VERBOSE, __VA_ARGS__)
#define LOG_NOTICE(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define LOG_WARNING(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)

/* Parses "debug", "verbose", "notice" or "warning"; returns LOG_LEVEL_MAX if none. */
enum log_level log_level_parse(const char *name);

/* Writes "<pid>\n" to path. Returns 0 or -1 (errno set). */
int log_write_pidfile(const char *path);

#endif

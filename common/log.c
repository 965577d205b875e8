/* log.c -- diagnostics log lines in Redis's format, to a file or stderr.
 *
 * Each call formats the whole line into one buffer and writes it with a single write(2) on
 * an O_APPEND descriptor, so lines from a crashing process are never interleaved halfway
 * and `tail -f` sees complete lines.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

static int log_fd = 2;
static char log_role = '?';
static enum log_level log_min = LOG_LEVEL_NOTICE;

static void libevent_log(int severity, const char *msg)
{
    enum log_level level = severity >= EVENT_LOG_WARN ? LOG_LEVEL_WARNING : LOG_LEVEL_VERBOSE;
    log_msg(level, "libevent: %s", msg);
}

int log_init(char role, const char *path, enum log_level min)
{
    log_role = role;
    log_min = min;
    event_set_log_callback(libevent_log);
    if (!path)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_msg(LOG_LEVEL_WARNING, "can't open log file %s: %s", path, strerror(errno));
        return -1;
    }
    log_fd = fd;
    return 0;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char marks[] = ".-*#";
    char line[1024];
    struct timeval tv;
    struct tm tm;

    if (level < log_min || level >= LOG_LEVEL_MAX)
        return;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = (size_t)snprintf(line, sizeof line, "%d:%c ", (int)getpid(), log_role);
    n += strftime(line + n, sizeof line - n, "%d %b %Y %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ".%03d %c ", (int)(tv.tv_usec / 1000),
                          marks[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    /* A message longer than the buffer is cut; the line always ends with '\n'. */
    n = m < 0 ? n : (n + (size_t)m < sizeof line - 1 ? n + (size_t)m : sizeof line - 2);
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, n);
    (void)w; /* nowhere to report a failed diagnostics write */
}

enum log_level log_level_parse(const char *name)
{
    static const char *names[] = { "debug", "verbose", "notice", "warning" };
    for (int i = 0; i < LOG_LEVEL_MAX; i++)
        if (strcmp(name, names[i]) == 0)
            return (enum log_level)i;
    return LOG_LEVEL_MAX;
}

int log_write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fchmod(fileno(f), 0644); /* a pid is no secret: readable by all, as Redis's pidfile */
    fprintf(f, "%d\n", (int)getpid());
    return fclose(f) == 0 ? 0 : -1;
}

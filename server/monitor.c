/* monitor.c -- the MONITOR feed (see monitor.h).
 *
 * One line per command: a "+<unix time>.<usec> [<db> <peer>]" prefix (db: the client's
 * selected database), then each argument quoted the way Redis's sdscatrepr() quotes it,
 * then CRLF. The line is built in a heap buffer grown as needed (an argument may be large),
 * pushed to each monitoring client's reply queue (client_push keeps it in order with that
 * client's own replies), and freed.
 */
#include "monitor.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "client.h"
#include "redact.h"

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    char *nb = realloc(*buf, c);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = c;
    return 0;
}

/* Appends " \"s\"" the way Redis's sdscatrepr() quotes: \n, \", \\ ... and \xHH escapes. */
static void append_repr(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (grow(buf, cap, *len + 4 * n + 4) < 0)
        return;
    char *o = *buf + *len;
    *o++ = ' ';
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *esc = NULL;
        switch (ch) {
        case '\\': esc = "\\\\"; break;
        case '"': esc = "\\\""; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\a': esc = "\\a"; break;
        case '\b': esc = "\\b"; break;
        }
        if (esc) {
            memcpy(o, esc, 2);
            o += 2;
        } else if (isprint(ch)) {
            *o++ = (char)ch;
        } else {
            o += sprintf(o, "\\x%02x", ch);
        }
    }
    *o++ = '"';
    *len = (size_t)(o - *buf);
}

void monitor_feed(const struct client *cl, int argc, char *const *argv, const size_t *lens)
{
    if (client_monitor_count() == 0)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct client_info ci;
    client_get_info(cl, &ci);
    size_t len = 0, cap = 0;
    char *buf = NULL;
    if (grow(&buf, &cap, 128) < 0)
        return;
    len = (size_t)snprintf(buf, cap, "+%ld.%06ld [%d %s]", (long)tv.tv_sec,
                           (long)tv.tv_usec, ci.db, ci.addr);
    for (int i = 0; i < argc; i++) {
        if (redact_arg(argc, argv, lens, i)) /* AUTH's password... as Redis 7 (redact.h) */
            append_repr(&buf, &len, &cap, REDACT_TEXT, sizeof REDACT_TEXT - 1);
        else
            append_repr(&buf, &len, &cap, argv[i], lens[i]);
    }
    if (grow(&buf, &cap, len + 2) < 0) {
        free(buf);
        return;
    }
    memcpy(buf + len, "\r\n", 2);
    len += 2;
    for (struct client *m = client_first(); m; m = client_next(m))
        if (client_monitor(m))
            client_push(m, buf, len);
    free(buf);
}

static int name_in(const char *name, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(name, *names) == 0)
            return 1;
    return 0;
}

int monitor_hidden(const char *name, const struct resp_request *req)
{
    static const char *const hidden[] = { "config", "debug", "monitor",
                                          "shutdown", "slowlog", "latency", NULL };
    static const char *const client_admin[] = { "kill", "list", "pause", "unpause",
                                                "no-evict", NULL };
    if (name_in(name, hidden))
        return 1;
    if (strcmp(name, "client") != 0 || req->argc < 2)
        return 0;
    for (const char *const *s = client_admin; *s; s++)
        if (strcasecmp(*s, req->argv[1]) == 0)
            return 1;
    return 0;
}

/* settings.h -- the coordinator's run-time settings, and CONFIG GET / SET / RESETSTAT.
 *
 * One table lists every parameter CONFIG knows: the ones that can change at run time
 * (timeout, requirepass, maxclients, slowlog-*, client-query-buffer-limit...), fixed ones
 * that tools ask about (port, dir, save, appendonly...), and twopc's own read-only ones
 * (prepare-timeout-ms). main.c fills the initial values from the command line with
 * settings_set() before the server starts; the rest of the coordinator reads them through
 * settings_get(). A change with a side effect (maxclients, the query limit) is pushed to
 * the module concerned at once.
 *
 * Error texts are Redis 7's: "Unknown option or number of arguments for CONFIG SET - '%s'",
 * "CONFIG SET failed (possibly related to argument '%s') - <reason>".
 */
#ifndef TWOPC_SETTINGS_H
#define TWOPC_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

struct coord;

struct settings {
    long long timeout;             /* idle seconds before a client is closed; 0: never */
    char *requirepass;             /* "" : no password */
    long long maxclients;
    long long slowlog_slower_than; /* microseconds; -1: off, 0: every command */
    long long slowlog_max_len;
    long long query_limit;         /* client-query-buffer-limit, bytes */
    long long latency_threshold;   /* latency-monitor-threshold: accepted, not used */
};

/* Links the settings to the coordinator (port, dir...) and pushes the initial values. */
void settings_init(struct coord *c);
const struct settings *settings_get(void);

/* Sets one parameter as CONFIG SET would (main.c uses it for --timeout...). Returns 0, or
 * -1 with Redis's reason in err ("argument couldn't be parsed into an integer"). */
int settings_set(const char *name, const char *value, size_t len, char *err, size_t errlen);

/* True when clients must AUTH first. */
int settings_password_required(void);

#endif

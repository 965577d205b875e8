/* settings.h -- the coordinator's run-time settings: values, checks, defaults.
 *
 * One table lists every parameter CONFIG knows: the ones that can change at run time
 * (timeout, requirepass, maxclients, slowlog-*, client-query-buffer-limit..., and the
 * replica set's min-replicas, down-after-ms, write-wait-ms), fixed ones
 * that tools ask about (port, dir, save, appendonly...), and twopc's own read-only ones
 * (prepare-timeout-ms). main.c fills the initial values from the command line with
 * settings_set() before the server starts; the rest of the coordinator reads them through
 * settings_get(). A change with a side effect (maxclients, the query limit, the password)
 * is pushed to the module concerned at once (client.h, conn.h, the round engine's
 * txn_set_min_replicas / txn_set_down_after / txn_set_write_wait).
 *
 * Only the values live here; the CONFIG command that shows and changes them is
 * config_cmd.c, which walks the table with settings_count() / settings_name() /
 * settings_value() and changes it in two steps (settings_check() every pair first, then
 * settings_store() them all), as Redis 7's all-or-nothing CONFIG SET does.
 */
#ifndef TWOPC_SETTINGS_H
#define TWOPC_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

struct coord;

/* The most parameters the table may hold (callers size arrays with it). */
#define SETTINGS_MAX 96

enum settings_obuf_class { SETTINGS_OBUF_NORMAL, SETTINGS_OBUF_REPLICA, SETTINGS_OBUF_PUBSUB,
                           SETTINGS_OBUF_CLASSES };

struct settings {
    long long timeout;             /* idle seconds before a client is closed; 0: never */
    char *requirepass;             /* "" : no password */
    long long maxclients;
    long long slowlog_slower_than; /* microseconds; -1: off, 0: every command */
    long long slowlog_max_len;
    long long query_limit;         /* client-query-buffer-limit, bytes */
    long long latency_threshold;   /* latency-monitor-threshold: accepted, not used */
    /* The replica set's (txn.h, pushed to the round engine when changed): */
    long long min_replicas;        /* 0: every member must vote */
    long long down_after_ms;       /* down this long: left out of the in-sync set */
    long long write_wait_ms;       /* a write waits this long for a reconnecting link */
    long long link_timeout_ms;     /* no reply this long: the link is dropped (replica_link.h) */
    /* client-output-buffer-limit, Redis's classes: hard, soft (bytes), soft seconds. normal
     * and pubsub apply; slave is kept and shown for Redis tools (twopc has no replicas in
     * Redis's sense). */
    long long obuf[SETTINGS_OBUF_CLASSES][3];
    long long notify_flags;        /* notify-keyspace-events (notify.h's NOTIFY_*) */
};

/* Links the settings to the coordinator (port, dir...) and pushes the initial values. */
void settings_init(struct coord *c);
const struct settings *settings_get(void);

/* Sets one parameter as CONFIG SET would (main.c uses it for --timeout...). Returns 0, or
 * -1 with Redis's reason in err ("argument couldn't be parsed into an integer"). */
int settings_set(const char *name, const char *value, size_t len, char *err, size_t errlen);

/* True when clients must AUTH first. */
int settings_password_required(void);
/* The number of databases (SELECT 0 .. n - 1): --databases, immutable at run time. */
int settings_databases(void);
/* SELECT's argument as Redis 7 checks it: the database (0 .. settings_databases() - 1), or
 * -1 with *err set to Redis's error text (a static string). */
int settings_parse_db(const char *arg, size_t len, const char **err);

/* ---- the table, parameter i in [0, settings_count()) ---- */
size_t settings_count(void);
const char *settings_name(size_t i);
/* The value as CONFIG GET shows it (a number is formatted into buf[0..len)). */
const char *settings_value(size_t i, char *buf, size_t len);
/* The index of the parameter called name (any case), or -1. */
int settings_find(const char *name);
/* Parses and checks value for parameter i into *num. Returns 0, or -1 with Redis's reason
 * in err ("can't set immutable config", "argument must be between ..."). Changes nothing. */
int settings_check(size_t i, const char *value, size_t len, long long *num, char *err,
                   size_t errlen);
/* Stores a value settings_check() accepted (num is what it parsed) and applies its side
 * effect. Returns 0, or -1 when out of memory (a string value). */
int settings_store(size_t i, const char *value, size_t len, long long num);

#endif

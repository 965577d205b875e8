/* settings.c -- the coordinator's run-time settings: the parameter table (see settings.h).
 *
 * Each parameter is a row: its name, its kind (integer, memory size, string, or a fixed
 * text), its range, where its value lives and, if changing it must reach another module,
 * an apply function. Checking a value and storing it are two steps, so that CONFIG SET
 * (config_cmd.c) can check every pair of a request before it stores any.
 */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include "settings.h"

#include <ctype.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "conn.h"
#include "coord.h"
#include "replica_link.h"
#include "txn.h"
#include "util.h"

static struct settings cur = {
    .timeout = 0,
    .maxclients = 10000,
    .slowlog_slower_than = 10000,
    .slowlog_max_len = 128,
    .query_limit = 1LL << 30,
    .latency_threshold = 0,
    .min_replicas = 0,
    .down_after_ms = 5000,
    .write_wait_ms = 2000,
    .link_timeout_ms = LINK_TIMEOUT_MS,
};
static struct coord *coord;
static char port_str[16], timeout_ms_str[16];

enum param_kind { P_INT, P_MEM, P_STR, P_FIXED };

struct param {
    const char *name;
    enum param_kind kind;
    long long min, max;
    long long *ival;
    char **sval;
    const char *fixed; /* P_FIXED: the value CONFIG GET shows; CONFIG SET refuses */
    void (*apply)(void);
};

static void apply_maxclients(void) { client_set_maxclients((size_t)cur.maxclients); }

static void apply_requirepass(void)
{
    client_set_auth_required(settings_password_required());
}

static void apply_query_limit(void)
{
    if (coord && coord->srv)
        conn_server_set_query_limit(coord->srv, (size_t)cur.query_limit);
}

/* The replica set's settings go to the round engine (from settings_init on: main.c parses
 * the command line before the engine exists). */
static void apply_min_replicas(void)
{
    if (coord && coord->txn)
        txn_set_min_replicas(coord->txn, (int)cur.min_replicas);
}

static void apply_down_after(void)
{
    if (coord && coord->txn)
        txn_set_down_after(coord->txn, (int)cur.down_after_ms);
}

static void apply_write_wait(void)
{
    if (coord && coord->txn)
        txn_set_write_wait(coord->txn, (int)cur.write_wait_ms);
}

/* Never shorter than the prepare timeout: an operator who lets a vote take that long
 * (a slow disk) does not want the link dropped while the vote is still coming. */
static void apply_link_timeout(void)
{
    long long ms = cur.link_timeout_ms;
    if (coord && coord->prepare_timeout_ms > ms)
        ms = coord->prepare_timeout_ms;
    link_set_timeout((int)ms);
}

static struct param params[] = {
    { "timeout", P_INT, 0, INT_MAX, &cur.timeout, NULL, NULL, NULL },
    { "requirepass", P_STR, 0, 0, NULL, &cur.requirepass, NULL, apply_requirepass },
    { "maxclients", P_INT, 1, 4294967295LL, &cur.maxclients, NULL, NULL, apply_maxclients },
    { "slowlog-log-slower-than", P_INT, -1, LLONG_MAX, &cur.slowlog_slower_than, NULL, NULL,
      NULL },
    { "slowlog-max-len", P_INT, 0, LONG_MAX, &cur.slowlog_max_len, NULL, NULL, NULL },
    { "client-query-buffer-limit", P_MEM, 1024 * 1024, LLONG_MAX, &cur.query_limit, NULL, NULL,
      apply_query_limit },
    { "latency-monitor-threshold", P_INT, 0, LLONG_MAX, &cur.latency_threshold, NULL, NULL,
      NULL },
    /* twopc's replica set (README: "Replica set"). min-replicas counts in-sync members, so
     * more than TXN_MAX_REPLICAS means nothing; the times are ms and at least 1 (a
     * down-after of 0 would turn every reconnection into a change of the in-sync set). */
    { "min-replicas", P_INT, 0, TXN_MAX_REPLICAS, &cur.min_replicas, NULL, NULL,
      apply_min_replicas },
    { "down-after-ms", P_INT, 1, INT_MAX, &cur.down_after_ms, NULL, NULL, apply_down_after },
    { "write-wait-ms", P_INT, 1, INT_MAX, &cur.write_wait_ms, NULL, NULL, apply_write_wait },
    /* The replica links' liveness timeout (replica_link.h); 10 ms at least, so the
     * heartbeat (a quarter of it) stays a few ms apart. */
    { "link-timeout-ms", P_INT, 10, INT_MAX, &cur.link_timeout_ms, NULL, NULL,
      apply_link_timeout },
    /* Fixed: what tools ask about. Every write is fsync'd on every replica before it is
     * acknowledged, which is what appendonly/appendfsync always describe to a Redis user. */
    { "port", P_FIXED, 0, 0, NULL, NULL, port_str, NULL },
    { "bind", P_FIXED, 0, 0, NULL, NULL, "", NULL },
    { "dir", P_FIXED, 0, 0, NULL, NULL, "", NULL },
    { "databases", P_FIXED, 0, 0, NULL, NULL, "1", NULL },
    { "appendonly", P_FIXED, 0, 0, NULL, NULL, "yes", NULL },
    { "appendfsync", P_FIXED, 0, 0, NULL, NULL, "always", NULL },
    { "save", P_FIXED, 0, 0, NULL, NULL, "", NULL },
    { "maxmemory", P_FIXED, 0, 0, NULL, NULL, "0", NULL },
    { "maxmemory-policy", P_FIXED, 0, 0, NULL, NULL, "noeviction", NULL },
    { "proto-max-bulk-len", P_FIXED, 0, 0, NULL, NULL, "536870912", NULL },
    { "daemonize", P_FIXED, 0, 0, NULL, NULL, "no", NULL },
    { "cluster-enabled", P_FIXED, 0, 0, NULL, NULL, "no", NULL },
    { "prepare-timeout-ms", P_FIXED, 0, 0, NULL, NULL, timeout_ms_str, NULL },
};
#define NPARAMS (sizeof params / sizeof params[0])
_Static_assert(NPARAMS <= SETTINGS_MAX, "SETTINGS_MAX is too small for the table");

static struct param *find_param(const char *name)
{
    for (size_t i = 0; i < NPARAMS; i++)
        if (strcasecmp(params[i].name, name) == 0)
            return &params[i];
    return NULL;
}

void settings_init(struct coord *c)
{
    coord = c;
    snprintf(port_str, sizeof port_str, "%d", c->port);
    snprintf(timeout_ms_str, sizeof timeout_ms_str, "%d", c->prepare_timeout_ms);
    find_param("bind")->fixed = c->bind;
    find_param("dir")->fixed = c->dir;
    if (!cur.requirepass)
        cur.requirepass = strdup("");
    apply_maxclients();
    apply_query_limit();
    apply_requirepass();
    apply_min_replicas();
    apply_down_after();
    apply_write_wait();
    apply_link_timeout();
}

const struct settings *settings_get(void) { return &cur; }

int settings_password_required(void)
{
    return cur.requirepass && cur.requirepass[0];
}

/* Redis's memtoull(): a number with an optional unit b, k, kb, m, mb, g, gb. */
static int parse_memory(const char *s, long long *out)
{
    static const struct { const char *unit; long long mul; } units[] = {
        { "", 1 }, { "b", 1 }, { "k", 1000 }, { "kb", 1024 }, { "m", 1000000 },
        { "mb", 1 << 20 }, { "g", 1000000000 }, { "gb", 1 << 30 },
    };
    size_t digits = 0;
    while (isdigit((unsigned char)s[digits]))
        digits++;
    uint64_t v;
    if (digits == 0 || util_parse_u64(s, digits, &v) < 0)
        return -1;
    size_t u = 0;
    while (u < sizeof units / sizeof units[0] && strcasecmp(s + digits, units[u].unit) != 0)
        u++;
    if (u == sizeof units / sizeof units[0] || v > (uint64_t)LLONG_MAX / (uint64_t)units[u].mul)
        return -1;
    *out = (long long)v * units[u].mul;
    return 0;
}

/* Parses value for p into *num / checks it. Returns 0 or -1 with Redis's reason. */
static int check_value(const struct param *p, const char *value, size_t len, long long *num,
                       char *err, size_t errlen)
{
    int64_t v;
    switch (p->kind) {
    case P_FIXED:
        snprintf(err, errlen, "can't set immutable config");
        return -1;
    case P_STR:
        return 0;
    case P_MEM:
        if (parse_memory(value, num) < 0) {
            snprintf(err, errlen, "argument must be a memory value");
            return -1;
        }
        break;
    case P_INT:
        if (util_parse_i64(value, len, &v) < 0) {
            snprintf(err, errlen, "argument couldn't be parsed into an integer");
            return -1;
        }
        *num = v;
        break;
    }
    if (*num < p->min || *num > p->max) {
        snprintf(err, errlen, "argument must be between %lld and %lld inclusive", p->min,
                 p->max);
        return -1;
    }
    return 0;
}

static int store_value(struct param *p, const char *value, size_t len, long long num)
{
    if (p->kind == P_STR) {
        char *copy = malloc(len + 1);
        if (!copy)
            return -1;
        memcpy(copy, value, len);
        copy[len] = 0;
        free(*p->sval);
        *p->sval = copy;
    } else {
        *p->ival = num;
    }
    if (p->apply)
        p->apply();
    return 0;
}

int settings_set(const char *name, const char *value, size_t len, char *err, size_t errlen)
{
    struct param *p = find_param(name);
    long long num = 0;
    if (!p) {
        snprintf(err, errlen, "unknown option");
        return -1;
    }
    if (check_value(p, value, len, &num, err, errlen) < 0)
        return -1;
    return store_value(p, value, len, num);
}

/* ---- the table, one parameter at a time (CONFIG GET / SET) ---- */

size_t settings_count(void)
{
    return NPARAMS;
}

const char *settings_name(size_t i)
{
    return params[i].name;
}

const char *settings_value(size_t i, char *buf, size_t len)
{
    const struct param *p = &params[i];
    if (p->kind == P_FIXED)
        return p->fixed ? p->fixed : "";
    if (p->kind == P_STR)
        return *p->sval ? *p->sval : "";
    snprintf(buf, len, "%lld", *p->ival);
    return buf;
}

int settings_find(const char *name)
{
    const struct param *p = find_param(name);
    return p ? (int)(p - params) : -1;
}

int settings_check(size_t i, const char *value, size_t len, long long *num, char *err,
                   size_t errlen)
{
    *num = 0;
    return check_value(&params[i], value, len, num, err, errlen);
}

int settings_store(size_t i, const char *value, size_t len, long long num)
{
    return store_value(&params[i], value, len, num);
}

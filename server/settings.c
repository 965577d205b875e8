/* settings.c -- the parameter table behind CONFIG GET / SET (see settings.h).
 *
 * Each parameter is a row: its name, its kind (integer, memory size, string, or a fixed
 * text), its range, where its value lives and, if changing it must reach another module,
 * an apply function. CONFIG SET takes several name/value pairs and is all-or-nothing, as
 * in Redis 7: every value is parsed and checked first, then all are stored.
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
#include "commands.h"
#include "conn.h"
#include "request.h"
#include "util.h"

static struct settings cur = {
    .timeout = 0,
    .maxclients = 10000,
    .slowlog_slower_than = 10000,
    .slowlog_max_len = 128,
    .query_limit = 1LL << 30,
    .latency_threshold = 0,
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

/* ---- CONFIG ---- */

static void param_value(const struct param *p, char *buf, size_t buflen, const char **out)
{
    if (p->kind == P_FIXED) {
        *out = p->fixed ? p->fixed : "";
    } else if (p->kind == P_STR) {
        *out = *p->sval ? *p->sval : "";
    } else {
        snprintf(buf, buflen, "%lld", *p->ival);
        *out = buf;
    }
}

static void config_get(struct resp_writer *w, const struct resp_request *req)
{
    char match[NPARAMS] = { 0 };
    size_t n = 0;
    for (int i = 2; i < req->argc; i++)
        for (size_t p = 0; p < NPARAMS; p++)
            if (!match[p] && fnmatch(req->argv[i], params[p].name, FNM_CASEFOLD) == 0)
                match[p] = 1, n++;
    resp_write_map(w, n);
    for (size_t p = 0; p < NPARAMS; p++) {
        if (!match[p])
            continue;
        char buf[32];
        const char *v;
        param_value(&params[p], buf, sizeof buf, &v);
        resp_write_cstr(w, params[p].name);
        resp_write_cstr(w, v);
    }
}

static void set_failed(struct resp_writer *w, const char *name, const char *why)
{
    char msg[512];
    snprintf(msg, sizeof msg, "ERR CONFIG SET failed (possibly related to argument '%.128s') - %s",
             name, why);
    resp_write_error(w, msg);
}

static int listed(struct param *const *ps, int n, const struct param *p)
{
    for (int j = 0; j < n; j++)
        if (ps[j] == p)
            return 1;
    return 0;
}

static void config_set(struct resp_writer *w, const struct resp_request *req)
{
    int npairs = (req->argc - 2) / 2;
    struct param *ps[NPARAMS];
    long long nums[NPARAMS];
    char why[256];
    if ((req->argc - 2) % 2 != 0) {
        resp_write_error(w, "ERR syntax error");
        return;
    }
    for (int i = 0; i < npairs; i++) {
        const char *name = req->argv[2 + 2 * i], *value = req->argv[3 + 2 * i];
        struct param *p = find_param(name);
        if (!p) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "ERR Unknown option or number of arguments for CONFIG SET - '%.128s'", name);
            resp_write_error(w, msg);
            return;
        }
        if (i >= (int)NPARAMS || listed(ps, i, p)) {
            set_failed(w, name, "duplicate parameter");
            return;
        }
        if (check_value(p, value, req->lens[3 + 2 * i], &nums[i], why, sizeof why) < 0) {
            set_failed(w, name, why);
            return;
        }
        ps[i] = p;
    }
    for (int i = 0; i < npairs; i++)
        store_value(ps[i], req->argv[3 + 2 * i], req->lens[3 + 2 * i], nums[i]);
    resp_write_simple(w, "OK");
}

static void config_help(struct client *cl)
{
    static const char *lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    };
    request_help(cl, lines, sizeof lines / sizeof lines[0]);
}

static void sub_get(struct client *cl, const struct resp_request *req)
{
    config_get(client_reply_writer(cl), req);
}

static void sub_set(struct client *cl, const struct resp_request *req)
{
    config_set(client_reply_writer(cl), req);
}

static void sub_resetstat(struct client *cl, const struct resp_request *req)
{
    request_reset_stats();
    resp_write_simple(client_reply_writer(cl), "OK");
}

static void sub_rewrite(struct client *cl, const struct resp_request *req)
{
    resp_write_error(client_reply_writer(cl), "ERR The server is running without a config file");
}

static void sub_help(struct client *cl, const struct resp_request *req)
{
    config_help(cl);
}

const struct subcommand config_subcommands[] = {
    { "get", -3, sub_get },            { "set", -4, sub_set },
    { "resetstat", 2, sub_resetstat }, { "rewrite", 2, sub_rewrite },
    { "help", 2, sub_help },           { NULL, 0, NULL },
};

void cmd_config(struct client *cl, const struct resp_request *req)
{
    commands_run_subcommand(cl, req, config_subcommands);
}

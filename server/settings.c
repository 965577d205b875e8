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
#include "notify.h"
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
    /* Redis 7's defaults */
    .obuf = { { 0, 0, 0 }, { 256LL << 20, 64LL << 20, 60 }, { 32LL << 20, 8LL << 20, 60 } },
};
static const char *const obuf_class_names[SETTINGS_OBUF_CLASSES] = { "normal", "slave",
                                                                      "pubsub" };
static char obuf_str[256]; /* CONFIG GET's text, rebuilt when the value changes */
static struct coord *coord;
static char port_str[16], timeout_ms_str[16], databases_str[16];

/* P_BOOL: yes/no in *ival; P_ENUM: *ival indexes choices; P_SAVE: Redis's save rule list
 * ("" or pairs of seconds and changes) in *sval; P_NOTIFY: notify-keyspace-events' flags
 * (notify.h) in *ival. */
enum param_kind { P_INT, P_MEM, P_STR, P_FIXED, P_OBUF, P_BOOL, P_ENUM, P_SAVE, P_NOTIFY };

/* Settings Redis has and tools set (test suites, client libraries, deployment scripts),
 * which mean nothing here: accepted, checked as Redis checks them, kept and shown by
 * CONFIG GET, with no effect (#14 item 7). Every write is durable on every replica whatever
 * appendonly, appendfsync and save say; there is no eviction; values are stored whole.
 * P_ENUM's values are its `fixed` text, in the order Redis's error message lists them. */
#define FSYNC_CHOICES "everysec, always, no"
#define FSYNC_ALWAYS 1
#define POLICY_CHOICES "volatile-lru, volatile-lfu, volatile-random, volatile-ttl, " \
                       "allkeys-lru, allkeys-lfu, allkeys-random, noeviction"
#define POLICY_NOEVICTION 7

static long long keep_appendonly = 1, keep_appendfsync = FSYNC_ALWAYS, keep_maxmemory;
static long long keep_policy = POLICY_NOEVICTION;
static char *keep_save;
static long long keep_hash_entries = 128, keep_hash_value = 64, keep_intset = 512;
static long long keep_zset_entries = 128, keep_zset_value = 64, keep_list_size = -2;
static long long keep_list_depth, keep_stream_bytes = 4096, keep_stream_entries = 100;
static long long keep_hll_bytes = 3000, keep_hz = 10, keep_dynamic_hz = 1;
static long long keep_rehashing = 1, keep_lazy_eviction, keep_lazy_expire, keep_lazy_del;
static long long keep_lazy_user_del, keep_lazy_user_flush, keep_samples = 5;
static long long keep_busy = 5000, keep_defrag, keep_lfu_factor = 10, keep_lfu_decay = 1;

/* The i-th word of a P_ENUM's list into buf (NUL-terminated); its length, 0 past the end. */
static size_t enum_word(const char *list, long long i, char *buf, size_t len)
{
    for (; i > 0 && list; i--)
        list = (list = strchr(list, ',')) ? list + 2 : NULL;
    if (!list)
        return 0;
    size_t n = strcspn(list, ",");
    if (n >= len)
        n = len - 1;
    memcpy(buf, list, n);
    buf[n] = '\0';
    return n;
}

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

static void apply_output_limit(void)
{
    const long long *n = cur.obuf[SETTINGS_OBUF_NORMAL], *ps = cur.obuf[SETTINGS_OBUF_PUBSUB];
    snprintf(obuf_str, sizeof obuf_str, "%s %lld %lld %lld %s %lld %lld %lld %s %lld %lld %lld",
             obuf_class_names[0], cur.obuf[0][0], cur.obuf[0][1], cur.obuf[0][2],
             obuf_class_names[1], cur.obuf[1][0], cur.obuf[1][1], cur.obuf[1][2],
             obuf_class_names[2], cur.obuf[2][0], cur.obuf[2][1], cur.obuf[2][2]);
    if (coord && coord->srv) {
        conn_server_set_output_limit(coord->srv, CONN_OUTPUT_NORMAL, (size_t)n[0],
                                     (size_t)n[1], (int)n[2]);
        conn_server_set_output_limit(coord->srv, CONN_OUTPUT_PUBSUB, (size_t)ps[0],
                                     (size_t)ps[1], (int)ps[2]);
    }
}

static void apply_notify(void)
{
    notify_set_flags((int)cur.notify_flags);
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
    { "client-output-buffer-limit", P_OBUF, 0, 0, NULL, NULL, obuf_str, apply_output_limit },
    { "client-query-buffer-limit", P_MEM, 1024 * 1024, LLONG_MAX, &cur.query_limit, NULL, NULL,
      apply_query_limit },
    { "notify-keyspace-events", P_NOTIFY, 0, 0, &cur.notify_flags, NULL, NULL, apply_notify },
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
    /* Accepted and kept, no effect (keep_* above); the defaults say what twopc does. */
    { "appendonly", P_BOOL, 0, 1, &keep_appendonly, NULL, NULL, NULL },
    { "appendfsync", P_ENUM, 0, 2, &keep_appendfsync, NULL, FSYNC_CHOICES, NULL },
    { "save", P_SAVE, 0, 0, NULL, &keep_save, NULL, NULL },
    { "maxmemory", P_MEM, 0, LLONG_MAX, &keep_maxmemory, NULL, NULL, NULL },
    { "maxmemory-policy", P_ENUM, 0, 7, &keep_policy, NULL, POLICY_CHOICES, NULL },
    { "maxmemory-samples", P_INT, 1, INT_MAX, &keep_samples, NULL, NULL, NULL },
    { "hash-max-listpack-entries", P_INT, 0, LONG_MAX, &keep_hash_entries, NULL, NULL, NULL },
    { "hash-max-ziplist-entries", P_INT, 0, LONG_MAX, &keep_hash_entries, NULL, NULL, NULL },
    { "hash-max-listpack-value", P_INT, 0, LONG_MAX, &keep_hash_value, NULL, NULL, NULL },
    { "hash-max-ziplist-value", P_INT, 0, LONG_MAX, &keep_hash_value, NULL, NULL, NULL },
    { "set-max-intset-entries", P_INT, 0, LONG_MAX, &keep_intset, NULL, NULL, NULL },
    { "zset-max-listpack-entries", P_INT, 0, LONG_MAX, &keep_zset_entries, NULL, NULL, NULL },
    { "zset-max-ziplist-entries", P_INT, 0, LONG_MAX, &keep_zset_entries, NULL, NULL, NULL },
    { "zset-max-listpack-value", P_INT, 0, LONG_MAX, &keep_zset_value, NULL, NULL, NULL },
    { "zset-max-ziplist-value", P_INT, 0, LONG_MAX, &keep_zset_value, NULL, NULL, NULL },
    { "list-max-listpack-size", P_INT, INT_MIN, INT_MAX, &keep_list_size, NULL, NULL, NULL },
    { "list-max-ziplist-size", P_INT, INT_MIN, INT_MAX, &keep_list_size, NULL, NULL, NULL },
    { "list-compress-depth", P_INT, 0, INT_MAX, &keep_list_depth, NULL, NULL, NULL },
    { "stream-node-max-bytes", P_MEM, 0, LLONG_MAX, &keep_stream_bytes, NULL, NULL, NULL },
    { "stream-node-max-entries", P_INT, 0, LLONG_MAX, &keep_stream_entries, NULL, NULL, NULL },
    { "hll-sparse-max-bytes", P_MEM, 0, LONG_MAX, &keep_hll_bytes, NULL, NULL, NULL },
    { "hz", P_INT, 0, INT_MAX, &keep_hz, NULL, NULL, NULL },
    { "dynamic-hz", P_BOOL, 0, 1, &keep_dynamic_hz, NULL, NULL, NULL },
    { "activerehashing", P_BOOL, 0, 1, &keep_rehashing, NULL, NULL, NULL },
    { "activedefrag", P_BOOL, 0, 1, &keep_defrag, NULL, NULL, NULL },
    { "lazyfree-lazy-eviction", P_BOOL, 0, 1, &keep_lazy_eviction, NULL, NULL, NULL },
    { "lazyfree-lazy-expire", P_BOOL, 0, 1, &keep_lazy_expire, NULL, NULL, NULL },
    { "lazyfree-lazy-server-del", P_BOOL, 0, 1, &keep_lazy_del, NULL, NULL, NULL },
    { "lazyfree-lazy-user-del", P_BOOL, 0, 1, &keep_lazy_user_del, NULL, NULL, NULL },
    { "lazyfree-lazy-user-flush", P_BOOL, 0, 1, &keep_lazy_user_flush, NULL, NULL, NULL },
    { "busy-reply-threshold", P_INT, 0, LONG_MAX, &keep_busy, NULL, NULL, NULL },
    { "lua-time-limit", P_INT, 0, LONG_MAX, &keep_busy, NULL, NULL, NULL },
    { "lfu-log-factor", P_INT, 0, INT_MAX, &keep_lfu_factor, NULL, NULL, NULL },
    { "lfu-decay-time", P_INT, 0, INT_MAX, &keep_lfu_decay, NULL, NULL, NULL },
    { "proto-max-bulk-len", P_FIXED, 0, 0, NULL, NULL, "536870912", NULL },
    { "daemonize", P_FIXED, 0, 0, NULL, NULL, "no", NULL },
    { "cluster-enabled", P_FIXED, 0, 0, NULL, NULL, "no", NULL },
    { "prepare-timeout-ms", P_FIXED, 0, 0, NULL, NULL, timeout_ms_str, NULL },
    /* Immutable, as in Redis: set at start-up (--databases, the config file). */
    { "databases", P_FIXED, 0, 0, NULL, NULL, databases_str, NULL },
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
    snprintf(databases_str, sizeof databases_str, "%d", c->databases);
    find_param("bind")->fixed = c->bind;
    find_param("dir")->fixed = c->dir;
    if (!cur.requirepass)
        cur.requirepass = strdup("");
    if (!keep_save)
        keep_save = strdup(""); /* no snapshots: every write is durable anyway */
    apply_maxclients();
    apply_query_limit();
    apply_output_limit();
    apply_requirepass();
    apply_min_replicas();
    apply_down_after();
    apply_write_wait();
    apply_link_timeout();
}

const struct settings *settings_get(void) { return &cur; }

int settings_databases(void)
{
    return coord && coord->databases > 0 ? coord->databases : 16;
}

int settings_parse_db(const char *arg, size_t len, const char **err)
{
    int64_t db;
    if (util_parse_i64(arg, len, &db) < 0)
        *err = "ERR value is not an integer or out of range";
    else if (db < INT32_MIN || db > INT32_MAX) /* Redis 7's text, its typo included */
        *err = "ERR value is out of range, value must between -2147483648 and 2147483647";
    else if (db < 0 || db >= settings_databases())
        *err = "ERR DB index is out of range";
    else
        return (int)db;
    return -1;
}

int settings_password_required(void)
{
    return cur.requirepass && cur.requirepass[0];
}

/* Redis's memtoull() (util.h). */
static int parse_memory(const char *s, long long *out)
{
    return util_parse_memory(s, out);
}

/* Redis's client-output-buffer-limit value: "<class> <hard> <soft> <soft-seconds>", once or
 * more (classes normal, slave or replica, pubsub; sizes with units). Stores into out when
 * it is not NULL. Returns 0, or -1 with Redis's reason. */
static int parse_obuf(const char *value, long long (*out)[3], char *err, size_t errlen)
{
    char words[64][64];
    int n = 0;
    for (const char *p = value; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t w = strcspn(p, " \t");
        if (w == 0)
            break;
        if (n == 64 || w >= sizeof words[0]) {
            snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
            return -1;
        }
        memcpy(words[n], p, w);
        words[n++][w] = 0;
        p += w;
    }
    if (n % 4) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    for (int j = 0; j < n; j += 4) {
        int cls = strcasecmp(words[j], "normal") == 0 ? SETTINGS_OBUF_NORMAL
                  : strcasecmp(words[j], "slave") == 0 || strcasecmp(words[j], "replica") == 0
                      ? SETTINGS_OBUF_REPLICA
                  : strcasecmp(words[j], "pubsub") == 0 ? SETTINGS_OBUF_PUBSUB : -1;
        long long hard, soft;
        char *end;
        long long secs = strtoll(words[j + 3], &end, 10);
        if (cls < 0) {
            snprintf(err, errlen, "Invalid client class specified in buffer limit "
                     "configuration.");
            return -1;
        }
        if (parse_memory(words[j + 1], &hard) < 0 || parse_memory(words[j + 2], &soft) < 0 ||
            secs < 0 || *end != '\0' || words[j + 3][0] == '\0') {
            snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer "
                     "limit configuration.");
            return -1;
        }
        if (out) {
            out[cls][0] = hard;
            out[cls][1] = soft;
            out[cls][2] = secs > INT_MAX ? INT_MAX : secs;
        }
    }
    return 0;
}

/* Redis's save: "" or pairs "<seconds> <changes>" of non-negative integers (spaces
 * between words, as CONFIG SET save "3600 1 300 100" sends them). */
static int save_valid(const char *value)
{
    int words = 0;
    for (const char *p = value; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == start || (*p && *p != ' ') || p - start > 18)
            return 0;
        words++;
    }
    return words % 2 == 0;
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
    case P_OBUF:
        return parse_obuf(value, NULL, err, errlen);
    case P_BOOL:
        if (strcasecmp(value, "yes") != 0 && strcasecmp(value, "no") != 0) {
            snprintf(err, errlen, "argument must be 'yes' or 'no'");
            return -1;
        }
        *num = strcasecmp(value, "yes") == 0;
        return 0;
    case P_ENUM: {
        char word[32];
        for (long long i = 0; enum_word(p->fixed, i, word, sizeof word); i++)
            if (strcasecmp(value, word) == 0) {
                *num = i;
                return 0;
            }
        snprintf(err, errlen, "argument(s) must be one of the following: %s", p->fixed);
        return -1;
    }
    case P_NOTIFY:
        if ((*num = notify_flags_parse(value)) < 0) {
            snprintf(err, errlen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
            return -1;
        }
        return 0;
    case P_SAVE:
        if (!save_valid(value)) {
            snprintf(err, errlen, "Invalid save parameters");
            return -1;
        }
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
    if (p->kind == P_OBUF) {
        char err[128];
        if (parse_obuf(value, cur.obuf, err, sizeof err) < 0)
            return -1;
    } else if (p->kind == P_STR || p->kind == P_SAVE) {
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
    if (p->kind == P_ENUM) {
        enum_word(p->fixed, *p->ival, buf, len);
        return buf;
    }
    if (p->kind == P_FIXED || p->kind == P_OBUF)
        return p->fixed ? p->fixed : "";
    if (p->kind == P_STR || p->kind == P_SAVE)
        return *p->sval ? *p->sval : "";
    if (p->kind == P_BOOL)
        return *p->ival ? "yes" : "no";
    if (p->kind == P_NOTIFY)
        return notify_flags_string((int)*p->ival, buf, len);
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

/* request.c -- the per-request checklist before a command runs (see request.h).
 *
 * A request_ctx follows each command that runs: it is offered to the client layer before
 * dispatch; the first reply slot the command opens takes it, and request_ctx_done() runs
 * when that slot is done (for an immediate reply, right after dispatch). It carries the
 * arrival time (SLOWLOG measures arrival to reply, the latency a client sees, which for a
 * write includes its 2PC round), the keys of the writes the command submitted (WATCH
 * waits for them, multi.c), and a copy of the arguments cut the way SLOWLOG keeps them.
 */
#include "request.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "client.h"
#include "commands.h"
#include "multi.h"
#include "reencode.h"
#include "settings.h"
#include "slowlog.h"
#include "util.h"
#include "watch.h"

struct request_ctx {
    uint64_t t0_us;
    int in_dispatch, finished; /* a slot completed while the command was still running */
    int has_args;
    struct watch_track *track;
    struct slowlog_args args;  /* SLOWLOG's copy, made only when the reply comes later */
    struct request_ctx *next;  /* on the free list */
};

/* Contexts are recycled (with their argument buffers): one per command in flight. */
#define CTX_POOL_MAX 1024
static struct request_ctx *ctx_pool;
static size_t ctx_pooled;

#define OPS_SAMPLES 16
static struct request_stats stats;
static uint64_t ops_samples[OPS_SAMPLES], last_sample_ms, last_sample_cmds;
static size_t ops_sample_idx;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int name_in(const struct command *cmd, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(cmd->name, *names) == 0)
            return 1;
    return 0;
}

static int is_data(const struct command *cmd)
{
    return (cmd->flags & (CMD_READ | CMD_WRITE)) != 0;
}

/* ---- command lookup ----
 *
 * commands_lookup() scans the tables linearly; every request needs a lookup, so dispatch
 * uses an open-addressing hash of the same tables, built on first use (the tables are
 * constant).
 */

static const struct command **lookup_table;
static size_t lookup_size;

static uint64_t name_hash(const char *name, size_t len)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a over the lowercased name */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)tolower((unsigned char)name[i])) * 1099511628211ULL;
    return h;
}

static int build_lookup(void)
{
    size_t n = commands_count(), size = 64;
    while (size < 4 * n)
        size *= 2;
    if (!(lookup_table = calloc(size, sizeof *lookup_table)))
        return -1;
    lookup_size = size;
    for (size_t i = 0; i < n; i++) {
        const struct command *cmd = commands_at(i);
        size_t at = name_hash(cmd->name, strlen(cmd->name)) & (size - 1);
        while (lookup_table[at])
            at = (at + 1) & (size - 1);
        lookup_table[at] = cmd;
    }
    return 0;
}

const struct command *request_lookup(const char *name, size_t len)
{
    if (!lookup_table && build_lookup() < 0)
        return commands_lookup(name, len);
    for (size_t at = name_hash(name, len) & (lookup_size - 1); lookup_table[at];
         at = (at + 1) & (lookup_size - 1)) {
        const struct command *cmd = lookup_table[at];
        if (strlen(cmd->name) == len && strncasecmp(cmd->name, name, len) == 0)
            return cmd;
    }
    return NULL;
}

/* ---- HELP ---- */

void request_help(struct client *cl, const char *const *lines, size_t n)
{
    struct resp_writer *w = client_reply_writer(cl);
    resp_write_array(w, n);
    for (size_t i = 0; i < n; i++)
        resp_write_simple(w, lines[i]);
}

/* ---- MONITOR ---- */

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

void request_feed_monitors(const struct client *cl, int argc, char *const *argv,
                           const size_t *lens)
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
    len = (size_t)snprintf(buf, cap, "+%ld.%06ld [0 %s]", (long)tv.tv_sec, (long)tv.tv_usec,
                           ci.addr);
    for (int i = 0; i < argc; i++)
        append_repr(&buf, &len, &cap, argv[i], lens[i]);
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

/* Commands MONITOR does not show (Redis: admin commands and those carrying secrets). */
static int monitor_hidden(const struct command *cmd, const struct resp_request *req)
{
    static const char *const hidden[] = { "auth", "hello", "config", "debug", "monitor",
                                          "shutdown", "slowlog", "latency", NULL };
    static const char *const client_admin[] = { "kill", "list", "pause", "unpause",
                                                "no-evict", NULL };
    if (name_in(cmd, hidden))
        return 1;
    if (strcmp(cmd->name, "client") != 0 || req->argc < 2)
        return 0;
    for (const char *const *s = client_admin; *s; s++)
        if (strcasecmp(*s, req->argv[1]) == 0)
            return 1;
    return 0;
}

/* ---- the context of a running command ---- */

static struct request_ctx *ctx_get(void)
{
    struct request_ctx *ctx = ctx_pool;
    if (ctx) {
        ctx_pool = ctx->next;
        ctx_pooled--;
    } else if (!(ctx = calloc(1, sizeof *ctx))) {
        return NULL;
    }
    ctx->in_dispatch = ctx->finished = ctx->has_args = 0;
    ctx->track = NULL;
    ctx->next = NULL;
    return ctx;
}

static void ctx_put(struct request_ctx *ctx)
{
    watch_track_free(ctx->track);
    ctx->track = NULL;
    if (ctx_pooled >= CTX_POOL_MAX) {
        slowlog_args_free(&ctx->args);
        free(ctx);
        return;
    }
    ctx->next = ctx_pool;
    ctx_pool = ctx;
    ctx_pooled++;
}

static void ctx_finish(struct client *cl, struct request_ctx *ctx, const struct resp_request *req)
{
    uint64_t took = now_us() - ctx->t0_us;
    long long slower = settings_get()->slowlog_slower_than;
    if (slower >= 0 && took >= (uint64_t)slower) {
        if (!ctx->has_args && req)
            ctx->has_args = slowlog_args_pack(&ctx->args, req->argc, req->argv, req->lens) == 0;
        if (ctx->has_args)
            slowlog_add(&ctx->args, took, client_addr(cl), client_name(cl));
    }
    ctx_put(ctx);
}

void request_ctx_done(struct client *cl, void *arg)
{
    struct request_ctx *ctx = arg;
    if (ctx->in_dispatch)
        ctx->finished = 1; /* run() finishes it once dispatch returns */
    else
        ctx_finish(cl, ctx, NULL);
}

/* What CLIENT LIST shows as cmd=, set as Redis sets it when it looks a command up (also for
 * a request then refused): "NULL" for an unknown command or subcommand, "client|list" for a
 * subcommand, else the command's name. sub is what commands_check() found. */
static void set_last_cmd(struct client *cl, const struct command *cmd,
                         const struct subcommand *sub, const struct resp_request *req)
{
    char name[48];
    if (!cmd || (cmd->subs && req->argc > 1 && !sub)) {
        client_set_last_cmd(cl, "NULL");
    } else if (sub) {
        snprintf(name, sizeof name, "%s|%s", cmd->name, sub->name);
        client_set_last_cmd(cl, name);
    } else {
        client_set_last_cmd(cl, cmd->name);
    }
}

static void run(struct client *cl, const struct command *cmd, const struct resp_request *req)
{
    struct request_ctx *ctx = ctx_get();
    if (ctx) {
        ctx->in_dispatch = 1;
        ctx->t0_us = now_us();
        ctx->track = watch_track_new(cmd, req->argc, req->argv, req->lens);
    }
    client_offer_ctx(cl, ctx);
    if (client_proto(cl) >= 3)
        client_set_shape(cl, (int)reencode_shape_of(req->argv[0], req->lens[0]));
    cmd->fn(cl, req); /* commands_check() has accepted it */
    client_set_shape(cl, REENCODE_PLAIN);
    int untaken = ctx && client_take_ctx(cl) == ctx;
    if (ctx) {
        ctx->in_dispatch = 0;
        untaken |= ctx->finished;
    }
    if (client_is_parked(cl)) {
        /* Not run yet: it comes back through request_dispatch once unparked. */
        if (untaken)
            ctx_put(ctx);
        return;
    }
    if (untaken)
        ctx_finish(cl, ctx, req);
    else if (ctx && settings_get()->slowlog_slower_than >= 0)
        ctx->has_args = slowlog_args_pack(&ctx->args, req->argc, req->argv, req->lens) == 0;
    stats.commands++;
    if (!monitor_hidden(cmd, req))
        request_feed_monitors(cl, req->argc, req->argv, req->lens);
}

/* ---- the checklist ---- */

/* A request refused before it runs (steps 1-3): EXEC aborts the transaction, anything
 * else (cmd may be NULL: an unknown command) gets the error and flags an open MULTI. */
static void reject(struct client *cl, const struct command *cmd, const char *err)
{
    if (cmd && strcmp(cmd->name, "exec") == 0) {
        multi_exec_abort(cl, err);
        return;
    }
    resp_write_error(client_reply_writer(cl), err);
    multi_flag(cl);
}

void request_dispatch(struct client *cl, const struct resp_request *req)
{
    static const char *const no_auth[] = { "auth", "hello", "quit", "reset", NULL };
    static const char *const not_queued[] = { "exec", "discard", "multi", "watch", "quit",
                                              "reset", NULL };
    const struct command *cmd = request_lookup(req->argv[0], req->lens[0]);
    const struct subcommand *sub;
    char err[COMMANDS_ERR_MAX];
    int refused = commands_check(cmd, req, &sub, err, sizeof err) < 0;
    set_last_cmd(cl, cmd, sub, req);
    if (refused)
        reject(cl, cmd, err);
    else if (settings_password_required() && !client_authenticated(cl) &&
             !name_in(cmd, no_auth))
        reject(cl, cmd, "NOAUTH Authentication required.");
    else if (client_monitor(cl) && is_data(cmd))
        reject(cl, cmd, "ERR Replica can't interact with the keyspace");
    else if (multi_active(cl) && !name_in(cmd, not_queued))
        multi_queue(cl, cmd, req);
    else
        run(cl, cmd, req);
}

/* ---- counters ---- */

void request_get_stats(struct request_stats *st)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < OPS_SAMPLES; i++)
        sum += ops_samples[i];
    *st = stats;
    st->ops_per_sec = sum / OPS_SAMPLES;
}

void request_reset_stats(void)
{
    stats.commands = 0;
    last_sample_cmds = 0;
    memset(ops_samples, 0, sizeof ops_samples);
    client_reset_stats();
}

void request_cron(void)
{
    uint64_t now = util_mono_ms();
    if (last_sample_ms && now > last_sample_ms) {
        uint64_t ops = stats.commands - last_sample_cmds;
        ops_samples[ops_sample_idx++ % OPS_SAMPLES] = ops * 1000 / (now - last_sample_ms);
    }
    last_sample_ms = now;
    last_sample_cmds = stats.commands;
    client_close_idle((int)settings_get()->timeout);
}

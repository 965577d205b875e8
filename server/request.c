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

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocking.h"
#include "client.h"
#include "coord.h"
#include "monitor.h"
#include "multi.h"
#include "pubsub.h"
#include "reencode.h"
#include "registry.h"
#include "settings.h"
#include "slowlog.h"
#include "stats.h"
#include "txn.h"
#include "watch.h"

struct request_ctx {
    uint64_t t0_us;
    int in_dispatch, finished; /* a slot completed while the command was still running */
    int has_args;
    struct watch_track *track;
    struct slowlog_args args;  /* SLOWLOG's copy, made only when the reply comes later */
    struct request_ctx *next;  /* on the free list */
};

static struct txn *txn; /* request_init(); NULL: never loading (unit tests) */

/* Contexts are recycled (with their argument buffers): one per command in flight. */
#define CTX_POOL_MAX 1024
static struct request_ctx *ctx_pool;
static size_t ctx_pooled;

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
 * subcommand, else the command's name. sub is what registry_check() found. */
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
        client_set_shape(cl, (int)reencode_shape_of_request(req->argc, req->argv, req->lens));
    cmd->fn(cl, req); /* registry_check() has accepted it */
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
    stats_command();
    if (!monitor_hidden(cmd->name, req))
        monitor_feed(cl, req->argc, req->argv, req->lens);
}

/* ---- the checklist ---- */

void request_init(struct coord *c)
{
    txn = c ? c->txn : NULL;
}

/* Step 3: while the engine is still recovering at start-up, a command without CMD_LOADING
 * is refused as a loading Redis refuses it. Returns 1 with the error in err, else 0. The
 * text after "LOADING " is ours (Redis says "Redis is loading the dataset in memory"):
 * clients only look at the LOADING prefix, and the operator learns what is awaited. */
static int refuse_loading(const struct command *cmd, char *err, size_t n)
{
    char why[256];
    const char *what;
    if ((cmd->flags & CMD_LOADING) || !txn || !(what = txn_loading(txn, why, sizeof why)))
        return 0;
    snprintf(err, n, "LOADING twopc is recovering: %s", what);
    return 1;
}

/* Step 2b: a RESP2 client with a subscription may only run (P|S)SUBSCRIBE,
 * (P|S)UNSUBSCRIBE, PING, QUIT and RESET (RESP3 has no such limit: messages are pushes).
 * Returns 1 with Redis's error in err (naming 'client|list' for a subcommand), else 0. */
static int refuse_subscribed(struct client *cl, const struct command *cmd,
                             const struct subcommand *sub, char *err, size_t n)
{
    static const char *const allowed[] = { "subscribe", "ssubscribe", "psubscribe",
                                           "unsubscribe", "sunsubscribe", "punsubscribe",
                                           "ping", "quit", "reset", NULL };
    if (client_proto(cl) != 2 || !pubsub_active(cl) || name_in(cmd, allowed))
        return 0;
    snprintf(err, n, "ERR Can't execute '%s%s%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
             "PING / QUIT / RESET are allowed in this context", cmd->name, sub ? "|" : "",
             sub ? sub->name : "");
    return 1;
}

/* A request refused before it runs (steps 1-4): EXEC aborts the transaction, anything
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
    if (blocking_waits(cl)) {
        client_park(cl, req); /* as Redis: a blocked client's next command waits */
        return;
    }
    const struct command *cmd = registry_lookup(req->argv[0], req->lens[0]);
    const struct subcommand *sub;
    char err[REGISTRY_ERR_MAX];
    int refused = registry_check(cmd, req, &sub, err, sizeof err) < 0;
    set_last_cmd(cl, cmd, sub, req);
    if (refused)
        reject(cl, cmd, err);
    else if (settings_password_required() && !client_authenticated(cl) &&
             !name_in(cmd, no_auth))
        reject(cl, cmd, "NOAUTH Authentication required.");
    else if (refuse_subscribed(cl, cmd, sub, err, sizeof err))
        reject(cl, cmd, err);
    else if (refuse_loading(cmd, err, sizeof err))
        reject(cl, cmd, err);
    else if (client_monitor(cl) && is_data(cmd))
        reject(cl, cmd, "ERR Replica can't interact with the keyspace");
    else if (multi_active(cl) && !name_in(cmd, not_queued))
        multi_queue(cl, cmd, req);
    else
        run(cl, cmd, req);
}

/* main.c -- twopc-server: the coordinator. Start-up, signals, shutdown.
 *
 * Start-up order: open the decision log (txn_new replays it and starts connecting to the
 * replicas), then listen for clients. While the engine still recovers (txn_loading: an
 * in-sync replica has not answered yet, for at most --write-wait-ms), data commands get
 * -LOADING (request.c); then writes need every in-sync replica's link READY, and reads one.
 * The replica-set options (--min-replicas, --down-after-ms, --write-wait-ms) are CONFIG
 * parameters too: settings_init() hands them to the engine.
 *
 * Then the front end is wired, bottom up: the client layer with request.c's hooks, each
 * command file's init (each registers its own command table with registry.c), the round
 * engine's commit hook to watch.c, the expiry sweep. main.c is the only file that knows
 * every module; docs/code-map.md has the layering.
 *
 * Client requests reach the commands through request_dispatch (request.c: registry_check's
 * name, subcommand and arity checks, then AUTH, MULTI queueing, MONITOR and SLOWLOG around
 * the command). A cron timer every STATS_SAMPLE_MS samples ops/sec and closes idle clients
 * (--timeout). SIGTERM, SIGINT and SHUTDOWN all stop the event loop; then clients are
 * closed and the round engine freed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "blocking.h"
#include "client.h"
#include "client_cmd.h"
#include "config_cmd.h"
#include "conn.h"
#include "daemon.h"
#include "coord.h"
#include "data_cmd.h"
#include "expire.h"
#include "failpoint.h"
#include "fdlimit.h"
#include "info.h"
#include "localaddr.h"
#include "log.h"
#include "multi.h"
#include "op.h"
#include "notify.h"
#include "options.h"
#include "pubsub.h"
#include "replicaset_cmd.h"
#include "request.h"
#include "secret.h"
#include "session.h"
#include "settings.h"
#include "slowlog.h"
#include "stats.h"
#include "txn_io.h"
#include "util.h"
#include "version.h"
#include "watch.h"

#define MAX_REPLICAS 64

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    LOG_NOTICE("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopexit(arg, NULL);
}

static void on_cron(evutil_socket_t fd, short what, void *arg)
{
    struct coord *c = arg;
    stats_sample(util_mono_ms());
    client_close_idle((int)settings_get()->timeout);
    conn_server_cron(c->srv); /* client-output-buffer-limit's soft limit */
}

/* Every command file registers its table; the watch module hears of every commit. Returns
 * 0, or -1 (out of memory). */
/* The client layer's on_close hook: a closed connection leaves its transaction and every
 * channel it was subscribed to. */
static void client_gone(struct client *cl)
{
    multi_forget(cl);
    pubsub_forget(cl);
    blocking_forget(cl);
}

/* The round engine's commit hook, for WATCH and for keyspace notifications: the replicas
 * report what each op changed when either wants it. */
static void on_commit(void *ctx, const struct op *op, const char *touched, size_t len,
                      const struct txn_keys *keys, const char *result, size_t rlen)
{
    watch_on_commit(ctx, op, touched, len, keys);
    notify_on_commit(op, touched, len, result, rlen);
    blocking_on_commit(op, touched, len);
}

static int commit_wanted(void *ctx)
{
    if (notify_wanted()) /* and which keys a pop left gone: Redis's "del" */
        return TXN_WANT_TOUCHED | TXN_WANT_GONE;
    return watch_wanted(ctx) || blocking_wanted() ? TXN_WANT_TOUCHED : 0;
}

static int front_init(struct coord *c)
{
    if (data_cmd_init(c) < 0 || session_init(c) < 0 || client_cmd_init() < 0 ||
        config_cmd_init() < 0 || info_init(c) < 0 || slowlog_init() < 0 ||
        replicaset_cmd_init(c) < 0 || pubsub_init() < 0 || blocking_init(c) < 0)
        return -1;
    request_init(c); /* -LOADING while the engine recovers */
    txn_set_commit_hook(c->txn, on_commit, commit_wanted, watch_keys, NULL);
    expire_start(c); /* the background sweep of expired keys (expire.h) */
    return 0;
}

#define SERVER_SYNOPSIS                                                                   \
    "Usage: twopc-server --dir DIR --replica HOST:PORT [--replica HOST:PORT ...] [options]\n" \
    "       twopc-server --config FILE [options]\n"                                       \
    "The twopc coordinator: speaks RESP to Redis clients and commits every write on\n"     \
    "all replicas by two-phase commit. Every --option VALUE is also the config file\n"     \
    "directive `option VALUE` (conf/twopc.conf documents them); flags override the file.\n"

struct options {
    struct coord c;
    const char *replicas[MAX_REPLICAS], *file_replicas[MAX_REPLICAS];
    int nreplicas, nfile_replicas;
    const char *log, *pidfile;
    enum log_level level;
    uint64_t max_log_bytes;
    int max_inflight, repair_chunk;
    int port_set, bind_set, daemonize;
    const char *coordinator;        /* `coordinator HOST:PORT`: default bind and port */
    const char *secret_file;        /* cluster-secret-file, loaded after the parse */
    const char *secret_value;       /* cluster-secret (config file only) */
    const char *requirepass;        /* clients' password (NULL if none) */
};

static int parse_int(const char *v, long lo, long hi, long *out, char *err, size_t errlen)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < lo || n > hi) {
        snprintf(err, errlen, "must be an integer from %ld to %ld", lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

static int set_int(void *ctx, const char *name, const char *v, int from_file, char *err,
                   size_t errlen)
{
    struct options *o = ctx;
    long n;
    if (strcmp(name, "port") == 0) {
        if (parse_int(v, 1, 65535, &n, err, errlen) < 0)
            return -1;
        o->c.port = (int)n;
        o->port_set = 1;
    } else if (strcmp(name, "databases") == 0) {
        if (parse_int(v, 1, OP_DB_LIMIT, &n, err, errlen) < 0)
            return -1;
        o->c.databases = (int)n;
    } else if (strcmp(name, "prepare-timeout-ms") == 0) {
        if (parse_int(v, 1, 3600000, &n, err, errlen) < 0)
            return -1;
        o->c.prepare_timeout_ms = (int)n;
    } else if (strcmp(name, "max-inflight") == 0) {
        if (parse_int(v, 1, 64, &n, err, errlen) < 0)
            return -1;
        o->max_inflight = (int)n;
    } else if (strcmp(name, "repair-chunk") == 0) {
        if (parse_int(v, 1, 100000, &n, err, errlen) < 0)
            return -1;
        o->repair_chunk = (int)n;
    } else { /* log-max-bytes */
        char *end;
        unsigned long long b = strtoull(v, &end, 10);
        if (*v == '\0' || *v == '-' || *end != '\0' || b == 0) {
            snprintf(err, errlen, "must be a positive number of bytes");
            return -1;
        }
        o->max_log_bytes = b;
    }
    return 0;
}

static int set_str(void *ctx, const char *name, const char *v, int from_file, char *err,
                   size_t errlen)
{
    struct options *o = ctx;
    if (strcmp(name, "bind") == 0) {
        o->c.bind = v;
        o->bind_set = 1;
    } else if (strcmp(name, "dir") == 0) {
        o->c.dir = v;
    } else if (strcmp(name, "log") == 0) {
        o->log = v;
    } else if (strcmp(name, "pidfile") == 0) {
        o->pidfile = v;
    } else if (strcmp(name, "loglevel") == 0) {
        if ((o->level = log_level_parse(v)) == LOG_LEVEL_MAX) {
            snprintf(err, errlen, "must be debug, verbose, notice or warning");
            return -1;
        }
    } else if (strcmp(name, "daemonize") == 0) {
        o->daemonize = options_yesno(v) == 1;
    } else if (strcmp(name, "cluster-secret-file") == 0) {
        o->secret_file = v;
        o->secret_value = NULL;
    } else { /* cluster-secret */
        o->secret_value = v;
        o->secret_file = NULL;
    }
    return 0;
}

static int set_hostport(void *ctx, const char *name, const char *v, int from_file, char *err,
                        size_t errlen)
{
    struct options *o = ctx;
    char host[256];
    int port;
    if (localaddr_split(v, host, sizeof host, &port, err, errlen) < 0)
        return -1;
    if (strcmp(name, "coordinator") == 0) {
        o->coordinator = v;
        return 0;
    }
    const char **list = from_file ? o->file_replicas : o->replicas;
    int *n = from_file ? &o->nfile_replicas : &o->nreplicas;
    if (*n == MAX_REPLICAS) {
        snprintf(err, errlen, "at most %d replicas", MAX_REPLICAS);
        return -1;
    }
    list[(*n)++] = v;
    return 0;
}

/* The options that are CONFIG parameters (same name): the same checks as CONFIG SET. */
static int set_setting(void *ctx, const char *name, const char *v, int from_file, char *err,
                       size_t errlen)
{
    struct options *o = ctx;
    if (settings_set(name, v, strlen(v), err, errlen) < 0)
        return -1;
    if (strcmp(name, "requirepass") == 0)
        o->requirepass = *v ? v : NULL;
    return 0;
}

static const struct options_def server_defs[] = {
    { "port", OPTIONS_VALUE, set_int, "PORT", "client port (default 6379, or the `coordinator` line's)" },
    { "bind", OPTIONS_VALUE, set_str, "ADDR", "address to listen on (default 127.0.0.1, or the `coordinator` line's)" },
    { "dir", OPTIONS_VALUE, set_str, "DIR", "data folder: decision.log (required)" },
    { "replica", OPTIONS_VALUE, set_hostport, "HOST:PORT", "a replica; repeat for each (at least one); flags replace the file's list" },
    { "coordinator", OPTIONS_VALUE, set_hostport, "HOST:PORT", "the coordinator's client address: the default --bind and --port" },
    { "prepare-timeout-ms", OPTIONS_VALUE, set_int, "N", "abort a round whose votes take longer (default 500)" },
    { "databases", OPTIONS_VALUE, set_int, "N", "number of databases: SELECT 0 .. N-1 (default 16)" },
    { "log", OPTIONS_VALUE, set_str, "FILE", "diagnostics log (default DIR/twopc-server.log; '-' = stderr)" },
    { "pidfile", OPTIONS_VALUE, set_str, "FILE", "pid file (default DIR/twopc-server.pid)" },
    { "loglevel", OPTIONS_VALUE, set_str, "LEVEL", "debug, verbose, notice (default) or warning" },
    { "log-max-bytes", OPTIONS_VALUE, set_int, "N", "compact the decision log past this size (default 16 MB)" },
    { "max-inflight", OPTIONS_VALUE, set_int, "N", "rounds prepared at once, pipelined (1-64, default 3)" },
    { "repair-chunk", OPTIONS_VALUE, set_int, "N", "keys per chunk when a replica that lost data is repaired from a healthy one (1-100000, default 2000)" },
    { "requirepass", OPTIONS_VALUE, set_setting, "PASSWORD", "clients must AUTH with it first (default: none; or set TWOPC_REQUIREPASS in the environment, which ps does not show)" },
    { "timeout", OPTIONS_VALUE, set_setting, "SECONDS", "close clients idle this long (default 0: never)" },
    { "maxclients", OPTIONS_VALUE, set_setting, "N", "refuse clients past this many (default 10000)" },
    { "notify-keyspace-events", OPTIONS_VALUE, set_setting, "FLAGS", "Redis's keyspace notifications for committed writes: K, E and the classes (g $ x ... A), as CONFIG SET takes them (default \"\": none)" },
    { "client-output-buffer-limit", OPTIONS_WORDS, set_setting, "'CLASS HARD SOFT SECONDS'", "Redis's: close a client whose unsent replies reach HARD bytes, or stay over SOFT for SECONDS (classes normal, pubsub, slave; default 'normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60'); with no hard limit a client that does not read is paused at 16 MB of unsent replies instead" },
    { "client-query-buffer-limit", OPTIONS_VALUE, set_setting, "BYTES", "close a client whose request in progress passes this size (default 1gb)" },
    { "min-replicas", OPTIONS_VALUE, set_setting, "K", "a replica down longer than --down-after-ms is left out of the in-sync set while K other in-sync replicas are up, and writes go on without it (default 0: never; every replica must vote)" },
    { "down-after-ms", OPTIONS_VALUE, set_setting, "MS", "how long a replica may be down or silent before that (default 5000)" },
    { "write-wait-ms", OPTIONS_VALUE, set_setting, "MS", "how long a write waits for a replica link that is reconnecting before it fails with NOREPLICAS (default 2000)" },
    { "link-timeout-ms", OPTIONS_VALUE, set_setting, "MS", "a replica link with a request unanswered this long is dropped and reconnected; idle links are pinged every MS/4, connects abandoned after MS (default 1000; never less than --prepare-timeout-ms)" },
    { "daemonize", OPTIONS_BOOL, set_str, NULL, "run in the background once start-up has succeeded (--daemonize=no turns a file's `daemonize yes` off; default no)" },
    { "cluster-secret-file", OPTIONS_VALUE, set_str, "PATH", "the cluster secret: PATH's first line (PATH must not be readable by group or other)" },
    { "cluster-secret", OPTIONS_FILE_ONLY, set_str, "VALUE", "the cluster secret itself (config file only, so it never shows in ps)" },
    { "help", OPTIONS_HELP, NULL, NULL, "this text" },
    { "version", OPTIONS_VERSION, NULL, NULL, "print the version" },
};

static const struct options_spec server_spec = {
    "twopc-server", TWOPC_VERSION, SERVER_SYNOPSIS, server_defs,
    sizeof server_defs / sizeof server_defs[0],
};

/* After the parse: the replica list, the coordinator line, the secret, required options.
 * Returns 0, or -1 after printing why (exit 2). */
static int finish_options(struct options *o)
{
    char err[512], host[256];
    int port;
    if (o->nreplicas == 0) { /* no --replica flag: the file's list */
        memcpy(o->replicas, o->file_replicas, sizeof o->replicas);
        o->nreplicas = o->nfile_replicas;
    }
    if (o->coordinator &&
        localaddr_split(o->coordinator, host, sizeof host, &port, err, sizeof err) == 0) {
        if (!o->port_set)
            o->c.port = port;
        char ip[64];
        if (!o->bind_set && localaddr_ipv4(host, ip, sizeof ip, err, sizeof err) < 0) {
            fprintf(stderr, "twopc-server: coordinator: %s\n", err);
            return -1;
        }
        if (!o->bind_set && !(o->c.bind = strdup(ip)))
            return -1;
    }
    if (secret_configure(o->secret_file, o->secret_value, err, sizeof err) < 0) {
        fprintf(stderr, "twopc-server: %s\n", err);
        return -1;
    }
    if (!o->c.dir || o->nreplicas == 0) {
        fprintf(stderr, "twopc-server: %s\n", !o->c.dir ? "no data folder (--dir or `dir`)"
                : "no replica (--replica or `replica` lines)");
        fprintf(stderr, "(see twopc-server --help)\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = { .c = { .port = 6379, .bind = "127.0.0.1", .prepare_timeout_ms = 500,
                                 .databases = 16,
                                .start_ms = util_mono_ms(), .executable = argv[0] },
                         .level = LOG_LEVEL_NOTICE, .max_log_bytes = 16 << 20,
                         .max_inflight = 3, .repair_chunk = 2000 };
    umask(077); /* every file and folder private to the daemon's user (README, Security) */
    int rc = options_parse(&server_spec, argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (finish_options(&o) < 0)
        return 2;
    char verr[256];
    if (version_init(verr, sizeof verr) < 0) {
        fprintf(stderr, "twopc-server: %s\n", verr);
        return 2;
    }
    if (util_ensure_dir(o.c.dir) < 0) {
        fprintf(stderr, "twopc-server: can't create %s\n", o.c.dir);
        return 1;
    }
    char path[4096], pidfile[4096];
    snprintf(path, sizeof path, "%s/twopc-server.log", o.c.dir);
    log_init('C', o.log && strcmp(o.log, "-") == 0 ? NULL : (o.log ? o.log : path), o.level);
    snprintf(pidfile, sizeof pidfile, "%s", o.pidfile ? o.pidfile : "");
    if (!o.pidfile)
        snprintf(pidfile, sizeof pidfile, "%s/twopc-server.pid", o.c.dir);
    signal(SIGPIPE, SIG_IGN);
    failpoint_init();
    char err[512];
    /* Before any thread or event loop: the child runs them; start-up errors still reach
     * this terminal through daemon.c's pipe. */
    if (o.daemonize && daemon_start(err, sizeof err) < 0) {
        fprintf(stderr, "twopc-server: %s\n", err);
        return 1;
    }
    int proto_min, proto_max;
    version_range(&proto_min, &proto_max);
    LOG_NOTICE("twopc-server %s starting (protocol %d..%d%s), port %d, %d replicas, dir %s",
               TWOPC_VERSION, proto_min, proto_max,
               secret_present() ? ", cluster secret" : "", o.c.port, o.nreplicas, o.c.dir);

    struct event_base *base = event_base_new();
    o.c.base = base;
    o.c.txn = txn_new(base, o.c.dir, o.replicas, o.nreplicas, o.c.prepare_timeout_ms,
                      o.max_log_bytes, err, sizeof err);
    if (!o.c.txn) {
        LOG_WARNING("%s", err);
        fprintf(stderr, "twopc-server: %s\n", err);
        event_base_free(base); /* a refused start (a corrupt log) exits leak-free (make asan) */
        return 1;
    }
    txn_set_max_inflight(o.c.txn, o.max_inflight);
    txn_set_repair_chunk(o.c.txn, o.repair_chunk);
    txn_set_databases(o.c.txn, o.c.databases);
    static const struct client_hooks hooks = { request_dispatch, client_gone,
                                               request_ctx_done, blocking_parked };
    static const struct conn_ops ops = { client_on_open, client_on_request, NULL,
                                         client_on_close, client_conn_busy };
    client_init(&hooks);
    if (front_init(&o.c) < 0) {
        LOG_WARNING("out of memory at start-up");
        return 1;
    }
    /* Descriptors for maxclients, or a lower maxclients (fdlimit.h), before listening. */
    long long maxclients = fdlimit_adjust(settings_get()->maxclients);
    if (maxclients < 0)
        return 1;
    if (maxclients != settings_get()->maxclients) {
        char n[24];
        snprintf(n, sizeof n, "%lld", maxclients);
        settings_set("maxclients", n, strlen(n), err, sizeof err);
    }
    o.c.srv = conn_server_new(base, o.c.bind, o.c.port, &ops, &o.c, NULL, err, sizeof err);
    if (!o.c.srv) {
        LOG_WARNING("%s", err);
        fprintf(stderr, "twopc-server: %s\n", err);
        txn_free(o.c.txn);
        event_base_free(base);
        return 1;
    }
    settings_init(&o.c);
    if (multi_init(&o.c) < 0) {
        LOG_WARNING("out of memory at start-up");
        return 1;
    }
    log_write_pidfile(pidfile);
    daemon_ready(); /* daemonize: stdio to /dev/null, the parent exits 0 */
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    struct event *cron = event_new(base, -1, EV_PERSIST, on_cron, &o.c);
    struct timeval cron_tv = { 0, STATS_SAMPLE_MS * 1000 };
    event_add(cron, &cron_tv);
    LOG_NOTICE("ready to accept connections on %s:%d", o.c.bind, o.c.port);
    event_base_dispatch(base);

    conn_server_free(o.c.srv);
    txn_free(o.c.txn);
    event_free(sigterm);
    event_free(sigint);
    event_free(cron);
    event_base_free(base);
    unlink(pidfile);
    LOG_NOTICE("stopped");
    return 0;
}

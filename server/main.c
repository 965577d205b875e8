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
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "client.h"
#include "client_cmd.h"
#include "config_cmd.h"
#include "conn.h"
#include "coord.h"
#include "data_cmd.h"
#include "expire.h"
#include "failpoint.h"
#include "info.h"
#include "log.h"
#include "multi.h"
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
    stats_sample(util_mono_ms());
    client_close_idle((int)settings_get()->timeout);
}

/* Every command file registers its table; the watch module hears of every commit. Returns
 * 0, or -1 (out of memory). */
static int front_init(struct coord *c)
{
    if (data_cmd_init(c) < 0 || session_init(c) < 0 || client_cmd_init() < 0 ||
        config_cmd_init() < 0 || info_init(c) < 0 || slowlog_init() < 0 ||
        replicaset_cmd_init(c) < 0)
        return -1;
    request_init(c); /* -LOADING while the engine recovers */
    txn_set_commit_hook(c->txn, watch_on_commit, watch_wanted, watch_keys, NULL);
    expire_start(c); /* the background sweep of expired keys (expire.h) */
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: twopc-server --dir DIR --replica HOST:PORT [--replica HOST:PORT ...] "
            "[options]\n"
            "The twopc coordinator: speaks RESP to Redis clients and commits every write on\n"
            "all replicas by two-phase commit.\n\n"
            "  --port PORT              client port (default 6379)\n"
            "  --bind ADDR              address to listen on (default 127.0.0.1)\n"
            "  --dir DIR                data folder: decision.log (required)\n"
            "  --replica HOST:PORT      a replica; repeat for each (at least one)\n"
            "  --prepare-timeout-ms N   abort a round whose votes take longer (default 500)\n"
            "  --log FILE               diagnostics log (default DIR/twopc-server.log; '-' = "
            "stderr)\n"
            "  --pidfile FILE           pid file (default DIR/twopc-server.pid)\n"
            "  --loglevel LEVEL         debug, verbose, notice (default) or warning\n"
            "  --log-max-bytes N        compact the decision log past this size (default 16 MB)\n"
            "  --max-inflight N         rounds prepared at once, pipelined (1-64, default 3)\n"
            "  --repair-chunk N         keys per chunk when a replica that lost data is\n"
            "                           repaired from a healthy one (1-100000, default 2000)\n"
            "  --requirepass PASSWORD   clients must AUTH with it first (default: none)\n"
            "  --timeout SECONDS        close clients idle this long (default 0: never)\n"
            "  --maxclients N           refuse clients past this many (default 10000)\n"
            "  --min-replicas K         a replica down longer than --down-after-ms is left\n"
            "                           out of the in-sync set while K others stay in it,\n"
            "                           and writes go on without it (default 0: never; every\n"
            "                           replica must vote)\n"
            "  --down-after-ms MS       how long a replica may be down or silent before that\n"
            "                           (default 5000)\n"
            "  --write-wait-ms MS       how long a write waits for a replica link that is\n"
            "                           reconnecting before it fails with NOREPLICAS (default\n"
            "                           2000)\n"
            "  --link-timeout-ms MS     a replica link with a request unanswered this long\n"
            "                           is dropped and reconnected; idle links are pinged\n"
            "                           every MS/4, connects abandoned after MS (default\n"
            "                           1000; never less than --prepare-timeout-ms)\n"
            "  --cluster-secret-file FILE\n"
            "                           the cluster secret (the file's first line; mode 600):\n"
            "                           proven to every replica before any TPC.* command\n"
            "  --help                   this text\n");
}

struct options {
    struct coord c;
    const char *replicas[MAX_REPLICAS];
    int nreplicas;
    const char *log, *pidfile;
    enum log_level level;
    uint64_t max_log_bytes;
    int max_inflight, repair_chunk;
};

/* The options that are CONFIG parameters (same name): the same checks as CONFIG SET. */
static int set_option(int ch, const char *value)
{
    static const struct { int ch; const char *name; } names[] = {
        { 'a', "requirepass" },  { 'T', "timeout" },         { 'M', "maxclients" },
        { 'k', "min-replicas" }, { 'D', "down-after-ms" },   { 'W', "write-wait-ms" },
        { 'K', "link-timeout-ms" },
    };
    const char *name = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].ch == ch)
            name = names[i].name;
    char err[256];
    if (settings_set(name, value, strlen(value), err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "twopc-server: --%s %s: %s\n", name, value, err);
    return -1;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option opts[] = {
        { "port", required_argument, 0, 'p' },    { "bind", required_argument, 0, 'b' },
        { "dir", required_argument, 0, 'd' },     { "replica", required_argument, 0, 'r' },
        { "log", required_argument, 0, 'l' },     { "pidfile", required_argument, 0, 'P' },
        { "loglevel", required_argument, 0, 'L' },
        { "prepare-timeout-ms", required_argument, 0, 't' },
        { "log-max-bytes", required_argument, 0, 'm' },
        { "max-inflight", required_argument, 0, 'i' },
        { "repair-chunk", required_argument, 0, 'R' },
        { "requirepass", required_argument, 0, 'a' },
        { "timeout", required_argument, 0, 'T' },
        { "maxclients", required_argument, 0, 'M' },
        { "min-replicas", required_argument, 0, 'k' },
        { "down-after-ms", required_argument, 0, 'D' },
        { "write-wait-ms", required_argument, 0, 'W' },
        { "link-timeout-ms", required_argument, 0, 'K' },
        { "cluster-secret-file", required_argument, 0, 'S' },
        { "help", no_argument, 0, 'h' },          { 0, 0, 0, 0 }
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': o->c.port = atoi(optarg); break;
        case 'b': o->c.bind = optarg; break;
        case 'd': o->c.dir = optarg; break;
        case 'r':
            if (o->nreplicas == MAX_REPLICAS)
                return -1;
            o->replicas[o->nreplicas++] = optarg;
            break;
        case 'l': o->log = optarg; break;
        case 'P': o->pidfile = optarg; break;
        case 'L': o->level = log_level_parse(optarg); break;
        case 't': o->c.prepare_timeout_ms = atoi(optarg); break;
        case 'm': o->max_log_bytes = strtoull(optarg, NULL, 10); break;
        case 'i': o->max_inflight = atoi(optarg); break;
        case 'R': o->repair_chunk = atoi(optarg); break;
        case 'a': case 'T': case 'M': case 'k': case 'D': case 'W': case 'K':
            if (set_option(ch, optarg) < 0)
                return -1;
            break;
        case 'S': {
            char err[512];
            if (secret_load_file(optarg, err, sizeof err) < 0) {
                fprintf(stderr, "twopc-server: %s\n", err);
                exit(2);
            }
            break;
        }
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (optind < argc || o->c.port <= 0 || o->c.port > 65535 || !o->c.dir ||
        o->nreplicas == 0 || o->level == LOG_LEVEL_MAX || o->c.prepare_timeout_ms <= 0 ||
        o->max_inflight < 1 || o->max_inflight > 64 || o->repair_chunk < 1 ||
        o->repair_chunk > 100000)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = { .c = { .port = 6379, .bind = "127.0.0.1", .prepare_timeout_ms = 500,
                                .start_ms = util_mono_ms(), .executable = argv[0] },
                         .level = LOG_LEVEL_NOTICE, .max_log_bytes = 16 << 20,
                         .max_inflight = 3, .repair_chunk = 2000 };
    char verr[256];
    if (parse_options(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
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
    int proto_min, proto_max;
    version_range(&proto_min, &proto_max);
    LOG_NOTICE("twopc-server %s starting (protocol %d..%d%s), port %d, %d replicas, dir %s",
               TWOPC_VERSION, proto_min, proto_max,
               secret_present() ? ", cluster secret" : "", o.c.port, o.nreplicas, o.c.dir);

    char err[512];
    struct event_base *base = event_base_new();
    o.c.base = base;
    o.c.txn = txn_new(base, o.c.dir, o.replicas, o.nreplicas, o.c.prepare_timeout_ms,
                      o.max_log_bytes, err, sizeof err);
    if (!o.c.txn) {
        LOG_WARNING("%s", err);
        fprintf(stderr, "twopc-server: %s\n", err);
        return 1;
    }
    txn_set_max_inflight(o.c.txn, o.max_inflight);
    txn_set_repair_chunk(o.c.txn, o.repair_chunk);
    static const struct client_hooks hooks = { request_dispatch, multi_forget,
                                               request_ctx_done };
    static const struct conn_ops ops = { client_on_open, client_on_request, NULL,
                                         client_on_close };
    client_init(&hooks);
    if (front_init(&o.c) < 0) {
        LOG_WARNING("out of memory at start-up");
        return 1;
    }
    o.c.srv = conn_server_new(base, o.c.bind, o.c.port, &ops, &o.c, NULL, err, sizeof err);
    if (!o.c.srv) {
        LOG_WARNING("%s", err);
        fprintf(stderr, "twopc-server: %s\n", err);
        return 1;
    }
    settings_init(&o.c);
    if (multi_init(&o.c) < 0) {
        LOG_WARNING("out of memory at start-up");
        return 1;
    }
    log_write_pidfile(pidfile);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    struct event *cron = event_new(base, -1, EV_PERSIST, on_cron, NULL);
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

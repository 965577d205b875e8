/* main.c -- twopc-replica: a 2PC participant that stores committed data in SQLite.
 *
 * It is a RESP server (conn.c) for the coordinator, whose requests peer.c dispatches (the
 * simulator calls the same peer_dispatch without sockets): TPC.PREPARE / TPC.COMMIT /
 * TPC.ABORT / TPC.HELLO drive the participant (participant.c), TPC.IDENTIFY gives the
 * replica its identity (identity.h, logged at start-up), TPC.NOTICE logs what the
 * coordinator says; TPC.READ <now_ms> <command> <args...>
 * answers the coordinator's reads from the committed data as of the coordinator's clock
 * (so replicas agree on what has expired), TPC.MREAD <now_ms> <n> {<argc> <command...>}*n
 * answers the n reads of one coordinator loop turn at once, and TPC.EXPIRED <now_ms>
 * <limit> lists keys whose expiry has passed, for the coordinator's background sweep. Every read command of
 * exec.c (GET, MGET, EXISTS, TTL, KEYS, SCAN, DBSIZE, ...) also works on its own, at the
 * replica's clock, as do DIGEST and INFO, so `redis-cli -p <port> GET k` can inspect a
 * replica. Writes from anyone but the coordinator's protocol are refused.
 *
 * Checklist per read from a connection (conn.c runs it):
 *   1. every request in the read is handled; votes and acks are staged, not sent;
 *   2. on_batch_end: when a vote (or a TPC.DURABLE answer) waits for the vote log,
 *      participant_submit() hands the records to the log thread and the batch's staged
 *      replies are held with its ticket; COMMIT-only batches leave the log to a lazy
 *      timer (LAZY_SYNC_MS) and their replies go at once -- unless replies of the same
 *      connection are still held, which they then queue behind (replies keep their order);
 *   3. when the log thread reports a ticket durable (on_log_progress), every held batch
 *      with that ticket or an older one is flushed to its socket.
 * The loop never waits for fdatasync: while one sync runs, the next PREPAREs are parsed,
 * evaluated and logged, and ride the next sync together (group commit).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sys/queue.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "auth.h"
#include "conn.h"
#include "daemon.h"
#include "effects.h"
#include "failpoint.h"
#include "fdlimit.h"
#include "localaddr.h"
#include "log.h"
#include "options.h"
#include "participant.h"
#include "peer.h"
#include "secret.h"
#include "store.h"
#include "util.h"
#include "version.h"

#define LAZY_SYNC_MS 20 /* how long a COMMIT record may wait for an fsync when idle */

struct replica {
    struct event_base *base;
    struct participant *part;
    struct conn_server *srv;
    const char *dir;
    char pidfile[4096];
    int port;
    uint64_t start_ms, max_log_bytes;
    long long query_limit; /* client-query-buffer-limit (conn.h), as the coordinator's */
    long long maxclients;  /* connections past this many are refused, as Redis does */
    uint64_t rng; /* seeds for RANDOMKEY */
    struct event *lazy_sync;
    TAILQ_HEAD(held_list, held) held; /* replies waiting for the log, in the order they were made */
    uint64_t durable_ticket; /* newest ticket the log thread made durable */
    int log_failing; /* the vote log's last attempt failed (a full or failing disk) */
};

/* One batch of staged replies that may leave only once `ticket` is durable. For one
 * connection tickets never decrease along the list, so releasing every entry whose ticket
 * is durable keeps each connection's replies in order. */
struct held {
    struct conn *c;
    struct evbuffer *buf;
    uint64_t ticket;
    TAILQ_ENTRY(held) link;
};

typedef void (*replica_cmd_fn)(struct replica *r, const struct resp_request *req,
                               struct resp_writer *w);

static void cmd_info(struct replica *r, const struct resp_request *req, struct resp_writer *w)
{
    char buf[1024];
    uint64_t cluster, replica;
    int proto_min, proto_max;
    version_range(&proto_min, &proto_max);
    participant_identity(r->part, &cluster, &replica);
    /* cluster_id in hex, as every log shows it; 0 and 0 when the replica has none. */
    int n = snprintf(buf, sizeof buf,
                     "# Server\r\ntwopc_version:%s\r\ntwopc_protocol:%d-%d\r\n"
                     "twopc_role:replica\r\nprocess_id:%d\r\n"
                     "tcp_port:%d\r\nuptime_in_seconds:%llu\r\n\r\n# Twopc\r\n"
                     "applied_round:%llu\r\nrounds_in_doubt:%zu\r\nkeys:%lld\r\n"
                     "cluster_id:%016llx\r\nreplica_id:%llu\r\nvote_log_status:%s\r\n",
                     TWOPC_VERSION, proto_min, proto_max, (int)getpid(), r->port,
                     (unsigned long long)((util_mono_ms() - r->start_ms) / 1000),
                     (unsigned long long)store_applied(participant_store(r->part)),
                     participant_in_doubt(r->part),
                     (long long)store_count(participant_store(r->part)),
                     (unsigned long long)cluster, (unsigned long long)replica,
                     participant_log_failing(r->part, NULL, 0) ? "err" : "ok");
    resp_write_bulk(w, buf, (size_t)n);
}

static void cmd_command(struct replica *r, const struct resp_request *req,
                        struct resp_writer *w)
{
    resp_write_array(w, 0); /* lets redis-cli start; no command docs on a replica */
}

/* What only the server process answers; every coordinator request is peer.c's. */
static const struct replica_cmd {
    const char *name;
    replica_cmd_fn fn;
} replica_cmds[] = {
    { "info", cmd_info },
    { "command", cmd_command },
};

static void on_request(struct conn *c, const struct resp_request *req)
{
    struct replica *r = conn_server_ctx_of(c);
    struct resp_writer *w = conn_writer(c);
    char msg[160];
    if (auth_gate(c, req)) /* AUTH, TPC.CHALLENGE / TPC.AUTH, refusals (auth.h) */
        return;
    if (strcasecmp(req->argv[0], "quit") == 0) {
        resp_write_simple(w, "OK");
        conn_close_after_reply(c);
        return;
    }
    for (size_t i = 0; i < sizeof replica_cmds / sizeof replica_cmds[0]; i++) {
        if (strcasecmp(req->argv[0], replica_cmds[i].name) == 0) {
            replica_cmds[i].fn(r, req, w); /* arity -1: any argc is right */
            return;
        }
    }
    if (peer_dispatch(r->part, req, w, &r->rng, conn_id(c)) == 0)
        return;
    snprintf(msg, sizeof msg, "ERR unknown command '%.64s' (this is a twopc replica: "
             "write through the coordinator)", req->argv[0]);
    resp_write_error(w, msg);
}

static void release_held(struct replica *r)
{
    struct held *h, *next;
    for (h = TAILQ_FIRST(&r->held); h; h = next) {
        next = TAILQ_NEXT(h, link);
        if (h->ticket > r->durable_ticket)
            continue;
        TAILQ_REMOVE(&r->held, h, link);
        conn_add_buffer(h->c, h->buf);
        conn_flush(h->c);
        evbuffer_free(h->buf);
        free(h);
    }
}

static void on_log_progress(void *arg)
{
    struct replica *r = arg;
    char err[256];
    if (participant_log_progress(r->part, r->max_log_bytes, &r->durable_ticket, err,
                                 sizeof err) < 0) {
        /* Never trust the page cache after a failed fsync: recover from the log. */
        LOG_WARNING("vote log sync failed: %s; exiting", err);
        exit(1);
    }
    /* A full or failing disk: the log retries by itself (journal.c); say when it starts
     * and ends. Meanwhile PREPAREs are refused with MISCONF and reads go on. */
    char cause[96];
    int failing = participant_log_failing(r->part, cause, sizeof cause);
    if (failing != r->log_failing) {
        if (failing)
            LOG_WARNING("vote log: can't make records durable (%s); writes are refused until "
                        "the disk recovers, reads go on", cause);
        else
            LOG_NOTICE("vote log: writable again; writes resume");
        r->log_failing = failing;
    }
    release_held(r);
}

/* Holds c's staged replies until ticket is durable (ticket 0: no new wait, but replies
 * still held for c come first). Returns -1 if out of memory. */
static int hold_replies(struct replica *r, struct conn *c, uint64_t ticket)
{
    if (ticket <= r->durable_ticket)
        ticket = 0;
    struct held *last = NULL, *h;
    TAILQ_FOREACH_REVERSE(h, &r->held, held_list, link)
        if (h->c == c) {
            last = h;
            break;
        }
    if (!ticket && !last)
        return 0; /* nothing to wait for: conn.c flushes at once */
    if (!ticket)
        ticket = last->ticket;
    if (!(h = calloc(1, sizeof *h)) || !(h->buf = evbuffer_new())) {
        free(h);
        return -1;
    }
    h->c = c;
    h->ticket = ticket;
    conn_move_staged(c, h->buf);
    TAILQ_INSERT_TAIL(&r->held, h, link);
    return 0;
}

static void lazy_sync_cb(evutil_socket_t fd, short what, void *arg)
{
    struct replica *r = arg;
    participant_submit(r->part, 1);
}

static void on_batch_end(struct conn *c)
{
    struct replica *r = conn_server_ctx_of(c);
    if (hold_replies(r, c, participant_submit(r->part, 0)) < 0) {
        LOG_WARNING("out of memory holding replies; exiting");
        exit(1);
    }
    if (participant_lazy_pending(r->part) && !evtimer_pending(r->lazy_sync, NULL)) {
        struct timeval tv = { 0, LAZY_SYNC_MS * 1000 };
        evtimer_add(r->lazy_sync, &tv);
    }
}

static void on_close(struct conn *c)
{
    struct replica *r = conn_server_ctx_of(c);
    struct held *h, *next;
    auth_conn_close(c);
    for (h = TAILQ_FIRST(&r->held); h; h = next) {
        next = TAILQ_NEXT(h, link);
        if (h->c != c)
            continue;
        TAILQ_REMOVE(&r->held, h, link);
        evbuffer_free(h->buf);
        free(h);
    }
}

/* Replies still held for c until the log is durable (release_held flushes them). */
static int conn_busy(struct conn *c)
{
    struct replica *r = conn_server_ctx_of(c);
    struct held *h;
    TAILQ_FOREACH(h, &r->held, link)
        if (h->c == c)
            return 1;
    return 0;
}

/* A new connection: refused past maxclients as Redis refuses it (answered, then closed),
 * else under the auth gate's limits. */
static int on_open(struct conn *c)
{
    struct replica *r = conn_server_ctx_of(c);
    if (auth_conn_open(c) < 0)
        return -1;
    if ((long long)conn_server_count(r->srv) > r->maxclients) {
        resp_write_error(conn_writer(c), "ERR max number of clients reached");
        conn_close_after_reply(c);
        conn_flush(c);
    }
    return 0;
}

static const struct conn_ops replica_conn_ops = {
    .on_open = on_open,
    .on_request = on_request,
    .on_batch_end = on_batch_end,
    .on_close = on_close,
    .busy = conn_busy,
};

static void on_signal(int sig, void *arg)
{
    struct replica *r = arg;
    LOG_NOTICE("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopexit(r->base, NULL);
}

#define REPLICA_SYNOPSIS                                                                  \
    "Usage: twopc-replica --port PORT --dir DIR [options]\n"                                \
    "       twopc-replica --config FILE [--port PORT] [options]\n"                         \
    "A twopc replica: a two-phase-commit participant storing data in SQLite. Every\n"      \
    "--option VALUE is also the config file directive `option VALUE`; flags override\n"   \
    "the file. With --config and no --port/--bind, the replica listens on the file's\n"    \
    "`replica HOST:PORT` line whose HOST is an address of this machine.\n"

/* What the command line and the config file set; main() moves it into struct replica. */
struct replica_opts {
    struct replica *r;
    const char *bind, *logpath, *pidfile;
    enum log_level level;
    int port_set, bind_set, daemonize;
    const char *lines[64]; /* `replica HOST:PORT`: the file's (or the flags') shape */
    const char *file_lines[64];
    int nlines, nfile_lines;
    const char *secret_file, *secret_value;
};

static int set_opt(void *ctx, const char *name, const char *v, int from_file, char *err,
                   size_t errlen)
{
    struct replica_opts *o = ctx;
    char *end, host[256];
    int port;
    if (strcmp(name, "port") == 0) {
        long p = strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || p < 1 || p > 65535) {
            snprintf(err, errlen, "must be an integer from 1 to 65535");
            return -1;
        }
        o->r->port = (int)p;
        o->port_set = 1;
    } else if (strcmp(name, "log-max-bytes") == 0) {
        unsigned long long b = strtoull(v, &end, 10);
        if (*v == '\0' || *v == '-' || *end != '\0' || b == 0) {
            snprintf(err, errlen, "must be a positive number of bytes");
            return -1;
        }
        o->r->max_log_bytes = b;
    } else if (strcmp(name, "maxclients") == 0) {
        long long n = strtoll(v, &end, 10);
        if (*v == '\0' || *end != '\0' || n < 1 || n > 4294967295LL) {
            snprintf(err, errlen, "must be an integer from 1 to 4294967295");
            return -1;
        }
        o->r->maxclients = n;
    } else if (strcmp(name, "prepared-memory-limit") == 0) {
        long long b;
        if (util_parse_memory(v, &b) < 0 || b < 0) {
            snprintf(err, errlen, "must be a memory value (as 512mb, 2gb; 0: no limit)");
            return -1;
        }
        effects_hold_limit = (uint64_t)b;
    } else if (strcmp(name, "store-cache") == 0) {
        long long b;
        if (util_parse_memory(v, &b) < 0 || b < (1 << 20)) {
            snprintf(err, errlen, "must be a memory value of at least 1mb (as 64mb, 1gb)");
            return -1;
        }
        store_cache_bytes = (uint64_t)b;
    } else if (strcmp(name, "client-query-buffer-limit") == 0) {
        if (util_parse_memory(v, &o->r->query_limit) < 0 || o->r->query_limit < (1 << 20)) {
            snprintf(err, errlen, "must be a memory value of at least 1mb (as 64mb, 1gb)");
            return -1;
        }
    } else if (strcmp(name, "loglevel") == 0) {
        if ((o->level = log_level_parse(v)) == LOG_LEVEL_MAX) {
            snprintf(err, errlen, "must be debug, verbose, notice or warning");
            return -1;
        }
    } else if (strcmp(name, "replica") == 0) {
        if (localaddr_split(v, host, sizeof host, &port, err, errlen) < 0)
            return -1;
        const char **list = from_file ? o->file_lines : o->lines;
        int *n = from_file ? &o->nfile_lines : &o->nlines;
        if (*n == 64) {
            snprintf(err, errlen, "at most 64 replicas");
            return -1;
        }
        list[(*n)++] = v;
    } else if (strcmp(name, "bind") == 0) {
        o->bind = v;
        o->bind_set = 1;
    } else if (strcmp(name, "dir") == 0) {
        o->r->dir = v;
    } else if (strcmp(name, "log") == 0) {
        o->logpath = v;
    } else if (strcmp(name, "pidfile") == 0) {
        o->pidfile = v;
    } else if (strcmp(name, "daemonize") == 0) {
        o->daemonize = options_yesno(v) == 1;
    } else if (strcmp(name, "requirepass") == 0) {
        if (auth_set_requirepass(v) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    } else if (strcmp(name, "protected-mode") == 0) {
        return auth_set_protected_mode(v, err, errlen);
    } else if (strcmp(name, "cluster-secret-file") == 0) {
        o->secret_file = v;
        o->secret_value = NULL;
    } else { /* cluster-secret */
        o->secret_value = v;
        o->secret_file = NULL;
    }
    return 0;
}

static const struct options_def replica_defs[] = {
    { "port", OPTIONS_VALUE, set_opt, "PORT", "port to listen on for the coordinator (required unless a `replica` line names this machine)" },
    { "bind", OPTIONS_VALUE, set_opt, "ADDR", "address to listen on (default 127.0.0.1, or this machine's `replica` line's)" },
    { "dir", OPTIONS_VALUE, set_opt, "DIR", "data folder: votes.log, data.sqlite (required)" },
    { "replica", OPTIONS_VALUE, set_opt, "HOST:PORT", "the cluster's replicas, one line each: this replica listens on the one on this machine (--port picks among several)" },
    { "log", OPTIONS_VALUE, set_opt, "FILE", "diagnostics log (default DIR/twopc-replica.log; '-' = stderr)" },
    { "pidfile", OPTIONS_VALUE, set_opt, "FILE", "pid file (default DIR/twopc-replica.pid)" },
    { "loglevel", OPTIONS_VALUE, set_opt, "LEVEL", "debug, verbose, notice (default) or warning" },
    { "log-max-bytes", OPTIONS_VALUE, set_opt, "N", "compact the vote log past this size (default 16 MB)" },
    { "maxclients", OPTIONS_VALUE, set_opt, "N", "refuse connections past this many with Redis's -ERR max number of clients reached (default 10000; lowered at start-up to what the open-files limit allows)" },
    { "prepared-memory-limit", OPTIONS_VALUE, set_opt, "BYTES", "vote NO on a round whose evaluation would make the rounds prepared here hold more than this in values they built (APPEND, SETRANGE, INCR: a 50-byte SETRANGE can build 512 MB); default 1gb, 0: no limit" },
    { "store-cache", OPTIONS_VALUE, set_opt, "BYTES", "SQLite's page cache for data.sqlite (default 64mb; big collections are read and written at random, and SQLite's own default of 2mb made every seek read its pages again)" },
    { "client-query-buffer-limit", OPTIONS_VALUE, set_opt, "BYTES", "close a connection whose request in progress passes this size (default 1gb, as the coordinator; the coordinator's own link is exempt)" },
    { "requirepass", OPTIONS_VALUE, set_opt, "PASSWORD", "clients of this port must AUTH with it (default: none; or set TWOPC_REQUIREPASS in the environment, which ps does not show)" },
    { "protected-mode", OPTIONS_VALUE, set_opt, "yes|no", "yes (default): refuse to listen on a non-loopback address without a cluster secret" },
    { "daemonize", OPTIONS_BOOL, set_opt, NULL, "run in the background once start-up has succeeded (--daemonize=no turns a file's `daemonize yes` off; default no)" },
    { "cluster-secret-file", OPTIONS_VALUE, set_opt, "PATH", "the cluster secret: PATH's first line (PATH must not be readable by group or other)" },
    { "cluster-secret", OPTIONS_FILE_ONLY, set_opt, "VALUE", "the cluster secret itself (config file only, so it never shows in ps)" },
    { "help", OPTIONS_HELP, NULL, NULL, "this text" },
    { "version", OPTIONS_VERSION, NULL, NULL, "print the version" },
};

static const struct options_spec replica_spec = {
    "twopc-replica", TWOPC_VERSION, REPLICA_SYNOPSIS, replica_defs,
    sizeof replica_defs / sizeof replica_defs[0],
};

/* Picks this replica's `replica HOST:PORT` line: those whose HOST is local, narrowed by
 * --port. Needed only when --port is missing (explicit --port/--bind need no shape).
 * Returns 0, or -1 after printing why. */
static int pick_line(struct replica_opts *o)
{
    const char **lines = o->nlines ? o->lines : o->file_lines;
    int n = o->nlines ? o->nlines : o->nfile_lines, found = 0, port, lport = 0;
    char host[256], lhost[256], names[1024] = "", err[256];
    for (int i = 0; i < n; i++) {
        if (localaddr_split(lines[i], host, sizeof host, &port, err, sizeof err) < 0 ||
            !localaddr_is_local(host) || (o->port_set && port != o->r->port))
            continue;
        found++;
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                 found > 1 ? ", " : "", lines[i]);
        memcpy(lhost, host, sizeof lhost);
        lport = port;
    }
    if (found == 1) {
        char ip[64];
        if (!o->bind_set && localaddr_ipv4(lhost, ip, sizeof ip, err, sizeof err) < 0) {
            fprintf(stderr, "twopc-replica: replica %s: %s\n", names, err);
            return -1;
        }
        if (!o->bind_set && !(o->bind = strdup(ip)))
            return -1;
        o->r->port = lport;
        return 0;
    }
    if (o->port_set)
        return 0; /* --port with no matching line: today's command lines */
    if (found == 0)
        fprintf(stderr, "twopc-replica: no port: give --port, or a `replica HOST:PORT` line "
                "whose HOST is an address of this machine\n");
    else
        fprintf(stderr, "twopc-replica: several `replica` lines are on this machine (%s): "
                "pick one with --port\n", names);
    return -1;
}

/* After the parse: the listening address, the secret, the required options. Returns 0, or
 * -1 after printing why (exit 2). */
static int finish_options(struct replica_opts *o)
{
    char err[512];
    if (!(o->port_set && o->bind_set) && (o->port_set ? o->nlines + o->nfile_lines > 0 : 1) &&
        pick_line(o) < 0)
        return -1;
    if (secret_configure(o->secret_file, o->secret_value, err, sizeof err) < 0) {
        fprintf(stderr, "twopc-replica: %s\n", err);
        return -1;
    }
    if (auth_check_bind(o->bind, err, sizeof err) < 0) {
        fprintf(stderr, "twopc-replica: %s\n", err);
        return -1;
    }
    if (version_init(err, sizeof err) < 0) {
        fprintf(stderr, "twopc-replica: %s\n", err);
        return -1;
    }
    if (!o->r->dir) {
        fprintf(stderr, "twopc-replica: no data folder (--dir or `dir`)\n");
        fprintf(stderr, "(see twopc-replica --help)\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct replica r = { .start_ms = util_mono_ms(), .max_log_bytes = 16 << 20,
                         .query_limit = 1LL << 30, .maxclients = 10000,
                         .rng = util_wall_ms() ^ ((uint64_t)getpid() << 32) };
    static struct replica_opts o = { .bind = "127.0.0.1", .level = LOG_LEVEL_NOTICE };
    o.r = &r;
    effects_hold_limit = 1ULL << 30; /* --prepared-memory-limit */
    umask(077); /* every file and folder private to the daemon's user (README, Security) */
    int rc = options_parse(&replica_spec, argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (finish_options(&o) < 0)
        return 2;
    const char *bind = o.bind, *logpath = o.logpath, *pidfile = o.pidfile;
    enum log_level level = o.level;
    if (util_ensure_dir(r.dir) < 0) {
        fprintf(stderr, "twopc-replica: can't create %s\n", r.dir);
        return 1;
    }
    char logbuf[4096];
    snprintf(logbuf, sizeof logbuf, "%s/twopc-replica.log", r.dir);
    log_init('R', logpath && strcmp(logpath, "-") == 0 ? NULL : (logpath ? logpath : logbuf),
             level);
    snprintf(r.pidfile, sizeof r.pidfile, "%s", pidfile ? pidfile : "");
    if (!pidfile)
        snprintf(r.pidfile, sizeof r.pidfile, "%s/twopc-replica.pid", r.dir);
    signal(SIGPIPE, SIG_IGN);
    failpoint_init();

    char err[512];
    /* Before the log thread and the event loop: the child runs them (daemon.h). */
    if (o.daemonize && daemon_start(err, sizeof err) < 0) {
        fprintf(stderr, "twopc-replica: %s\n", err);
        return 1;
    }
    int proto_min, proto_max;
    version_range(&proto_min, &proto_max);
    LOG_NOTICE("twopc-replica %s starting (protocol %d..%d%s), port %d, dir %s", TWOPC_VERSION,
               proto_min, proto_max, secret_present() ? ", cluster secret" : "", r.port, r.dir);
    if (!(r.part = participant_open(r.dir, err, sizeof err))) {
        LOG_WARNING("can't open the data folder: %s", err);
        fprintf(stderr, "twopc-replica: %s\n", err);
        return 1;
    }
    r.base = event_base_new();
    TAILQ_INIT(&r.held);
    if (participant_start_log_thread(r.part, r.base, on_log_progress, &r, err, sizeof err) < 0) {
        LOG_WARNING("%s", err);
        fprintf(stderr, "twopc-replica: %s\n", err);
        return 1;
    }
    r.lazy_sync = evtimer_new(r.base, lazy_sync_cb, &r);
    if ((r.maxclients = fdlimit_adjust(r.maxclients)) < 0)
        return 1;
    r.srv = conn_server_new(r.base, bind, r.port, &replica_conn_ops, &r, NULL, err, sizeof err);
    if (!r.srv) {
        LOG_WARNING("%s", err);
        fprintf(stderr, "twopc-replica: %s\n", err);
        return 1;
    }
    conn_server_set_query_limit(r.srv, (size_t)r.query_limit);
    log_write_pidfile(r.pidfile);
    daemon_ready(); /* daemonize: stdio to /dev/null, the parent exits 0 */
    /* Not evsignal: a round being applied sees the signal too, and stops (participant.c). */
    struct event *stop = daemon_catch_stop(r.base, on_signal, &r);
    if (!stop) {
        fprintf(stderr, "twopc-replica: cannot catch SIGTERM: %s\n", strerror(errno));
        return 1;
    }
    LOG_NOTICE("ready to accept connections on %s:%d", bind, r.port);
    event_base_dispatch(r.base);

    conn_server_free(r.srv); /* held replies are dropped with their connections */
    if (participant_sync(r.part, err, sizeof err) < 0)
        LOG_WARNING("vote log sync at shutdown failed: %s", err);
    event_free(r.lazy_sync);
    participant_close(r.part);
    daemon_catch_stop_free(stop);
    event_base_free(r.base);
    unlink(r.pidfile);
    LOG_NOTICE("stopped");
    return 0;
}

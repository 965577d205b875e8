/* launcher.c -- twopc-cluster: runs a coordinator and N replicas on this machine.
 *
 * `make run` starts this. It lays out one data folder:
 *
 *     DIR/twopc-cluster.pid  DIR/twopc-cluster.log
 *     DIR/coordinator/  decision.log  twopc-server.log  twopc-server.pid
 *     DIR/replica-1/    votes.log  data.sqlite  twopc-replica.log  twopc-replica.pid
 *     DIR/replica-2/ ...
 *
 * starts the replicas (ports REPLICA_PORT, +1, ...) and the coordinator (PORT), and acts as
 * a small process manager: a child that dies is logged and restarted after RESTART_MS.
 * SIGTERM or SIGINT stops every child (SIGTERM, then SIGKILL after STOP_GRACE_MS) and exits
 * 0. The binaries are looked for next to this one, then in the build tree's sibling
 * folders (../server, ../replica), then with --bin-dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"

#define RESTART_MS 1000
#define STOP_GRACE_MS 5000
#define MAX_CHILDREN 33
#define MAX_EXTRA_ARGS 40 /* options after "--", passed to the coordinator */

struct child {
    char name[32];
    char dir[PATH_MAX + 32];
    char *argv[128]; /* the coordinator: 9 + 2 per replica + extra options + NULL */
    char args[24][PATH_MAX + 32];
    pid_t pid;
    struct event *restart;
    uint64_t starts;
};

struct launcher {
    struct event_base *base;
    struct child kids[MAX_CHILDREN];
    int nkids, stopping;
};

static void child_start(struct child *k)
{
    pid_t pid = fork();
    if (pid < 0) {
        LOG_WARNING("%s: fork failed: %s", k->name, strerror(errno));
        return;
    }
    if (pid == 0) {
        char out[PATH_MAX + 64];
        snprintf(out, sizeof out, "%s/%s", k->dir, "stderr.log");
        if (freopen(out, "a", stderr) && freopen("/dev/null", "r", stdin))
            dup2(fileno(stderr), 1);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(k->argv[0], k->argv);
        fprintf(stderr, "exec %s: %s\n", k->argv[0], strerror(errno));
        _exit(127);
    }
    k->pid = pid;
    k->starts++;
    LOG_NOTICE("%s started (pid %d)", k->name, (int)pid);
}

static void restart_cb(evutil_socket_t fd, short what, void *arg)
{
    child_start(arg);
}

static void describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "stopped (status %d)", status);
}

static void reap(struct launcher *L)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < L->nkids; i++) {
            struct child *k = &L->kids[i];
            if (k->pid != pid)
                continue;
            char how[128];
            describe_status(status, how, sizeof how);
            k->pid = 0;
            if (L->stopping) {
                LOG_NOTICE("%s %s", k->name, how);
                break;
            }
            LOG_WARNING("%s (pid %d) %s; restarting in %d ms", k->name, (int)pid, how,
                        RESTART_MS);
            struct timeval tv = { RESTART_MS / 1000, (RESTART_MS % 1000) * 1000 };
            evtimer_add(k->restart, &tv);
        }
    }
}

static void sigchld_cb(evutil_socket_t fd, short what, void *arg)
{
    reap(arg);
}

static int alive(struct launcher *L)
{
    int n = 0;
    for (int i = 0; i < L->nkids; i++)
        n += L->kids[i].pid > 0;
    return n;
}

static void stop_all(struct launcher *L)
{
    L->stopping = 1;
    for (int i = L->nkids - 1; i >= 0; i--) {
        evtimer_del(L->kids[i].restart);
        if (L->kids[i].pid > 0)
            kill(L->kids[i].pid, SIGTERM);
    }
    uint64_t deadline = util_mono_ms() + STOP_GRACE_MS;
    while (alive(L) && util_mono_ms() < deadline) {
        usleep(20000);
        reap(L);
    }
    for (int i = 0; i < L->nkids; i++)
        if (L->kids[i].pid > 0) {
            LOG_WARNING("%s did not stop in %d ms: SIGKILL", L->kids[i].name, STOP_GRACE_MS);
            kill(L->kids[i].pid, SIGKILL);
            waitpid(L->kids[i].pid, NULL, 0);
            L->kids[i].pid = 0;
        }
}

static void sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
    struct launcher *L = arg;
    LOG_NOTICE("received %s: stopping the cluster", sig == SIGINT ? "SIGINT" : "SIGTERM");
    stop_all(L);
    event_base_loopexit(L->base, NULL);
}

/* Finds binary `name`: next to us, in ../server or ../replica, or in bindir. */
static int find_binary(const char *bindir, const char *name, char *out, size_t outlen)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    static const char *const subdirs[] = { "", "/../server", "/../replica" };
    for (size_t i = 0; i < 3; i++) {
        int len = snprintf(out, outlen, "%s%s/%s", bindir ? bindir : self, subdirs[i], name);
        if (len > 0 && (size_t)len < outlen && access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

static void child_args(struct child *k, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        snprintf(k->args[i], sizeof k->args[i], "%s", va_arg(ap, const char *));
        k->argv[i] = k->args[i];
    }
    k->argv[n] = NULL;
    va_end(ap);
}

/* --config FILE (and --daemonize=no: the launcher must stay the parent) after k's first n
 * arguments; nothing when path is NULL. Returns the new argument count. */
static int add_config(struct child *k, int n, const char *path)
{
    if (!path)
        return n;
    k->argv[n] = "--config";
    k->argv[n + 1] = (char *)path;
    k->argv[n + 2] = "--daemonize=no";
    k->argv[n + 3] = NULL;
    return n + 3;
}

/* --cluster-secret-file PATH after k's first n arguments; nothing when path is NULL. */
static int add_secret(struct child *k, int n, const char *path)
{
    if (!path)
        return n;
    k->argv[n] = "--cluster-secret-file";
    k->argv[n + 1] = (char *)path;
    k->argv[n + 2] = NULL;
    return n + 2;
}

/* The password the options after "--" give the coordinator (--requirepass V or
 * --requirepass=V), else TWOPC_REQUIREPASS's; NULL for none. *secret: they name a cluster
 * secret of their own. */
static const char *coordinator_password(int n, char **extra, int *secret)
{
    const char *pass = NULL;
    *secret = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(extra[i], "--requirepass") == 0 && i + 1 < n)
            pass = extra[++i];
        else if (strncmp(extra[i], "--requirepass=", 14) == 0)
            pass = extra[i] + 14;
        else if (strncmp(extra[i], "--cluster-secret", 16) == 0)
            *secret = 1;
    }
    if (!pass)
        pass = getenv("TWOPC_REQUIREPASS");
    return pass && *pass ? pass : NULL;
}

/* DIR/cluster.secret: 64 random hex digits, private, made once and kept (a restarted
 * launcher finds the same one). Returns 0, or -1 after printing why. */
static int make_secret(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : (fprintf(stderr, "twopc-cluster: %s: %s\n", path,
                                              strerror(errno)), -1);
    unsigned char raw[32];
    char hex[66];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno != EINTR)
            break;
        got += n > 0 ? (size_t)n : 0;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[64] = '\n';
    int ok = got == sizeof raw && write(fd, hex, 65) == 65;
    if (close(fd) < 0 || !ok) {
        fprintf(stderr, "twopc-cluster: can't write %s\n", path);
        unlink(path);
        return -1;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: twopc-cluster [--port PORT] [--dir DIR] [options]\n"
            "Runs a twopc coordinator and its replicas on this machine, restarting any that\n"
            "dies. Ctrl-C or SIGTERM stops them all.\n\n"
            "  --port PORT           coordinator port (default 6379)\n"
            "  --dir DIR             data folder (default ./data)\n"
            "  --replicas N          number of replicas (default 3)\n"
            "  --replica-port PORT   first replica port (default PORT+1)\n"
            "  --prepare-timeout-ms N  passed to the coordinator (default 500)\n"
            "  --log-max-bytes N     compact logs past this size (default 16 MB)\n"
            "  --bin-dir DIR         where twopc-server and twopc-replica are\n"
            "  --config FILE         passed to every daemon (with --daemonize=no); the\n"
            "                        launcher's ports, folders and replica list override it\n"
            "  --help                this text\n"
            "  -- OPTION...          everything after -- goes to the coordinator as is, e.g.\n"
            "                        -- --requirepass secret --timeout 300 --maxclients 500\n"
            "                        A requirepass (there or in TWOPC_REQUIREPASS) is every\n"
            "                        replica's too (through TWOPC_REQUIREPASS, which ps does\n"
            "                        not show), and without --config or a cluster secret of\n"
            "                        your own the launcher makes one, DIR/cluster.secret, so\n"
            "                        no replica port answers anything without a password\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "port", required_argument, 0, 'p' },    { "dir", required_argument, 0, 'd' },
        { "replicas", required_argument, 0, 'n' }, { "replica-port", required_argument, 0, 'r' },
        { "bin-dir", required_argument, 0, 'b' }, { "prepare-timeout-ms", required_argument, 0, 't' },
        { "log-max-bytes", required_argument, 0, 'm' },
        { "config", required_argument, 0, 'c' },
        { "help", no_argument, 0, 'h' },          { 0, 0, 0, 0 }
    };
    int port = 6379, nrep = 3, rport = 0;
    const char *dir = "./data", *bindir = NULL, *timeout = "500", *maxlog = "16777216";
    const char *config = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': port = atoi(optarg); break;
        case 'd': dir = optarg; break;
        case 'n': nrep = atoi(optarg); break;
        case 'r': rport = atoi(optarg); break;
        case 'b': bindir = optarg; break;
        case 't': timeout = optarg; break;
        case 'm': maxlog = optarg; break;
        case 'c': config = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!rport)
        rport = port + 1;
    /* Options for the coordinator follow "--" (getopt stops there). */
    int nextra = optind < argc && strcmp(argv[optind - 1], "--") == 0 ? argc - optind : 0;
    if (port <= 0 || port > 65535 || nrep < 1 || nrep > MAX_CHILDREN - 1 || rport <= 0 ||
        rport + nrep - 1 > 65535 || optind + nextra < argc || nextra > MAX_EXTRA_ARGS) {
        usage(stderr);
        return 2;
    }
    if (util_ensure_dir(dir) < 0) {
        fprintf(stderr, "twopc-cluster: can't create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char absdir[PATH_MAX], path[PATH_MAX + 64], server[PATH_MAX], replica[PATH_MAX];
    if (!realpath(dir, absdir)) {
        fprintf(stderr, "twopc-cluster: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (find_binary(bindir, "twopc-server", server, sizeof server) < 0 ||
        find_binary(bindir, "twopc-replica", replica, sizeof replica) < 0) {
        fprintf(stderr, "twopc-cluster: can't find twopc-server and twopc-replica "
                        "(build them, or pass --bin-dir)\n");
        return 1;
    }
    char absconf[PATH_MAX];
    if (config && !realpath(config, absconf)) {
        fprintf(stderr, "twopc-cluster: %s: %s\n", config, strerror(errno));
        return 1;
    }
    /* A password protects every port, not only the coordinator's (#16): a replica answers
     * reads to its clients, and its internal commands (TPC.READ reads anything) to whoever
     * proves the cluster secret, or to anyone when there is none. */
    int own_secret;
    const char *pass = coordinator_password(nextra, argv + optind, &own_secret);
    char secret_path[PATH_MAX + 32];
    const char *secret = NULL;
    if (pass) {
        setenv("TWOPC_REQUIREPASS", pass, 1); /* inherited by every child */
        if (!own_secret && !config) {
            snprintf(secret_path, sizeof secret_path, "%s/cluster.secret", absdir);
            if (make_secret(secret_path) < 0)
                return 1;
            secret = secret_path;
        }
    }
    log_init('L', NULL, LOG_LEVEL_NOTICE);
    snprintf(path, sizeof path, "%s/twopc-cluster.pid", absdir);
    log_write_pidfile(path);

    struct launcher L = { .base = event_base_new() };
    char portbuf[16], addrs[MAX_CHILDREN][32];
    for (int i = 0; i < nrep; i++) {
        struct child *k = &L.kids[L.nkids++];
        snprintf(k->name, sizeof k->name, "replica-%d", i + 1);
        snprintf(k->dir, sizeof k->dir, "%s/replica-%d", absdir, i + 1);
        snprintf(portbuf, sizeof portbuf, "%d", rport + i);
        snprintf(addrs[i], sizeof addrs[i], "127.0.0.1:%d", rport + i);
        child_args(k, 7, replica, "--port", portbuf, "--dir", k->dir, "--log-max-bytes", maxlog);
        add_config(k, add_secret(k, 7, secret), config ? absconf : NULL);
    }
    struct child *co = &L.kids[L.nkids++];
    snprintf(co->name, sizeof co->name, "coordinator");
    snprintf(co->dir, sizeof co->dir, "%s/coordinator", absdir);
    snprintf(portbuf, sizeof portbuf, "%d", port);
    child_args(co, 9, server, "--port", portbuf, "--dir", co->dir, "--prepare-timeout-ms",
               timeout, "--log-max-bytes", maxlog);
    for (int i = 0; i < nrep; i++) {
        co->argv[9 + 2 * i] = "--replica";
        co->argv[10 + 2 * i] = addrs[i];
    }
    for (int i = 0; i < nextra; i++)
        co->argv[9 + 2 * nrep + i] = argv[optind + i];
    co->argv[9 + 2 * nrep + nextra] = NULL;
    add_config(co, add_secret(co, 9 + 2 * nrep + nextra, secret), config ? absconf : NULL);

    struct event *sigs[3] = {
        evsignal_new(L.base, SIGCHLD, sigchld_cb, &L),
        evsignal_new(L.base, SIGTERM, sigterm_cb, &L),
        evsignal_new(L.base, SIGINT, sigterm_cb, &L),
    };
    for (int i = 0; i < 3; i++)
        event_add(sigs[i], NULL);
    LOG_NOTICE("twopc cluster: coordinator on 127.0.0.1:%d, %d replicas on ports %d-%d, "
               "data in %s", port, nrep, rport, rport + nrep - 1, absdir);
    for (int i = 0; i < L.nkids; i++) {
        struct child *k = &L.kids[i];
        util_ensure_dir(k->dir);
        k->restart = evtimer_new(L.base, restart_cb, k);
        child_start(k);
    }
    event_base_dispatch(L.base);

    for (int i = 0; i < 3; i++)
        event_free(sigs[i]);
    for (int i = 0; i < L.nkids; i++)
        event_free(L.kids[i].restart);
    event_base_free(L.base);
    unlink(path);
    LOG_NOTICE("cluster stopped");
    return 0;
}

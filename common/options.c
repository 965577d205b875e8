/* options.c -- command line and config file through one table per daemon (options.h).
 *
 * The config file is applied first (options_parse looks for --config before getopt runs),
 * then getopt_long walks argv with a struct option array built from the table, so the
 * command line overrides the file whatever the order of the flags.
 */
#include "options.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

#define OPT_BASE 1000 /* getopt values of the table's options: clear of '?' and ':' */

/* Every directive of both daemons: a daemon accepts the other's and ignores it. Keep in
 * step with the two tables (server/main.c, replica/main.c) and conf/twopc.conf, which the
 * integration test starts both daemons from. */
static const char *const known_names[] = {
    "port", "bind", "dir", "replica", "coordinator", "log", "pidfile", "loglevel",
    "log-max-bytes", "daemonize", "requirepass", "cluster-secret-file", "cluster-secret",
    "prepare-timeout-ms", "max-inflight", "repair-chunk", "timeout", "maxclients",
    "min-replicas", "down-after-ms", "write-wait-ms", "link-timeout-ms", "protected-mode",
    "client-output-buffer-limit", "client-query-buffer-limit", "prepared-memory-limit",
    "databases", "store-cache",
    "notify-keyspace-events",
};

int options_known_name(const char *name)
{
    for (size_t i = 0; i < sizeof known_names / sizeof known_names[0]; i++)
        if (strcmp(known_names[i], name) == 0)
            return 1;
    return 0;
}

int options_yesno(const char *value)
{
    if (strcasecmp(value, "yes") == 0)
        return 1;
    if (strcasecmp(value, "no") == 0)
        return 0;
    return -1;
}

static const struct options_def *find(const struct options_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->ndefs; i++)
        if (strcmp(spec->defs[i].name, name) == 0)
            return &spec->defs[i];
    return NULL;
}

/* An OPTIONS_WORDS directive of several words: the setter gets them joined by one space
 * (kept for the life of the process, as every value). Returns 0, or -1 with err set. */
static int apply_words(const struct options_def *d, void *ctx, const struct config_entry *e,
                       char *err, size_t errlen)
{
    size_t len = 0;
    for (int i = 1; i < e->argc; i++)
        len += e->lens[i] + 1;
    char *v = malloc(len), *p = v;
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 1; i < e->argc; i++) {
        memcpy(p, e->argv[i], e->lens[i]);
        p += e->lens[i];
        *p++ = i + 1 < e->argc ? ' ' : '\0';
    }
    char why[256] = "bad value";
    if (d->set(ctx, d->name, v, 1, why, sizeof why) < 0) {
        snprintf(err, errlen, "'%s': %s", d->name, why);
        free(v);
        return -1;
    }
    return 0;
}

/* One config entry. Returns 0, or -1 with err set to the reason. */
static int apply_entry(const struct options_spec *spec, void *ctx,
                       const struct config_entry *e, char *err, size_t errlen)
{
    const char *name = e->argv[0];
    const struct options_def *d = find(spec, name);
    if (d && (d->kind == OPTIONS_HELP || d->kind == OPTIONS_VERSION))
        d = NULL;
    if (!d) {
        if (options_known_name(name))
            return 0; /* the other daemon's directive */
        snprintf(err, errlen, "unknown directive '%.64s'", name);
        return -1;
    }
    if (d->kind == OPTIONS_WORDS && e->argc > 2)
        return apply_words(d, ctx, e, err, errlen);
    if (e->argc != 2) {
        snprintf(err, errlen, "'%s' takes one argument, %s; found %d", name,
                 d->kind == OPTIONS_BOOL ? "yes or no" : (d->arg ? d->arg : "a value"),
                 e->argc - 1);
        return -1;
    }
    if (strlen(e->argv[1]) != e->lens[1]) {
        snprintf(err, errlen, "'%s': the value holds a NUL byte", name);
        return -1;
    }
    if (d->kind == OPTIONS_BOOL && options_yesno(e->argv[1]) < 0) {
        snprintf(err, errlen, "'%s' takes yes or no", name);
        return -1;
    }
    char why[256] = "bad value";
    if (d->set(ctx, name, e->argv[1], 1, why, sizeof why) < 0) {
        snprintf(err, errlen, "'%s': %s", name, why);
        return -1;
    }
    return 0;
}

/* Finds --config FILE / --config=FILE in argv (the last one wins). */
static int find_config(const struct options_spec *spec, int argc, char **argv,
                       const char **path)
{
    *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "%s: --config needs a file\n", spec->prog);
                return -1;
            }
            *path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            *path = argv[i] + 9;
        }
    }
    return 0;
}

static int apply_file(const struct options_spec *spec, const char *path, void *ctx)
{
    char err[1024];
    struct config *cf = config_load(path, err, sizeof err);
    if (!cf) {
        fprintf(stderr, "%s: %s\n", spec->prog, err);
        return -1;
    }
    for (size_t i = 0; i < cf->n; i++) {
        char why[512];
        if (apply_entry(spec, ctx, &cf->entries[i], why, sizeof why) < 0) {
            fprintf(stderr, "%s: %s:%d: %s\n", spec->prog, cf->entries[i].file,
                    cf->entries[i].line, why);
            return -1; /* the process exits: cf's memory goes with it */
        }
    }
    /* Not freed: the setters keep pointers into the values for the life of the process. */
    return 0;
}

static int apply_flags(const struct options_spec *spec, int argc, char **argv, void *ctx)
{
    struct option *opts = calloc(spec->ndefs + 2, sizeof *opts);
    size_t n = 0;
    if (!opts)
        return -1;
    for (size_t i = 0; i < spec->ndefs; i++) {
        const struct options_def *d = &spec->defs[i];
        if (d->kind == OPTIONS_FILE_ONLY)
            continue;
        int has_arg = d->kind == OPTIONS_VALUE || d->kind == OPTIONS_WORDS ? required_argument
                      : d->kind == OPTIONS_BOOL ? optional_argument /* --daemonize[=no] */
                                                : no_argument;
        opts[n++] = (struct option){ d->name, has_arg, NULL, OPT_BASE + (int)i };
    }
    opts[n++] = (struct option){ "config", required_argument, NULL, -2 };
    int ch, rc = 0;
    opterr = 0;
    optind = 1;
    while (rc == 0 && (ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == -2)
            continue; /* --config: already applied */
        if (ch < OPT_BASE || (size_t)(ch - OPT_BASE) >= spec->ndefs) {
            const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
            fprintf(stderr, "%s: %.64s: unknown option or missing value (see --help)\n",
                    spec->prog, arg);
            rc = -1;
            break;
        }
        const struct options_def *d = &spec->defs[ch - OPT_BASE];
        char why[256] = "bad value";
        if (d->kind == OPTIONS_HELP) {
            options_usage(spec, stdout);
            rc = 1;
        } else if (d->kind == OPTIONS_VERSION) {
            printf("%s %s\n", spec->prog, spec->version);
            rc = 1;
        } else if (d->kind == OPTIONS_BOOL && optarg && options_yesno(optarg) < 0) {
            fprintf(stderr, "%s: --%s: takes yes or no\n", spec->prog, d->name);
            rc = -1;
        } else if (d->set(ctx, d->name, d->kind == OPTIONS_BOOL && !optarg ? "yes" : optarg, 0,
                          why, sizeof why) < 0) {
            /* The value is on the command line anyway: echo it as before (Redis-like
             * "--min-replicas -1: argument must be ..."). */
            fprintf(stderr, "%s: --%s %s: %s\n", spec->prog, d->name, optarg ? optarg : "",
                    why);
            rc = -1;
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%.64s' (see --help)\n", spec->prog,
                argv[optind]);
        rc = -1;
    }
    free(opts);
    return rc;
}

/* TWOPC_REQUIREPASS, if set, is requirepass's value before the file and the flags (which
 * override it): a password that ps never shows (/proc/PID/environ is readable by the
 * daemon's user only). */
static int apply_env(const struct options_spec *spec, void *ctx)
{
    const char *v = getenv(OPTIONS_ENV_REQUIREPASS);
    if (!v)
        return 0;
    for (size_t i = 0; i < spec->ndefs; i++) {
        if (strcmp(spec->defs[i].name, "requirepass") != 0)
            continue;
        char err[256] = "";
        if (spec->defs[i].set(ctx, "requirepass", v, 1, err, sizeof err) < 0) {
            fprintf(stderr, "%s: %s: %s\n", spec->prog, OPTIONS_ENV_REQUIREPASS, err);
            return -1;
        }
    }
    return 0;
}

int options_parse(const struct options_spec *spec, int argc, char **argv, void *ctx)
{
    const char *path;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            options_usage(spec, stdout);
            return 1;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", spec->prog, spec->version);
            return 1;
        }
    }
    if (find_config(spec, argc, argv, &path) < 0)
        return -1;
    if (apply_env(spec, ctx) < 0)
        return -1;
    if (path && apply_file(spec, path, ctx) < 0)
        return -1;
    return apply_flags(spec, argc, argv, ctx);
}

/* One option's line: the head in a 24-column field, the help wrapped at WRAP_COLUMN. */
#define HEAD_WIDTH 24
#define WRAP_COLUMN 92

static void usage_line(FILE *f, const char *head, const char *help)
{
    int col = fprintf(f, "  %-*s", HEAD_WIDTH, head);
    if (col > HEAD_WIDTH + 2) {
        fprintf(f, "\n%*s", HEAD_WIDTH + 2, "");
        col = HEAD_WIDTH + 2;
    }
    const char *p = help;
    while (*p) {
        size_t w = strcspn(p, " ");
        if (strncmp(p, "(default", 8) == 0 && p[w] == ' ') /* "(default N)" stays whole */
            w += 1 + strcspn(p + w + 1, " ");
        if (col + 1 + (int)w > WRAP_COLUMN && col > HEAD_WIDTH + 2) {
            fprintf(f, "\n%*s", HEAD_WIDTH + 2, "");
            col = HEAD_WIDTH + 2;
        }
        col += fprintf(f, " %.*s", (int)w, p);
        p += w;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

void options_usage(const struct options_spec *spec, FILE *f)
{
    fprintf(f, "%s\n", spec->synopsis);
    usage_line(f, "--config FILE", "read options from FILE first (redis.conf style: one "
               "`option value` per line); flags on the command line override it");
    for (size_t i = 0; i < spec->ndefs; i++) {
        const struct options_def *d = &spec->defs[i];
        char head[96];
        if (d->kind == OPTIONS_FILE_ONLY)
            snprintf(head, sizeof head, "%s %s (file only)", d->name, d->arg ? d->arg : "VALUE");
        else
            snprintf(head, sizeof head, "--%s%s%s", d->name, d->arg ? " " : "",
                     d->arg ? d->arg : "");
        usage_line(f, head, d->help);
    }
}

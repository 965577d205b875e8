/* options.h -- one table of options per daemon, read from the command line and from the
 * config file alike.
 *
 * Each daemon declares its options once, as an array of struct options_def: the name (the
 * long option `--name` and the directive `name`), its kind, a setter, and its --help line.
 * options_parse() then:
 *   1. finds `--config FILE` wherever it is on the command line and reads FILE
 *      (common/config.h), calling the setter of each directive in file order, so a later
 *      line overrides an earlier one;
 *   2. runs getopt_long over the command line with the same table, so every flag overrides
 *      the file.
 * Before both, TWOPC_REQUIREPASS in the environment sets `requirepass` (for a daemon that
 * has it), so a password need not be in argv, where ps shows it.
 * The setter receives where the value came from (from_file), which the multi-valued
 * `replica` uses to let the command line's list replace the file's entirely.
 *
 * A directive that is not in the table but that the other daemon takes (options_known_name)
 * is accepted and ignored, so one file serves both daemons. Unknown directives, a wrong
 * argument count and a value the setter refuses stop the parse with
 * "PROG: FILE:LINE: reason" on stderr (for a flag: "PROG: --name VALUE: reason"). Values
 * from a file are never echoed, so a secret there cannot leak through a typo; a flag's
 * value is in argv already.
 */
#ifndef TWOPC_OPTIONS_H
#define TWOPC_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

enum options_kind {
    OPTIONS_VALUE,     /* --name VALUE; directive `name VALUE` */
    OPTIONS_BOOL,      /* --name (yes) or --name=yes|no; directive `name yes|no` */
    OPTIONS_FILE_ONLY, /* directive `name VALUE` only: no flag, so it never shows in argv */
    OPTIONS_HELP,      /* --help: prints the usage, exit 0 */
    OPTIONS_VERSION,   /* --version: prints the version, exit 0 */
    OPTIONS_WORDS,     /* --name "W1 W2 ..."; directive `name W1 W2 ...` (Redis's
                        * client-output-buffer-limit): the words joined by one space */
    OPTIONS_KIND_MAX
};

/* Sets one option. value is "yes"/"no" for OPTIONS_BOOL; it stays valid for the life of the
 * process. Returns 0, or -1 with the reason in err (without echoing a secret value). */
typedef int (*options_set_fn)(void *ctx, const char *name, const char *value, int from_file,
                              char *err, size_t errlen);

struct options_def {
    const char *name;
    enum options_kind kind;
    options_set_fn set;
    const char *arg;  /* the value's name in --help ("PORT"), NULL for none */
    const char *help; /* --help text, wrapped by options_usage */
};

struct options_spec {
    const char *prog;    /* "twopc-server": the prefix of every message */
    const char *version; /* printed by --version */
    const char *synopsis; /* the --help text before the option list */
    const struct options_def *defs;
    size_t ndefs;
};

/* The environment variable that sets requirepass (overridden by the file and the flags). */
#define OPTIONS_ENV_REQUIREPASS "TWOPC_REQUIREPASS"

/* Applies TWOPC_REQUIREPASS, --config FILE, then the command line, to ctx. Returns 0, 1 when --help or
 * --version printed its text (exit 0), or -1 after printing the error (exit 2). */
int options_parse(const struct options_spec *spec, int argc, char **argv, void *ctx);

/* The usage text: synopsis and one line per option. */
void options_usage(const struct options_spec *spec, FILE *f);

/* 1 if name is a directive of either daemon (so a daemon accepts and ignores it). */
int options_known_name(const char *name);

/* "yes"/"no" (any case) into 1/0; -1 for anything else. */
int options_yesno(const char *value);

#endif

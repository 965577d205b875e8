/* registry.c -- the command registry: tables, lookup, checks and HELP (see registry.h).
 *
 * The registered rows are kept as one array of pointers, sorted as registry_at() promises
 * (data commands first, then local ones, each by name); registry_add() inserts each row in
 * place, which costs nothing at the few dozen rows there are. Every request needs a lookup,
 * so lookups go through an open-addressing hash of the same rows, built on first use and
 * dropped whenever a table is added.
 *
 * The checks before a command runs (registry_check), in Redis's order: unknown command,
 * unknown subcommand of a container, then the arity. Error texts are Redis 7's, byte for
 * byte (CR/LF in echoed arguments are turned into spaces by the reply writer).
 */
#include "registry.h"

#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"

static const struct command **rows;
static size_t nrows, caprows;

static const struct command **lookup_table; /* NULL until the first lookup */
static size_t lookup_size;

/* ---- tables ---- */

static int is_data(const struct command *cmd)
{
    return (cmd->flags & (CMD_READ | CMD_WRITE)) != 0;
}

/* registry_at()'s order: data commands before local ones, then by name. */
static int row_before(const struct command *a, const struct command *b)
{
    if (is_data(a) != is_data(b))
        return is_data(a);
    return strcmp(a->name, b->name) < 0;
}

static void insert_row(const struct command *cmd)
{
    size_t at = nrows;
    while (at > 0 && row_before(cmd, rows[at - 1]))
        at--;
    memmove(rows + at + 1, rows + at, (nrows - at) * sizeof *rows);
    rows[at] = cmd;
    nrows++;
}

int registry_add(const struct command *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (registry_lookup(cmds[i].name, strlen(cmds[i].name)))
            return -1;
    if (nrows + n > caprows) {
        size_t cap = caprows ? caprows : 64;
        while (cap < nrows + n)
            cap *= 2;
        const struct command **nr = realloc(rows, cap * sizeof *nr);
        if (!nr)
            return -1;
        rows = nr;
        caprows = cap;
    }
    for (size_t i = 0; i < n; i++)
        insert_row(&cmds[i]);
    free(lookup_table); /* rebuilt on the next lookup */
    lookup_table = NULL;
    return 0;
}

size_t registry_count(void)
{
    return nrows;
}

const struct command *registry_at(size_t i)
{
    return i < nrows ? rows[i] : NULL;
}

/* ---- lookup ---- */

static uint64_t name_hash(const char *name, size_t len)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a over the lowercased name */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)tolower((unsigned char)name[i])) * 1099511628211ULL;
    return h;
}

static int build_lookup(void)
{
    size_t size = 64;
    while (size < 4 * nrows)
        size *= 2;
    if (!(lookup_table = calloc(size, sizeof *lookup_table)))
        return -1;
    lookup_size = size;
    for (size_t i = 0; i < nrows; i++) {
        size_t at = name_hash(rows[i]->name, strlen(rows[i]->name)) & (size - 1);
        while (lookup_table[at])
            at = (at + 1) & (size - 1);
        lookup_table[at] = rows[i];
    }
    return 0;
}

static int name_is(const struct command *cmd, const char *name, size_t len)
{
    return strlen(cmd->name) == len && strncasecmp(cmd->name, name, len) == 0;
}

const struct command *registry_lookup(const char *name, size_t len)
{
    if (!lookup_table && build_lookup() < 0) {
        for (size_t i = 0; i < nrows; i++) /* out of memory: the slow way */
            if (name_is(rows[i], name, len))
                return rows[i];
        return NULL;
    }
    for (size_t at = name_hash(name, len) & (lookup_size - 1); lookup_table[at];
         at = (at + 1) & (lookup_size - 1))
        if (name_is(lookup_table[at], name, len))
            return lookup_table[at];
    return NULL;
}

/* ---- the checks before a command runs ---- */

void registry_unknown_subcommand(char *err, size_t n, const char *cmd, const char *sub)
{
    char upper[32];
    size_t i = 0;
    for (; cmd[i] && i < sizeof upper - 1; i++)
        upper[i] = (char)toupper((unsigned char)cmd[i]);
    upper[i] = 0;
    snprintf(err, n, "ERR unknown subcommand '%.128s'. Try %s HELP.", sub, upper);
}

static void unknown_command(char *err, size_t n, const struct resp_request *req)
{
    /* Redis 7: "unknown command '%.128s', with args beginning with: " then "'%.*s' " for
     * each argument while the list is under 128 bytes. */
    char args[512] = "";
    size_t len = 0;
    for (int i = 1; i < req->argc && len < 128; i++)
        len += (size_t)snprintf(args + len, sizeof args - len, "'%.*s' ",
                                (int)(128 - len < req->lens[i] ? 128 - len : req->lens[i]),
                                req->argv[i]);
    snprintf(err, n, "ERR unknown command '%.128s', with args beginning with: %s",
             req->argv[0], args);
}

static const struct subcommand *find_subcommand(const struct subcommand *subs,
                                                const char *name)
{
    for (; subs && subs->name; subs++)
        if (strcasecmp(subs->name, name) == 0)
            return subs;
    return NULL;
}

static int bad_arity(int arity, int argc)
{
    return (arity > 0 && argc != arity) || argc < -arity;
}

void registry_arity_error(char *err, size_t n, const char *cmd, const char *sub)
{
    snprintf(err, n, "ERR wrong number of arguments for '%s%s%s' command", cmd,
             sub ? "|" : "", sub ? sub : "");
}

int registry_check(const struct command *cmd, const struct resp_request *req,
                   const struct subcommand **sub, char *err, size_t n)
{
    *sub = NULL;
    if (!cmd) {
        unknown_command(err, n, req);
        return -1;
    }
    if (!cmd->subs || req->argc < 2) {
        if (!bad_arity(cmd->arity, req->argc))
            return 0;
        registry_arity_error(err, n, cmd->name, NULL);
        return -1;
    }
    if (!(*sub = find_subcommand(cmd->subs, req->argv[1]))) {
        registry_unknown_subcommand(err, n, cmd->name, req->argv[1]);
        return -1;
    }
    if (!bad_arity((*sub)->arity, req->argc))
        return 0;
    registry_arity_error(err, n, cmd->name, (*sub)->name);
    return -1;
}

void registry_run_subcommand(struct client *cl, const struct resp_request *req,
                             const struct subcommand *subs)
{
    const struct subcommand *sub = req->argc >= 2 ? find_subcommand(subs, req->argv[1]) : NULL;
    assert(sub && !bad_arity(sub->arity, req->argc)); /* registry_check() accepted it */
    sub->fn(cl, req);
}

/* ---- HELP ---- */

void registry_help(struct client *cl, const char *const *lines, size_t n)
{
    struct resp_writer *w = client_reply_writer(cl);
    resp_write_array(w, n);
    for (size_t i = 0; i < n; i++)
        resp_write_simple(w, lines[i]);
}

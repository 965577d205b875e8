/* registry.h -- the coordinator's command registry: every command table, the lookup by
 * name, the checks Redis makes before a command runs, and the HELP reply.
 *
 * Each command file owns its table and registers it at start-up (data_cmd.c the reads and
 * writes, session.c the connection and server commands, client_cmd.c CLIENT, config_cmd.c
 * CONFIG, info.c INFO and COMMAND, multi.c MULTI and friends, slowlog.c SLOWLOG and
 * LATENCY); the registry pulls nothing from anyone. Use, in order:
 *
 *     registry_add(my_commands, n);                        (start-up, before any lookup)
 *     cmd = registry_lookup(argv[0], len);                 (any case; NULL if unknown)
 *     registry_check(cmd, req, &sub, err, sizeof err);     (Redis 7's checks, below)
 *     cmd->fn(cl, req);  ...  registry_run_subcommand(cl, req, cmd->subs);
 *
 * A command is one of three kinds (its flags):
 *   - local:  answered by the coordinator itself (PING, ECHO, SELECT, INFO, COMMAND, CONFIG);
 *   - read:   forwarded to one READY replica (GET, EXISTS, DBSIZE), after this client's own
 *             outstanding writes (read-your-writes, see client.h);
 *   - write:  submitted to the round engine (SET, DEL) and answered when its round is decided.
 * and, independently, CMD_FAST (COMMAND's "fast") and CMD_LOADING (allowed at start-up).
 * A container's fn runs its subcommand with registry_run_subcommand().
 *
 * Order (COMMAND, COMMAND LIST, DOCS): registry_at() lists the data commands (read or
 * write) first, then the local ones, each group by name, whatever the order of
 * registration, so the output does not depend on how main.c orders the init calls.
 *
 * Ownership: tables are the registering file's, static and constant; the registry keeps
 * pointers to their rows. The lookup hash is built on first use and rebuilt if a table is
 * added later.
 */
#ifndef TWOPC_REGISTRY_H
#define TWOPC_REGISTRY_H

#include <stddef.h>

#include "resp_parser.h"

struct client;

/* CMD_LOADING: the command may run while the coordinator is still recovering at start-up
 * (txn_loading() says what it waits for); the others get "-LOADING ..." then (request.c).
 * It is set exactly where Redis 7's command table has the `loading` flag (INFO, AUTH,
 * HELLO, CLIENT, CONFIG, COMMAND, SELECT, TIME, MULTI/EXEC, ... but not PING or ECHO), so
 * that a client's start-up handshake and ready check behave as against a loading Redis. */
enum cmd_flags { CMD_WRITE = 1, CMD_READ = 2, CMD_LOCAL = 4, CMD_FAST = 8, CMD_LOADING = 16,
                 CMD_BLOCKING = 32 };

typedef void (*cmd_fn)(struct client *cl, const struct resp_request *req);

/* One subcommand of a container command (CLIENT, CONFIG, SLOWLOG...). */
struct subcommand {
    const char *name; /* lowercase, as in 'client|getname'; NULL ends a table */
    int arity;        /* as in Redis's command table: counts the command and subcommand names */
    cmd_fn fn;
};

struct command {
    const char *name; /* lowercase */
    int arity;        /* Redis convention: -N means at least N */
    int flags;
    int first_key, last_key, step;
    const char *group, *since, *summary;
    cmd_fn fn;
    /* A container's subcommands (the table of the file that implements them), or NULL.
     * With an argv[1], a container's fn runs only once registry_check() has found that
     * subcommand with the right arity, so a subcommand error is refused like an unknown
     * command (inside MULTI, at queue time: EXEC then answers EXECABORT), as in Redis. */
    const struct subcommand *subs;
};

/* Registers the n rows of cmds (kept by pointer). Returns 0, or -1 when out of memory or
 * a name is already registered (nothing added then). */
int registry_add(const struct command *cmds, size_t n);

/* The command named name[0..len) (any case), or NULL. */
const struct command *registry_lookup(const char *name, size_t len);

/* Every registered command, in the order above: i in [0, registry_count()). */
size_t registry_count(void);
const struct command *registry_at(size_t i);

/* Redis 7's checks before a command runs or is queued (processCommand), in its order:
 *   1. the command exists: cmd is the registry's entry for argv[0], or NULL;
 *   2. for a container with an argv[1], that subcommand exists (any case);
 *   3. the arity: the subcommand's if there is one, else the command's.
 * Sets *sub to the subcommand argv[1] names (NULL if cmd is no container, argc is 1 or there
 * is no such subcommand), also when its arity is wrong. Returns 0 when the request may run,
 * or -1 with Redis's error text in err[0..n) (REGISTRY_ERR_MAX is enough; longer is cut):
 * "ERR unknown command '<name>', with args beginning with: '<arg>' ...", "ERR unknown
 * subcommand '<sub>'. Try <CMD> HELP.", "ERR wrong number of arguments for '<name>' command"
 * (name is 'client|getname' for a subcommand). CR/LF echoed from the request are left in:
 * the reply writer turns them into spaces. */
#define REGISTRY_ERR_MAX 800
int registry_check(const struct command *cmd, const struct resp_request *req,
                   const struct subcommand **sub, char *err, size_t n);

/* Runs the subcommand of subs that req->argv[1] names: a container's fn calls it, which
 * happens only for a request registry_check() accepted (request.c checks it before running
 * or queueing a command). */
void registry_run_subcommand(struct client *cl, const struct resp_request *req,
                             const struct subcommand *subs);

/* Writes "ERR unknown subcommand '<sub>'. Try <CMD> HELP." into err[0..n), cmd uppercased. */
void registry_unknown_subcommand(char *err, size_t n, const char *cmd, const char *sub);

/* Writes "ERR wrong number of arguments for '<cmd>' command" ('<cmd>|<sub>' when sub is
 * not NULL) into err[0..n). */
void registry_arity_error(char *err, size_t n, const char *cmd, const char *sub);

/* Answers a HELP subcommand: an array of the n lines, as simple strings (Redis's form). */
void registry_help(struct client *cl, const char *const *lines, size_t n);

#endif

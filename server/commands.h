/* commands.h -- the coordinator's command table, and the checks Redis makes before a
 * command runs.
 *
 * request.c looks every request up in the table, has commands_check() apply Redis 7's
 * checks (the command exists, its arity; for a container such as CLIENT or CONFIG, the
 * subcommand exists and its arity), then runs the command's fn as one of three kinds:
 *   - local:  answered by the coordinator itself (PING, ECHO, SELECT, INFO, COMMAND, CONFIG);
 *   - read:   forwarded to one READY replica (GET, EXISTS, DBSIZE), after this client's own
 *             outstanding writes (read-your-writes, see client.h);
 *   - write:  submitted to the round engine (SET, DEL) and answered when its round is decided.
 * A container's fn runs its subcommand with commands_run_subcommand().
 */
#ifndef TWOPC_COMMANDS_H
#define TWOPC_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "resp_parser.h"

struct client;
struct conn_server;
struct txn;

struct coord {
    struct event_base *base;
    struct txn *txn;
    struct conn_server *srv;
    const char *bind, *dir, *executable, *config_file;
    int port, prepare_timeout_ms;
    uint64_t start_ms;
};

enum cmd_flags { CMD_WRITE = 1, CMD_READ = 2, CMD_LOCAL = 4, CMD_FAST = 8 };

typedef void (*cmd_fn)(struct client *cl, const struct resp_request *req);

/* One subcommand of a container command (CLIENT, CONFIG, SLOWLOG...). */
struct subcommand {
    const char *name; /* lowercase, as in 'client|getname'; NULL ends a table */
    int arity;        /* as in Redis's command table: counts the command and subcommand names */
    cmd_fn fn;
};

struct command {
    const char *name;
    int arity; /* Redis convention: -N means at least N */
    int flags;
    int first_key, last_key, step;
    const char *group, *since, *summary;
    cmd_fn fn;
    /* A container's subcommands (the table of the file that implements them), or NULL.
     * With an argv[1], a container's fn runs only once commands_check() has found that
     * subcommand with the right arity, so a subcommand error is refused like an unknown
     * command (inside MULTI, at queue time: EXEC then answers EXECABORT), as in Redis. */
    const struct subcommand *subs;
};

void commands_init(struct coord *c);

/* Redis 7's checks before a command runs or is queued (processCommand), in its order:
 *   1. the command exists: cmd is the table's entry for argv[0], or NULL;
 *   2. for a container with an argv[1], that subcommand exists (any case);
 *   3. the arity: the subcommand's if there is one, else the command's.
 * Sets *sub to the subcommand argv[1] names (NULL if cmd is no container, argc is 1 or there
 * is no such subcommand), also when its arity is wrong. Returns 0 when the request may run,
 * or -1 with Redis's error text in err[0..n) (COMMANDS_ERR_MAX is enough; longer is cut):
 * "ERR unknown command '<name>', with args beginning with: '<arg>' ...", "ERR unknown
 * subcommand '<sub>'. Try <CMD> HELP.", "ERR wrong number of arguments for '<name>' command"
 * (name is 'client|getname' for a subcommand). CR/LF echoed from the request are left in:
 * the reply writer turns them into spaces. */
#define COMMANDS_ERR_MAX 800
int commands_check(const struct command *cmd, const struct resp_request *req,
                   const struct subcommand **sub, char *err, size_t n);

/* Runs the subcommand of subs that req->argv[1] names: a container's fn calls it, which
 * happens only for a request commands_check() accepted (request.c checks it before running
 * or queueing a command). */
void commands_run_subcommand(struct client *cl, const struct resp_request *req,
                             const struct subcommand *subs);

/* Writes "ERR unknown subcommand '<sub>'. Try <CMD> HELP." into err[0..n), cmd uppercased. */
void commands_unknown_subcommand(char *err, size_t n, const char *cmd, const char *sub);

/* The command tables, each in the file that implements its commands: data commands
 * (reads and writes) in commands.c, connection and server commands in session.c. */
extern const struct command data_commands[];
extern const size_t data_commands_count;
extern const struct command session_commands[];
extern const size_t session_commands_count;

/* Every command, for COMMAND: i in [0, commands_count()). */
size_t commands_count(void);
const struct command *commands_at(size_t i);
const struct command *commands_lookup(const char *name, size_t len);
struct coord *commands_coord(void);

/* Local commands that live in info.c (INFO, COMMAND) and settings.c (CONFIG). */
void cmd_info(struct client *cl, const struct resp_request *req);
void cmd_command(struct client *cl, const struct resp_request *req);
void cmd_config(struct client *cl, const struct resp_request *req);

/* The containers' subcommand tables (struct command's subs), each in the file that
 * implements the subcommands: client_cmd.c, info.c (COMMAND), settings.c (CONFIG),
 * slowlog.c (SLOWLOG, LATENCY). */
extern const struct subcommand client_subcommands[];
extern const struct subcommand command_subcommands[];
extern const struct subcommand config_subcommands[];
extern const struct subcommand slowlog_subcommands[];
extern const struct subcommand latency_subcommands[];

#endif

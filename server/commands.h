/* commands.h -- the coordinator's command table and dispatch.
 *
 * Every client request goes through commands_dispatch(): look the name up, check arity
 * (Redis 7 error texts), then run it as one of three kinds:
 *   - local:  answered by the coordinator itself (PING, ECHO, SELECT, INFO, COMMAND, CONFIG);
 *   - read:   forwarded to one READY replica (GET, EXISTS, DBSIZE), after this client's own
 *             outstanding writes (read-your-writes, see client.h);
 *   - write:  submitted to the round engine (SET, DEL) and answered when its round is decided.
 */
#ifndef TWOPC_COMMANDS_H
#define TWOPC_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "resp_parser.h"

struct client;
struct conn_server;
struct resp_writer;
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

struct command {
    const char *name;
    int arity; /* Redis convention: -N means at least N */
    int flags;
    int first_key, last_key, step;
    const char *group, *since, *summary;
    cmd_fn fn;
};

void commands_init(struct coord *c);
void commands_dispatch(struct client *cl, const struct resp_request *req);

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

/* Local commands that live in info.c. */
void cmd_info(struct client *cl, const struct resp_request *req);
void cmd_command(struct client *cl, const struct resp_request *req);
void cmd_config(struct client *cl, const struct resp_request *req);

/* Writes "ERR unknown subcommand '<sub>'. Try <CMD> HELP." */
void commands_unknown_subcommand(struct resp_writer *w, const char *cmd, const char *sub);

#endif

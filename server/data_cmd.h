/* data_cmd.h -- the data commands (GET, SET, MSET, EXPIRE ...): their table, and the front
 * end's door into the round engine.
 *
 * The table says which commands are reads and which are writes, with their arity and key
 * positions (COMMAND GETKEYS and WATCH read them). A read goes to one replica through the
 * read batcher (reads.h), after the client's own outstanding writes (read-your-writes); a
 * write becomes an op submitted to the round engine with a reply slot, answered when its
 * round is decided.
 *
 *     data_cmd_init(&coord);        (start-up, after the round engine exists: registers
 *                                     the table and starts the read batcher)
 *     data_cmd_submit(op, slot);    (a write: EXEC's TX op comes this way too)
 */
#ifndef TWOPC_DATA_CMD_H
#define TWOPC_DATA_CMD_H

#include <stddef.h>

struct coord;
struct op;
struct slot;

/* Returns 0, or -1 if the table could not be registered (out of memory). */
int data_cmd_init(struct coord *c);

/* Takes ownership of op; its result (or error) is written into slot, then slot_done(). */
void data_cmd_submit(struct op *op, struct slot *slot);

/* The op that carries command argv to the replicas in database db: DB-wrapped when db != 0
 * (op.h), and with a database index argument of MOVE, SWAPDB or COPY ... DB that names a
 * database past `databases` (an integer up to INT32_MAX) replaced by -1, which the replicas
 * refuse with Redis's "DB index is out of range" (they do not know `databases`). NULL when
 * out of memory. */
struct op *data_cmd_op(int db, int argc, char *const *argv, const size_t *lens);

#endif

/* op.h -- one client write, as it travels in a 2PC round.
 *
 * An op is a command's arguments copied out of a parser's buffer (argv[0] is the command
 * name, e.g. "SET"). The coordinator builds ops from client requests and sends them in
 * PREPARE; a replica decodes them from PREPARE and from its vote log. All of an op's memory
 * is one allocation, owned by the op, freed by op_free().
 */
#ifndef TWOPC_OP_H
#define TWOPC_OP_H

#include <stddef.h>
#include <stdint.h>

struct op {
    int argc;
    char **argv;  /* each NUL-terminated; binary-safe by lens */
    size_t *lens;
    char scratch[24]; /* room for a result an effect points at (INCR's new value) */
};

/* Returns a deep copy of the arguments, or NULL when out of memory. */
struct op *op_new(int argc, char *const *argv, const size_t *lens);

/* Accepts NULL. */
void op_free(struct op *op);

/* Ops framed back to back, {argc arg...}*n: a round's ops in PREPARE, a TX op's body,
 * the reads of TPC.MREAD. Sets *out to the op at argv[*at] (pointing into argv: no copy)
 * and advances *at past it. Returns 1, 0 when *at == argc (nothing left), or -1 when the
 * framing is malformed (a bad or zero count, or one running past argc). */
int op_frame_next(int argc, char *const *argv, const size_t *lens, int *at, struct op *out);

/* True if argv[0] equals name, ignoring case. */
int op_is(const struct op *op, const char *name);
/* True if the argument arg (len bytes) equals name, ignoring case. */
int op_name_is(const char *arg, size_t len, const char *name);

/* Numbered databases (SELECT). An op names its database with a wrapper, only when it is not
 * 0, so that every op of database 0 keeps the encoding it had before databases existed (old
 * vote logs replay unchanged):
 *
 *     DB <n> <command> <args...>       n in 1 .. OP_DB_LIMIT - 1, decimal, no sign
 *
 * in a round's ops (TPC.PREPARE, the vote log), in a TX's sub-commands (a SELECT inside
 * MULTI wraps the commands queued after it) and in reads (TPC.READ, TPC.MREAD). No Redis
 * command is called DB. */
#define OP_DB_LIMIT 1000000

/* 0 with *db set if argv is a DB wrapper with a valid n and a command after it; -1 if
 * not (*db untouched). */
int op_db_wrapper(int argc, char *const *argv, const size_t *lens, int *db);
/* The database of each of op's arguments into dbs[0 .. argc): the op's wrapper's (0
 * without one), a TX sub-command's own wrapper's for its arguments, and -1 for what names
 * no key of a database (a wrapper's DB and n, a TX's name, count and frame counts). */
void op_arg_dbs(const struct op *op, int *dbs);
/* op_new of argv, wrapped as DB <db> argv... when db != 0. NULL when out of memory. */
struct op *op_new_db(int db, int argc, char *const *argv, const size_t *lens);

/* BITFIELD key [GET type offset] [SET|INCRBY type offset value] [OVERFLOW how] ...: whether
 * it writes, decided the same way by the coordinator (a read or a round) and the replicas
 * (a TPC.READ of it is refused otherwise). Walks the subcommands as Redis parses them and
 * returns 1 at the first SET or INCRBY, 0 when it meets none before the end or before a
 * malformed subcommand (an error that Redis answers without writing, so a read). When
 * grow is not NULL it is set to the length in bytes the writes need the value to have
 * (0 if none): the offset of their last bit, over 8, plus 1, for the round's work
 * allowance; a type or an offset that does not parse counts nothing. */
int op_bitfield_writes(const struct op *op, uint64_t *grow);
/* Whether a SORT has a STORE option (then it writes: a round; else it is a read). */
int op_sort_stores(const struct op *op);

#endif

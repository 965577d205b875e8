/* exec_cmd.h -- the contract between the evaluator (exec.c) and the command files
 * (cmd_string.c, cmd_bit.c, cmd_keys.c, cmd_keyspace.c, cmd_object.c).
 *
 * A command file exports a table of struct exec_cmd: each entry names a command, its arity
 * (Redis's convention) and flags, and the function that evaluates it against the store as
 * modified by the round's effects so far (effects.h), recording what it changes and
 * writing its reply. exec.c looks commands up in those tables; the command files need
 * nothing of exec.c but what is here (error helpers, argument parsing, limits), so the
 * include graph has no cycle: exec -> cmd_* -> exec_cmd.
 */
#ifndef TWOPC_EXEC_CMD_H
#define TWOPC_EXEC_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "effects.h"
#include "op.h"
#include "resp_writer.h"

struct store;

/* Evaluates op against s as modified by fx, records its effects into fx and writes its
 * reply into w (never NULL). Returns 0, or -1 after writing an error reply. */
typedef int (*exec_fn)(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w);

enum exec_flags {
    EXEC_READ = 1, /* records nothing: may run as a read (TPC.READ, the replica's port) */
    /* BITFIELD: a read when it has no SET or INCRBY (op_bitfield_writes()); SORT, when
     * it has no STORE (op_sort_stores()). The coordinator uses the same functions to
     * send it as a read or in a round. */
    EXEC_READ_IF_NO_WRITE = 2
};

struct exec_cmd {
    const char *name;
    int arity; /* Redis convention: -N means at least N */
    int flags;
    exec_fn fn;
};

#define EXEC_ERR_NOT_INT "ERR value is not an integer or out of range"
#define EXEC_ERR_SYNTAX "ERR syntax error"
#define EXEC_ERR_STORAGE "ERR storage error"
#define EXEC_ERR_OOM "ERR out of memory"
#define EXEC_ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
/* A lookup's answer for a key of another type than the command's (exec_lookup_type). */
#define EXEC_WRONGTYPE (-2)
/* proto-max-bulk-len: the longest string a command may build (SETRANGE, APPEND). */
#define EXEC_MAX_STRING ((int64_t)512 * 1024 * 1024)

/* Writes msg as an error reply; returns -1. */
int exec_error(struct resp_writer *w, const char *msg);
/* Writes a formatted error reply (at most 512 bytes); returns -1. */
int exec_errorf(struct resp_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* effects_lookup() of argument i that also checks the key's type: 1 found with type t,
 * 0 missing, EXEC_WRONGTYPE found with another type, -1 store error. */
int exec_lookup_type(struct store *s, const struct effects *fx, const struct op *op, int i,
                     int t, struct effects_value *v);
/* Redis's name of a type (enum store_type): "string", "hash", "set"; "none" else. */
const char *exec_type_name(int t);
/* The error reply for a failed lookup (EXEC_WRONGTYPE or -1); returns -1. */
int exec_lookup_error(struct resp_writer *w, int rc);
/* MAX_LONG_DOUBLE_CHARS in Redis: the longest float INCRBYFLOAT parses or formats. */
#define EXEC_LONG_DOUBLE_CHARS 5120
/* Redis's string2ld (0, or -1 when p is no valid float) and ld2string in human mode (the
 * length, 0 if buf is too small): INCRBYFLOAT and HINCRBYFLOAT. */
int exec_parse_ld(const char *p, size_t len, long double *out);
size_t exec_format_ld(char *buf, size_t cap, long double v);
/* Parses argument i as a Redis integer (string2ll rules). Returns 0 or -1. */
int exec_arg_i64(const struct op *op, int i, int64_t *v);

/* The timeout argument i of a blocking command (BLPOP, BZPOPMIN...), checked as Redis's
 * getTimeoutFromObjectOrReply in seconds. Returns 0, or -1 with the error written. */
int exec_check_timeout(const struct effects *fx, const struct op *op, int i,
                       struct resp_writer *w);

/* LMPOP and ZMPOP's arguments from `at` (their numkeys; 2 for the blocking forms, whose
 * timeout at 1 is checked last, as Redis's lmpopGenericCommand/zmpopGenericCommand do):
 * numkeys keys, then end0 or end1 (any case; *end 0 or 1, at argument *wi), then an
 * optional COUNT n (*count, 1 without). Returns 0, or -1 with the error written. */
int exec_mpop_args(const struct effects *fx, const struct op *op, int at, const char *end0,
                   const char *end1, int *wi, int *end, int64_t *count, struct resp_writer *w);

#endif

/* exec.h -- what a command does to the data, evaluated deterministically on a replica.
 *
 * At PREPARE a replica evaluates each op of the round in order, against the committed
 * store as modified by the rounds still undecided ahead of it (fx->under, a chain) and by
 * the round's earlier ops, and records the op's effects (effects.h) and its result (SET's
 * +OK, DEL's count), as Redis 7 would reply. Every replica starts from identical committed
 * data and evaluates the same ops in the same order at the same clock (fx->now_ms, the
 * coordinator's), so every replica computes the same results; the coordinator checks that
 * they agree. At COMMIT the effects are applied to the store in order.
 *
 *     struct effects fx = { .now_ms = now };
 *     exec_op(store, &fx, op, &writer);   // per op; result written to writer
 *     exec_apply(store, &fx);             // at commit, inside a store transaction
 *     effects_clear(&fx);
 *
 * Reads use the same evaluators: exec_read() runs a read command (EXEC_READ) on the
 * committed data alone, at a given clock, keeping no effects. The coordinator forwards its
 * reads as `TPC.READ <now_ms> <command> <args...>`, so every replica answers a read about
 * expiring keys as of the same instant.
 *
 * The commands live in tables, one per file: cmd_string.c (strings), cmd_keys.c (generic
 * key commands and expiry), cmd_keyspace.c (DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHDB,
 * FLUSHALL), and here (TX, PING). An evaluator writes exactly one reply; when it returns -1
 * (an error reply) the records it made are dropped, so a failed command changes nothing.
 * An evaluator records a key only when the command really changes it in Redis's sense
 * (signalModifiedKey): SETNX on an existing key, DEL of a missing key, a failed EXPIRE NX
 * or FLUSHDB of an empty database record nothing, while SET of the same value does. The
 * coordinator's WATCH relies on it: the TOUCHED vote (participant.h) reports which keys an
 * op changed from its records.
 *
 * Databases: an op of database n != 0 comes wrapped, `DB n <command...>` (op.h), in a round
 * and in a read alike; exec_op() evaluates the command with fx->db = n, so its lookups and
 * records are in database n (effects.h). An op without a wrapper is in database 0, as every
 * op was before databases existed, so old vote logs replay unchanged. A TX is never
 * wrapped: each of its sub-commands carries its own wrapper, which is how a SELECT inside
 * MULTI reaches the replicas (the coordinator wraps the commands queued after it). MOVE,
 * SWAPDB and COPY ... DB name databases in their arguments; the replicas accept any in
 * 0 .. OP_DB_LIMIT - 1, and the coordinator, which knows the `databases` setting, turns a
 * number past it into -1 so the replicas answer "DB index is out of range" as Redis does.
 *
 * A TX op is a MULTI/EXEC block: `TX n {argc arg...}*n`. Its sub-commands run in order,
 * atomically within the round, reads included (GET sees the TX's own earlier writes), and
 * its result is the array of their results, as EXEC returns it. A sub-command's error
 * (wrong type, not an integer) is its own result and does not stop the others, as in Redis.
 */
#ifndef TWOPC_EXEC_H
#define TWOPC_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "effects.h"
#include "exec_cmd.h"
#include "op.h"
#include "resp_writer.h"

struct store;

/* True if the replica knows how to evaluate this op. */
int exec_known(const struct op *op);
/* True if op is a read command (EXEC_READ; EXEC_READ_IF_NO_WRITE by its arguments). */
int exec_is_read(const struct op *op);

/* Evaluates op. Returns 0 with the result written to w (w may be NULL: no reply wanted),
 * or -1 with an error written to w when the op is unknown, malformed, refused (an error
 * reply such as "not an integer") or the store fails; then op has recorded nothing. */
int exec_op(struct store *s, struct effects *fx, const struct op *op, struct resp_writer *w);

/* Runs a read command on the committed data at clock now_ms; seed: nonzero randomness
 * (RANDOMKEY). Returns like exec_op; a write command is refused with -1. */
int exec_read(struct store *s, int64_t now_ms, uint64_t seed, const struct op *op,
              struct resp_writer *w);

/* Applies every effect in order. Returns 0, -1 (store error) or EFFECTS_STOPPED (see
 * effects_apply). */
int exec_apply(struct store *s, const struct effects *fx);

#endif

/* exec.h -- what a write op does to the data, evaluated deterministically on a replica.
 *
 * At PREPARE a replica evaluates each op of the round in order, against the committed
 * store as modified by the rounds still undecided ahead of it (fx->under, a chain) and by
 * the round's earlier ops, and records the op's effects (put k v /
 * delete k) and its result (SET's +OK, DEL's count). Every replica starts from identical
 * committed data and evaluates the same ops in the same order, so every replica computes the
 * same results; the coordinator checks that they agree. At COMMIT the effects are applied to
 * the store in order.
 *
 *     struct effects fx = {0};
 *     exec_op(store, &fx, op, &writer);   // per op; result written to writer
 *     exec_apply(store, &fx);             // at commit, inside a store transaction
 *     effects_clear(&fx);
 *
 * Effects point into the ops' memory: the ops must outlive the effects.
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

#include "op.h"
#include "resp_writer.h"

struct store;

struct effect {
    int del;          /* 1: delete key; 0: put value */
    const char *k, *v;
    size_t klen, vlen;
};

struct effects {
    struct effect *v;
    size_t n, cap;
    /* The effects of the round prepared just before this one and not yet decided (NULL if
     * none): a round is evaluated on top of the rounds ahead of it in the pipeline. */
    const struct effects *under;
    /* Ops created during evaluation (a TX's sub-commands) that effects point into; freed
     * by effects_clear(). */
    struct op **owned;
    size_t nowned;
    /* The coordinator's clock for this round (Unix ms): whatever depends on time (expiry)
     * is decided by it, identically on every replica. */
    int64_t now_ms;
};

/* True if the replica knows how to evaluate this op. */
int exec_known(const struct op *op);

/* Evaluates op. Returns 0 with the result written to w (w may be NULL), or -1 with an
 * error written to w when the op is unknown, malformed or the store fails. */
int exec_op(struct store *s, struct effects *fx, const struct op *op, struct resp_writer *w);

/* Applies every effect in order. Returns 0 or -1 (store error). */
int exec_apply(struct store *s, const struct effects *fx);

void effects_clear(struct effects *fx);

#endif

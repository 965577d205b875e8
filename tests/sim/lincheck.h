/* lincheck.h -- a linearizability checker for one key's history (Wing & Gong's search with
 * Lowe's memoization, as in Knossos and Porcupine).
 *
 * The simulator records every client operation on a key: when it was invoked, when its
 * answer came back (or never: the coordinator died first and the outcome is unknown), and
 * what it returned. Operations that got a definite error are not recorded at all: they must
 * not have happened, so a value only they wrote can never be explained by the others.
 *
 * The model of a key is one int64: a register (SET k v<id> writes id, GET returns the id or
 * 0 for nil, DEL writes 0 and returns whether it held one) or a counter (INCR returns the
 * new value, GET returns it).
 *
 *     struct lin_hist h = { 0 };
 *     lin_add(&h, LIN_SET, 42, 0, call, ret, 1);
 *     ...
 *     if (lin_check(&h) != 0) report a violation;
 *     lin_free(&h);
 */
#ifndef TWOPC_LINCHECK_H
#define TWOPC_LINCHECK_H

#include <stddef.h>
#include <stdint.h>

enum lin_kind { LIN_SET, LIN_GET, LIN_DEL, LIN_INCR };

struct lin_op {
    enum lin_kind kind;
    int64_t arg;  /* SET: the value id */
    int64_t out;  /* GET: the id or count read; DEL: 1/0; INCR: the new value (unused
                   * when ret is UINT64_MAX: the answer never came) */
    uint64_t call, ret; /* event stamps; ret == UINT64_MAX: never answered */
};

struct lin_hist {
    struct lin_op *ops;
    size_t n, cap;
};

/* Records one operation. Returns 0, or -1 when out of memory. */
int lin_add(struct lin_hist *h, enum lin_kind kind, int64_t arg, int64_t out, uint64_t call,
            uint64_t ret);

/* 0 if the history is linearizable, 1 if not, -1 if the search ran out of its budget
 * (undecided). */
int lin_check(const struct lin_hist *h);

void lin_free(struct lin_hist *h);

#endif

/* cmd_set.c -- set commands, as Redis 7.0's t_set.c evaluates them.
 *
 * A set is a kv row of type STORE_SET holding its member count, and one element per member
 * (store.h; the element's value is empty). Single-member commands (SADD, SREM, SISMEMBER,
 * SMISMEMBER, SMOVE) cost O(log n) per member; SMEMBERS and the algebra (SINTER, SUNION,
 * SDIFF and their STORE and CARD forms) read whole sets with coll_collect(), SINTER and
 * SDIFF probing the other sets member by member as Redis does.
 *
 * Random picks (SPOP, SRANDMEMBER) are deterministic per round (coll.h): one pick is the
 * first member at or after a drawn position, O(log n); a count of distinct members is the
 * first count places of a shuffle driven by the same draws.
 *
 * Writes follow cmd_hash.c's rules (coll_w in coll.h): a missing set is created before its
 * first member, the count is recorded once, an emptied set is deleted, and only real
 * changes are recorded (WATCH). A *STORE destination is replaced whatever its type and
 * loses its TTL; an empty result deletes it.
 */
#include "cmd_set.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coll.h"
#include "store.h"
#include "util.h"

static int member(struct store *s, const struct effects *fx, const char *k, size_t klen,
                  const char *m, size_t mlen)
{
    const char *v;
    size_t vlen;
    return effects_elem_lookup(s, fx, k, klen, m, mlen, &v, &vlen);
}

/* ---- SADD, SREM ---- */

static int set_sadd(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w)
{
    int rem = op_is(op, "srem");
    struct coll_w cw;
    int found = coll_w_open(s, fx, op->argv[1], op->lens[1], STORE_SET, &cw);
    if (found < 0)
        return exec_lookup_error(w, found);
    int64_t changed = 0;
    for (int i = 2; i < op->argc && (!rem || cw.n > 0); i++) {
        int in = cw.found ? member(s, fx, op->argv[1], op->lens[1], op->argv[i], op->lens[i]) : 0;
        if (in < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        if (rem ? !in : in)
            continue;
        int rc = rem ? effects_elem_del(fx, op->argv[1], op->lens[1], op->argv[i], op->lens[i])
                     : coll_w_create(fx, &cw) < 0 ? -1
                     : effects_elem_put(fx, op->argv[1], op->lens[1], op->argv[i],
                                        op->lens[i], "", 0);
        if (rc < 0)
            return exec_error(w, EXEC_ERR_OOM);
        cw.n += rem ? -1 : 1;
        changed++;
    }
    if (coll_w_close(fx, &cw) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, changed);
    return 0;
}

/* ---- SCARD, SISMEMBER, SMISMEMBER ---- */

static int set_scard(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    struct effects_value v;
    int found = exec_lookup_type(s, fx, op, 1, STORE_SET, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    resp_write_int(w, found ? v.n : 0);
    return 0;
}

static int set_sismember(struct store *s, struct effects *fx, const struct op *op,
                         struct resp_writer *w)
{
    int many = op_is(op, "smismember");
    struct effects_value v;
    int found = exec_lookup_type(s, fx, op, 1, STORE_SET, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    if (many)
        resp_write_array(w, (size_t)op->argc - 2);
    for (int i = 2; i < op->argc; i++) {
        int in = found ? member(s, fx, op->argv[1], op->lens[1], op->argv[i], op->lens[i]) : 0;
        if (in < 0 && !many)
            return exec_error(w, EXEC_ERR_STORAGE);
        if (in < 0)
            resp_write_error(w, EXEC_ERR_STORAGE); /* an element: the array is started */
        else
            resp_write_int(w, in);
    }
    return 0;
}

/* ---- SMOVE ---- */

static int set_smove(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    struct coll_w src, dst;
    int fs = coll_w_open(s, fx, op->argv[1], op->lens[1], STORE_SET, &src);
    int fd = coll_w_open(s, fx, op->argv[2], op->lens[2], STORE_SET, &dst);
    if (fs == -1 || fd == -1)
        return exec_error(w, EXEC_ERR_STORAGE);
    if (fs == 0) { /* a missing source: 0, whatever the destination holds */
        resp_write_int(w, 0);
        return 0;
    }
    if (fs < 0 || fd < 0)
        return exec_lookup_error(w, EXEC_WRONGTYPE);
    const char *m = op->argv[3];
    size_t mlen = op->lens[3];
    int in = member(s, fx, op->argv[1], op->lens[1], m, mlen);
    if (in < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    int same = op->lens[1] == op->lens[2] && memcmp(op->argv[1], op->argv[2], op->lens[1]) == 0;
    if (same || !in) {
        resp_write_int(w, in);
        return 0;
    }
    int there = dst.found ? member(s, fx, op->argv[2], op->lens[2], m, mlen) : 0;
    if (there < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    src.n--;
    if (effects_elem_del(fx, op->argv[1], op->lens[1], m, mlen) < 0 ||
        coll_w_close(fx, &src) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    if (!there && (coll_w_create(fx, &dst) < 0 ||
                   effects_elem_put(fx, op->argv[2], op->lens[2], m, mlen, "", 0) < 0))
        return exec_error(w, EXEC_ERR_OOM);
    dst.n += !there;
    if (coll_w_close(fx, &dst) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, 1);
    return 0;
}

/* ---- SMEMBERS, SINTER, SUNION, SDIFF and their STORE / CARD forms ---- */

enum set_op { OP_INTER, OP_UNION, OP_DIFF };

/* The sets named by keys first .. first + nkeys - 1: their counts in n[] (-1: missing).
 * Returns 0, or -1 with the error written (WRONGTYPE at the first key of another type,
 * after looking at the ones before it, as Redis does). */
static int open_sets(struct store *s, struct effects *fx, const struct op *op, int first,
                     int nkeys, int64_t *n, struct resp_writer *w)
{
    for (int j = 0; j < nkeys; j++) {
        struct effects_value v;
        int found = exec_lookup_type(s, fx, op, first + j, STORE_SET, &v);
        if (found < 0)
            return exec_lookup_error(w, found);
        n[j] = found ? v.n : -1;
    }
    return 0;
}

/* Whether m is in every set of keys[], skipping index skip (inter), or in none (diff). */
static int probe(struct store *s, const struct effects *fx, const struct op *op, int first,
                 int nkeys, int skip, const struct coll_elem *m, enum set_op kind)
{
    for (int j = 0; j < nkeys; j++) {
        if (j == skip)
            continue;
        int in = member(s, fx, op->argv[first + j], op->lens[first + j], m->f, m->flen);
        if (in < 0)
            return -1;
        if (kind == OP_INTER ? !in : in)
            return 0;
    }
    return 1;
}

/* Computes the result into out (members sorted in position order, without repeats), at
 * most limit members for an intersection (0: all). Returns 0 or -1 (store error, out of
 * memory). */
static int compute(struct store *s, struct effects *fx, const struct op *op, int first,
                   int nkeys, const int64_t *n, enum set_op kind, int64_t limit,
                   struct coll_list *out)
{
    uint64_t next;
    if (kind == OP_UNION) {
        for (int j = 0; j < nkeys; j++)
            if (n[j] >= 0 && coll_collect(s, fx, op->argv[first + j], op->lens[first + j], 0,
                                          -1, out, &next) < 0)
                return -1;
        coll_list_dedup(out);
        return 0;
    }
    int base = 0; /* intersection: the smallest set; difference: the first */
    for (int j = 1; kind == OP_INTER && j < nkeys; j++)
        if (n[j] < n[base])
            base = j;
    if (n[base] < 0 || (kind == OP_INTER && n[base] == 0))
        return 0;
    if (coll_collect(s, fx, op->argv[first + base], op->lens[first + base], 0, -1, out,
                     &next) < 0)
        return -1;
    size_t kept = 0;
    for (size_t i = 0; i < out->n && (!limit || (int64_t)kept < limit); i++) {
        int in = probe(s, fx, op, first, nkeys, base, &out->v[i], kind);
        if (in < 0)
            return -1;
        if (in)
            out->v[kept++] = out->v[i];
    }
    out->n = kept;
    return 0;
}

/* Replaces the destination (argument 1) with the members of l, or deletes it when l is
 * empty. Returns 0 or -1. */
static int store_result(struct store *s, struct effects *fx, const struct op *op,
                        const struct coll_list *l)
{
    if (l->n == 0) {
        struct effects_value v;
        int found = effects_lookup(s, fx, op->argv[1], op->lens[1], &v);
        return found < 0 ? -1 : found ? effects_del(fx, op->argv[1], op->lens[1]) : 0;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < l->n; i++)
        bytes += l->v[i].flen;
    char *buf = effects_alloc(fx, bytes);
    if (!buf || effects_put_coll(fx, op->argv[1], op->lens[1], STORE_SET, (int64_t)l->n, 0) < 0)
        return -1;
    for (size_t i = 0; i < l->n; i++) {
        memcpy(buf, l->v[i].f, l->v[i].flen);
        if (effects_elem_put(fx, op->argv[1], op->lens[1], buf, l->v[i].flen, "", 0) < 0)
            return -1;
        buf += l->v[i].flen;
    }
    return 0;
}

/* SMEMBERS, SINTER, SUNION, SDIFF (first = 1, no destination) and the STORE forms
 * (destination 1, sets from 2). */
static int set_algebra(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    const char *name = op->argv[0];
    enum set_op kind = strncasecmp(name, "sunion", 6) == 0 ? OP_UNION
                       : strncasecmp(name, "sdiff", 5) == 0 ? OP_DIFF : OP_INTER;
    int dst = op->lens[0] > 5 && strcasecmp(name + op->lens[0] - 5, "store") == 0;
    int first = dst ? 2 : 1, nkeys = op->argc - first;
    int64_t *n = malloc((size_t)nkeys * sizeof *n);
    if (!n)
        return exec_error(w, EXEC_ERR_OOM);
    struct coll_list l = { 0 };
    int rc = open_sets(s, fx, op, first, nkeys, n, w);
    if (rc == 0 && compute(s, fx, op, first, nkeys, n, kind, 0, &l) < 0)
        rc = exec_error(w, EXEC_ERR_STORAGE);
    if (rc == 0 && dst && store_result(s, fx, op, &l) < 0)
        rc = exec_error(w, EXEC_ERR_OOM);
    if (rc == 0 && dst)
        resp_write_int(w, (int64_t)l.n);
    if (rc == 0 && !dst) {
        resp_write_array(w, l.n);
        for (size_t i = 0; i < l.n; i++)
            resp_write_bulk(w, l.v[i].f, l.v[i].flen);
    }
    coll_list_free(&l);
    free(n);
    return rc;
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
static int set_sintercard(struct store *s, struct effects *fx, const struct op *op,
                          struct resp_writer *w)
{
    int64_t nkeys, limit = 0;
    if (exec_arg_i64(op, 1, &nkeys) < 0 || nkeys < 1)
        return exec_error(w, "ERR numkeys should be greater than 0");
    if (nkeys > op->argc - 2)
        return exec_error(w, "ERR Number of keys can't be greater than number of args");
    for (int j = 2 + (int)nkeys; j < op->argc; j++) {
        if (strcasecmp(op->argv[j], "limit") != 0 || j + 1 == op->argc)
            return exec_error(w, EXEC_ERR_SYNTAX);
        if (exec_arg_i64(op, ++j, &limit) < 0 || limit < 0)
            return exec_error(w, "ERR LIMIT can't be negative");
    }
    int64_t *n = malloc((size_t)nkeys * sizeof *n);
    if (!n)
        return exec_error(w, EXEC_ERR_OOM);
    struct coll_list l = { 0 };
    int rc = open_sets(s, fx, op, 2, (int)nkeys, n, w);
    int empty = 0;
    for (int j = 0; rc == 0 && j < nkeys; j++)
        empty |= n[j] < 0;
    if (rc == 0 && !empty && compute(s, fx, op, 2, (int)nkeys, n, OP_INTER, limit, &l) < 0)
        rc = exec_error(w, EXEC_ERR_STORAGE);
    if (rc == 0)
        resp_write_int(w, (int64_t)l.n);
    coll_list_free(&l);
    free(n);
    return rc;
}

/* ---- SPOP, SRANDMEMBER ---- */

/* Shuffles the first n places of l (Fisher-Yates with the round's draws). */
static void shuffle(const struct effects *fx, struct coll_list *l, size_t n)
{
    for (size_t i = 0; i < n && i + 1 < l->n; i++) {
        size_t j = i + (size_t)(coll_draw(fx, i) % (l->n - i));
        struct coll_elem t = l->v[i];
        l->v[i] = l->v[j];
        l->v[j] = t;
    }
}

/* Deletes members l[0..n) from the set at argument 1 (cw) and closes it. 0 or -1. */
static int pop_members(struct effects *fx, const struct op *op, struct coll_w *cw,
                       const struct coll_list *l, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += l->v[i].flen;
    char *buf = effects_alloc(fx, bytes);
    if (!buf)
        return -1;
    for (size_t i = 0; i < n && cw->n > (int64_t)n; i++) { /* a whole set is one DEL */
        memcpy(buf, l->v[i].f, l->v[i].flen);
        if (effects_elem_del(fx, op->argv[1], op->lens[1], buf, l->v[i].flen) < 0)
            return -1;
        buf += l->v[i].flen;
    }
    cw->n -= (int64_t)n;
    return coll_w_close(fx, cw);
}

static int set_spop(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w)
{
    int64_t count = 1;
    if (op->argc > 3)
        return exec_error(w, EXEC_ERR_SYNTAX);
    /* Redis's getPositiveLongFromObjectOrReply: one message for both failures. */
    if (op->argc == 3 && (exec_arg_i64(op, 2, &count) < 0 || count < 0))
        return exec_error(w, "ERR value is out of range, must be positive");
    struct coll_w cw;
    int found = coll_w_open(s, fx, op->argv[1], op->lens[1], STORE_SET, &cw);
    if (found < 0)
        return exec_lookup_error(w, found);
    if (!found || (op->argc == 3 && count == 0)) {
        if (op->argc == 3)
            resp_write_array(w, 0);
        else
            resp_write_null(w);
        return 0;
    }
    struct coll_list l = { 0 };
    struct coll_elem e;
    uint64_t next;
    int rc = 0;
    if (op->argc == 2) {
        rc = coll_pick(s, fx, op->argv[1], op->lens[1], coll_draw(fx, 0), &l, &e) == 1 ? 0 : -1;
        if (rc == 0)
            l.v[0] = e, l.n = 1;
    } else {
        rc = coll_collect(s, fx, op->argv[1], op->lens[1], 0, -1, &l, &next);
    }
    size_t n = op->argc == 2 ? 1 : (uint64_t)count < l.n ? (size_t)count : l.n;
    if (rc == 0 && n < l.n)
        shuffle(fx, &l, n);
    if (rc == 0 && pop_members(fx, op, &cw, &l, n) < 0)
        rc = -1;
    if (rc < 0) {
        coll_list_free(&l);
        return exec_error(w, EXEC_ERR_STORAGE);
    }
    if (op->argc == 3)
        resp_write_array(w, n);
    for (size_t i = 0; i < n; i++)
        resp_write_bulk(w, l.v[i].f, l.v[i].flen);
    coll_list_free(&l);
    return 0;
}

/* SRANDMEMBER key [count]: coll_random_command's picks (HRANDFIELD's, without a value);
 * more than one argument after the key is a syntax error before anything is parsed. */
static int set_srandmember(struct store *s, struct effects *fx, const struct op *op,
                           struct resp_writer *w)
{
    if (op->argc > 3)
        return exec_error(w, EXEC_ERR_SYNTAX);
    return coll_random_command(s, fx, op, STORE_SET, NULL, NULL, w);
}

static int set_sscan(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    return coll_scan_command(s, fx, op, STORE_SET, 0, w);
}

const struct exec_cmd cmd_set_table[] = {
    { "sadd", -3, 0, set_sadd },
    { "sismember", 3, EXEC_READ, set_sismember },
    { "srem", -3, 0, set_sadd },
    { "scard", 2, EXEC_READ, set_scard },
    { "smembers", 2, EXEC_READ, set_algebra },
    { "smismember", -3, EXEC_READ, set_sismember },
    { "spop", -2, 0, set_spop },
    { "srandmember", -2, EXEC_READ, set_srandmember },
    { "smove", 4, 0, set_smove },
    { "sinter", -2, EXEC_READ, set_algebra },
    { "sintercard", -3, EXEC_READ, set_sintercard },
    { "sinterstore", -3, 0, set_algebra },
    { "sunion", -2, EXEC_READ, set_algebra },
    { "sunionstore", -3, 0, set_algebra },
    { "sdiff", -2, EXEC_READ, set_algebra },
    { "sdiffstore", -3, 0, set_algebra },
    { "sscan", -3, EXEC_READ, set_sscan },
};
const size_t cmd_set_count = sizeof cmd_set_table / sizeof cmd_set_table[0];

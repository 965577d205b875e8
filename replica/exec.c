/* exec.c -- evaluation of write ops (SET, DEL) over the store plus a round's own effects.
 *
 * lookup() answers "what is key k now?" for an op in the middle of a round: the latest
 * effect on k earlier in the round wins; otherwise the committed store answers. Scanning
 * the round's effects backwards is linear in the round's size, which is fine for the
 * batch sizes a round carries; a hash index can replace it without changing the API.
 */
#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "util.h"

/* 1 found, 0 missing, -1 store error. The newest layer wins: this round's effects, then
 * each undecided round ahead of it, then the committed store. */
static int lookup(struct store *s, const struct effects *fx, const char *k, size_t klen,
                  const void **v, size_t *vlen)
{
    for (const struct effects *layer = fx; layer; layer = layer->under) {
        for (size_t i = layer->n; i-- > 0;) {
            const struct effect *e = &layer->v[i];
            if (e->klen == klen && memcmp(e->k, k, klen) == 0) {
                if (e->del)
                    return 0;
                *v = e->v;
                *vlen = e->vlen;
                return 1;
            }
        }
    }
    return store_get(s, k, klen, v, vlen);
}

static int push(struct effects *fx, int del, const char *k, size_t klen, const char *v,
                size_t vlen)
{
    if (fx->n == fx->cap) {
        size_t cap = fx->cap ? fx->cap * 2 : 16;
        struct effect *nv = realloc(fx->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        fx->v = nv;
        fx->cap = cap;
    }
    fx->v[fx->n++] = (struct effect){ del, k, v, klen, vlen };
    return 0;
}

static int fail(struct resp_writer *w, const char *msg)
{
    if (w)
        resp_write_error(w, msg);
    return -1;
}

static int exec_set(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w)
{
    if (op->argc != 3)
        return fail(w, "ERR wrong number of arguments for 'set' command");
    if (push(fx, 0, op->argv[1], op->lens[1], op->argv[2], op->lens[2]) < 0)
        return fail(w, "ERR out of memory");
    if (w)
        resp_write_simple(w, "OK");
    return 0;
}

static int exec_del(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w)
{
    if (op->argc < 2)
        return fail(w, "ERR wrong number of arguments for 'del' command");
    long long count = 0;
    for (int i = 1; i < op->argc; i++) {
        const void *v;
        size_t vlen;
        int found = lookup(s, fx, op->argv[i], op->lens[i], &v, &vlen);
        if (found < 0)
            return fail(w, "ERR storage error");
        if (!found)
            continue;
        if (push(fx, 1, op->argv[i], op->lens[i], NULL, 0) < 0)
            return fail(w, "ERR out of memory");
        count++;
    }
    if (w)
        resp_write_int(w, count);
    return 0;
}

static int exec_mset(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    if (op->argc < 3 || op->argc % 2 == 0)
        return fail(w, "ERR wrong number of arguments for 'mset' command");
    for (int i = 1; i < op->argc; i += 2)
        if (push(fx, 0, op->argv[i], op->lens[i], op->argv[i + 1], op->lens[i + 1]) < 0)
            return fail(w, "ERR out of memory");
    if (w)
        resp_write_simple(w, "OK");
    return 0;
}

/* INCR, DECR, INCRBY, DECRBY: the new value is formatted into the op's own scratch space
 * (an effect must point at memory that lives as long as the op), so each op carries a
 * 24-byte buffer after its arguments: see incr_scratch(). */
static int exec_incr_by(struct store *s, struct effects *fx, const struct op *op,
                        struct resp_writer *w, int64_t by)
{
    const void *v;
    size_t vlen;
    int64_t cur = 0;
    int found = lookup(s, fx, op->argv[1], op->lens[1], &v, &vlen);
    if (found < 0)
        return fail(w, "ERR storage error");
    if (found && util_parse_i64(v, vlen, &cur) < 0)
        return fail(w, "ERR value is not an integer or out of range");
    if ((by < 0 && cur < INT64_MIN - by) || (by > 0 && cur > INT64_MAX - by))
        return fail(w, "ERR increment or decrement would overflow");
    cur += by;
    char *num = (char *)op->scratch; /* the op's designated mutable space */
    size_t n = (size_t)snprintf(num, sizeof op->scratch, "%lld", (long long)cur);
    if (push(fx, 0, op->argv[1], op->lens[1], num, n) < 0)
        return fail(w, "ERR out of memory");
    if (w)
        resp_write_int(w, cur);
    return 0;
}

static int exec_incr(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    int neg = op_is(op, "decr") || op_is(op, "decrby");
    int by_arg = op_is(op, "incrby") || op_is(op, "decrby");
    if (op->argc != 2 + by_arg)
        return fail(w, "ERR wrong number of arguments for an increment");
    int64_t by = 1;
    if (by_arg && util_parse_i64(op->argv[2], op->lens[2], &by) < 0)
        return fail(w, "ERR value is not an integer or out of range");
    if (neg && by == INT64_MIN)
        return fail(w, "ERR decrement would overflow");
    return exec_incr_by(s, fx, op, w, neg ? -by : by);
}

static int exec_get(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w)
{
    if (op->argc != 2)
        return fail(w, "ERR wrong number of arguments for 'get' command");
    const void *v;
    size_t vlen;
    int found = lookup(s, fx, op->argv[1], op->lens[1], &v, &vlen);
    if (found < 0)
        return fail(w, "ERR storage error");
    if (w)
        found ? resp_write_bulk(w, v, vlen) : resp_write_null(w);
    return 0;
}

static int exec_exists(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    if (op->argc < 2)
        return fail(w, "ERR wrong number of arguments for 'exists' command");
    int64_t n = 0;
    for (int i = 1; i < op->argc; i++) {
        const void *v;
        size_t vlen;
        int found = lookup(s, fx, op->argv[i], op->lens[i], &v, &vlen);
        if (found < 0)
            return fail(w, "ERR storage error");
        n += found;
    }
    if (w)
        resp_write_int(w, n);
    return 0;
}

static int exec_ping(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    if (w)
        op->argc > 1 ? resp_write_bulk(w, op->argv[1], op->lens[1]) : resp_write_simple(w, "PONG");
    return 0;
}

static int own(struct effects *fx, struct op *op)
{
    struct op **nv = realloc(fx->owned, (fx->nowned + 1) * sizeof *nv);
    if (!nv)
        return -1;
    fx->owned = nv;
    fx->owned[fx->nowned++] = op;
    return 0;
}

static int exec_tx(struct store *s, struct effects *fx, const struct op *op,
                   struct resp_writer *w)
{
    uint64_t n;
    if (op->argc < 2 || util_parse_u64(op->argv[1], op->lens[1], &n) < 0 ||
        n > (uint64_t)op->argc)
        return fail(w, "ERR malformed TX");
    if (w)
        resp_write_array(w, (size_t)n);
    int at = 2;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t argc;
        if (at >= op->argc || util_parse_u64(op->argv[at], op->lens[at], &argc) < 0 ||
            argc == 0 || argc > (uint64_t)(op->argc - at - 1))
            return fail(w, "ERR malformed TX"); /* cannot happen: the coordinator built it */
        struct op *sub = op_new((int)argc, op->argv + at + 1, op->lens + at + 1);
        if (!sub || own(fx, sub) < 0) {
            op_free(sub);
            return fail(w, "ERR out of memory");
        }
        exec_op(s, fx, sub, w);
        at += 1 + (int)argc;
    }
    return 0;
}

typedef int (*exec_fn)(struct store *, struct effects *, const struct op *,
                       struct resp_writer *);

static const struct {
    const char *name;
    exec_fn fn;
} exec_table[] = {
    { "tx", exec_tx },
    { "get", exec_get },
    { "exists", exec_exists },
    { "ping", exec_ping },
    { "set", exec_set },
    { "del", exec_del },
    { "mset", exec_mset },
    { "incr", exec_incr },
    { "decr", exec_incr },
    { "incrby", exec_incr },
    { "decrby", exec_incr },
};

static exec_fn find(const struct op *op)
{
    for (size_t i = 0; i < sizeof exec_table / sizeof exec_table[0]; i++)
        if (op_is(op, exec_table[i].name))
            return exec_table[i].fn;
    return NULL;
}

int exec_known(const struct op *op)
{
    return find(op) != NULL;
}

int exec_op(struct store *s, struct effects *fx, const struct op *op, struct resp_writer *w)
{
    exec_fn fn = find(op);
    if (!fn)
        return fail(w, "ERR unknown write op");
    return fn(s, fx, op, w);
}

int exec_apply(struct store *s, const struct effects *fx)
{
    for (size_t i = 0; i < fx->n; i++) {
        const struct effect *e = &fx->v[i];
        int rc = e->del ? store_del(s, e->k, e->klen) : store_put(s, e->k, e->klen, e->v, e->vlen);
        if (rc < 0)
            return -1;
    }
    return 0;
}

void effects_clear(struct effects *fx)
{
    for (size_t i = 0; i < fx->nowned; i++)
        op_free(fx->owned[i]);
    free(fx->owned);
    free(fx->v);
    *fx = (struct effects){ 0 };
}

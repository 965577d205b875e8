/* cmd_hash.c -- hash commands, as Redis 7.0's t_hash.c evaluates them.
 *
 * A hash is a kv row of type STORE_HASH holding its field count, and one element per field
 * (store.h). Every command reads the key first (WRONGTYPE on another type, as Redis's
 * checkType), then single fields with effects_elem_lookup() -- O(log n), whatever the
 * hash's size -- or all of them with coll_collect().
 *
 * Writing: a hash that did not exist is created with effects_put_coll() before its first
 * field (which hides whatever an expired key left behind); each field written or deleted is
 * one element record; a count that changed is recorded once at the end (effects_count()),
 * and a hash left without fields is deleted, as Redis deletes an empty hash. Records are
 * made only for real changes, so WATCH sees what Redis's signalModifiedKey would.
 *
 * Errors come in Redis's order: argument parsing that Redis does before the lookup
 * (HINCRBY's increment, HRANDFIELD's count) first, then WRONGTYPE, then the rest.
 */
#include "cmd_hash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coll.h"
#include "store.h"
#include "util.h"

static int lookup(struct store *s, const struct effects *fx, const struct op *op,
                  struct effects_value *v)
{
    return exec_lookup_type(s, fx, op, 1, STORE_HASH, v);
}

/* Field i of the hash at argument 1. 1 (*v, *vlen), 0, or -1. */
static int field(struct store *s, const struct effects *fx, const struct op *op, int i,
                 const char **v, size_t *vlen)
{
    return effects_elem_lookup(s, fx, op->argv[1], op->lens[1], op->argv[i], op->lens[i], v,
                               vlen);
}

/* Looks the hash up for writing (a coll_w, coll.h). Returns 0, or -1 with the error
 * written. */
static int hw_open(struct store *s, const struct effects *fx, const struct op *op,
                   struct coll_w *h, struct resp_writer *w)
{
    int found = coll_w_open(s, fx, op->argv[1], op->lens[1], STORE_HASH, h);
    return found < 0 ? exec_lookup_error(w, found) : 0;
}

/* Sets field i to value i + 1. Returns 1 if the field is new, 0 if not, -1 on error. */
static int hw_set(struct store *s, struct effects *fx, const struct op *op, struct coll_w *h,
                  int i)
{
    const char *old;
    size_t oldlen;
    int found = h->n0 || h->n ? field(s, fx, op, i, &old, &oldlen) : 0;
    if (found < 0 || coll_w_create(fx, h) < 0 ||
        effects_elem_put(fx, op->argv[1], op->lens[1], op->argv[i], op->lens[i],
                         op->argv[i + 1], op->lens[i + 1]) < 0)
        return -1;
    h->n += !found;
    return !found;
}

/* ---- HSET, HMSET, HSETNX ---- */

static int hash_hset(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    int hmset = op_is(op, "hmset");
    if (op->argc % 2 == 1)
        return exec_errorf(w, "ERR wrong number of arguments for '%s' command",
                           hmset ? "hmset" : "hset");
    struct coll_w h;
    if (hw_open(s, fx, op, &h, w) < 0)
        return -1;
    int64_t created = 0;
    for (int i = 2; i < op->argc; i += 2) {
        int rc = hw_set(s, fx, op, &h, i);
        if (rc < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        created += rc;
    }
    if (coll_w_close(fx, &h) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    if (hmset)
        resp_write_simple(w, "OK");
    else
        resp_write_int(w, created);
    return 0;
}

static int hash_hsetnx(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    struct coll_w h;
    if (hw_open(s, fx, op, &h, w) < 0)
        return -1;
    const char *v;
    size_t vlen;
    int found = h.found ? field(s, fx, op, 2, &v, &vlen) : 0;
    if (found < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    if (!found && (hw_set(s, fx, op, &h, 2) < 0 || coll_w_close(fx, &h) < 0))
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, !found);
    return 0;
}

/* ---- HGET, HMGET, HEXISTS, HSTRLEN, HLEN ---- */

static int hash_hget(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    struct effects_value h;
    int found = lookup(s, fx, op, &h);
    if (found < 0)
        return exec_lookup_error(w, found);
    const char *v;
    size_t vlen;
    found = found ? field(s, fx, op, 2, &v, &vlen) : 0;
    if (found < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    int exists = op_is(op, "hexists"), strlen_of = op_is(op, "hstrlen");
    if (exists)
        resp_write_int(w, found);
    else if (strlen_of)
        resp_write_int(w, found ? (int64_t)vlen : 0);
    else if (found)
        resp_write_bulk(w, v, vlen);
    else
        resp_write_null(w);
    return 0;
}

static int hash_hmget(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    struct effects_value h;
    int found = lookup(s, fx, op, &h);
    if (found < 0)
        return exec_lookup_error(w, found);
    resp_write_array(w, (size_t)op->argc - 2);
    for (int i = 2; i < op->argc; i++) {
        const char *v;
        size_t vlen;
        int rc = found ? field(s, fx, op, i, &v, &vlen) : 0;
        if (rc < 0)
            resp_write_error(w, EXEC_ERR_STORAGE); /* an element: the array is started */
        else if (rc)
            resp_write_bulk(w, v, vlen);
        else
            resp_write_null(w);
    }
    return 0;
}

static int hash_hlen(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    struct effects_value h;
    int found = lookup(s, fx, op, &h);
    if (found < 0)
        return exec_lookup_error(w, found);
    resp_write_int(w, found ? h.n : 0);
    return 0;
}

/* ---- HDEL ---- */

static int hash_hdel(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    struct coll_w h;
    if (hw_open(s, fx, op, &h, w) < 0)
        return -1;
    int64_t deleted = 0;
    for (int i = 2; h.found && h.n > 0 && i < op->argc; i++) {
        const char *v;
        size_t vlen;
        int found = field(s, fx, op, i, &v, &vlen);
        if (found < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        if (!found)
            continue;
        if (effects_elem_del(fx, op->argv[1], op->lens[1], op->argv[i], op->lens[i]) < 0)
            return exec_error(w, EXEC_ERR_OOM);
        h.n--;
        deleted++;
    }
    if (coll_w_close(fx, &h) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, deleted);
    return 0;
}

/* ---- HKEYS, HVALS, HGETALL ---- */

static int hash_getall(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    int keys = !op_is(op, "hvals"), vals = !op_is(op, "hkeys");
    struct effects_value h;
    int found = lookup(s, fx, op, &h);
    if (found < 0)
        return exec_lookup_error(w, found);
    struct coll_list l = { 0 };
    uint64_t next;
    if (found && coll_collect(s, fx, op->argv[1], op->lens[1], 0, -1, &l, &next) < 0) {
        coll_list_free(&l);
        return exec_error(w, EXEC_ERR_STORAGE);
    }
    resp_write_array(w, l.n * (size_t)(keys + vals));
    for (size_t i = 0; i < l.n; i++) {
        if (keys)
            resp_write_bulk(w, l.v[i].f, l.v[i].flen);
        if (vals)
            resp_write_bulk(w, l.v[i].v, l.v[i].vlen);
    }
    coll_list_free(&l);
    return 0;
}

/* ---- HINCRBY, HINCRBYFLOAT ---- */

/* Writes field 2 = buf (n bytes, in fx's memory) and closes the hash. 0 or -1. */
static int put_number(struct store *s, struct effects *fx, const struct op *op,
                      struct coll_w *h, int found, const char *buf, size_t n)
{
    if (coll_w_create(fx, h) < 0 ||
        effects_elem_put(fx, op->argv[1], op->lens[1], op->argv[2], op->lens[2], buf, n) < 0)
        return -1;
    h->n += !found;
    return coll_w_close(fx, h);
}

static int hash_hincrby(struct store *s, struct effects *fx, const struct op *op,
                        struct resp_writer *w)
{
    int64_t by, cur = 0;
    if (exec_arg_i64(op, 3, &by) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    struct coll_w h;
    if (hw_open(s, fx, op, &h, w) < 0)
        return -1;
    const char *v;
    size_t vlen;
    int found = h.found ? field(s, fx, op, 2, &v, &vlen) : 0;
    if (found < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    if (found && util_parse_i64(v, vlen, &cur) < 0)
        return exec_error(w, "ERR hash value is not an integer");
    if ((by < 0 && cur < INT64_MIN - by) || (by > 0 && cur > INT64_MAX - by))
        return exec_error(w, "ERR increment or decrement would overflow");
    cur += by;
    char *buf = effects_alloc(fx, 24);
    if (!buf)
        return exec_error(w, EXEC_ERR_OOM);
    size_t n = (size_t)snprintf(buf, 24, "%lld", (long long)cur);
    if (put_number(s, fx, op, &h, found, buf, n) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, cur);
    return 0;
}

static int hash_hincrbyfloat(struct store *s, struct effects *fx, const struct op *op,
                             struct resp_writer *w)
{
    long double by, cur = 0;
    if (exec_parse_ld(op->argv[3], op->lens[3], &by) < 0)
        return exec_error(w, "ERR value is not a valid float");
    if (isnan(by) || isinf(by))
        return exec_error(w, "ERR value is NaN or Infinity");
    struct coll_w h;
    if (hw_open(s, fx, op, &h, w) < 0)
        return -1;
    const char *v;
    size_t vlen;
    int found = h.found ? field(s, fx, op, 2, &v, &vlen) : 0;
    if (found < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    if (found && exec_parse_ld(v, vlen, &cur) < 0)
        return exec_error(w, "ERR hash value is not a float");
    cur += by;
    if (isnan(cur) || isinf(cur))
        return exec_error(w, "ERR increment would produce NaN or Infinity");
    char num[EXEC_LONG_DOUBLE_CHARS];
    size_t n = exec_format_ld(num, sizeof num, cur);
    char *buf = effects_alloc(fx, n);
    if (!buf)
        return exec_error(w, EXEC_ERR_OOM);
    memcpy(buf, num, n);
    if (put_number(s, fx, op, &h, found, buf, n) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_bulk(w, buf, n);
    return 0;
}

/* ---- HRANDFIELD ---- */

/* HRANDFIELD's WITHVALUES: the field's value. */
static void write_field_value(struct resp_writer *w, const struct coll_elem *e)
{
    resp_write_bulk(w, e ? e->v : "", e ? e->vlen : 0);
}

static int hash_hrandfield(struct store *s, struct effects *fx, const struct op *op,
                           struct resp_writer *w)
{
    return coll_random_command(s, fx, op, STORE_HASH, "withvalues", write_field_value, w);
}

static int hash_hscan(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    return coll_scan_command(s, fx, op, STORE_HASH, 1, w);
}

const struct exec_cmd cmd_hash_table[] = {
    { "hset", -4, 0, hash_hset },
    { "hget", 3, EXEC_READ, hash_hget },
    { "hmset", -4, 0, hash_hset },
    { "hmget", -3, EXEC_READ, hash_hmget },
    { "hsetnx", 4, 0, hash_hsetnx },
    { "hdel", -3, 0, hash_hdel },
    { "hlen", 2, EXEC_READ, hash_hlen },
    { "hstrlen", 3, EXEC_READ, hash_hget },
    { "hexists", 3, EXEC_READ, hash_hget },
    { "hkeys", 2, EXEC_READ, hash_getall },
    { "hvals", 2, EXEC_READ, hash_getall },
    { "hgetall", 2, EXEC_READ, hash_getall },
    { "hincrby", 4, 0, hash_hincrby },
    { "hincrbyfloat", 4, 0, hash_hincrbyfloat },
    { "hrandfield", -2, EXEC_READ, hash_hrandfield },
    { "hscan", -3, EXEC_READ, hash_hscan },
};
const size_t cmd_hash_count = sizeof cmd_hash_table / sizeof cmd_hash_table[0];

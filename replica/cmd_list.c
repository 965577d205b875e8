/* cmd_list.c -- list commands, as Redis 7.0's t_list.c evaluates them.
 *
 * A list is a kv row of type STORE_LIST holding its length, and one element per entry
 * (store.h's el table). Entry i lives at position head + i: its element's name is the
 * position, 8 bytes big-endian with the sign bit flipped (pos_name()), its value the
 * entry. The head itself is an element too, with the empty name, its value the head in
 * decimal; so a list needs nothing of the storage that hashes do not, and copies, moves,
 * repairs and digests carry it unchanged. Positions stay dense: head .. head + n - 1.
 *
 * Costs: LPUSH, RPUSH, LPOP, RPOP, LINDEX, LSET, LLEN are O(log n) whatever the length
 * (a few element lookups, each O(log n)); LRANGE and the POP counts O(log n) per entry
 * returned; LTRIM O(log n) per entry removed. LREM and LINSERT shift the entries after
 * the change, O(n) as in Redis (whose costs for them are O(n) too), and LPOS walks.
 *
 * Blocking pops (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP) are evaluated here as their
 * non-blocking forms after checking the timeout as Redis does: a list with entries is
 * popped in the round; none gives the null reply, and the coordinator (server/blocking.c)
 * parks the client and submits the pop again when a committed round changes one of its
 * keys. Inside MULTI the null is the answer, as in Redis.
 *
 * Errors come in Redis's order: arguments Redis parses before the lookup first, then
 * WRONGTYPE, then the rest.
 */
#include "cmd_list.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coll.h"
#include "store.h"
#include "util.h"

/* The name of the element at position pos (8 bytes). */
static void pos_name(int64_t pos, char out[8])
{
    uint64_t u = (uint64_t)pos ^ ((uint64_t)1 << 63);
    for (int i = 0; i < 8; i++)
        out[i] = (char)(u >> (56 - 8 * i));
}

/* A list being read or written. */
struct lw {
    const char *k;
    size_t klen;
    int found;         /* the list exists (or this op created it) */
    int created;       /* this op created it: its head must be recorded */
    int64_t head, n;   /* position of entry 0; the length */
    int64_t head0, n0; /* as opened */
    int64_t exp;
};

/* Opens the list at k: 1 found, 0 missing, EXEC_WRONGTYPE another type, -1 store error. */
static int lw_open(struct store *s, const struct effects *fx, const char *k, size_t klen,
                   struct lw *l)
{
    struct effects_value v;
    int found = effects_lookup(s, fx, k, klen, &v);
    *l = (struct lw){ .k = k, .klen = klen };
    if (found != 1)
        return found;
    if (v.t != STORE_LIST)
        return EXEC_WRONGTYPE;
    l->found = 1;
    l->n = l->n0 = v.n;
    l->exp = v.exp;
    const char *h;
    size_t hlen;
    if (effects_elem_lookup(s, fx, k, klen, "", 0, &h, &hlen) != 1 ||
        util_parse_i64(h, hlen, &l->head) < 0)
        return -1;
    l->head0 = l->head;
    return 1;
}

/* Opens argument i of op; on an error writes it and returns -1, else 0 (l->found says). */
static int lw_open_arg(struct store *s, const struct effects *fx, const struct op *op, int i,
                       struct lw *l, struct resp_writer *w)
{
    int rc = lw_open(s, fx, op->argv[i], op->lens[i], l);
    return rc < 0 ? exec_lookup_error(w, rc) : 0;
}

/* Entry i (0 <= i < n): 1 (*v, *vlen: valid until the next store call), or -1. */
static int lw_get(struct store *s, const struct effects *fx, const struct lw *l, int64_t i,
                  const char **v, size_t *vlen)
{
    char name[8];
    pos_name(l->head + i, name);
    return effects_elem_lookup(s, fx, l->k, l->klen, name, 8, v, vlen) == 1 ? 1 : -1;
}

/* Records entry position pos = v (v must outlive the records). 0 or -1. */
static int put_at(struct effects *fx, const struct lw *l, int64_t pos, const char *v,
                  size_t vlen)
{
    char *name = effects_alloc(fx, 8);
    if (!name)
        return -1;
    pos_name(pos, name);
    return effects_elem_put(fx, l->k, l->klen, name, 8, v, vlen);
}

static int del_at(struct effects *fx, const struct lw *l, int64_t pos)
{
    char *name = effects_alloc(fx, 8);
    if (!name)
        return -1;
    pos_name(pos, name);
    return effects_elem_del(fx, l->k, l->klen, name, 8);
}

/* Before the first entry is written: creates the list if it did not exist. */
static int lw_create(struct effects *fx, struct lw *l)
{
    if (l->found)
        return 0;
    l->found = l->created = 1;
    l->head = l->head0 = l->n = l->n0 = 0;
    return effects_put_coll(fx, l->k, l->klen, STORE_LIST, 0, 0);
}

/* Pushes v (which must outlive the records) at the head (left) or the tail. */
static int lw_push(struct effects *fx, struct lw *l, int left, const char *v, size_t vlen)
{
    if (lw_create(fx, l) < 0)
        return -1;
    int64_t pos = left ? --l->head : l->head + l->n;
    l->n++;
    return put_at(fx, l, pos, v, vlen);
}

/* Removes the entry at the head (left) or the tail; the caller read it first. */
static int lw_pop(struct effects *fx, struct lw *l, int left)
{
    int64_t pos = left ? l->head++ : l->head + l->n - 1;
    l->n--;
    return del_at(fx, l, pos);
}

/* After the last change: records the head and the length, or deletes an emptied list. */
static int lw_close(struct effects *fx, struct lw *l)
{
    if (!l->found)
        return 0;
    if (l->n == 0)
        return l->n0 == 0 && !l->created ? 0 : effects_del(fx, l->k, l->klen);
    if (l->head != l->head0 || l->created) {
        char *buf = effects_alloc(fx, 24);
        if (!buf)
            return -1;
        int len = snprintf(buf, 24, "%lld", (long long)l->head);
        if (effects_elem_put(fx, l->k, l->klen, "", 0, buf, (size_t)len) < 0)
            return -1;
        l->head0 = l->head;
        l->created = 0;
    }
    if (l->n == l->n0)
        return 0;
    l->n0 = l->n;
    return effects_count(fx, l->k, l->klen, STORE_LIST, l->n, l->exp);
}

/* A copy of v in fx's memory (NULL when out of memory). */
static char *keep(struct effects *fx, const char *v, size_t vlen)
{
    char *p = effects_alloc(fx, vlen ? vlen : 1);
    if (p && vlen)
        memcpy(p, v, vlen);
    return p;
}

/* LEFT or RIGHT (any case): 1 left, 0 right, -1 neither. */
static int parse_where(const char *a)
{
    if (!strcasecmp(a, "left"))
        return 1;
    if (!strcasecmp(a, "right"))
        return 0;
    return -1;
}

int cmd_list_entries(struct store *s, const struct effects *fx, const char *k, size_t klen,
                     int64_t from, int64_t count, int rev, struct coll_list *out)
{
    struct lw l;
    int rc = lw_open(s, fx, k, klen, &l);
    if (rc <= 0)
        return rc == 0 ? 0 : -1;
    for (int64_t j = 0; j < count; j++) {
        int64_t i = rev ? from - j : from + j;
        const char *v;
        size_t vlen;
        if (i < 0 || i >= l.n)
            break;
        if (lw_get(s, fx, &l, i, &v, &vlen) < 0 || coll_list_append(out, v, vlen, "", 0) < 0)
            return -1;
    }
    return 0;
}

int cmd_list_store(struct store *s, struct effects *fx, const char *k, size_t klen,
                   const struct coll_list *entries)
{
    if (entries->n == 0) {
        struct effects_value v;
        int found = effects_lookup(s, fx, k, klen, &v);
        return found < 0 ? -1 : found ? effects_del(fx, k, klen) : 0;
    }
    struct lw l = { .k = k, .klen = klen };
    if (lw_create(fx, &l) < 0)
        return -1;
    for (size_t i = 0; i < entries->n; i++) {
        char *v = keep(fx, entries->v[i].f, entries->v[i].flen);
        if (!v || lw_push(fx, &l, 0, v, entries->v[i].flen) < 0)
            return -1;
    }
    return lw_close(fx, &l);
}

/* ---- LPUSH, RPUSH, LPUSHX, RPUSHX ---- */

static int list_push(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    int left = op_is(op, "lpush") || op_is(op, "lpushx");
    int x = op_is(op, "lpushx") || op_is(op, "rpushx");
    struct lw l;
    if (lw_open_arg(s, fx, op, 1, &l, w) < 0)
        return -1;
    if (x && !l.found) {
        resp_write_int(w, 0);
        return 0;
    }
    for (int i = 2; i < op->argc; i++)
        if (lw_push(fx, &l, left, op->argv[i], op->lens[i]) < 0)
            return exec_error(w, EXEC_ERR_OOM);
    if (lw_close(fx, &l) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, l.n);
    return 0;
}

/* ---- LPOP, RPOP, LMPOP, BLPOP, BRPOP, BLMPOP ---- */

/* Pops up to count entries of the open list l from one end, writing each as a bulk (the
 * caller wrote the array header, or count is 1 without one). 0, or -1 with the error
 * written. */
static int pop_entries(struct store *s, struct effects *fx, struct lw *l, int left,
                       int64_t count, struct resp_writer *w)
{
    for (int64_t j = 0; j < count; j++) {
        const char *v;
        size_t vlen;
        if (lw_get(s, fx, l, left ? 0 : l->n - 1, &v, &vlen) < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        resp_write_bulk(w, v, vlen);
        if (lw_pop(fx, l, left) < 0)
            return exec_error(w, EXEC_ERR_OOM);
    }
    return lw_close(fx, l) < 0 ? exec_error(w, EXEC_ERR_OOM) : 0;
}

static int list_pop(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w)
{
    int left = op_is(op, "lpop");
    int64_t count = 0;
    if (op->argc > 3)
        return exec_errorf(w, "ERR wrong number of arguments for '%s' command",
                           left ? "lpop" : "rpop");
    if (op->argc == 3 && (exec_arg_i64(op, 2, &count) < 0 || count < 0))
        return exec_error(w, "ERR value is out of range, must be positive");
    struct lw l;
    if (lw_open_arg(s, fx, op, 1, &l, w) < 0)
        return -1;
    if (!l.found) {
        if (op->argc == 3)
            resp_write_null_array(w);
        else
            resp_write_null(w);
        return 0;
    }
    if (op->argc == 2)
        return pop_entries(s, fx, &l, left, 1, w);
    int64_t n = count < l.n ? count : l.n;
    resp_write_array(w, (size_t)n);
    return pop_entries(s, fx, &l, left, n, w);
}

/* BLPOP and BRPOP: the first of keys 1 .. argc - 2 that holds a list gives its head (or
 * tail), replied [key, entry]; none, the null array. */
static int list_bpop(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    int left = op_is(op, "blpop");
    if (exec_check_timeout(fx, op, op->argc - 1, w) < 0)
        return -1;
    for (int i = 1; i < op->argc - 1; i++) {
        struct lw l;
        if (lw_open_arg(s, fx, op, i, &l, w) < 0)
            return -1;
        if (!l.found)
            continue;
        resp_write_array(w, 2);
        resp_write_bulk(w, op->argv[i], op->lens[i]);
        return pop_entries(s, fx, &l, left, 1, w);
    }
    resp_write_null_array(w);
    return 0;
}

/* LMPOP numkeys key... LEFT|RIGHT [COUNT n] from argument `at` (the numkeys), as
 * Redis's lmpopGenericCommand; BLMPOP's timeout (argument 1) is checked after. */
static int mpop(struct store *s, struct effects *fx, const struct op *op, int at,
                struct resp_writer *w)
{
    int wi, right;
    int64_t count;
    if (exec_mpop_args(fx, op, at, "left", "right", &wi, &right, &count, w) < 0)
        return -1;
    int left = !right;
    for (int i = at + 1; i < wi; i++) {
        struct lw l;
        if (lw_open_arg(s, fx, op, i, &l, w) < 0)
            return -1;
        if (!l.found)
            continue;
        int64_t n = count < l.n ? count : l.n;
        resp_write_array(w, 2);
        resp_write_bulk(w, op->argv[i], op->lens[i]);
        resp_write_array(w, (size_t)n);
        return pop_entries(s, fx, &l, left, n, w);
    }
    resp_write_null_array(w);
    return 0;
}

static int list_lmpop(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    return mpop(s, fx, op, op_is(op, "blmpop") ? 2 : 1, w);
}

/* ---- LMOVE, RPOPLPUSH, BLMOVE, BRPOPLPUSH ---- */

/* Moves the entry at one end of the list at argument 1 to one end of the list at argument
 * 2 (the same list: a rotation), replying the entry; a missing source, null. */
static int move(struct store *s, struct effects *fx, const struct op *op, int from_left,
                int to_left, struct resp_writer *w)
{
    struct lw src, dst;
    if (lw_open_arg(s, fx, op, 1, &src, w) < 0)
        return -1;
    if (!src.found) {
        resp_write_null(w);
        return 0;
    }
    int same = op->lens[1] == op->lens[2] && !memcmp(op->argv[1], op->argv[2], op->lens[1]);
    if (!same && lw_open_arg(s, fx, op, 2, &dst, w) < 0)
        return -1;
    const char *v;
    size_t vlen;
    if (lw_get(s, fx, &src, from_left ? 0 : src.n - 1, &v, &vlen) < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    char *copy = keep(fx, v, vlen);
    struct lw *to = same ? &src : &dst;
    if (!copy || lw_pop(fx, &src, from_left) < 0 || (!same && lw_close(fx, &src) < 0) ||
        lw_push(fx, to, to_left, copy, vlen) < 0 || lw_close(fx, to) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_bulk(w, copy, vlen);
    return 0;
}

static int list_lmove(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    int blocking = op_is(op, "blmove") || op_is(op, "brpoplpush");
    if (op_is(op, "rpoplpush") || op_is(op, "brpoplpush")) {
        if (blocking && exec_check_timeout(fx, op, 3, w) < 0)
            return -1;
        return move(s, fx, op, 0, 1, w);
    }
    int from = parse_where(op->argv[3]), to = from < 0 ? -1 : parse_where(op->argv[4]);
    if (from < 0 || to < 0)
        return exec_error(w, EXEC_ERR_SYNTAX);
    if (blocking && exec_check_timeout(fx, op, 5, w) < 0)
        return -1;
    return move(s, fx, op, from, to, w);
}

/* ---- LLEN, LINDEX, LRANGE, LPOS ---- */

static int list_llen(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    struct lw l;
    if (lw_open_arg(s, fx, op, 1, &l, w) < 0)
        return -1;
    resp_write_int(w, l.n);
    return 0;
}

static int list_lindex(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    struct lw l;
    if (lw_open_arg(s, fx, op, 1, &l, w) < 0)
        return -1;
    if (!l.found) {
        resp_write_null(w);
        return 0;
    }
    int64_t i;
    if (exec_arg_i64(op, 2, &i) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    if (i < 0)
        i += l.n;
    const char *v;
    size_t vlen;
    if (i < 0 || i >= l.n) {
        resp_write_null(w);
        return 0;
    }
    if (lw_get(s, fx, &l, i, &v, &vlen) < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    resp_write_bulk(w, v, vlen);
    return 0;
}

/* Redis's range arithmetic (addListRangeReply, ltrimCommand): start .. end of a list of n
 * as 0 <= *from <= *to < n; returns 0 when the range is empty. */
static int clamp_range(int64_t start, int64_t end, int64_t n, int64_t *from, int64_t *to)
{
    if (start < 0)
        start += n;
    if (end < 0)
        end += n;
    if (start < 0)
        start = 0;
    if (start > end || start >= n)
        return 0;
    if (end >= n)
        end = n - 1;
    *from = start;
    *to = end;
    return 1;
}

static int list_lrange(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    int64_t start, end, from, to;
    if (exec_arg_i64(op, 2, &start) < 0 || exec_arg_i64(op, 3, &end) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    struct lw l;
    if (lw_open_arg(s, fx, op, 1, &l, w) < 0)
        return -1;
    if (!l.found || !clamp_range(start, end, l.n, &from, &to)) {
        resp_write_array(w, 0);
        return 0;
    }
    resp_write_array(w, (size_t)(to - from + 1));
    for (int64_t i = from; i <= to; i++) {
        const char *v;
        size_t vlen;
        if (lw_get(s, fx, &l, i, &v, &vlen) < 0)
            resp_write_error(w, EXEC_ERR_STORAGE); /* an element: the array is started */
        else
            resp_write_bulk(w, v, vlen);
    }
    return 0;
}

/* Whether entry i equals (e, elen): 1, 0, or -1 on a store error. */
static int entry_is(struct store *s, const struct effects *fx, const struct lw *l, int64_t i,
                    const char *e, size_t elen)
{
    const char *v;
    size_t vlen;
    if (lw_get(s, fx, l, i, &v, &vlen) < 0)
        return -1;
    return vlen == elen && memcmp(v, e, elen) == 0;
}

static int list_lpos(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    int64_t rank = 1, count = -1, maxlen = 0;
    for (int j = 3; j < op->argc; j++) {
        int more = j + 1 < op->argc;
        if (more && !strcasecmp(op->argv[j], "rank")) {
            if (exec_arg_i64(op, ++j, &rank) < 0)
                return exec_error(w, EXEC_ERR_NOT_INT);
            if (rank == 0)
                return exec_error(w, "ERR RANK can't be zero: use 1 to start from the first "
                                     "match, 2 from the second ... or use negative to start "
                                     "from the end of the list");
        } else if (more && !strcasecmp(op->argv[j], "count")) {
            if (exec_arg_i64(op, ++j, &count) < 0 || count < 0) /* one message, as Redis */
                return exec_error(w, "ERR COUNT can't be negative");
        } else if (more && !strcasecmp(op->argv[j], "maxlen")) {
            if (exec_arg_i64(op, ++j, &maxlen) < 0 || maxlen < 0)
                return exec_error(w, "ERR MAXLEN can't be negative");
        } else {
            return exec_error(w, EXEC_ERR_SYNTAX);
        }
    }
    if (rank == INT64_MIN)
        return exec_error(w, "ERR value is out of range");
    struct lw l;
    if (lw_open_arg(s, fx, op, 1, &l, w) < 0)
        return -1;
    if (!l.found) {
        if (count == -1)
            resp_write_null(w);
        else
            resp_write_array(w, 0);
        return 0;
    }
    int forward = rank > 0;
    int64_t want = forward ? rank : -rank, matches = 0;
    int64_t *found = NULL;
    size_t nfound = 0, cap = 0;
    int rc = 0;
    for (int64_t j = 0; j < l.n && (maxlen == 0 || j < maxlen); j++) {
        int64_t i = forward ? j : l.n - 1 - j;
        int eq = entry_is(s, fx, &l, i, op->argv[2], op->lens[2]);
        if (eq < 0) {
            rc = -1;
            break;
        }
        if (!eq || ++matches < want)
            continue;
        if (nfound == cap) {
            cap = cap ? cap * 2 : 8;
            int64_t *p = realloc(found, cap * sizeof *p);
            if (!p) {
                rc = -2;
                break;
            }
            found = p;
        }
        found[nfound++] = i;
        if (count == -1 || (count > 0 && (int64_t)nfound >= count))
            break;
    }
    if (rc == 0) {
        if (count == -1 && nfound == 0)
            resp_write_null(w);
        else if (count == -1)
            resp_write_int(w, found[0]);
        else {
            resp_write_array(w, nfound);
            for (size_t m = 0; m < nfound; m++)
                resp_write_int(w, found[m]);
        }
    }
    free(found);
    return rc == 0 ? 0 : exec_error(w, rc == -1 ? EXEC_ERR_STORAGE : EXEC_ERR_OOM);
}

/* ---- LSET, LTRIM ---- */

static int list_lset(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    struct lw l;
    if (lw_open_arg(s, fx, op, 1, &l, w) < 0)
        return -1;
    if (!l.found)
        return exec_error(w, "ERR no such key");
    int64_t i;
    if (exec_arg_i64(op, 2, &i) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    if (i < 0)
        i += l.n;
    if (i < 0 || i >= l.n)
        return exec_error(w, "ERR index out of range");
    if (put_at(fx, &l, l.head + i, op->argv[3], op->lens[3]) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_simple(w, "OK");
    return 0;
}

static int list_ltrim(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    int64_t start, end, from = 0, to = -1;
    if (exec_arg_i64(op, 2, &start) < 0 || exec_arg_i64(op, 3, &end) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    struct lw l;
    if (lw_open_arg(s, fx, op, 1, &l, w) < 0)
        return -1;
    if (l.found) {
        if (!clamp_range(start, end, l.n, &from, &to)) {
            from = l.n;
            to = l.n - 1;
        }
        int64_t ltrim = from, rtrim = l.n - 1 - to;
        if (ltrim + rtrim == l.n) { /* everything: the key goes */
            if (effects_del(fx, l.k, l.klen) < 0)
                return exec_error(w, EXEC_ERR_OOM);
        } else {
            int rc = 0;
            for (int64_t j = 0; rc == 0 && j < ltrim; j++)
                rc = lw_pop(fx, &l, 1);
            for (int64_t j = 0; rc == 0 && j < rtrim; j++)
                rc = lw_pop(fx, &l, 0);
            if (rc < 0 || lw_close(fx, &l) < 0)
                return exec_error(w, EXEC_ERR_OOM);
        }
    }
    resp_write_simple(w, "OK");
    return 0;
}

/* ---- LREM, LINSERT: the entries after the change shift ---- */

/* Rewrites the list from entry `from` on as v[0 .. nv) (the entries that stay or come, in
 * fx's memory), deleting positions past the new end: the list's length becomes from + nv. */
static int rewrite_tail(struct effects *fx, struct lw *l, int64_t from, char **v,
                        const size_t *vlen, int64_t nv)
{
    for (int64_t j = 0; j < nv; j++)
        if (put_at(fx, l, l->head + from + j, v[j], vlen[j]) < 0)
            return -1;
    for (int64_t j = from + nv; j < l->n; j++)
        if (del_at(fx, l, l->head + j) < 0)
            return -1;
    l->n = from + nv;
    return lw_close(fx, l);
}

/* The entries from..n-1 of l copied into fx's memory, with room for one more. 0 or -1
 * (-2: out of memory). */
static int load_tail(struct store *s, struct effects *fx, const struct lw *l, int64_t from,
                     char ***v, size_t **vlen)
{
    size_t n = (size_t)(l->n - from) + 1;
    *v = malloc(n * sizeof **v);
    *vlen = malloc(n * sizeof **vlen);
    if (!*v || !*vlen)
        return -2;
    for (int64_t i = from; i < l->n; i++) {
        const char *e;
        size_t elen;
        if (lw_get(s, fx, l, i, &e, &elen) < 0)
            return -1;
        char *c = keep(fx, e, elen);
        if (!c)
            return -2;
        (*v)[i - from] = c;
        (*vlen)[i - from] = elen;
    }
    return 0;
}

static int list_lrem(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    int64_t count;
    if (exec_arg_i64(op, 2, &count) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    struct lw l;
    if (lw_open_arg(s, fx, op, 1, &l, w) < 0)
        return -1;
    if (!l.found) {
        resp_write_int(w, 0);
        return 0;
    }
    /* Which entries go: from the head for count >= 0, from the tail for count < 0. */
    char *gone = calloc((size_t)l.n, 1);
    if (!gone)
        return exec_error(w, EXEC_ERR_OOM);
    int64_t removed = 0, first = l.n;
    uint64_t limit = count == 0 ? UINT64_MAX : count > 0 ? (uint64_t)count
                                                         : (uint64_t)0 - (uint64_t)count;
    for (int64_t j = 0; j < l.n && (uint64_t)removed < limit; j++) {
        int64_t i = count >= 0 ? j : l.n - 1 - j;
        int eq = entry_is(s, fx, &l, i, op->argv[3], op->lens[3]);
        if (eq < 0) {
            free(gone);
            return exec_error(w, EXEC_ERR_STORAGE);
        }
        if (eq) {
            gone[i] = 1;
            removed++;
            if (i < first)
                first = i;
        }
    }
    int rc = 0;
    char **v = NULL;
    size_t *vlen = NULL;
    if (removed == l.n) {
        rc = effects_del(fx, l.k, l.klen) < 0 ? -2 : 0;
    } else if (removed) {
        rc = load_tail(s, fx, &l, first, &v, &vlen);
        int64_t nv = 0;
        for (int64_t i = first; rc == 0 && i < l.n; i++)
            if (!gone[i]) {
                v[nv] = v[i - first];
                vlen[nv++] = vlen[i - first];
            }
        if (rc == 0 && rewrite_tail(fx, &l, first, v, vlen, nv) < 0)
            rc = -2;
    }
    free(gone);
    free(v);
    free(vlen);
    if (rc < 0)
        return exec_error(w, rc == -1 ? EXEC_ERR_STORAGE : EXEC_ERR_OOM);
    resp_write_int(w, removed);
    return 0;
}

static int list_linsert(struct store *s, struct effects *fx, const struct op *op,
                        struct resp_writer *w)
{
    int after;
    if (!strcasecmp(op->argv[2], "after"))
        after = 1;
    else if (!strcasecmp(op->argv[2], "before"))
        after = 0;
    else
        return exec_error(w, EXEC_ERR_SYNTAX);
    struct lw l;
    if (lw_open_arg(s, fx, op, 1, &l, w) < 0)
        return -1;
    if (!l.found) {
        resp_write_int(w, 0);
        return 0;
    }
    int64_t at = -1;
    for (int64_t i = 0; i < l.n && at < 0; i++) {
        int eq = entry_is(s, fx, &l, i, op->argv[3], op->lens[3]);
        if (eq < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        if (eq)
            at = i + after; /* the new entry's index */
    }
    if (at < 0) {
        resp_write_int(w, -1);
        return 0;
    }
    int rc = 0;
    if (at == 0) {
        rc = lw_push(fx, &l, 1, op->argv[4], op->lens[4]) < 0 || lw_close(fx, &l) < 0 ? -2 : 0;
    } else {
        char **v = NULL;
        size_t *vlen = NULL;
        rc = load_tail(s, fx, &l, at, &v, &vlen);
        if (rc == 0) {
            int64_t nv = l.n - at;
            memmove(v + 1, v, (size_t)nv * sizeof *v);
            memmove(vlen + 1, vlen, (size_t)nv * sizeof *vlen);
            v[0] = op->argv[4];
            vlen[0] = op->lens[4];
            l.n++; /* the shifted tail reaches one position further */
            rc = rewrite_tail(fx, &l, at, v, vlen, nv + 1) < 0 ? -2 : 0;
        }
        free(v);
        free(vlen);
    }
    if (rc < 0)
        return exec_error(w, rc == -1 ? EXEC_ERR_STORAGE : EXEC_ERR_OOM);
    resp_write_int(w, l.n);
    return 0;
}

const struct exec_cmd cmd_list_table[] = {
    { "lpush", -3, 0, list_push },
    { "rpush", -3, 0, list_push },
    { "lpushx", -3, 0, list_push },
    { "rpushx", -3, 0, list_push },
    { "lpop", -2, 0, list_pop },
    { "rpop", -2, 0, list_pop },
    { "blpop", -3, 0, list_bpop },
    { "brpop", -3, 0, list_bpop },
    { "lmpop", -4, 0, list_lmpop },
    { "blmpop", -5, 0, list_lmpop },
    { "lmove", 5, 0, list_lmove },
    { "blmove", 6, 0, list_lmove },
    { "rpoplpush", 3, 0, list_lmove },
    { "brpoplpush", 4, 0, list_lmove },
    { "llen", 2, EXEC_READ, list_llen },
    { "lindex", 3, EXEC_READ, list_lindex },
    { "lrange", 4, EXEC_READ, list_lrange },
    { "lpos", -3, EXEC_READ, list_lpos },
    { "lset", 4, 0, list_lset },
    { "ltrim", 4, 0, list_ltrim },
    { "lrem", 4, 0, list_lrem },
    { "linsert", 5, 0, list_linsert },
};
const size_t cmd_list_count = sizeof cmd_list_table / sizeof cmd_list_table[0];

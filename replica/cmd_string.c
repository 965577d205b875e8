/* cmd_string.c -- string commands: replies, errors and edge cases as Redis 7.0 has them.
 *
 * Each evaluator reads keys through effects_lookup() (so it sees its round's earlier
 * writes and ignores expired keys) and records puts; see exec.h for the contract. Which
 * commands keep a key's TTL follows Redis: SET (without KEEPTTL), GETSET, MSET, SETEX drop
 * it; APPEND, SETRANGE, INCR* and INCRBYFLOAT modify the value in place and keep it.
 *
 * Ordering rule inside an evaluator: validate, record the effects, and write the reply
 * last, so that a failure (out of memory) leaves exactly one reply, an error. A value that
 * came from the store stays valid through the recording, which never calls the store.
 */
#include "cmd_string.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "store.h"
#include "util.h"


/* Key i as a string: EXEC_WRONGTYPE if it holds another type. */
static int lookup(struct store *s, const struct effects *fx, const struct op *op, int i,
                  struct effects_value *v)
{
    return exec_lookup_type(s, fx, op, i, STORE_STRING, v);
}

/* Key i whatever its type (SET without GET, SETNX, MSETNX only ask whether it exists). */
static int lookup_any(struct store *s, const struct effects *fx, const struct op *op, int i,
                      struct effects_value *v)
{
    return effects_lookup(s, fx, op->argv[i], op->lens[i], v);
}

static void write_value(struct resp_writer *w, int found, const struct effects_value *v)
{
    if (found)
        resp_write_bulk(w, v->p, v->len);
    else
        resp_write_null(w);
}

/* Records k = v with expiry exp; an expiry at or before the round's clock deletes k instead,
 * as Redis does for a time already past. */
static int put_or_delete(struct effects *fx, const char *k, size_t klen, const char *v,
                         size_t vlen, int64_t exp)
{
    if (exp != 0 && exp <= fx->now_ms)
        return effects_del(fx, k, klen);
    return effects_put(fx, k, klen, v, vlen, exp);
}

/* ---- GET, MGET, STRLEN, GETRANGE ---- */

static int str_get(struct store *s, struct effects *fx, const struct op *op,
                   struct resp_writer *w)
{
    struct effects_value v;
    int found = lookup(s, fx, op, 1, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    write_value(w, found, &v);
    return 0;
}

static int str_mget(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w)
{
    resp_write_array(w, (size_t)op->argc - 1);
    for (int i = 1; i < op->argc; i++) {
        struct effects_value v;
        int found = lookup(s, fx, op, i, &v);
        if (found == -1)
            resp_write_error(w, EXEC_ERR_STORAGE); /* an element: the array is started */
        else
            write_value(w, found == 1, &v); /* another type: nil, as in Redis */
    }
    return 0;
}

static int str_strlen(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    struct effects_value v;
    int found = lookup(s, fx, op, 1, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    resp_write_int(w, found ? (int64_t)v.len : 0);
    return 0;
}

/* GETRANGE and SUBSTR: negative indexes count from the end; out-of-range ones are
 * clamped; an empty range is an empty string. */
static int str_getrange(struct store *s, struct effects *fx, const struct op *op,
                        struct resp_writer *w)
{
    int64_t start, end;
    if (exec_arg_i64(op, 2, &start) < 0 || exec_arg_i64(op, 3, &end) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    struct effects_value v;
    int found = lookup(s, fx, op, 1, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    int64_t len = found ? (int64_t)v.len : 0;
    if (!found || (start < 0 && end < 0 && start > end)) {
        resp_write_bulk(w, "", 0);
        return 0;
    }
    if (start < 0)
        start = len + start;
    if (end < 0)
        end = len + end;
    start = start < 0 ? 0 : start;
    end = end < 0 ? 0 : end;
    end = end >= len ? len - 1 : end;
    if (start > end || len == 0)
        resp_write_bulk(w, "", 0);
    else
        resp_write_bulk(w, v.p + start, (size_t)(end - start + 1));
    return 0;
}

/* ---- SET and its options ---- */

enum set_flag {
    SET_NX = 1 << 0, SET_XX = 1 << 1, SET_GET = 1 << 2, SET_KEEPTTL = 1 << 3,
    SET_PERSIST = 1 << 4, SET_EX = 1 << 5, SET_PX = 1 << 6, SET_EXAT = 1 << 7,
    SET_PXAT = 1 << 8
};
#define SET_EXPIRES (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

/* Redis's parseExtendedStringArgumentsOrReply as a table: an option is accepted if its
 * command allows it, no conflicting option came before, and its value (if any) follows.
 * The same option twice is accepted; for EX/PX/EXAT/PXAT the last value wins. */
static const struct set_option {
    const char *name;
    int flag, conflicts;
    int in_set, in_getex, takes_value;
} set_options[] = {
    { "nx", SET_NX, SET_XX, 1, 0, 0 },
    { "xx", SET_XX, SET_NX, 1, 0, 0 },
    { "get", SET_GET, 0, 1, 0, 0 },
    { "keepttl", SET_KEEPTTL, SET_PERSIST | SET_EXPIRES, 1, 0, 0 },
    { "persist", SET_PERSIST, SET_KEEPTTL | SET_EXPIRES, 0, 1, 0 },
    { "ex", SET_EX, SET_KEEPTTL | SET_PERSIST | (SET_EXPIRES & ~SET_EX), 1, 1, 1 },
    { "px", SET_PX, SET_KEEPTTL | SET_PERSIST | (SET_EXPIRES & ~SET_PX), 1, 1, 1 },
    { "exat", SET_EXAT, SET_KEEPTTL | SET_PERSIST | (SET_EXPIRES & ~SET_EXAT), 1, 1, 1 },
    { "pxat", SET_PXAT, SET_KEEPTTL | SET_PERSIST | (SET_EXPIRES & ~SET_PXAT), 1, 1, 1 },
};

struct set_args {
    int flags;
    const char *expire; /* the EX/PX/EXAT/PXAT argument, or NULL */
    size_t expire_len;
};

static const struct set_option *find_set_option(const char *name, int in_set)
{
    /* Compared as C strings, as Redis does: "nx\0junk" is NX. */
    for (size_t i = 0; i < sizeof set_options / sizeof set_options[0]; i++) {
        const struct set_option *o = &set_options[i];
        if ((in_set ? o->in_set : o->in_getex) && strcasecmp(name, o->name) == 0)
            return o;
    }
    return NULL;
}

/* Parses the options from argument first on. Returns 0, or -1 on a syntax error. */
static int parse_set_args(const struct op *op, int first, int in_set, struct set_args *a)
{
    *a = (struct set_args){ 0, NULL, 0 };
    for (int j = first; j < op->argc; j++) {
        const struct set_option *o = find_set_option(op->argv[j], in_set);
        if (!o || (a->flags & o->conflicts) || (o->takes_value && j + 1 == op->argc))
            return -1;
        a->flags |= o->flag;
        if (o->takes_value) {
            a->expire = op->argv[j + 1];
            a->expire_len = op->lens[++j];
        }
    }
    return 0;
}

/* Redis's getExpireMillisecondsOrReply: the absolute expiry in ms of an EX/PX/EXAT/PXAT
 * value. Returns 0, or -1 with the error written ("invalid expire time in 'cmd' command"
 * for a value <= 0 or one that overflows). */
static int expire_ms(const struct set_args *a, int64_t now, const char *cmd,
                     struct resp_writer *w, int64_t *ms)
{
    int64_t v;
    if (util_parse_i64(a->expire, a->expire_len, &v) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    int seconds = a->flags & (SET_EX | SET_EXAT), relative = a->flags & (SET_EX | SET_PX);
    if (v <= 0 || (seconds && v > INT64_MAX / 1000))
        return exec_errorf(w, "ERR invalid expire time in '%s' command", cmd);
    if (seconds)
        v *= 1000;
    if (relative && v > INT64_MAX - now)
        return exec_errorf(w, "ERR invalid expire time in '%s' command", cmd);
    *ms = relative ? v + now : v;
    return 0;
}

enum set_reply { REPLY_OK, REPLY_INT };

/* Redis's setGenericCommand once the options are parsed: exp is the new absolute expiry
 * (0: none). Replies the old value (GET), else OK / null (REPLY_OK) or 1 / 0 (REPLY_INT). */
static int set_generic(struct store *s, struct effects *fx, const struct op *op, int vi,
                       int flags, int64_t exp, enum set_reply kind, struct resp_writer *w)
{
    struct effects_value old;
    /* A plain SET needs no read of the old value (the common case: no store access). */
    int needs_old = flags & (SET_NX | SET_XX | SET_GET | SET_KEEPTTL);
    int found = !needs_old ? 0 : flags & SET_GET ? lookup(s, fx, op, 1, &old)
                                                 : lookup_any(s, fx, op, 1, &old);
    if (found < 0)
        return exec_lookup_error(w, found);
    int skip = ((flags & SET_NX) && found) || ((flags & SET_XX) && !found);
    /* A kept expiry is the live key's: at or after the clock (a key expiring at exactly
     * now_ms is still alive, as in Redis), so it stays; only a new expiry at or before the
     * clock deletes (fuzz_exec found SET KEEPTTL deleting a key whose TTL ended at now_ms). */
    int kept = !exp && (flags & SET_KEEPTTL) && found;
    if (kept)
        exp = old.exp;
    if (!skip && (kept ? effects_put(fx, op->argv[1], op->lens[1], op->argv[vi], op->lens[vi], exp)
                       : put_or_delete(fx, op->argv[1], op->lens[1], op->argv[vi],
                                       op->lens[vi], exp)) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    if (flags & SET_GET)
        write_value(w, found, &old);
    else if (kind == REPLY_INT)
        resp_write_int(w, !skip);
    else if (skip)
        resp_write_null(w);
    else
        resp_write_simple(w, "OK");
    return 0;
}

static int str_set(struct store *s, struct effects *fx, const struct op *op,
                   struct resp_writer *w)
{
    struct set_args a;
    int64_t exp = 0;
    if (parse_set_args(op, 3, 1, &a) < 0)
        return exec_error(w, EXEC_ERR_SYNTAX);
    if (a.expire && expire_ms(&a, fx->now_ms, "set", w, &exp) < 0)
        return -1;
    return set_generic(s, fx, op, 2, a.flags, exp, REPLY_OK, w);
}

static int str_setnx(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    return set_generic(s, fx, op, 2, SET_NX, 0, REPLY_INT, w);
}

static int str_getset(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    return set_generic(s, fx, op, 2, SET_GET, 0, REPLY_OK, w);
}

/* SETEX key seconds value, PSETEX key milliseconds value. */
static int str_setex(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    int ms_unit = op_is(op, "psetex");
    struct set_args a = { ms_unit ? SET_PX : SET_EX, op->argv[2], op->lens[2] };
    int64_t exp;
    if (expire_ms(&a, fx->now_ms, ms_unit ? "psetex" : "setex", w, &exp) < 0)
        return -1;
    return set_generic(s, fx, op, 3, 0, exp, REPLY_OK, w);
}

static int str_getdel(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    struct effects_value v;
    int found = lookup(s, fx, op, 1, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    if (found && effects_del(fx, op->argv[1], op->lens[1]) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    write_value(w, found, &v);
    return 0;
}

/* GETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST]: the value, and a new expiry.
 * A missing key is null even when the expiry value is invalid (Redis looks it up first). */
static int str_getex(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    struct set_args a;
    if (parse_set_args(op, 2, 0, &a) < 0)
        return exec_error(w, EXEC_ERR_SYNTAX);
    struct effects_value v;
    int found = lookup(s, fx, op, 1, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    if (!found) {
        resp_write_null(w);
        return 0;
    }
    int64_t exp = 0;
    if (a.expire && expire_ms(&a, fx->now_ms, "getex", w, &exp) < 0)
        return -1;
    int rc = 0;
    if (a.expire && exp <= fx->now_ms) /* EXAT / PXAT in the past */
        rc = effects_del(fx, op->argv[1], op->lens[1]);
    else if (a.expire)
        rc = effects_set_expire(fx, op->argv[1], op->lens[1], exp);
    else if ((a.flags & SET_PERSIST) && v.exp != 0)
        rc = effects_set_expire(fx, op->argv[1], op->lens[1], 0);
    if (rc < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_bulk(w, v.p, v.len);
    return 0;
}

/* ---- MSET, MSETNX ---- */

static int str_mset(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w)
{
    if (op->argc % 2 == 0)
        return exec_error(w, "ERR wrong number of arguments for 'mset' command");
    for (int i = 1; i < op->argc; i += 2)
        if (effects_put(fx, op->argv[i], op->lens[i], op->argv[i + 1], op->lens[i + 1], 0) < 0)
            return exec_error(w, EXEC_ERR_OOM);
    resp_write_simple(w, "OK");
    return 0;
}

static int str_msetnx(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    if (op->argc % 2 == 0)
        return exec_error(w, "ERR wrong number of arguments for 'msetnx' command");
    for (int i = 1; i < op->argc; i += 2) {
        struct effects_value v;
        int found = lookup_any(s, fx, op, i, &v);
        if (found < 0)
            return exec_lookup_error(w, found);
        if (found) {
            resp_write_int(w, 0);
            return 0;
        }
    }
    for (int i = 1; i < op->argc; i += 2)
        if (effects_put(fx, op->argv[i], op->lens[i], op->argv[i + 1], op->lens[i + 1], 0) < 0)
            return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, 1);
    return 0;
}

/* ---- APPEND, SETRANGE ---- */

static int too_long(struct resp_writer *w)
{
    return exec_error(w, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
}

static int str_append(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    struct effects_value old;
    int found = lookup(s, fx, op, 1, &old);
    if (found < 0)
        return exec_lookup_error(w, found);
    if (!found) {
        if (effects_put(fx, op->argv[1], op->lens[1], op->argv[2], op->lens[2], 0) < 0)
            return exec_error(w, EXEC_ERR_OOM);
        resp_write_int(w, (int64_t)op->lens[2]);
        return 0;
    }
    if ((int64_t)old.len + (int64_t)op->lens[2] > EXEC_MAX_STRING)
        return too_long(w);
    size_t len = old.len + op->lens[2];
    char *buf = effects_alloc(fx, len);
    if (!buf)
        return exec_error(w, EXEC_ERR_OOM);
    memcpy(buf, old.p, old.len);
    memcpy(buf + old.len, op->argv[2], op->lens[2]);
    if (effects_put(fx, op->argv[1], op->lens[1], buf, len, old.exp) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, (int64_t)len);
    return 0;
}

/* SETRANGE key offset value: overwrites from offset on, padding with zero bytes. Setting
 * nothing (an empty value) creates nothing and replies the current length. */
static int str_setrange(struct store *s, struct effects *fx, const struct op *op,
                        struct resp_writer *w)
{
    int64_t offset;
    if (exec_arg_i64(op, 2, &offset) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    if (offset < 0)
        return exec_error(w, "ERR offset is out of range");
    struct effects_value old = { "", 0, 0, 0, 0 };
    int found = lookup(s, fx, op, 1, &old);
    if (found < 0)
        return exec_lookup_error(w, found);
    size_t vlen = op->lens[3];
    if (vlen == 0) {
        resp_write_int(w, found ? (int64_t)old.len : 0);
        return 0;
    }
    if (offset > EXEC_MAX_STRING || offset + (int64_t)vlen > EXEC_MAX_STRING)
        return too_long(w);
    size_t end = (size_t)offset + vlen, len = found && old.len > end ? old.len : end;
    char *buf = effects_alloc(fx, len);
    if (!buf)
        return exec_error(w, EXEC_ERR_OOM);
    size_t keep = found ? old.len : 0;
    memcpy(buf, old.p, keep);
    if ((size_t)offset > keep)
        memset(buf + keep, 0, (size_t)offset - keep);
    memcpy(buf + offset, op->argv[3], vlen);
    if (effects_put(fx, op->argv[1], op->lens[1], buf, len, found ? old.exp : 0) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, (int64_t)len);
    return 0;
}

/* ---- INCR, DECR, INCRBY, DECRBY ---- */

/* The new value is formatted into the op's own scratch space (an effect must point at
 * memory that lives as long as the op): see op.h. */
static int incr_by(struct store *s, struct effects *fx, const struct op *op,
                   struct resp_writer *w, int64_t by)
{
    struct effects_value old;
    int64_t cur = 0;
    int found = lookup(s, fx, op, 1, &old);
    if (found < 0)
        return exec_lookup_error(w, found);
    if (found && util_parse_i64(old.p, old.len, &cur) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    if ((by < 0 && cur < INT64_MIN - by) || (by > 0 && cur > INT64_MAX - by))
        return exec_error(w, "ERR increment or decrement would overflow");
    cur += by;
    char *num = (char *)op->scratch; /* the op's designated mutable space */
    size_t n = (size_t)snprintf(num, sizeof op->scratch, "%lld", (long long)cur);
    if (effects_put(fx, op->argv[1], op->lens[1], num, n, found ? old.exp : 0) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, cur);
    return 0;
}

static int str_incr(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w)
{
    int neg = op_is(op, "decr") || op_is(op, "decrby");
    int by_arg = op_is(op, "incrby") || op_is(op, "decrby");
    int64_t by = 1;
    if (by_arg && exec_arg_i64(op, 2, &by) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    if (neg && by == INT64_MIN)
        return exec_error(w, "ERR decrement would overflow");
    return incr_by(s, fx, op, w, neg ? -by : by);
}

/* ---- INCRBYFLOAT ---- */

static int str_incrbyfloat(struct store *s, struct effects *fx, const struct op *op,
                           struct resp_writer *w)
{
    struct effects_value old;
    long double cur = 0, by;
    int found = lookup(s, fx, op, 1, &old);
    if (found < 0)
        return exec_lookup_error(w, found);
    if ((found && exec_parse_ld(old.p, old.len, &cur) < 0) ||
        exec_parse_ld(op->argv[2], op->lens[2], &by) < 0)
        return exec_error(w, "ERR value is not a valid float");
    cur += by;
    if (isnan(cur) || isinf(cur))
        return exec_error(w, "ERR increment would produce NaN or Infinity");
    char num[EXEC_LONG_DOUBLE_CHARS];
    size_t n = exec_format_ld(num, sizeof num, cur);
    char *buf = effects_alloc(fx, n);
    if (!buf)
        return exec_error(w, EXEC_ERR_OOM);
    memcpy(buf, num, n);
    if (effects_put(fx, op->argv[1], op->lens[1], buf, n, found ? old.exp : 0) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_bulk(w, buf, n);
    return 0;
}

/* ---- LCS ---- */

/* The options of LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]. */
struct lcs_opts {
    int len, idx, withmatchlen;
    int64_t minmatchlen;
};

/* Walks the LCS table t of a and b back from its corner as Redis does, filling result
 * (when not NULL) with the common subsequence and, when w is not NULL, writing each
 * range of contiguous matches at least minmatchlen long (the last ones first). Returns
 * the number of such ranges. */
static size_t lcs_walk(const char *a, const char *b, uint32_t alen, uint32_t blen,
                       const uint32_t *t, const struct lcs_opts *o, char *result,
                       struct resp_writer *w)
{
    uint32_t i = alen, j = blen, idx = t[(size_t)alen * (blen + 1) + blen];
    uint32_t astart = alen, aend = 0, bstart = 0, bend = 0; /* astart == alen: no range */
    size_t ranges = 0;
    while (i > 0 && j > 0) {
        int emit = 0;
        if (a[i - 1] == b[j - 1]) {
            if (result)
                result[idx - 1] = a[i - 1];
            if (astart == alen) {
                astart = aend = i - 1;
                bstart = bend = j - 1;
            } else if (astart == i && bstart == j) {
                astart--, bstart--; /* the range extends backward */
            } else {
                emit = 1;
            }
            if (astart == 0 || bstart == 0)
                emit = 1; /* a string's first byte: the walk ends here */
            idx--, i--, j--;
        } else {
            if (t[(size_t)(i - 1) * (blen + 1) + j] > t[(size_t)i * (blen + 1) + j - 1])
                i--;
            else
                j--;
            if (astart != alen)
                emit = 1;
        }
        if (!emit)
            continue;
        uint32_t mlen = aend - astart + 1;
        if (o->minmatchlen == 0 || mlen >= o->minmatchlen) {
            if (w) {
                resp_write_array(w, 2 + (size_t)o->withmatchlen);
                resp_write_array(w, 2);
                resp_write_int(w, astart);
                resp_write_int(w, aend);
                resp_write_array(w, 2);
                resp_write_int(w, bstart);
                resp_write_int(w, bend);
                if (o->withmatchlen)
                    resp_write_int(w, mlen);
            }
            ranges++;
        }
        astart = alen;
    }
    return ranges;
}

/* The reply, from the filled table t. Returns 0, or -1 (out of memory) before any of it. */
static int lcs_reply(const char *a, const char *b, uint32_t alen, uint32_t blen,
                     const uint32_t *t, const struct lcs_opts *o, struct resp_writer *w)
{
    uint32_t n = t[(size_t)alen * (blen + 1) + blen];
    if (o->len) {
        resp_write_int(w, n);
        return 0;
    }
    if (o->idx) {
        resp_write_map(w, 2);
        resp_write_cstr(w, "matches");
        resp_write_array(w, lcs_walk(a, b, alen, blen, t, o, NULL, NULL));
        lcs_walk(a, b, alen, blen, t, o, NULL, w);
        resp_write_cstr(w, "len");
        resp_write_int(w, n);
        return 0;
    }
    char *result = malloc(n ? n : 1);
    if (!result)
        return exec_error(w, EXEC_ERR_OOM);
    lcs_walk(a, b, alen, blen, t, o, result, NULL);
    resp_write_bulk(w, result, n);
    free(result);
    return 0;
}

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest common
 * subsequence by Redis's dynamic programming over a table of (len1 + 1) * (len2 + 1)
 * 32-bit cells, which Redis refuses past proto-max-bulk-len (512 MB) -- the bound on what
 * one read can make a replica allocate. A missing key is an empty string. */
static int str_lcs(struct store *s, struct effects *fx, const struct op *op,
                   struct resp_writer *w)
{
    struct lcs_opts o = { 0 };
    for (int j = 3; j < op->argc; j++) {
        const char *opt = op->argv[j];
        if (strcasecmp(opt, "idx") == 0)
            o.idx = 1;
        else if (strcasecmp(opt, "len") == 0)
            o.len = 1;
        else if (strcasecmp(opt, "withmatchlen") == 0)
            o.withmatchlen = 1;
        else if (strcasecmp(opt, "minmatchlen") == 0 && j + 1 < op->argc) {
            if (exec_arg_i64(op, ++j, &o.minmatchlen) < 0)
                return exec_error(w, EXEC_ERR_NOT_INT);
            if (o.minmatchlen < 0)
                o.minmatchlen = 0;
        } else {
            return exec_error(w, EXEC_ERR_SYNTAX);
        }
    }
    if (o.len && o.idx)
        return exec_error(w, "ERR If you want both the length and indexes, please just use "
                             "IDX.");
    /* A value from the store lasts until the next store read: the first one is copied. */
    struct effects_value va = { .p = "" }, vb = { .p = "" };
    int found = lookup(s, fx, op, 1, &va);
    if (found < 0)
        return exec_lookup_error(w, found);
    char *a = malloc(va.len ? va.len : 1);
    if (!a)
        return exec_error(w, EXEC_ERR_OOM);
    memcpy(a, va.p, va.len);
    uint32_t alen = (uint32_t)va.len; /* values are at most 512 MB */
    found = lookup(s, fx, op, 2, &vb);
    uint64_t cells = ((uint64_t)alen + 1) * ((uint64_t)vb.len + 1);
    uint32_t *t = NULL;
    int rc;
    if (found < 0)
        rc = exec_lookup_error(w, found);
    else if (cells * sizeof *t > (uint64_t)EXEC_MAX_STRING)
        rc = exec_error(w, "ERR Insufficient memory, transient memory for LCS exceeds "
                           "proto-max-bulk-len");
    else if (!(t = malloc((size_t)cells * sizeof *t)))
        rc = exec_error(w, "ERR Insufficient memory, failed allocating transient memory for "
                           "LCS");
    else {
        uint32_t blen = (uint32_t)vb.len;
        const char *b = vb.p;
        for (uint32_t j = 0; j <= blen; j++)
            t[j] = 0;
        for (uint32_t i = 1; i <= alen; i++) {
            const uint32_t *up = t + (size_t)(i - 1) * (blen + 1);
            uint32_t *row = t + (size_t)i * (blen + 1);
            row[0] = 0;
            for (uint32_t j = 1; j <= blen; j++)
                row[j] = a[i - 1] == b[j - 1] ? up[j - 1] + 1
                         : up[j] > row[j - 1] ? up[j] : row[j - 1];
        }
        rc = lcs_reply(a, b, alen, blen, t, &o, w);
    }
    free(t);
    free(a);
    return rc;
}

/* Hot commands first: the registry is searched in order. */
const struct exec_cmd cmd_string_table[] = {
    { "get", 2, EXEC_READ, str_get },
    { "set", -3, 0, str_set },
    { "incr", 2, 0, str_incr },
    { "mget", -2, EXEC_READ, str_mget },
    { "mset", -3, 0, str_mset },
    { "decr", 2, 0, str_incr },
    { "incrby", 3, 0, str_incr },
    { "decrby", 3, 0, str_incr },
    { "incrbyfloat", 3, 0, str_incrbyfloat },
    { "setnx", 3, 0, str_setnx },
    { "setex", 4, 0, str_setex },
    { "psetex", 4, 0, str_setex },
    { "getset", 3, 0, str_getset },
    { "getdel", 2, 0, str_getdel },
    { "getex", -2, 0, str_getex },
    { "msetnx", -3, 0, str_msetnx },
    { "append", 3, 0, str_append },
    { "strlen", 2, EXEC_READ, str_strlen },
    { "getrange", 4, EXEC_READ, str_getrange },
    { "substr", 4, EXEC_READ, str_getrange },
    { "setrange", 4, 0, str_setrange },
    { "lcs", -3, EXEC_READ, str_lcs },
};
const size_t cmd_string_count = sizeof cmd_string_table / sizeof cmd_string_table[0];

/* cmd_keys.c -- generic key commands and expiry, as Redis 7.0 evaluates them.
 *
 * Times: every expiry is stored as an absolute Unix time in ms. Relative forms (EXPIRE,
 * PEXPIRE, SET EX...) are added to the round's clock, fx->now_ms, the same on every
 * replica. Setting an expiry at or before that clock deletes the key at once (Redis's
 * checkAlreadyExpired), and a key is alive until its expiry instant included (Redis's
 * keyIsExpired: now > when).
 *
 * TTL replies follow Redis's ttlGenericCommand: -2 no key, -1 no expiry, else the time
 * left (or the absolute time), seconds rounded to nearest ((ms + 500) / 1000).
 */
#include "cmd_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd_keyspace.h"
#include "coll.h"
#include "store.h"
#include "util.h"

static int lookup(struct store *s, const struct effects *fx, const struct op *op, int i,
                  struct effects_value *v)
{
    return effects_lookup(s, fx, op->argv[i], op->lens[i], v);
}

static int same_arg(const struct op *op, int a, int b)
{
    return op->lens[a] == op->lens[b] && memcmp(op->argv[a], op->argv[b], op->lens[a]) == 0;
}

/* A copy of a looked-up value that lives as long as fx's records (a store value dies at
 * the next store call). NULL when out of memory. */
static const char *keep_value(struct effects *fx, const struct effects_value *v)
{
    char *p = effects_alloc(fx, v->len);
    if (p)
        memcpy(p, v->p, v->len);
    return p;
}

/* ---- DEL, UNLINK, EXISTS, TOUCH, TYPE ---- */

static int keys_del(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w)
{
    int64_t count = 0;
    for (int i = 1; i < op->argc; i++) {
        struct effects_value v;
        int found = lookup(s, fx, op, i, &v);
        if (found < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        if (!found)
            continue;
        if (effects_del(fx, op->argv[i], op->lens[i]) < 0)
            return exec_error(w, EXEC_ERR_OOM);
        count++;
    }
    resp_write_int(w, count);
    return 0;
}

/* EXISTS and TOUCH: how many of the arguments exist, repeats counted. */
static int keys_exists(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    int64_t n = 0;
    for (int i = 1; i < op->argc; i++) {
        struct effects_value v;
        int found = lookup(s, fx, op, i, &v);
        if (found < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        n += found;
    }
    resp_write_int(w, n);
    return 0;
}

static int keys_type(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    struct effects_value v;
    int found = lookup(s, fx, op, 1, &v);
    if (found < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    resp_write_simple(w, found ? exec_type_name(v.t) : "none");
    return 0;
}

/* ---- RENAME, RENAMENX, COPY ---- */

/* Records argument i in database db = the live key argument 1 of fx->db (looked up as v;
 * copy: its value's copy if a string), with its expiry. */
static int put_copy(struct store *s, struct effects *fx, int db, const struct op *op, int i,
                    const struct effects_value *v, const char *copy)
{
    if (v->t != STORE_STRING)
        return coll_copy(s, fx, op->argv[1], op->lens[1], op->argv[i], op->lens[i], db, v->t,
                         v->n, v->exp);
    int was = fx->db;
    fx->db = db;
    int rc = effects_put(fx, op->argv[i], op->lens[i], copy, v->len, v->exp);
    fx->db = was;
    return rc;
}

static int keys_rename(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    int nx = op_is(op, "renamenx");
    struct effects_value src, dst;
    int found = lookup(s, fx, op, 1, &src);
    if (found <= 0)
        return exec_error(w, found < 0 ? EXEC_ERR_STORAGE : "ERR no such key");
    if (same_arg(op, 1, 2)) {
        nx ? resp_write_int(w, 0) : resp_write_simple(w, "OK");
        return 0;
    }
    const char *copy = keep_value(fx, &src);
    if (!copy)
        return exec_error(w, EXEC_ERR_OOM);
    int exists = lookup(s, fx, op, 2, &dst);
    if (exists < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    if (nx && exists) {
        resp_write_int(w, 0);
        return 0;
    }
    if (put_copy(s, fx, fx->db, op, 2, &src, copy) < 0 ||
        effects_del(fx, op->argv[1], op->lens[1]) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    nx ? resp_write_int(w, 1) : resp_write_simple(w, "OK");
    return 0;
}

/* COPY's options: DB n and REPLACE. Returns 0 with *db (the op's database without DB),
 * or -1 with the error written. */
static int copy_options(const struct effects *fx, const struct op *op, int *replace, int *db,
                        struct resp_writer *w)
{
    *replace = 0;
    *db = fx->db;
    for (int j = 3; j < op->argc; j++) {
        if (strcasecmp(op->argv[j], "replace") == 0) {
            *replace = 1;
            continue;
        }
        if (strcasecmp(op->argv[j], "db") != 0 || j + 1 == op->argc)
            return exec_error(w, EXEC_ERR_SYNTAX);
        if (cmd_keyspace_db_arg(op, ++j, NULL, db, w) < 0)
            return -1;
    }
    return 0;
}

/* Looks k up in database db (fx->db for the time of the call). */
static int lookup_in(struct store *s, struct effects *fx, int db, const struct op *op, int i,
                     struct effects_value *v)
{
    int was = fx->db;
    fx->db = db;
    int rc = lookup(s, fx, op, i, v);
    fx->db = was;
    return rc;
}

static int keys_copy(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    int replace, db;
    if (copy_options(fx, op, &replace, &db, w) < 0)
        return -1;
    if (db == fx->db && same_arg(op, 1, 2))
        return exec_error(w, "ERR source and destination objects are the same");
    struct effects_value src, dst;
    int found = lookup(s, fx, op, 1, &src);
    if (found < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    const char *copy = found ? keep_value(fx, &src) : "";
    if (!copy)
        return exec_error(w, EXEC_ERR_OOM);
    int exists = found ? lookup_in(s, fx, db, op, 2, &dst) : 0;
    if (exists < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    int copied = found && (!exists || replace);
    if (copied && put_copy(s, fx, db, op, 2, &src, copy) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, copied);
    return 0;
}

/* MOVE key db: Redis 7's moveCommand -- the index first, then the same-database error,
 * then 0 when the key is missing here or present there; else its value and TTL go to db
 * and it leaves this database (a DEL here and a PUT there). */
static int keys_move(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    int db;
    if (cmd_keyspace_db_arg(op, 2, NULL, &db, w) < 0)
        return -1;
    if (db == fx->db)
        return exec_error(w, "ERR source and destination objects are the same");
    struct effects_value src, dst;
    int found = lookup(s, fx, op, 1, &src);
    if (found < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    const char *copy = found ? keep_value(fx, &src) : "";
    if (!copy)
        return exec_error(w, EXEC_ERR_OOM);
    int exists = found ? lookup_in(s, fx, db, op, 1, &dst) : 0;
    if (exists < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    int moved = found && !exists;
    if (moved && (put_copy(s, fx, db, op, 1, &src, copy) < 0 ||
                  effects_del(fx, op->argv[1], op->lens[1]) < 0))
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, moved);
    return 0;
}

/* ---- EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT ---- */

enum expire_flag { EXPIRE_NX = 1, EXPIRE_XX = 2, EXPIRE_GT = 4, EXPIRE_LT = 8 };

/* "ERR Unsupported option <opt>", the option echoed whole as a C string, as Redis's %s
 * does. Returns -1. */
static int unsupported_option(struct resp_writer *w, const char *opt)
{
    size_t n = strlen(opt) + 32;
    char *msg = malloc(n);
    if (!msg)
        return exec_error(w, EXEC_ERR_OOM);
    snprintf(msg, n, "ERR Unsupported option %s", opt);
    exec_error(w, msg);
    free(msg);
    return -1;
}

/* Redis's parseExtendedExpireArgumentsOrReply. Returns 0, or -1 with the error written. */
static int expire_options(const struct op *op, int *flags, struct resp_writer *w)
{
    static const struct { const char *name; int flag; } names[] = {
        { "nx", EXPIRE_NX }, { "xx", EXPIRE_XX }, { "gt", EXPIRE_GT }, { "lt", EXPIRE_LT },
    };
    *flags = 0;
    for (int j = 3; j < op->argc; j++) {
        size_t i = 0;
        while (i < 4 && strcasecmp(op->argv[j], names[i].name) != 0)
            i++;
        if (i == 4)
            return unsupported_option(w, op->argv[j]);
        *flags |= names[i].flag;
    }
    if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT)))
        return exec_error(w, "ERR NX and XX, GT or LT options at the same time are not "
                             "compatible");
    if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT))
        return exec_error(w, "ERR GT and LT options at the same time are not compatible");
    return 0;
}

/* Whether NX/XX/GT/LT let a key with expiry cur (0: none, an infinite TTL) take when. */
static int expire_allowed(int flags, int64_t cur, int64_t when)
{
    if ((flags & EXPIRE_NX) && cur != 0)
        return 0;
    if ((flags & EXPIRE_XX) && cur == 0)
        return 0;
    if ((flags & EXPIRE_GT) && (cur == 0 || when <= cur))
        return 0;
    if ((flags & EXPIRE_LT) && cur != 0 && when >= cur)
        return 0;
    return 1;
}

/* The absolute expiry in ms that EXPIRE-like op asks for. Returns 0, or -1 with the error
 * written (not an integer; an overflow of the unit or the base). */
static int expire_when(const struct op *op, int64_t now, int64_t *when,
                       struct resp_writer *w)
{
    static const char *const names[] = { "expire", "pexpire", "expireat", "pexpireat" };
    size_t i = 0;
    while (i < 3 && !op_is(op, names[i]))
        i++;
    const char *cmd = names[i];
    int seconds = i == 0 || i == 2;
    int64_t base = i < 2 ? now : 0, v;
    if (exec_arg_i64(op, 2, &v) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    if (seconds && (v > INT64_MAX / 1000 || v < INT64_MIN / 1000))
        return exec_errorf(w, "ERR invalid expire time in '%s' command", cmd);
    v = seconds ? v * 1000 : v;
    if (v > INT64_MAX - base)
        return exec_errorf(w, "ERR invalid expire time in '%s' command", cmd);
    *when = v + base;
    return 0;
}

static int keys_expire(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    int flags = 0;
    int64_t when = 0;
    if (expire_options(op, &flags, w) < 0 || expire_when(op, fx->now_ms, &when, w) < 0)
        return -1;
    struct effects_value v;
    int found = lookup(s, fx, op, 1, &v);
    if (found < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    if (!found || !expire_allowed(flags, v.exp, when)) {
        resp_write_int(w, 0);
        return 0;
    }
    int rc = when <= fx->now_ms ? effects_del(fx, op->argv[1], op->lens[1])
                                : effects_set_expire(fx, op->argv[1], op->lens[1], when);
    if (rc < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, 1);
    return 0;
}

/* ---- TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST ---- */

static int keys_ttl(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w)
{
    int in_ms = op_is(op, "pttl") || op_is(op, "pexpiretime");
    int absolute = op_is(op, "expiretime") || op_is(op, "pexpiretime");
    struct effects_value v;
    int found = lookup(s, fx, op, 1, &v);
    if (found < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    if (!found || v.exp == 0) {
        resp_write_int(w, found ? -1 : -2);
        return 0;
    }
    int64_t t = absolute ? v.exp : v.exp - fx->now_ms;
    t = t < 0 ? 0 : t;
    /* Rounded in unsigned arithmetic: near INT64_MAX (PEXPIREAT k 9223372036854775807)
     * t + 500 must not wrap, and Redis answers 9223372036854776 there. */
    resp_write_int(w, in_ms ? t : (int64_t)(((uint64_t)t + 500) / 1000));
    return 0;
}

static int keys_persist(struct store *s, struct effects *fx, const struct op *op,
                        struct resp_writer *w)
{
    struct effects_value v;
    int found = lookup(s, fx, op, 1, &v);
    if (found < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    int had = found && v.exp != 0;
    if (had && effects_set_expire(fx, op->argv[1], op->lens[1], 0) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, had);
    return 0;
}

/* TPC.EXPIREDEL key...: the background sweep's delete, only of keys still expired now. */
static int keys_expiredel(struct store *s, struct effects *fx, const struct op *op,
                          struct resp_writer *w)
{
    int64_t n = 0;
    for (int i = 1; i < op->argc; i++) {
        struct effects_value v;
        int found = effects_lookup_raw(s, fx, op->argv[i], op->lens[i], &v);
        if (found < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        if (!found || effects_alive(v.exp, fx->now_ms))
            continue;
        if (effects_del(fx, op->argv[i], op->lens[i]) < 0)
            return exec_error(w, EXEC_ERR_OOM);
        n++;
    }
    resp_write_int(w, n);
    return 0;
}

const struct exec_cmd cmd_keys_table[] = {
    { "del", -2, 0, keys_del },
    { "exists", -2, EXEC_READ, keys_exists },
    { "ttl", 2, EXEC_READ, keys_ttl },
    { "pttl", 2, EXEC_READ, keys_ttl },
    { "expire", -3, 0, keys_expire },
    { "pexpire", -3, 0, keys_expire },
    { "expireat", -3, 0, keys_expire },
    { "pexpireat", -3, 0, keys_expire },
    { "expiretime", 2, EXEC_READ, keys_ttl },
    { "pexpiretime", 2, EXEC_READ, keys_ttl },
    { "persist", 2, 0, keys_persist },
    { "unlink", -2, 0, keys_del },
    { "touch", -2, EXEC_READ, keys_exists },
    { "type", 2, EXEC_READ, keys_type },
    { "rename", 3, 0, keys_rename },
    { "renamenx", 3, 0, keys_rename },
    { "copy", -3, 0, keys_copy },
    { "move", 3, 0, keys_move },
    { "tpc.expiredel", -2, 0, keys_expiredel },
};
const size_t cmd_keys_count = sizeof cmd_keys_table / sizeof cmd_keys_table[0];

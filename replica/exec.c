/* exec.c -- the replica's command registry: finding an op's evaluator, checking its arity,
 * running it as part of a round (exec_op) or as a read (exec_read), and TX blocks.
 *
 * Each command file exports a table (cmd_string.h, cmd_bit.h, cmd_keys.h, cmd_keyspace.h,
 * cmd_object.h); lookup is a linear scan over them, hot commands first. exec_op() is the one place that enforces
 * the evaluator contract: the arity error is Redis's, a NULL writer becomes a writer that
 * discards, and the records of an op that replied with an error are dropped. It is also
 * where an op's database is found: a DB wrapper (op.h) sets fx->db for the command inside
 * it (a TX's sub-commands carry their own wrappers), and a read runs in its wrapper's
 * database.
 */
#include "exec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd_bit.h"
#include "cmd_hash.h"
#include "cmd_list.h"
#include "cmd_set.h"
#include "cmd_sort.h"
#include "cmd_keys.h"
#include "cmd_keyspace.h"
#include "cmd_object.h"
#include "cmd_string.h"
#include "cmd_zset.h"
#include "store.h"
#include "util.h"

static int exec_ping(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    if (op->argc > 2)
        return exec_error(w, "ERR wrong number of arguments for 'ping' command");
    if (op->argc == 2)
        resp_write_bulk(w, op->argv[1], op->lens[1]);
    else
        resp_write_simple(w, "PONG");
    return 0;
}

static int exec_tx(struct store *s, struct effects *fx, const struct op *op,
                   struct resp_writer *w)
{
    uint64_t n;
    if (util_parse_u64(op->argv[1], op->lens[1], &n) < 0 || n > (uint64_t)op->argc)
        return exec_error(w, "ERR malformed TX");
    /* The framing is checked whole before the array header goes out: an error after it
     * would leave a reply of fewer elements than announced (a peer may send anything). */
    int at = 2;
    struct op frame;
    for (uint64_t i = 0; i < n; i++)
        if (op_frame_next(op->argc, op->argv, op->lens, &at, &frame) != 1)
            return exec_error(w, "ERR malformed TX");
    if (at != op->argc)
        return exec_error(w, "ERR malformed TX");
    resp_write_array(w, (size_t)n);
    at = 2;
    for (uint64_t i = 0; i < n; i++) {
        if (op_frame_next(op->argc, op->argv, op->lens, &at, &frame) != 1)
            return exec_error(w, "ERR malformed TX"); /* checked above */
        struct op *sub = op_new(frame.argc, frame.argv, frame.lens);
        if (!sub || effects_own(fx, sub) < 0) {
            op_free(sub);
            return exec_error(w, EXEC_ERR_OOM);
        }
        exec_op(s, fx, sub, w);
    }
    return 0;
}

static const struct exec_cmd exec_own_table[] = {
    { "tx", -2, 0, exec_tx },
    { "ping", -1, EXEC_READ, exec_ping },
};

static const struct {
    const struct exec_cmd *cmds;
    const size_t *count;
} tables[] = {
    { cmd_string_table, &cmd_string_count },
    { cmd_bit_table, &cmd_bit_count },
    { cmd_keys_table, &cmd_keys_count },
    { cmd_hash_table, &cmd_hash_count },
    { cmd_list_table, &cmd_list_count },
    { cmd_set_table, &cmd_set_count },
    { cmd_sort_table, &cmd_sort_count },
    { cmd_zset_table, &cmd_zset_count },
    { cmd_keyspace_table, &cmd_keyspace_count },
    { cmd_object_table, &cmd_object_count },
};

static const struct exec_cmd *find(const struct op *op)
{
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (size_t i = 0; i < *tables[t].count; i++)
            if (op_is(op, tables[t].cmds[i].name))
                return &tables[t].cmds[i];
    for (size_t i = 0; i < sizeof exec_own_table / sizeof exec_own_table[0]; i++)
        if (op_is(op, exec_own_table[i].name))
            return &exec_own_table[i];
    return NULL;
}

/* The command inside op's DB wrapper (a view into op's arguments) and its database, or op
 * itself in database 0. */
static struct op unwrap(const struct op *op, int *db)
{
    *db = 0;
    if (op_db_wrapper(op->argc, op->argv, op->lens, db) == 0)
        return (struct op){ .argc = op->argc - 2, .argv = op->argv + 2, .lens = op->lens + 2 };
    return (struct op){ .argc = op->argc, .argv = op->argv, .lens = op->lens };
}

int exec_known(const struct op *op)
{
    int db;
    struct op inner = unwrap(op, &db);
    return find(&inner) != NULL;
}

static int reads(const struct exec_cmd *cmd, const struct op *op)
{
    return (cmd->flags & EXEC_READ) ||
           ((cmd->flags & EXEC_READ_IF_NO_WRITE) &&
            !(op_is(op, "sort") ? op_sort_stores(op) : op_bitfield_writes(op, NULL)));
}

int exec_is_read(const struct op *op)
{
    int db;
    struct op inner = unwrap(op, &db);
    const struct exec_cmd *cmd = find(&inner);
    return cmd && reads(cmd, &inner);
}

static int discard(void *sink, const void *data, size_t len)
{
    return 0;
}

static int run(const struct exec_cmd *cmd, struct store *s, struct effects *fx,
               const struct op *op, struct resp_writer *w)
{
    if ((cmd->arity > 0 && op->argc != cmd->arity) || op->argc < -cmd->arity)
        return exec_errorf(w, "ERR wrong number of arguments for '%s' command", cmd->name);
    size_t mark = fx->n;
    int rc = cmd->fn(s, fx, op, w);
    if (rc < 0)
        effects_truncate(fx, mark);
    return rc;
}

/* DB n <command...>: the command, copied (its records and scratch space must live as long
 * as fx's), evaluated with fx->db = n. */
static int exec_in_db(struct store *s, struct effects *fx, const struct op *op, int db,
                      struct resp_writer *w)
{
    struct op *sub = op_new(op->argc - 2, op->argv + 2, op->lens + 2);
    if (!sub || effects_own(fx, sub) < 0) {
        op_free(sub);
        return exec_error(w, EXEC_ERR_OOM);
    }
    int was = fx->db;
    fx->db = db;
    const struct exec_cmd *cmd = find(sub);
    int rc = cmd && !op_is(sub, "tx") ? run(cmd, s, fx, sub, w)
                                      : exec_error(w, "ERR unknown write op");
    fx->db = was;
    return rc;
}

int exec_op(struct store *s, struct effects *fx, const struct op *op, struct resp_writer *w)
{
    struct resp_writer none = { discard, NULL, 2 };
    const struct exec_cmd *cmd = find(op);
    int db;
    if (!w)
        w = &none;
    if (op_db_wrapper(op->argc, op->argv, op->lens, &db) == 0)
        return exec_in_db(s, fx, op, db, w);
    if (!cmd)
        return exec_error(w, "ERR unknown write op");
    return run(cmd, s, fx, op, w);
}

int exec_read(struct store *s, int64_t now_ms, uint64_t seed, const struct op *op,
              struct resp_writer *w)
{
    int db;
    struct op inner = unwrap(op, &db);
    const struct exec_cmd *cmd = find(&inner);
    if (!cmd || !reads(cmd, &inner))
        return exec_errorf(w, "ERR '%.64s' is not a read command",
                           inner.argc ? inner.argv[0] : "");
    struct effects fx = { .now_ms = now_ms, .seed = seed ? seed : 1, .db = db };
    int rc = run(cmd, s, &fx, &inner, w);
    effects_clear(&fx);
    return rc;
}

int exec_apply(struct store *s, const struct effects *fx)
{
    return effects_apply(s, fx);
}

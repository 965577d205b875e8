/* commands.c -- dispatch, and the data commands: reads (one replica) and writes (rounds).
 *
 * Data commands are evaluated by the replicas (replica/exec.c), so the coordinator only
 * checks what Redis checks before running a command (the name, the arity) and forwards:
 * a read to one replica as TPC.READ <now_ms> <command...>, a write into a round. Option
 * syntax errors, wrong values and the like come back from the replicas as the command's
 * reply, as they would from Redis's command itself (also inside MULTI/EXEC).
 *
 * The checks before a command runs (commands_check), in Redis's order: unknown command,
 * unknown subcommand of a container, then the arity. Error texts are Redis 7's, byte for
 * byte (CR/LF in echoed arguments are turned into spaces by the reply writer).
 */
#include "commands.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "client.h"
#include "expire.h"
#include "op.h"
#include "replica_link.h"
#include "txn_io.h"
#include "util.h"

static struct coord *coord;

static void cmd_read(struct client *cl, const struct resp_request *req);
static void cmd_write(struct client *cl, const struct resp_request *req);
static void cmd_write_pairs(struct client *cl, const struct resp_request *req);

#define W CMD_WRITE
#define R CMD_READ
#define F CMD_FAST

/* Doc fields (group, since, summary) are Redis 7.0's; COMMAND DOCS and INFO read them. */
const struct command data_commands[] = {
    { "append", 3, W, 1, 1, 1, "string", "2.0.0",
      "Appends a string to the value of a key. Creates the key if it doesn't exist.",
      cmd_write, NULL },
    { "copy", -3, W, 1, 2, 1, "generic", "6.2.0", "Copies the value of a key to a new key.",
      cmd_write, NULL },
    { "dbsize", 1, R | F, 0, 0, 0, "server", "1.0.0",
      "Returns the number of keys in the database.", cmd_read, NULL },
    { "decr", 2, W | F, 1, 1, 1, "string", "1.0.0",
      "Decrements the integer value of a key by one. Uses 0 as initial value if the key "
      "doesn't exist.", cmd_write, NULL },
    { "decrby", 3, W | F, 1, 1, 1, "string", "1.0.0",
      "Decrements a number from the integer value of a key. Uses 0 as initial value if the "
      "key doesn't exist.", cmd_write, NULL },
    { "del", -2, W, 1, -1, 1, "generic", "1.0.0", "Deletes one or more keys.", cmd_write,
      NULL },
    { "exists", -2, R | F, 1, -1, 1, "generic", "1.0.0",
      "Determines whether one or more keys exist.", cmd_read, NULL },
    { "expire", -3, W | F, 1, 1, 1, "generic", "1.0.0",
      "Sets the expiration time of a key in seconds.", cmd_write, NULL },
    { "expireat", -3, W | F, 1, 1, 1, "generic", "1.2.0",
      "Sets the expiration time of a key to a Unix timestamp.", cmd_write, NULL },
    { "expiretime", 2, R | F, 1, 1, 1, "generic", "7.0.0",
      "Returns the expiration time of a key as a Unix timestamp.", cmd_read, NULL },
    { "flushall", -1, W, 0, 0, 0, "server", "1.0.0", "Removes all keys from all databases.",
      cmd_write, NULL },
    { "flushdb", -1, W, 0, 0, 0, "server", "1.0.0",
      "Remove all keys from the current database.", cmd_write, NULL },
    { "get", 2, R | F, 1, 1, 1, "string", "1.0.0", "Returns the string value of a key.",
      cmd_read, NULL },
    { "getdel", 2, W | F, 1, 1, 1, "string", "6.2.0",
      "Returns the string value of a key after deleting the key.", cmd_write, NULL },
    { "getex", -2, W | F, 1, 1, 1, "string", "6.2.0",
      "Returns the string value of a key after setting its expiration time.", cmd_write, NULL },
    { "getrange", 4, R, 1, 1, 1, "string", "2.4.0",
      "Returns a substring of the string stored at a key.", cmd_read, NULL },
    { "getset", 3, W | F, 1, 1, 1, "string", "1.0.0",
      "Returns the previous string value of a key after setting it to a new value.",
      cmd_write, NULL },
    { "incr", 2, W | F, 1, 1, 1, "string", "1.0.0",
      "Increments the integer value of a key by one. Uses 0 as initial value if the key "
      "doesn't exist.", cmd_write, NULL },
    { "incrby", 3, W | F, 1, 1, 1, "string", "1.0.0",
      "Increments the integer value of a key by a number. Uses 0 as initial value if the "
      "key doesn't exist.", cmd_write, NULL },
    { "incrbyfloat", 3, W | F, 1, 1, 1, "string", "2.6.0",
      "Increment the floating point value of a key by a number. Uses 0 as initial value if "
      "the key doesn't exist.", cmd_write, NULL },
    { "keys", 2, R, 0, 0, 0, "generic", "1.0.0", "Returns all key names that match a pattern.",
      cmd_read, NULL },
    { "mget", -2, R | F, 1, -1, 1, "string", "1.0.0",
      "Atomically returns the string values of one or more keys.", cmd_read, NULL },
    { "mset", -3, W, 1, -1, 2, "string", "1.0.1",
      "Atomically creates or modifies the string values of one or more keys.",
      cmd_write_pairs, NULL },
    { "msetnx", -3, W, 1, -1, 2, "string", "1.0.1",
      "Atomically modifies the string values of one or more keys only when all keys don't "
      "exist.", cmd_write_pairs, NULL },
    { "persist", 2, W | F, 1, 1, 1, "generic", "2.2.0",
      "Removes the expiration time of a key.", cmd_write, NULL },
    { "pexpire", -3, W | F, 1, 1, 1, "generic", "2.6.0",
      "Sets the expiration time of a key in milliseconds.", cmd_write, NULL },
    { "pexpireat", -3, W | F, 1, 1, 1, "generic", "2.6.0",
      "Sets the expiration time of a key to a Unix milliseconds timestamp.", cmd_write, NULL },
    { "pexpiretime", 2, R | F, 1, 1, 1, "generic", "7.0.0",
      "Returns the expiration time of a key as a Unix milliseconds timestamp.", cmd_read,
      NULL },
    { "psetex", 4, W, 1, 1, 1, "string", "2.6.0",
      "Sets both string value and expiration time in milliseconds of a key. The key is "
      "created if it doesn't exist.", cmd_write, NULL },
    { "pttl", 2, R | F, 1, 1, 1, "generic", "2.6.0",
      "Returns the expiration time in milliseconds of a key.", cmd_read, NULL },
    { "randomkey", 1, R, 0, 0, 0, "generic", "1.0.0",
      "Returns a random key name from the database.", cmd_read, NULL },
    { "rename", 3, W, 1, 2, 1, "generic", "1.0.0",
      "Renames a key and overwrites the destination.", cmd_write, NULL },
    { "renamenx", 3, W | F, 1, 2, 1, "generic", "1.0.0",
      "Renames a key only when the target key name doesn't exist.", cmd_write, NULL },
    { "scan", -2, R, 0, 0, 0, "generic", "2.8.0",
      "Iterates over the key names in the database.", cmd_read, NULL },
    { "set", -3, W, 1, 1, 1, "string", "1.0.0",
      "Sets the string value of a key, ignoring its type. The key is created if it doesn't "
      "exist.", cmd_write, NULL },
    { "setex", 4, W, 1, 1, 1, "string", "2.0.0",
      "Sets the string value and expiration time of a key. Creates the key if it doesn't "
      "exist.", cmd_write, NULL },
    { "setnx", 3, W | F, 1, 1, 1, "string", "1.0.0",
      "Set the string value of a key only when the key doesn't exist.", cmd_write, NULL },
    { "setrange", 4, W, 1, 1, 1, "string", "2.2.0",
      "Overwrites a part of a string value with another by an offset. Creates the key if it "
      "doesn't exist.", cmd_write, NULL },
    { "strlen", 2, R | F, 1, 1, 1, "string", "2.2.0", "Returns the length of a string value.",
      cmd_read, NULL },
    { "substr", 4, R, 1, 1, 1, "string", "1.0.0",
      "Returns a substring from a string value.", cmd_read, NULL },
    { "touch", -2, R | F, 1, -1, 1, "generic", "3.2.1",
      "Returns the number of existing keys out of those specified after updating the time "
      "they were last accessed.", cmd_read, NULL },
    { "ttl", 2, R | F, 1, 1, 1, "generic", "1.0.0",
      "Returns the expiration time in seconds of a key.", cmd_read, NULL },
    { "type", 2, R | F, 1, 1, 1, "generic", "1.0.0",
      "Determines the type of value stored at a key.", cmd_read, NULL },
    { "unlink", -2, W | F, 1, -1, 1, "generic", "4.0.0",
      "Asynchronously deletes one or more keys.", cmd_write, NULL },
};
const size_t data_commands_count = sizeof data_commands / sizeof data_commands[0];

#undef W
#undef R
#undef F

void commands_init(struct coord *c)
{
    coord = c;
    expire_start(c); /* the background sweep of expired keys (expire.h) */
}

struct coord *commands_coord(void)
{
    return coord;
}

size_t commands_count(void)
{
    return data_commands_count + session_commands_count;
}

const struct command *commands_at(size_t i)
{
    return i < data_commands_count ? &data_commands[i]
                                   : &session_commands[i - data_commands_count];
}

const struct command *commands_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < commands_count(); i++) {
        const struct command *cmd = commands_at(i);
        if (strlen(cmd->name) == len && strncasecmp(cmd->name, name, len) == 0)
            return cmd;
    }
    return NULL;
}

void commands_unknown_subcommand(char *err, size_t n, const char *cmd, const char *sub)
{
    char upper[32];
    size_t i = 0;
    for (; cmd[i] && i < sizeof upper - 1; i++)
        upper[i] = (char)toupper((unsigned char)cmd[i]);
    upper[i] = 0;
    snprintf(err, n, "ERR unknown subcommand '%.128s'. Try %s HELP.", sub, upper);
}

static void unknown_command(char *err, size_t n, const struct resp_request *req)
{
    /* Redis 7: "unknown command '%.128s', with args beginning with: " then "'%.*s' " for
     * each argument while the list is under 128 bytes. */
    char args[512] = "";
    size_t len = 0;
    for (int i = 1; i < req->argc && len < 128; i++)
        len += (size_t)snprintf(args + len, sizeof args - len, "'%.*s' ",
                                (int)(128 - len < req->lens[i] ? 128 - len : req->lens[i]),
                                req->argv[i]);
    snprintf(err, n, "ERR unknown command '%.128s', with args beginning with: %s",
             req->argv[0], args);
}

static const struct subcommand *find_subcommand(const struct subcommand *subs,
                                                const char *name)
{
    for (; subs && subs->name; subs++)
        if (strcasecmp(subs->name, name) == 0)
            return subs;
    return NULL;
}

static int bad_arity(int arity, int argc)
{
    return (arity > 0 && argc != arity) || argc < -arity;
}

/* "ERR wrong number of arguments for '<name>' command", name being 'cmd' or 'cmd|sub'. */
static void arity_error(char *err, size_t n, const char *cmd, const char *sub)
{
    snprintf(err, n, "ERR wrong number of arguments for '%s%s%s' command", cmd,
             sub ? "|" : "", sub ? sub : "");
}

int commands_check(const struct command *cmd, const struct resp_request *req,
                   const struct subcommand **sub, char *err, size_t n)
{
    *sub = NULL;
    if (!cmd) {
        unknown_command(err, n, req);
        return -1;
    }
    if (!cmd->subs || req->argc < 2) {
        if (!bad_arity(cmd->arity, req->argc))
            return 0;
        arity_error(err, n, cmd->name, NULL);
        return -1;
    }
    if (!(*sub = find_subcommand(cmd->subs, req->argv[1]))) {
        commands_unknown_subcommand(err, n, cmd->name, req->argv[1]);
        return -1;
    }
    if (!bad_arity((*sub)->arity, req->argc))
        return 0;
    arity_error(err, n, cmd->name, (*sub)->name);
    return -1;
}

void commands_run_subcommand(struct client *cl, const struct resp_request *req,
                             const struct subcommand *subs)
{
    const struct subcommand *sub = req->argc >= 2 ? find_subcommand(subs, req->argv[1]) : NULL;
    assert(sub && !bad_arity(sub->arity, req->argc)); /* commands_check() accepted it */
    sub->fn(cl, req);
}

/* ---- reads: one replica answers ----
 *
 * Reads are batched: every read of one loop turn is queued on the link chosen for it, and
 * at the end of the turn (flush_reads) each link's queue leaves as one request,
 * TPC.MREAD <now_ms> <n> {<argc> <command...>}*n, answered with an array of n replies.
 * One request, one callback and one timer per batch instead of per read, and one SQLite
 * read transaction on the replica.
 *
 *     GET a  GET b  MGET c d     (one loop turn, any clients)
 *        └──────┴──────┴──▶ link 2: TPC.MREAD 1732... 3 2 GET a 2 GET b 3 MGET c d
 *                                 ◀── *3 $1 A $1 B *2 ...  ──▶ each reply into its slot
 *
 * If the batch's link drops, or gives no answer within the prepare timeout (a stopped
 * replica keeps its connection open), each read not yet answered is sent on its own
 * (TPC.READ) to another link, and the first answer wins. A read_call lives until it has
 * answered and every request it was part of has called back.
 */

struct read_call {
    struct slot *slot;
    struct op *op;       /* the client's command */
    struct event *timer; /* only for reads sent on their own (a retry) */
    int tries, outstanding, done;
};

struct read_batch {
    struct link *l;
    struct read_call **rc;
    size_t n, cap;
    struct event *timer; /* the prepare timeout: then each read also goes elsewhere */
};

#define READ_LINKS_MAX 64
static struct read_batch *queued[READ_LINKS_MAX]; /* per link index, this loop turn */
static struct event *flush_ev;

static int read_send(struct read_call *rc, const struct link *skip);

static void read_finish(struct read_call *rc, const struct link_reply *r)
{
    if (r)
        link_reply_write(r, slot_writer(rc->slot));
    else
        resp_write_error(slot_writer(rc->slot), "ERR no replica could serve the read");
    rc->done = 1;
    if (rc->timer)
        evtimer_del(rc->timer);
    slot_done(rc->slot);
}

static void read_maybe_free(struct read_call *rc)
{
    if (!rc->done || rc->outstanding > 0)
        return;
    if (rc->timer)
        event_free(rc->timer);
    op_free(rc->op);
    free(rc);
}

/* The link l failed rc (dropped, or could not take the request): try another one. */
static void read_retry(struct read_call *rc, const struct link *l)
{
    if (rc->done)
        return;
    if (++rc->tries >= txn_nlinks(coord->txn) || read_send(rc, l) < 0)
        if (rc->outstanding == 0)
            read_finish(rc, NULL); /* every replica dropped it */
}

static void read_done(struct link *l, const struct link_reply *r, void *arg)
{
    struct read_call *rc = arg;
    rc->outstanding--;
    if (!rc->done) {
        if (r)
            read_finish(rc, r);
        else
            read_retry(rc, l);
    }
    read_maybe_free(rc);
}

static void arm(struct event *timer)
{
    int ms = txn_prepare_timeout_ms(coord->txn);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(timer, &tv);
}

static void read_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct read_call *rc = arg;
    /* No answer yet: ask another replica too (a stalled link is skipped by the choice). */
    if (read_send(rc, NULL) < 0)
        arm(rc->timer);
}

/* Sends rc on its own: TPC.READ <now_ms> <command...> on a link other than skip. */
static int read_send(struct read_call *rc, const struct link *skip)
{
    struct link *l = txn_read_link(coord->txn, skip);
    if (!l)
        return -1;
    if (!rc->timer && !(rc->timer = evtimer_new(coord->base, read_timeout, rc)))
        return -1;
    char now[24], *small_argv[16];
    size_t n = (size_t)rc->op->argc + 2, small_lens[16];
    int small = n <= 16;
    const char **argv = small ? (const char **)small_argv : malloc(n * sizeof *argv);
    size_t *lens = small ? small_lens : malloc(n * sizeof *lens);
    int rc_send = -1;
    if (argv && lens) {
        argv[0] = "TPC.READ", lens[0] = 8;
        argv[1] = now, lens[1] = util_u64_to_str(txn_now_ms(coord->txn), now);
        memcpy(argv + 2, rc->op->argv, (size_t)rc->op->argc * sizeof *argv);
        memcpy(lens + 2, rc->op->lens, (size_t)rc->op->argc * sizeof *lens);
        rc_send = link_send(l, (int)n, argv, lens, read_done, rc);
    }
    if (!small) {
        free(argv);
        free(lens);
    }
    if (rc_send < 0)
        return -1;
    rc->outstanding++;
    arm(rc->timer);
    return 0;
}

/* Frees b once every read in it has dropped its reference to b. */
static void batch_release(struct read_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        read_maybe_free(b->rc[i]);
    if (b->timer)
        event_free(b->timer);
    free(b->rc);
    free(b);
}

static void batch_done(struct link *l, const struct link_reply *r, void *arg)
{
    struct read_batch *b = arg;
    int whole = r && !link_reply_is_error(r) && link_reply_len(r) == b->n;
    for (size_t i = 0; i < b->n; i++) {
        struct read_call *rc = b->rc[i];
        rc->outstanding--;
        if (rc->done)
            continue;
        if (whole)
            read_finish(rc, link_reply_elem(r, i));
        else if (r)
            read_finish(rc, r); /* the replica refused the batch: its error for each */
        else
            read_retry(rc, l);
    }
    batch_release(b);
}

static void batch_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct read_batch *b = arg;
    /* No answer yet: each read still waiting asks another replica too (if there is none,
     * the batch's answer, or its link's drop, still comes). */
    for (size_t i = 0; i < b->n; i++)
        if (!b->rc[i]->done)
            read_send(b->rc[i], b->l);
}

/* The argument vector of a TPC.MREAD, kept between batches: a big batch's arrays would
 * otherwise be allocated and freed every loop turn. */
static const char **mr_argv;
static size_t *mr_lens, mr_cap;
static char *mr_nums;

static int mr_reserve(size_t argc, size_t nums)
{
    if (argc <= mr_cap && nums <= mr_cap)
        return 0;
    size_t cap = mr_cap ? mr_cap : 256;
    while (cap < argc || cap < nums)
        cap *= 2;
    const char **argv = realloc(mr_argv, cap * sizeof *argv);
    if (argv)
        mr_argv = argv;
    size_t *lens = realloc(mr_lens, cap * sizeof *lens);
    if (lens)
        mr_lens = lens;
    char *n = realloc(mr_nums, cap * 24);
    if (n)
        mr_nums = n;
    if (!argv || !lens || !n)
        return -1;
    mr_cap = cap;
    return 0;
}

static void batch_send(struct read_batch *b)
{
    size_t argc = 3;
    for (size_t i = 0; i < b->n; i++)
        argc += 1 + (size_t)b->rc[i]->op->argc;
    int sent = -1;
    if (mr_reserve(argc, b->n + 2) == 0 &&
        (b->timer = evtimer_new(coord->base, batch_timeout, b))) {
        const char **argv = mr_argv;
        size_t *lens = mr_lens, a = 0;
        char *nums = mr_nums;
        argv[a] = "TPC.MREAD", lens[a++] = 9;
        argv[a] = nums, lens[a++] = util_u64_to_str(txn_now_ms(coord->txn), nums);
        argv[a] = nums + 24, lens[a++] = util_u64_to_str(b->n, nums + 24);
        for (size_t i = 0; i < b->n; i++) {
            const struct op *op = b->rc[i]->op;
            char *num = nums + 24 * (i + 2);
            argv[a] = num, lens[a++] = util_u64_to_str((uint64_t)op->argc, num);
            memcpy(argv + a, op->argv, (size_t)op->argc * sizeof *argv);
            memcpy(lens + a, op->lens, (size_t)op->argc * sizeof *lens);
            a += (size_t)op->argc;
        }
        size_t len = 0;
        char *cmd = link_format((int)argc, argv, lens, &len);
        if (cmd)
            sent = link_send_formatted(b->l, cmd, len, batch_done, b);
        link_format_free(cmd);
    }
    if (sent == 0) {
        arm(b->timer);
        return;
    }
    /* The link went away (or no memory): each read on its own, elsewhere. */
    for (size_t i = 0; i < b->n; i++) {
        struct read_call *rc = b->rc[i];
        rc->outstanding--;
        if (read_send(rc, b->l) < 0 && rc->outstanding == 0) {
            resp_write_error(slot_writer(rc->slot), "ERR no replica is available to serve reads");
            rc->done = 1;
            slot_done(rc->slot);
        }
    }
    batch_release(b);
}

static struct link *turn_link;

static void flush_reads(evutil_socket_t fd, short what, void *arg)
{
    turn_link = NULL;
    for (size_t i = 0; i < READ_LINKS_MAX; i++) {
        struct read_batch *b = queued[i];
        if (!b)
            continue;
        queued[i] = NULL;
        batch_send(b);
    }
}

/* Queues rc on a READY link's batch for this loop turn. Returns 0, or -1 (no link). */
static int read_queue(struct read_call *rc)
{
    struct link *l = turn_link && link_state(turn_link) == LINK_READY ? turn_link
                                                                     : txn_read_link(coord->txn, NULL);
    turn_link = l;
    int idx = l ? link_index(l) : -1;
    if (idx < 0 || idx >= READ_LINKS_MAX)
        return read_send(rc, NULL);
    struct read_batch *b = queued[idx];
    if (!b) {
        if (!(b = calloc(1, sizeof *b)))
            return -1;
        queued[idx] = b;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct read_call **v = realloc(b->rc, cap * sizeof *v);
        if (!v)
            return -1;
        b->rc = v;
        b->cap = cap;
    }
    b->l = l;
    b->rc[b->n++] = rc;
    rc->outstanding++;
    if (!flush_ev)
        flush_ev = event_new(coord->base, -1, 0, flush_reads, NULL);
    if (flush_ev)
        event_active(flush_ev, 0, 0);
    return flush_ev ? 0 : -1;
}

static void cmd_read(struct client *cl, const struct resp_request *req)
{
    if (client_has_writes(cl)) {
        client_park(cl, req); /* read-your-writes: runs again once the writes are done */
        return;
    }
    struct read_call *rc = calloc(1, sizeof *rc);
    if (!rc || !(rc->op = op_new(req->argc, req->argv, req->lens)) ||
        !(rc->slot = client_slot_new(cl, 0))) {
        if (rc)
            op_free(rc->op);
        free(rc);
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    if (read_queue(rc) < 0) {
        resp_write_error(slot_writer(rc->slot), "ERR no replica is available to serve reads");
        rc->done = 1;
        slot_done(rc->slot);
        read_maybe_free(rc);
    }
}

/* ---- writes: a 2PC round ---- */

static void cmd_write(struct client *cl, const struct resp_request *req)
{
    struct op *op = op_new(req->argc, req->argv, req->lens);
    struct slot *slot = op ? client_slot_new(cl, 1) : NULL;
    if (!slot) {
        op_free(op);
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    txn_submit_slot(coord->txn, op, slot);
}

/* MSET and MSETNX: keys and values come in pairs (Redis checks it after the arity). */
static void cmd_write_pairs(struct client *cl, const struct resp_request *req)
{
    if (req->argc % 2 == 0) {
        char msg[160];
        arity_error(msg, sizeof msg, commands_lookup(req->argv[0], req->lens[0])->name, NULL);
        resp_write_error(client_reply_writer(cl), msg);
        return;
    }
    cmd_write(cl, req);
}

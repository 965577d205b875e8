/* test_watch.c -- unit tests of server/watch.c: watched keys, what dirties them, and the
 * writes in flight that make an EXEC wait.
 *
 * The round engine's side is played by calling the commit hook (watch_on_commit) the way
 * txn.c does, with the replicas' "touched" answers in txn.h's format: one '0'/'1' per
 * argument, or "F<bits>|<per argument>" for an op that flushed. The command table watch.c
 * consults for its conservative path is the registry's; the rows registered here are test
 * input with the real commands' key positions (data_cmd.c).
 *
 * Run: test_watch [case]   (no argument: every case)
 */
#include "check_common.h"
#include "op.h"
#include "registry.h"
#include "txn.h"
#include "watch.h"

#include <stdlib.h>
#include <string.h>

static void fn_nop(struct client *cl, const struct resp_request *req) {}

static const struct command cmds[] = {
    { "set", -3, CMD_WRITE, 1, 1, 1, "string", "1.0.0", "", fn_nop, NULL },
    { "setnx", 3, CMD_WRITE, 1, 1, 1, "string", "1.0.0", "", fn_nop, NULL },
    { "mset", -3, CMD_WRITE, 1, -1, 2, "string", "1.0.1", "", fn_nop, NULL },
    { "get", 2, CMD_READ, 1, 1, 1, "string", "1.0.0", "", fn_nop, NULL },
    { "flushdb", -1, CMD_WRITE, 0, 0, 0, "server", "1.0.0", "", fn_nop, NULL },
};

static int notified;
static void on_notify(void) { notified++; }

static void setup(void)
{
    static int done;
    if (!done++)
        CHECK_INT_EQ(registry_add(cmds, sizeof cmds / sizeof cmds[0]), 0);
    watch_set_notify(on_notify);
    notified = 0;
}

/* An op from the words of line. */
static struct op *op_of(const char *line)
{
    char copy[512], *argv[32];
    size_t lens[32];
    int argc = 0;
    snprintf(copy, sizeof copy, "%s", line);
    for (char *t = strtok(copy, " "); t && argc < 32; t = strtok(NULL, " ")) {
        argv[argc] = t;
        lens[argc++] = strlen(t);
    }
    struct op *op = op_new(argc, argv, lens);
    CHECK(op != NULL);
    return op;
}

/* Commits line as the hook sees it: touched NULL means the replicas were not asked. */
static void commit(const char *line, const char *touched, const struct txn_keys *keys)
{
    struct op *op = op_of(line);
    watch_on_commit(NULL, op, touched, touched ? strlen(touched) : 0, keys);
    op_free(op);
}

static struct watcher *watcher_of(const char *key)
{
    struct watcher *w = watch_new();
    CHECK(w != NULL);
    CHECK_INT_EQ(watch_key(w, key, strlen(key)), 0);
    return w;
}

/* The replicas said which arguments name a key the op changed: only those count. */
static void test_exact_touched(void)
{
    setup();
    struct watcher *a = watcher_of("k"), *b = watcher_of("other");
    CHECK(watch_wanted(NULL));
    commit("SET k v", "010", NULL);
    CHECK(watch_dirty(a));
    CHECK(!watch_dirty(b));
    watch_free(a);
    watch_free(b);
    CHECK(!watch_wanted(NULL));
}

/* A write that changed nothing (SETNX on an existing key) leaves the WATCH alone. */
static void test_unchanged_key(void)
{
    setup();
    struct watcher *a = watcher_of("k");
    commit("SETNX k v", "000", NULL);
    commit("MSET x 1 k 2", "01000", NULL); /* changed x, not k */
    CHECK(!watch_dirty(a));
    commit("MSET x 1 k 2", "00010", NULL);
    CHECK(watch_dirty(a));
    watch_free(a);
}

/* Without the replicas' answer: every key the command may write, from the table. */
static void test_conservative(void)
{
    setup();
    struct watcher *a = watcher_of("k"), *b = watcher_of("z");
    commit("GET k", NULL, NULL); /* a read never dirties */
    CHECK(!watch_dirty(a));
    commit("MSET a 1 k 2", NULL, NULL);
    CHECK(watch_dirty(a));
    CHECK(!watch_dirty(b));
    commit("TPC.EXPIREDEL q z", NULL, NULL); /* the expiry sweep's deletes */
    CHECK(watch_dirty(b));
    watch_free(a);
    watch_free(b);

    a = watcher_of("k");
    commit("NOSUCHWRITE x", NULL, NULL); /* unknown to the table: every watcher */
    CHECK(watch_dirty(a));
    watch_free(a);
}

/* A TX op is taken sub-command by sub-command. */
static void test_tx_op(void)
{
    setup();
    struct watcher *a = watcher_of("a"), *k = watcher_of("k");
    commit("TX 2 3 SET a 1 2 GET k", NULL, NULL);
    CHECK(watch_dirty(a));
    CHECK(!watch_dirty(k));
    watch_free(a);
    watch_free(k);
}

/* FLUSHDB: the round sends the watched keys; only those alive before the flush, and
 * those watched after the list was taken, are dirtied. */
static void test_flush(void)
{
    setup();
    struct watcher *alive = watcher_of("alive"), *gone = watcher_of("gone");
    struct op *flush = op_of("FLUSHDB"), *set = op_of("SET alive 1");
    struct txn_keys keys;
    CHECK_INT_EQ(watch_keys(NULL, set, &keys), 0); /* not a flush: no list */
    CHECK_INT_EQ(watch_keys(NULL, flush, &keys), 1);
    CHECK_INT_EQ(keys.n, 2);
    char touched[16] = "F00|0";
    for (size_t i = 0; i < keys.n; i++)
        if (keys.off[i + 1] - keys.off[i] == 5 && memcmp(keys.p + keys.off[i], "alive", 5) == 0)
            touched[1 + i] = '1';
    struct watcher *late = watcher_of("late"); /* born after the list was taken */
    watch_on_commit(NULL, flush, touched, strlen(touched), &keys);
    CHECK(watch_dirty(alive));
    CHECK(!watch_dirty(gone));
    CHECK(watch_dirty(late));
    free(keys.p);
    free(keys.off);
    watch_free(alive), watch_free(gone), watch_free(late);

    /* A flush of a database holding keys, without the list: every watcher. */
    struct watcher *w = watcher_of("k");
    watch_on_commit(NULL, flush, "F", 1, NULL);
    CHECK(watch_dirty(w));
    watch_free(w);
    /* A flush of an empty database answers per argument only: nothing dirtied. */
    w = watcher_of("k");
    watch_on_commit(NULL, flush, "0", 1, NULL);
    CHECK(!watch_dirty(w));
    watch_free(w);
    op_free(flush);
    op_free(set);
}

/* A tracked write on a watched key keeps EXEC waiting until it is decided, and its end
 * wakes a waiting watcher. */
static void test_busy_tracking(void)
{
    setup();
    struct watcher *a = watcher_of("k"), *b = watcher_of("unrelated-key");
    char *argv[3] = { "set", "k", "v" };
    size_t lens[3] = { 3, 1, 1 };
    struct watch_track *t = watch_track_new(registry_lookup("set", 3), 3, argv, lens);
    CHECK(t != NULL);
    CHECK(watch_busy(a));
    CHECK(!watch_busy(b));
    char *rargv[2] = { "get", "k" };
    CHECK(watch_track_new(registry_lookup("get", 3), 2, rargv, lens) == NULL); /* a read */
    watch_set_waiting(a, 1);
    watch_track_free(t);
    CHECK(!watch_busy(a));
    CHECK(notified > 0);
    watch_set_waiting(a, 0);
    /* A keyless write (FLUSHDB) makes every watcher wait. */
    char *fargv[1] = { "flushdb" };
    t = watch_track_new(registry_lookup("flushdb", 7), 1, fargv, lens);
    CHECK(watch_busy(a) && watch_busy(b));
    watch_track_free(t);
    CHECK(!watch_busy(b));
    watch_free(a);
    watch_free(b);
}

/* Dirtying a waiting watcher notifies; keys are shared between watchers and freed with
 * the last one. */
static void test_notify_and_sharing(void)
{
    setup();
    struct watcher *a = watcher_of("k"), *b = watcher_of("k");
    CHECK_INT_EQ(watch_key(a, "k", 1), 0); /* once only */
    CHECK_INT_EQ(watch_count(a), 1);
    watch_set_waiting(a, 1);
    commit("SET k 1", "010", NULL);
    CHECK(watch_dirty(a) && watch_dirty(b));
    CHECK(notified > 0);
    watch_free(a);
    CHECK(watch_wanted(NULL)); /* b still watches k */
    watch_free(b);
    CHECK(!watch_wanted(NULL));
    watch_free(NULL);
}

static const struct check_case cases[] = {
    {"exact_touched", test_exact_touched},
    {"unchanged_key", test_unchanged_key},
    {"conservative", test_conservative},
    {"tx_op", test_tx_op},
    {"flush", test_flush},
    {"busy_tracking", test_busy_tracking},
    {"notify_and_sharing", test_notify_and_sharing},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}

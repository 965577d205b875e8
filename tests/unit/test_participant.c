/* test_participant.c -- unit tests of the replica's participant (replica/participant.c) and
 * its request dispatch (replica/peer.c), driven the way the simulator drives them: one
 * thread, an in-memory store (store_open_memory) and an in-memory log behind struct wal.
 *
 * The log is the simulator's file in memory (tests/sim/sim_log.h): it keeps its bytes
 * across a simulated crash and knows how many were made durable; crash() drops the rest
 * (or keeps half of them, tearing a record), and store_power_loss() does the same to
 * SQLite. Every request goes through
 * peer_dispatch() with a resp_writer over a memory buffer, and every reply is compared
 * byte for byte. participant.c checks its invariants (P1-P7) after every request, so any
 * sequence here also exercises participant_assert_state().
 *
 * The helpers (open_fresh, expect, crash...) are peer_harness.h's; the replica's identity
 * (TPC.IDENTIFY, and what TPC.RESTORE does to it) is test_identity.c's.
 *
 * Cases: the vote's bytes; a pipelined round evaluated on the undecided one ahead; an abort
 * dooming the rounds evaluated after it; decisions out of order; stale and malformed
 * PREPAREs; TPC.HELLO putting rounds in doubt; restart replay after a process crash; a
 * power cut (unsynced log bytes and SQLite since its last checkpoint lost); a torn tail; the
 * rest of the peer commands.
 *
 * Run: test_participant [case]   (no argument: every case)
 */
#include "check_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "participant.h"
#include "peer.h"
#include "peer_harness.h"
#include "record.h"
#include "resp_writer.h"
#include "sim_log.h"
#include "store.h"
#include "wal.h"

#define YES_OK "*3\r\n+YES\r\n:0\r\n$5\r\n+OK\r\n\r\n"
/* The end of a TPC.HELLO answer from a replica without an identity (cluster 0, replica 0). */
#define NO_ID ":0\r\n:0\r\n"

/* ---- cases ---- */

static void test_vote_bytes(void)
{
    struct participant *p = open_fresh();
    expect(p, "TPC.PREPARE 1 1700000000000 2 3 SET k 5 2 GET k",
           R("*3\r\n+YES\r\n:0\r\n$12\r\n+OK\r\n$1\r\n5\r\n\r\n"));
    /* TOUCHED: per op, which arguments name a key it changed. */
    expect(p, "TPC.PREPARE TOUCHED 2 1700000000000 2 3 SET j 1 3 DEL j zz",
           R("*4\r\n+YES\r\n:0\r\n$9\r\n+OK\r\n:1\r\n\r\n*2\r\n$3\r\n010\r\n$3\r\n010\r\n"));
    CHECK(participant_submit(p, 0) > 0); /* votes wait for the log */
    CHECK_UINT_EQ(participant_in_doubt(p), 2);
    participant_close(p);
}

static void test_pipelined_under(void)
{
    struct participant *p = open_fresh();
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5", R(YES_OK));
    expect(p, "TPC.PREPARE 2 1700000000000 1 2 INCR k",
           R("*3\r\n+YES\r\n:0\r\n$4\r\n:6\r\n\r\n"));
    expect(p, "TPC.PREPARE 3 1700000000000 2 2 INCR k 2 GET k",
           R("*3\r\n+YES\r\n:0\r\n$11\r\n:7\r\n$1\r\n7\r\n\r\n"));
    /* Nothing is committed yet: reads see the store alone. */
    expect(p, "TPC.READ 1700000000000 GET k", R("$-1\r\n"));
    expect(p, "TPC.COMMIT 1", R(":0\r\n"));
    expect(p, "TPC.READ 1700000000000 GET k", R("$1\r\n5\r\n"));
    expect(p, "TPC.COMMIT 2", R(":0\r\n"));
    expect(p, "TPC.COMMIT 3", R(":0\r\n"));
    expect(p, "TPC.READ 1700000000000 GET k", R("$1\r\n7\r\n"));
    sync_log(p);
    expect(p, "TPC.DURABLE", R(":3\r\n"));
    participant_close(p);
}

static void test_abort_dooms(void)
{
    struct participant *p = open_fresh();
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5", R(YES_OK));
    expect(p, "TPC.PREPARE 2 1700000000000 1 2 INCR k",
           R("*3\r\n+YES\r\n:0\r\n$4\r\n:6\r\n\r\n"));
    expect(p, "TPC.PREPARE 3 1700000000000 1 2 INCR k",
           R("*3\r\n+YES\r\n:0\r\n$4\r\n:7\r\n\r\n"));
    expect(p, "TPC.ABORT 1", R("+OK\r\n"));
    expect(p, "TPC.COMMIT 2",
           R("-ERR round 2 can't commit here: evaluated on an aborted round\r\n"));
    expect(p, "TPC.PREPARE 4 1700000000000 1 2 INCR k",
           R("-NO round 3 is still doomed by an abort\r\n"));
    expect(p, "TPC.ABORT 3", R("+OK\r\n"));
    expect(p, "TPC.PREPARE 4 1700000000000 1 2 INCR k",
           R("-NO round 2 is still doomed by an abort\r\n"));
    expect(p, "TPC.ABORT 2", R("+OK\r\n"));
    expect(p, "TPC.ABORT 2", R("+OK\r\n")); /* unknown by now: still +OK */
    /* Evaluated on the store alone now: k does not exist. */
    expect(p, "TPC.PREPARE 4 1700000000000 1 2 INCR k",
           R("*3\r\n+YES\r\n:0\r\n$4\r\n:1\r\n\r\n"));
    expect(p, "TPC.COMMIT 4", R(":0\r\n"));
    expect(p, "TPC.READ 1700000000000 GET k", R("$1\r\n1\r\n"));
    participant_close(p);
}

static void test_commit_out_of_order(void)
{
    struct participant *p = open_fresh();
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5", R(YES_OK));
    expect(p, "TPC.PREPARE 2 1700000000000 1 3 SET j 5", R(YES_OK));
    expect(p, "TPC.COMMIT 2",
           R("-ERR round 2 can't commit here: an earlier round is undecided\r\n"));
    expect(p, "TPC.COMMIT 1", R(":0\r\n"));
    expect(p, "TPC.COMMIT 2", R(":0\r\n"));
    expect(p, "TPC.COMMIT 2", R(":0\r\n")); /* re-sent: already applied */
    expect(p, "TPC.COMMIT 9", R("-ERR round 9 is unknown here\r\n"));
    expect(p, "TPC.COMMIT x", R("-ERR bad round id\r\n"));
    participant_close(p);
}

static void test_stale_rid(void)
{
    struct participant *p = open_fresh();
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5", R(YES_OK));
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 6",
           R("-NO round 1 is stale (id already used)\r\n"));
    expect(p, "TPC.PREPARE 0 1700000000000 1 3 SET k 6",
           R("-NO bad PREPARE (0): bad round header\r\n"));
    expect(p, "TPC.PREPARE 5 1700000000000 1 2 FOO k",
           R("-NO bad PREPARE (0): unknown op 'FOO'\r\n"));
    expect(p, "TPC.PREPARE 5 1700000000000 2 3 SET k 6",
           R("-NO bad PREPARE (0): bad op 1\r\n"));
    expect(p, "TPC.PREPARE TOUCHED WATCHED 9 k 5 1700000000000 1 3 SET k 6",
           R("-NO bad PREPARE (0): bad WATCHED list\r\n"));
    CHECK_UINT_EQ(participant_in_doubt(p), 1);
    participant_close(p);
}

static void test_hello_in_doubt(void)
{
    struct participant *p = open_fresh();
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5", R(YES_OK));
    expect(p, "TPC.PREPARE 2 1700000000000 1 2 INCR k",
           R("*3\r\n+YES\r\n:0\r\n$4\r\n:6\r\n\r\n"));
    expect(p, HELLO, R("*10\r\n:0\r\n:2\r\n*2\r\n:1\r\n:2\r\n:0\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.PREPARE 3 1700000000000 1 2 INCR k", R("-NO round 2 is still in doubt\r\n"));
    expect(p, "TPC.ABORT 1", R("+OK\r\n")); /* dooms round 2, still in doubt */
    expect(p, "TPC.COMMIT 2",
           R("-ERR round 2 can't commit here: evaluated on an aborted round\r\n"));
    expect(p, "TPC.PREPARE 3 1700000000000 1 2 INCR k", R("-NO round 2 is still in doubt\r\n"));
    expect(p, HELLO, R("*10\r\n:0\r\n:2\r\n*1\r\n:2\r\n:0\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.ABORT 2", R("+OK\r\n"));
    expect(p, "TPC.PREPARE 3 1700000000000 1 2 INCR k",
           R("*3\r\n+YES\r\n:0\r\n$4\r\n:1\r\n\r\n"));
    expect(p, HELLO, R("*10\r\n:0\r\n:3\r\n*1\r\n:3\r\n:0\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.COMMIT 3", R(":0\r\n")); /* an in-doubt round evaluated live commits */
    expect(p, "TPC.READ 1700000000000 GET k", R("$1\r\n1\r\n"));
    participant_close(p);
}

static void test_restart_replays(void)
{
    struct participant *p = open_fresh();
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5", R(YES_OK));
    expect(p, "TPC.COMMIT 1", R(":0\r\n"));
    /* A vote carries committed: it leaves only after the sync that makes it true. */
    expect(p, "TPC.PREPARE 2 1700000000000 1 2 INCR k",
           R("*3\r\n+YES\r\n:1\r\n$4\r\n:6\r\n\r\n"));
    expect(p, "TPC.PREPARE 3 1700000000000 1 2 INCR k",
           R("*3\r\n+YES\r\n:1\r\n$4\r\n:7\r\n\r\n"));
    sync_log(p);
    /* A process crash: SQLite keeps round 1, the log keeps everything synced. */
    struct store *st = crash(p, 0);
    p = open_on(st);
    expect(p, HELLO, R("*10\r\n:1\r\n:3\r\n*2\r\n:2\r\n:3\r\n:1\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.PREPARE 4 1700000000000 1 2 INCR k", R("-NO round 3 is still in doubt\r\n"));
    expect(p, "TPC.COMMIT 3",
           R("-ERR round 3 can't commit here: an earlier round is undecided\r\n"));
    /* Replayed rounds are evaluated when they commit, on the committed data. */
    expect(p, "TPC.COMMIT 2", R(":1\r\n"));
    expect(p, "TPC.COMMIT 3", R(":1\r\n"));
    expect(p, "TPC.READ 1700000000000 GET k", R("$1\r\n7\r\n"));
    participant_close(p);
}

static void test_power_loss(void)
{
    char err[256];
    struct participant *p = open_fresh();
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5", R(YES_OK));
    expect(p, "TPC.COMMIT 1", R(":0\r\n"));
    sync_log(p);
    expect(p, "TPC.PREPARE 2 1700000000000 1 3 SET j 1",
           R("*3\r\n+YES\r\n:1\r\n$5\r\n+OK\r\n\r\n"));
    expect(p, "TPC.COMMIT 2", R(":1\r\n"));
    /* Power cut: SQLite is back to its last checkpoint (the empty store at open), the log
     * to its synced bytes (round 2 never reached the disk). */
    struct store *st = store_power_loss(crash(p, 0), err, sizeof err);
    CHECK(st != NULL);
    CHECK_INT_EQ(store_count(st), 0);
    CHECK_UINT_EQ(store_applied(st), 0);
    p = open_on(st);
    expect(p, HELLO, R("*10\r\n:1\r\n:1\r\n*0\r\n:1\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.READ 1700000000000 MGET k j", R("*2\r\n$1\r\n5\r\n$-1\r\n"));
    /* Start-up checkpointed what replay applied: a second cut keeps it. */
    st = store_power_loss(crash(p, 0), err, sizeof err);
    CHECK_UINT_EQ(store_applied(st), 1);
    p = open_on(st);
    expect(p, "TPC.PREPARE 2 1700000000000 1 3 SET j 2", R("*3\r\n+YES\r\n:1\r\n$5\r\n+OK\r\n\r\n"));
    participant_close(p);
}

static void test_torn_unsynced_tail(void)
{
    struct participant *p = open_fresh();
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5", R(YES_OK));
    sync_log(p);
    expect(p, "TPC.PREPARE 2 1700000000000 1 3 SET j 5", R(YES_OK));
    expect(p, "TPC.PREPARE 3 1700000000000 1 3 SET i 5", R(YES_OK));
    participant_submit(p, 0); /* handed to the log thread, not yet synced */
    size_t synced = sim_file_durable(disk);
    struct store *st = crash(p, 1); /* PREPARE 2 complete or torn, PREPARE 3 gone or torn */
    p = open_on(st);
    CHECK(sim_file_len(disk) >= synced);
    CHECK_UINT_EQ(participant_in_doubt(p), sim_file_len(disk) > synced ? 2 : 1);
    expect(p, "TPC.COMMIT 1", R(":0\r\n"));
    expect(p, "TPC.READ 1700000000000 GET k", R("$1\r\n5\r\n"));
    participant_close(p);
}

static void test_peer_dispatch(void)
{
    struct participant *p = open_fresh();
    expect(p, "PING", R("+PONG\r\n"));
    expect(p, "ping hi", R("$2\r\nhi\r\n"));
    expect(p, "DIGEST", R("+0000000000000000\r\n"));
    expect(p, "TPC.COMMIT", R("-ERR wrong number of arguments for 'tpc.commit' command\r\n"));
    expect(p, "TPC.PREPARE 1 2", R("-ERR wrong number of arguments for 'tpc.prepare' command\r\n"));
    expect(p, "TPC.DURABLE", R(":0\r\n"));
    expect(p, "TPC.EXPIRED 1700000000000 10", R("*0\r\n"));
    expect(p, "TPC.READ 1700000000000 SET k v",
           R("-ERR TPC.READ of a command that is not a read\r\n"));
    expect(p, "TPC.READ -1 GET k", R("-ERR bad clock in TPC.READ\r\n"));
    expect(p, "TPC.MREAD 1700000000000 2 2 GET k 3 EXISTS k j",
           R("*2\r\n$-1\r\n:0\r\n"));
    expect(p, "TPC.MREAD 1700000000000 2 2 GET k", R("-ERR malformed TPC.MREAD\r\n"));
    expect(p, "TPC.PREPARE 1 1700000000000 1 5 SET k v PX 1000", R(YES_OK));
    expect(p, "TPC.COMMIT 1", R(":0\r\n"));
    expect(p, "TPC.EXPIRED 1700000002000 10", R("*1\r\n$1\r\nk\r\n"));
    expect(p, "GET k", R("$-1\r\n")); /* at the wall clock: long expired */

    /* Not peer commands: the caller answers them. */
    const char *others[] = { "INFO", "SET k v", "QUIT", "COMMAND" };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        char buf[64], *argv[8];
        size_t lens[8];
        struct resp_request req = { split(others[i], buf, argv, lens), argv, lens };
        struct record_buf out = { 0 };
        struct resp_writer w = { record_buf_sink, &out, 2 };
        CHECK_INT_EQ(peer_dispatch(p, &req, &w, &rng, 0), -1);
        CHECK_UINT_EQ(out.len, 0);
    }
    participant_close(p);
}

/* Only the coordinator's connection may prepare and decide rounds: a command from another
 * one (late from a replaced connection, or a stray) changes nothing. A TPC.HELLO does not
 * move the session: that connection takes it at its first command, if nothing changed
 * since its answer (#16: a stranger's TPC.HELLO never disturbs rounds in flight). */
#define NOT_COORD " refused: this connection is not the coordinator's (another one is, or " \
                  "it never said TPC.HELLO)\r\n"
#define STALE " refused: the rounds changed since this connection's TPC.HELLO (another " \
              "connection decided some); not the coordinator's until it says TPC.HELLO " \
              "again\r\n"
static void test_session_fence(void)
{
    struct participant *p = open_fresh();
    request_conn = 1; /* a connection before any HELLO: nobody's */
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5", R("-NO TPC.PREPARE" NOT_COORD));
    expect(p, HELLO, R("*10\r\n:0\r\n:0\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5", R("*3\r\n+YES\r\n:0\r\n$5\r\n+OK\r\n\r\n"));
    request_conn = 2; /* another connection: refused, the round stays prepared */
    expect(p, "TPC.COMMIT 1", R("-ERR TPC.COMMIT" NOT_COORD));
    expect(p, "TPC.ABORT 1", R("-ERR TPC.ABORT" NOT_COORD));
    CHECK_UINT_EQ(participant_in_doubt(p), 1);
    /* A stranger's TPC.HELLO: answered, and the coordinator's connection goes on. */
    request_conn = 3;
    expect(p, HELLO, R("*10\r\n:0\r\n:1\r\n*1\r\n:1\r\n:0\r\n" NO_ID HELLO_TAIL));
    request_conn = 1;
    expect(p, "TPC.PREPARE 2 1700000000000 1 3 SET k 6", R("*3\r\n+YES\r\n:0\r\n$5\r\n+OK\r\n\r\n"));
    expect(p, "TPC.COMMIT 1", R(":0\r\n"));
    /* Its answer is stale now (rounds 1 and 2 moved on): refused, then refused as nobody's
     * (an answer serves one takeover). */
    request_conn = 3;
    expect(p, "TPC.ABORT 2", R("-ERR TPC.ABORT" STALE));
    expect(p, "TPC.ABORT 2", R("-ERR TPC.ABORT" NOT_COORD));
    CHECK_UINT_EQ(participant_in_doubt(p), 1);
    /* A new coordinator connection with nothing changed since its answer: its first command
     * takes the session (round 2 is in doubt, for it to decide) and the old one is refused
     * from then on. */
    request_conn = 2;
    expect(p, HELLO, R("*10\r\n:1\r\n:2\r\n*1\r\n:2\r\n:0\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.COMMIT 2", R(":0\r\n"));
    request_conn = 1;
    expect(p, "TPC.PREPARE 3 1700000000000 1 3 SET k 7", R("-NO TPC.PREPARE" NOT_COORD));
    CHECK_UINT_EQ(participant_in_doubt(p), 0);
    request_conn = 0;
    participant_close(p);
}

/* ---- the full resync (restore.c): TPC.DUMP on a source, TPC.RESTORE on a target ---- */

/* Sends one request of argc arguments through peer_dispatch; the reply goes into out. */
static void dispatch(struct participant *p, int argc, char **argv, size_t *lens,
                     struct record_buf *out)
{
    struct resp_request req = { argc, argv, lens };
    struct resp_writer w = { record_buf_sink, out, 2 };
    CHECK_INT_EQ(peer_dispatch(p, &req, &w, &rng, request_conn), 0);
    participant_assert_state(p);
}

/* A reader over one reply's bytes (the shapes TPC.DUMP answers with). */
struct reply_reader {
    char *p, *end;
};

/* Reads "<type><digits>\r\n"; the digits are left in *s, *len (for a ROWS argument). */
static int64_t read_num(struct reply_reader *r, char type, char **s, size_t *len)
{
    CHECK(r->p < r->end && *r->p == type);
    char *start = ++r->p;
    while (r->p < r->end && *r->p != '\r')
        r->p++;
    CHECK(r->end - r->p >= 2 && r->p[1] == '\n');
    if (s)
        *s = start, *len = (size_t)(r->p - start);
    r->p += 2;
    return strtoll(start, NULL, 10);
}

static void read_bulk(struct reply_reader *r, char **s, size_t *len)
{
    int64_t n = read_num(r, '$', NULL, NULL);
    CHECK(n >= 0 && r->end - r->p >= n + 2);
    *s = r->p;
    *len = (size_t)n;
    r->p += n + 2;
}

/* Copies src into dst by TPC.DUMP chunks of count rows and TPC.RESTORE BEGIN/ROWS/END, as
 * the coordinator does. Returns the source's applied round; *chunks counts the DUMPs. */
static uint64_t resync(struct participant *src, struct participant *dst, int count,
                       int *chunks)
{
    uint64_t cursor = 0, applied = 0;
    expect(dst, "TPC.RESTORE BEGIN", R("+OK\r\n"));
    *chunks = 0;
    do {
        char cur[24], cnt[24], *argv[3 * 64 + 2] = { "TPC.DUMP", cur, cnt };
        size_t lens[3 * 64 + 2] = { 8, (size_t)sprintf(cur, "%llu", (unsigned long long)cursor),
                                    (size_t)sprintf(cnt, "%d", count) };
        struct record_buf out = { 0 };
        dispatch(src, 3, argv, lens, &out);
        struct reply_reader r = { out.p, out.p + out.len };
        CHECK_INT_EQ(read_num(&r, '*', NULL, NULL), 3);
        applied = (uint64_t)read_num(&r, ':', NULL, NULL);
        cursor = (uint64_t)read_num(&r, ':', NULL, NULL);
        int64_t n = read_num(&r, '*', NULL, NULL);
        CHECK(n % 3 == 0 && n / 3 <= 64 && n / 3 >= (cursor ? count : 0));
        argv[0] = "TPC.RESTORE", lens[0] = 11;
        argv[1] = "ROWS", lens[1] = 4;
        for (int64_t i = 0; i < n; i += 3) {
            read_bulk(&r, &argv[2 + i], &lens[2 + i]);
            read_bulk(&r, &argv[3 + i], &lens[3 + i]);
            read_num(&r, ':', &argv[4 + i], &lens[4 + i]);
        }
        CHECK(r.p == r.end);
        if (n > 0) {
            struct record_buf rows = { 0 };
            char want[32];
            dispatch(dst, 2 + (int)n, argv, lens, &rows);
            size_t wantlen = (size_t)sprintf(want, ":%lld\r\n", (long long)n / 3);
            CHECK_MEM_EQ(rows.p, rows.len, want, wantlen);
            free(rows.p);
        }
        free(out.p);
        ++*chunks;
    } while (cursor != 0);
    char cmd[64], want[32];
    sprintf(cmd, "TPC.RESTORE END %llu", (unsigned long long)applied);
    expect(dst, cmd, want, (size_t)sprintf(want, ":%llu\r\n", (unsigned long long)applied));
    return applied;
}

static void check_same_data(struct participant *a, struct participant *b)
{
    char da[17], db[17];
    CHECK_INT_EQ(store_digest(participant_store(a), da), 0);
    CHECK_INT_EQ(store_digest(participant_store(b), db), 0);
    CHECK_MEM_EQ(da, 16, db, 16);
    CHECK_INT_EQ(store_count(participant_store(a)), store_count(participant_store(b)));
}

/* A source filled by rounds (SET, DEL, SET with PX) copied in chunks of 2 rows into a
 * target that held other data: same digest, and TPC.HELLO says complete at the source's
 * round. */
static void test_dump_restore_round_trip(void)
{
    struct participant *src = open_fresh();
    expect(src, "TPC.PREPARE 1 1700000000000 4 3 SET a 1 3 SET b 2 3 SET c 3 3 SET e 5",
           R("*3\r\n+YES\r\n:0\r\n$20\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n\r\n"));
    expect(src, "TPC.COMMIT 1", R(":0\r\n"));
    expect(src, "TPC.PREPARE 2 1700000000000 1 2 DEL b", R("*3\r\n+YES\r\n:1\r\n$4\r\n:1\r\n\r\n"));
    expect(src, "TPC.PREPARE 3 1700000000000 2 5 SET d 4 PX 100000 3 SET f 6",
           R("*3\r\n+YES\r\n:1\r\n$10\r\n+OK\r\n+OK\r\n\r\n"));
    expect(src, "TPC.COMMIT 2", R(":0\r\n"));
    expect(src, "TPC.COMMIT 3", R(":0\r\n"));
    expect(src, "TPC.PREPARE 4 1700000000000 3 3 SET g 7 3 SET h 8 3 SET i 9",
           R("*3\r\n+YES\r\n:3\r\n$15\r\n+OK\r\n+OK\r\n+OK\r\n\r\n"));
    expect(src, "TPC.COMMIT 4", R(":0\r\n"));
    struct sim_file *src_disk = disk;
    disk = NULL; /* the target gets a disk of its own */

    struct participant *dst = open_fresh();
    request_conn = 7; /* the coordinator's connection to the target; any one for DUMP */
    expect(dst, HELLO, R("*10\r\n:0\r\n:0\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));
    expect(dst, "TPC.PREPARE 1 1700000000000 2 3 SET a x 3 SET zz y",
           R("*3\r\n+YES\r\n:0\r\n$10\r\n+OK\r\n+OK\r\n\r\n"));
    expect(dst, "TPC.COMMIT 1", R(":0\r\n"));
    int chunks;
    CHECK_UINT_EQ(resync(src, dst, 2, &chunks), 4);
    CHECK(chunks >= 4); /* 8 rows, 2 (and ties) at a time */
    check_same_data(src, dst);
    expect(dst, "TPC.READ 1700000000000 PTTL d", R(":100000\r\n"));
    expect(dst, "TPC.READ 1700000000000 MGET a zz b", R("*3\r\n$1\r\n1\r\n$-1\r\n$-1\r\n"));
    expect(dst, HELLO, R("*10\r\n:4\r\n:4\r\n*0\r\n:4\r\n" NO_ID HELLO_TAIL));
    /* Rounds go on from there. */
    expect(dst, "TPC.PREPARE 5 1700000000000 1 2 INCR a",
           R("*3\r\n+YES\r\n:4\r\n$4\r\n:2\r\n\r\n"));
    expect(dst, "TPC.COMMIT 5", R(":4\r\n"));

    /* One big chunk, into a target that is already complete: the same again. */
    expect(dst, HELLO, R("*10\r\n:5\r\n:5\r\n*0\r\n:4\r\n" NO_ID HELLO_TAIL));
    CHECK_UINT_EQ(resync(src, dst, 100, &chunks), 4);
    CHECK_INT_EQ(chunks, 1);
    check_same_data(src, dst);
    expect(dst, HELLO, R("*10\r\n:4\r\n:5\r\n*0\r\n:4\r\n" NO_ID HELLO_TAIL)); /* max_rid stays */
    request_conn = 0;
    participant_close(dst);
    participant_close(src);
    sim_file_free(src_disk);
}

/* What the resync commands refuse, byte for byte, and that a refusal changes nothing. */
static void test_restore_refusals(void)
{
    struct participant *p = open_fresh();
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5", R(YES_OK));
    expect(p, "TPC.DUMP 0 10", R("-ERR TPC.DUMP refused: rounds are in flight\r\n"));
    expect(p, "TPC.COMMIT 1", R(":0\r\n"));
    expect(p, "TPC.DUMP 0 10", R("*3\r\n:1\r\n:0\r\n*3\r\n$1\r\nk\r\n$1\r\n5\r\n:0\r\n"));
    expect(p, "TPC.DUMP 0 0", R("-ERR bad count\r\n"));
    expect(p, "TPC.DUMP 0 100001", R("-ERR bad count\r\n"));
    expect(p, "TPC.DUMP 0 x", R("-ERR bad count\r\n"));
    expect(p, "TPC.DUMP -1 10", R("-ERR invalid cursor\r\n"));
    expect(p, "TPC.DUMP 0", R("-ERR wrong number of arguments for 'tpc.dump' command\r\n"));
    expect(p, "TPC.DUMP 4611686018427387905 10", R("*3\r\n:1\r\n:0\r\n*0\r\n")); /* past the end */

    /* Only the session's connection may restore. */
    request_conn = 3;
    expect(p, HELLO, R("*10\r\n:1\r\n:1\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));
    request_conn = 4;
    expect(p, "TPC.DUMP 0 10", R("*3\r\n:1\r\n:0\r\n*3\r\n$1\r\nk\r\n$1\r\n5\r\n:0\r\n"));
    expect(p, "TPC.RESTORE BEGIN",
           R("-ERR TPC.RESTORE refused: this connection is not the coordinator's (another one "
             "is, or it never said TPC.HELLO)\r\n"));
    expect(p, "TPC.RESTORE ROWS j 1 0",
           R("-ERR TPC.RESTORE refused: this connection is not the coordinator's (another one "
             "is, or it never said TPC.HELLO)\r\n"));
    expect(p, "TPC.RESTORE END 9",
           R("-ERR TPC.RESTORE refused: this connection is not the coordinator's (another one "
             "is, or it never said TPC.HELLO)\r\n"));
    request_conn = 3;
    expect(p, "TPC.RESTORE", R("-ERR wrong number of arguments for 'tpc.restore' command\r\n"));
    expect(p, "TPC.RESTORE ROWS",
           R("-ERR wrong number of arguments for 'tpc.restore' command\r\n"));
    expect(p, "TPC.RESTORE ROWS j 1",
           R("-ERR wrong number of arguments for 'tpc.restore' command\r\n"));
    expect(p, "TPC.RESTORE ROWS j 1 0 i",
           R("-ERR wrong number of arguments for 'tpc.restore' command\r\n"));
    expect(p, "TPC.RESTORE ROWS j 1 0 i 2 -5", R("-ERR bad expiry\r\n"));
    expect(p, "TPC.RESTORE ROWS j 1 x", R("-ERR bad expiry\r\n"));
    expect(p, "TPC.RESTORE BEGIN now",
           R("-ERR wrong number of arguments for 'tpc.restore' command\r\n"));
    expect(p, "TPC.RESTORE END", R("-ERR bad round id\r\n"));
    expect(p, "TPC.RESTORE END x", R("-ERR bad round id\r\n"));
    expect(p, "TPC.RESTORE FOO", R("-ERR unknown subcommand 'FOO'. Try TPC.RESTORE HELP.\r\n"));
    /* None of it changed anything. */
    expect(p, HELLO, R("*10\r\n:1\r\n:1\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.READ 1700000000000 MGET k j i", R("*3\r\n$1\r\n5\r\n$-1\r\n$-1\r\n"));

    /* BEGIN drops a prepared round (max_rid stays); a DUMP of the target is empty. */
    expect(p, "TPC.PREPARE 2 1700000000000 1 3 SET j 1",
           R("*3\r\n+YES\r\n:1\r\n$5\r\n+OK\r\n\r\n"));
    expect(p, "TPC.RESTORE BEGIN", R("+OK\r\n"));
    expect(p, HELLO, R("*10\r\n:0\r\n:2\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.DUMP 0 10", R("*3\r\n:0\r\n:0\r\n*0\r\n"));
    expect(p, "TPC.COMMIT 2", R("-ERR round 2 is unknown here\r\n")); /* dropped */
    request_conn = 0;
    participant_close(p);
}

/* A crash between BEGIN and END leaves applied_round 0; after END's reply, the data and
 * applied_round survive a crash and a power cut. */
static void test_restore_crash(void)
{
    char err[256];
    struct participant *p = open_fresh();
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5", R(YES_OK));
    expect(p, "TPC.COMMIT 1", R(":0\r\n"));
    expect(p, "TPC.PREPARE 2 1700000000000 1 3 SET j 6",
           R("*3\r\n+YES\r\n:1\r\n$5\r\n+OK\r\n\r\n"));
    sync_log(p);
    expect(p, "TPC.RESTORE BEGIN", R("+OK\r\n"));
    expect(p, "TPC.RESTORE ROWS x 1 0 y 2 1800000000000", R(":2\r\n"));
    /* A process crash: no old COMMIT or PREPARE replays onto the emptied store. */
    p = open_on(crash(p, 0));
    expect(p, HELLO, R("*10\r\n:0\r\n:2\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.READ 1700000000000 MGET k j x y",
           R("*4\r\n$-1\r\n$-1\r\n$1\r\n1\r\n$1\r\n2\r\n"));
    /* A power cut between BEGIN and END: SQLite back to BEGIN's checkpoint, still 0. */
    expect(p, "TPC.RESTORE BEGIN", R("+OK\r\n"));
    expect(p, "TPC.RESTORE ROWS z 3 0", R(":1\r\n"));
    struct store *st = store_power_loss(crash(p, 0), err, sizeof err);
    CHECK(st != NULL);
    CHECK_UINT_EQ(store_applied(st), 0);
    CHECK_INT_EQ(store_count(st), 0);
    p = open_on(st);
    expect(p, HELLO, R("*10\r\n:0\r\n:2\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));

    /* The repair restarted and finished: END's reply promises durable data. */
    expect(p, "TPC.RESTORE BEGIN", R("+OK\r\n"));
    expect(p, "TPC.RESTORE ROWS k 7 0 w 8 1800000000000", R(":2\r\n"));
    expect(p, "TPC.RESTORE END 9", R(":9\r\n"));
    expect(p, HELLO, R("*10\r\n:9\r\n:9\r\n*0\r\n:9\r\n" NO_ID HELLO_TAIL));
    p = open_on(crash(p, 0));
    expect(p, HELLO, R("*10\r\n:9\r\n:9\r\n*0\r\n:9\r\n" NO_ID HELLO_TAIL));
    st = store_power_loss(crash(p, 0), err, sizeof err);
    CHECK(st != NULL);
    CHECK_UINT_EQ(store_applied(st), 9);
    p = open_on(st);
    expect(p, HELLO, R("*10\r\n:9\r\n:9\r\n*0\r\n:9\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.READ 1700000000000 MGET k w x", R("*3\r\n$1\r\n7\r\n$1\r\n8\r\n$-1\r\n"));
    expect(p, "TPC.READ 1700000000000 PTTL w", R(":100000000000\r\n"));
    expect(p, "TPC.PREPARE 9 1700000000000 1 3 SET k 6",
           R("-NO round 9 is stale (id already used)\r\n"));
    expect(p, "TPC.PREPARE 10 1700000000000 1 2 INCR k", R("*3\r\n+YES\r\n:9\r\n$4\r\n:8\r\n\r\n"));
    expect(p, "TPC.COMMIT 10", R(":9\r\n"));
    request_conn = 0;
    participant_close(p);
}

static const struct check_case cases[] = {
    { "session_fence", test_session_fence },
    { "vote_bytes", test_vote_bytes },
    { "pipelined_under", test_pipelined_under },
    { "abort_dooms", test_abort_dooms },
    { "commit_out_of_order", test_commit_out_of_order },
    { "stale_rid", test_stale_rid },
    { "hello_in_doubt", test_hello_in_doubt },
    { "restart_replays", test_restart_replays },
    { "power_loss", test_power_loss },
    { "torn_unsynced_tail", test_torn_unsynced_tail },
    { "peer_dispatch", test_peer_dispatch },
    { "dump_restore_round_trip", test_dump_restore_round_trip },
    { "restore_refusals", test_restore_refusals },
    { "restore_crash", test_restore_crash },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    int rc = check_run(cases, argc, argv);
    sim_file_free(disk);
    return rc;
}

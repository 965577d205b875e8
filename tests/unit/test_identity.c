/* test_identity.c -- unit tests of the replica's identity: its rows in the store
 * (replica/store.c), TPC.IDENTIFY (replica/identity.c), what TPC.RESTORE BEGIN and END do
 * to it (replica/restore.c), its two fields in the TPC.HELLO answer (replica/participant.c)
 * and the coordinator's reading of that answer (server/engine/link_reply.c), and
 * TPC.NOTICE (replica/peer.c).
 *
 * Participants are driven through peer_dispatch on an in-memory log and store, as in
 * test_participant.c (peer_harness.h); a process crash and a power cut are simulated the
 * same way. Log lines are checked by pointing the diagnostics log at a file in a temporary
 * directory (each case runs in its own process under CTest).
 *
 * Run: test_identity [case]   (no argument: every case)
 */
#include "check_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link_reply.h"
#include "log.h"
#include "participant.h"
#include "peer_harness.h"
#include "record.h"
#include "resp_writer.h"
#include "sim_log.h"
#include "store.h"

/* Cluster 1234abcd5678ef01, in decimal as it travels, and the same as a RESP integer. */
#define CLUSTER "1311862289879068417"
#define CLUSTER_HEX "1234abcd5678ef01"
/* The end of a TPC.HELLO answer: no identity, and cluster CLUSTER as replica 3. */
#define NO_ID ":0\r\n:0\r\n"
#define ID_3 ":" CLUSTER "\r\n:3\r\n"

static const char *const refused =
    "-ERR TPC.IDENTIFY: this replica already belongs to cluster " CLUSTER_HEX
    " as replica 3\r\n";

/* ---- helpers ---- */

static char log_path[512];

/* Sends the diagnostics log to a file of a temporary directory, at notice level. */
static void log_to_file(void)
{
    snprintf(log_path, sizeof log_path, "%s/replica.log", check_tmpdir());
    CHECK_INT_EQ(log_init('R', log_path, LOG_LEVEL_NOTICE), 0);
}

/* The number of log lines that contain needle. */
static int log_count(const char *needle)
{
    FILE *f = fopen(log_path, "r");
    char line[2048];
    int n = 0;
    CHECK(f != NULL);
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static void check_identity(struct store *st, uint64_t want_cluster, uint64_t want_replica)
{
    uint64_t c = 99, r = 99;
    CHECK_INT_EQ(store_identity(st, &c, &r), 0);
    CHECK_UINT_EQ(c, want_cluster);
    CHECK_UINT_EQ(r, want_replica);
}

/* ---- the store ---- */

/* A new store has none; a store on a file keeps what was set across a close; a database
 * created before identities (meta holds applied_round only) has none. */
static void test_store_rows(void)
{
    char err[256], path[512];
    struct store *st = store_open_memory(err, sizeof err);
    CHECK(st != NULL);
    check_identity(st, 0, 0);
    CHECK_INT_EQ(store_set_identity(st, 0x1234abcd5678ef01ULL, 3), 0);
    check_identity(st, 0x1234abcd5678ef01ULL, 3);
    /* Half an identity is none: a zero clears both rows. */
    CHECK_INT_EQ(store_set_identity(st, 0x1234abcd5678ef01ULL, 0), 0);
    check_identity(st, 0, 0);
    /* An SQLite INTEGER holds 63 bits: refused, nothing written. */
    CHECK_INT_EQ(store_set_identity(st, 7, 2), 0);
    CHECK_INT_EQ(store_set_identity(st, (uint64_t)INT64_MAX + 1, 3), -1);
    check_identity(st, 7, 2);
    store_close(st);

    snprintf(path, sizeof path, "%s/data.sqlite", check_tmpdir());
    st = store_open(path, err, sizeof err);
    CHECK(st != NULL);
    CHECK(store_begin(st) == 0 && store_set_applied(st, 12) == 0 && store_commit(st) == 0);
    store_close(st);
    st = store_open(path, err, sizeof err);
    CHECK(st != NULL);
    CHECK_UINT_EQ(store_applied(st), 12);
    check_identity(st, 0, 0); /* an older database: applied_round, no identity rows */
    CHECK(store_begin(st) == 0 && store_set_identity(st, INT64_MAX, 5) == 0 &&
          store_commit(st) == 0);
    store_close(st);
    st = store_open(path, err, sizeof err);
    CHECK(st != NULL);
    check_identity(st, INT64_MAX, 5);
    CHECK_UINT_EQ(store_applied(st), 12);
    store_close(st);
}

/* A memory store's power cut keeps what the last checkpoint saw: an identity set but not
 * checkpointed is lost, one checkpointed survives, and a copy (store_copy) carries it. */
static void test_store_power_loss(void)
{
    char err[256];
    struct store *st = store_open_memory(err, sizeof err);
    CHECK(st != NULL);
    CHECK_INT_EQ(store_checkpoint(st), 0);
    CHECK_INT_EQ(store_set_identity(st, 0x1234abcd5678ef01ULL, 3), 0);
    st = store_power_loss(st, err, sizeof err);
    CHECK(st != NULL);
    check_identity(st, 0, 0);
    CHECK_INT_EQ(store_set_identity(st, 0x1234abcd5678ef01ULL, 3), 0);
    CHECK_INT_EQ(store_checkpoint(st), 0);
    CHECK_INT_EQ(store_set_identity(st, 0, 0), 0); /* after the checkpoint: lost */
    st = store_power_loss(st, err, sizeof err);
    CHECK(st != NULL);
    check_identity(st, 0x1234abcd5678ef01ULL, 3);
    struct store *copy = store_copy(st, err, sizeof err);
    CHECK(copy != NULL);
    check_identity(copy, 0x1234abcd5678ef01ULL, 3);
    store_close(copy);
    store_close(st);
}

/* ---- TPC.IDENTIFY ---- */

/* Fenced; malformed ids refused; the first identity accepted, the same one again, a
 * different one refused (nothing changes); the identity is in HELLO and in the log. */
static void test_identify(void)
{
    log_to_file();
    struct participant *p = open_fresh();
    CHECK_INT_EQ(log_count("no identity yet (a new or wiped data folder): the coordinator "
                           "adopts it into a new cluster, or repairs it from a healthy "
                           "replica"), 1);
    request_conn = 5;
    expect(p, HELLO, R("*10\r\n:0\r\n:0\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));
    request_conn = 6; /* not the session's connection */
    expect(p, "TPC.IDENTIFY " CLUSTER " 3",
           R("-ERR TPC.IDENTIFY refused: this connection is not the coordinator's (another "
             "one is, or it never said TPC.HELLO)\r\n"));
    request_conn = 5;
    expect(p, "TPC.IDENTIFY " CLUSTER,
           R("-ERR wrong number of arguments for 'tpc.identify' command\r\n"));
    const char *bad_cluster[] = { "x", "0", "-1", "9223372036854775808", "1.5", "0x12" };
    for (size_t i = 0; i < sizeof bad_cluster / sizeof bad_cluster[0]; i++) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "TPC.IDENTIFY %s 3", bad_cluster[i]);
        expect(p, cmd, R("-ERR TPC.IDENTIFY: the cluster id must be an integer in "
                         "[1, 2^63-1]\r\n"));
    }
    expect(p, "TPC.IDENTIFY " CLUSTER " 0",
           R("-ERR TPC.IDENTIFY: the replica id must be an integer in [1, 2^63-1]\r\n"));
    expect(p, "TPC.IDENTIFY " CLUSTER " three",
           R("-ERR TPC.IDENTIFY: the replica id must be an integer in [1, 2^63-1]\r\n"));
    expect(p, HELLO, R("*10\r\n:0\r\n:0\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL)); /* none of it */
    check_identity(participant_store(p), 0, 0);

    expect(p, "TPC.IDENTIFY " CLUSTER " 3", R("+OK\r\n"));
    CHECK_INT_EQ(log_count("* identity: cluster " CLUSTER_HEX ", replica 3"), 1);
    check_identity(participant_store(p), 0x1234abcd5678ef01ULL, 3);
    expect(p, HELLO, R("*10\r\n:0\r\n:0\r\n*0\r\n:0\r\n" ID_3 HELLO_TAIL));
    expect(p, "TPC.IDENTIFY " CLUSTER " 3", R("+OK\r\n")); /* the same: accepted again */
    CHECK_INT_EQ(log_count("* identity: cluster " CLUSTER_HEX ", replica 3"), 2);
    expect(p, "TPC.IDENTIFY " CLUSTER " 4", refused, strlen(refused));
    expect(p, "TPC.IDENTIFY 1311862289879068418 3", refused, strlen(refused));
    expect(p, "TPC.IDENTIFY 1 1", refused, strlen(refused));
    CHECK_INT_EQ(log_count("# TPC.IDENTIFY refused: asked to be cluster 0000000000000001, "
                           "replica 1, but this replica belongs to cluster " CLUSTER_HEX
                           " as replica 3"), 1);
    check_identity(participant_store(p), 0x1234abcd5678ef01ULL, 3);
    uint64_t c, r;
    participant_identity(p, &c, &r);
    CHECK_UINT_EQ(c, 0x1234abcd5678ef01ULL);
    CHECK_UINT_EQ(r, 3);

    /* Rounds go on, and a restart logs the identity with the round the data is at. */
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5",
           R("*3\r\n+YES\r\n:0\r\n$5\r\n+OK\r\n\r\n"));
    expect(p, "TPC.COMMIT 1", R(":0\r\n"));
    sync_log(p);
    p = open_on(crash(p, 0));
    CHECK_INT_EQ(log_count("* identity: cluster " CLUSTER_HEX ", replica 3, data complete "
                           "to round 1"), 1);
    expect(p, HELLO, R("*10\r\n:1\r\n:1\r\n*0\r\n:1\r\n" ID_3 HELLO_TAIL));
    expect(p, "TPC.IDENTIFY " CLUSTER " 4", refused, strlen(refused));
    request_conn = 0;
    participant_close(p);
}

/* The identity is durable once TPC.IDENTIFY answered: it survives a process crash and a
 * power cut (SQLite back to its last checkpoint), even with prepared rounds around. */
static void test_identify_power_loss(void)
{
    char err[256];
    struct participant *p = open_fresh();
    expect(p, HELLO, R("*10\r\n:0\r\n:0\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.PREPARE 1 1700000000000 1 3 SET k 5",
           R("*3\r\n+YES\r\n:0\r\n$5\r\n+OK\r\n\r\n"));
    expect(p, "TPC.IDENTIFY " CLUSTER " 3", R("+OK\r\n"));
    sync_log(p);
    struct store *st = store_power_loss(crash(p, 0), err, sizeof err);
    CHECK(st != NULL);
    check_identity(st, 0x1234abcd5678ef01ULL, 3);
    p = open_on(st);
    /* The round is back in doubt, the identity with it. */
    expect(p, HELLO, R("*10\r\n:0\r\n:1\r\n*1\r\n:1\r\n:0\r\n" ID_3 HELLO_TAIL));
    expect(p, "TPC.COMMIT 1", R(":0\r\n"));
    p = open_on(crash(p, 0));
    expect(p, HELLO, R("*10\r\n:1\r\n:1\r\n*0\r\n:1\r\n" ID_3 HELLO_TAIL));
    participant_close(p);
}

/* ---- TPC.RESTORE ---- */

/* BEGIN clears the identity, durably (a crash or power cut before END leaves none); END
 * with an identity sets it with the data, durably; END without one leaves none; malformed
 * identities in END are refused before anything changes. */
static void test_restore_identity(void)
{
    char err[256];
    log_to_file();
    struct participant *p = open_fresh();
    request_conn = 0;
    expect(p, HELLO, R("*10\r\n:0\r\n:0\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.IDENTIFY " CLUSTER " 3", R("+OK\r\n"));
    expect(p, "TPC.RESTORE BEGIN", R("+OK\r\n"));
    CHECK_INT_EQ(log_count("TPC.RESTORE BEGIN: store emptied and identity cleared (was "
                           "cluster " CLUSTER_HEX ", replica 3)"), 1);
    check_identity(participant_store(p), 0, 0);
    expect(p, HELLO, R("*10\r\n:0\r\n:0\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.RESTORE ROWS k 7 0", R(":1\r\n"));
    struct store *st = store_power_loss(crash(p, 0), err, sizeof err);
    CHECK(st != NULL);
    check_identity(st, 0, 0); /* BEGIN's checkpoint: the old identity never comes back */
    p = open_on(st);
    expect(p, HELLO, R("*10\r\n:0\r\n:0\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));

    /* END's refusals change nothing. */
    expect(p, "TPC.RESTORE BEGIN", R("+OK\r\n"));
    expect(p, "TPC.RESTORE ROWS k 7 0 w 8 0", R(":2\r\n"));
    expect(p, "TPC.RESTORE END 9 " CLUSTER,
           R("-ERR wrong number of arguments for 'tpc.restore' command\r\n"));
    expect(p, "TPC.RESTORE END 9 " CLUSTER " 3 x",
           R("-ERR wrong number of arguments for 'tpc.restore' command\r\n"));
    expect(p, "TPC.RESTORE END 9 0 3",
           R("-ERR TPC.RESTORE END: the cluster id must be an integer in [1, 2^63-1]\r\n"));
    expect(p, "TPC.RESTORE END 9 " CLUSTER " -3",
           R("-ERR TPC.RESTORE END: the replica id must be an integer in [1, 2^63-1]\r\n"));
    expect(p, "TPC.RESTORE END x " CLUSTER " 3", R("-ERR bad round id\r\n"));
    expect(p, HELLO, R("*10\r\n:0\r\n:0\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));

    /* END with the identity: complete and identified at once, and durably. */
    expect(p, "TPC.RESTORE END 9 " CLUSTER " 3", R(":9\r\n"));
    CHECK_INT_EQ(log_count("TPC.RESTORE END: data complete at round 9, 2 rows; identity: "
                           "cluster " CLUSTER_HEX ", replica 3"), 1);
    expect(p, HELLO, R("*10\r\n:9\r\n:9\r\n*0\r\n:9\r\n" ID_3 HELLO_TAIL));
    st = store_power_loss(crash(p, 0), err, sizeof err);
    CHECK(st != NULL);
    check_identity(st, 0x1234abcd5678ef01ULL, 3);
    CHECK_UINT_EQ(store_applied(st), 9);
    p = open_on(st);
    expect(p, HELLO, R("*10\r\n:9\r\n:9\r\n*0\r\n:9\r\n" ID_3 HELLO_TAIL));
    expect(p, "TPC.IDENTIFY " CLUSTER " 4", refused, strlen(refused));

    /* The older form, END <round>: the data complete, no identity until TPC.IDENTIFY. */
    expect(p, "TPC.RESTORE BEGIN", R("+OK\r\n"));
    expect(p, "TPC.RESTORE END 10", R(":10\r\n"));
    CHECK_INT_EQ(log_count("TPC.RESTORE END: data complete at round 10, 0 rows; no "
                           "identity"), 1);
    expect(p, HELLO, R("*10\r\n:10\r\n:10\r\n*0\r\n:10\r\n" NO_ID HELLO_TAIL));
    expect(p, "TPC.IDENTIFY " CLUSTER " 4", R("+OK\r\n")); /* free to be adopted again */
    expect(p, HELLO, R("*10\r\n:10\r\n:10\r\n*0\r\n:10\r\n:" CLUSTER "\r\n:4\r\n" HELLO_TAIL));
    participant_close(p);
}

/* ---- TPC.HELLO as the coordinator reads it ---- */

/* Parses bytes as one reply and decodes it as a HELLO answer. Returns link_reply_hello's
 * result. */
static int parse_hello(const char *bytes, size_t len, struct link_hello *h)
{
    struct link_reply *r = NULL;
    size_t used = 0;
    CHECK_INT_EQ(link_reply_parse(bytes, len, &r, &used), 1);
    CHECK_UINT_EQ(used, len);
    int rc = link_reply_hello(r, h);
    link_reply_free(r);
    return rc;
}

/* The participant's 6-element answer gives link_hello its identity; a 4-element answer
 * (a replica from before identities) still parses, with none; other shapes are refused. */
static void test_hello_link_reply(void)
{
    struct participant *p = open_fresh();
    expect(p, "TPC.PREPARE 4 1700000000000 1 3 SET k 5",
           R("*3\r\n+YES\r\n:0\r\n$5\r\n+OK\r\n\r\n"));
    expect(p, "TPC.IDENTIFY " CLUSTER " 3", R("+OK\r\n"));
    char *argv[4] = { "TPC.HELLO", "2", "3", TWOPC_VERSION };
    size_t lens[4] = { 9, 1, 1, sizeof TWOPC_VERSION - 1 };
    struct resp_request req = { 4, argv, lens };
    struct record_buf out = { 0 };
    struct resp_writer w = { record_buf_sink, &out, 2 };
    CHECK_INT_EQ(peer_dispatch(p, &req, &w, &rng, request_conn), 0);
    struct link_hello h;
    CHECK_INT_EQ(parse_hello(out.p, out.len, &h), 0);
    CHECK_UINT_EQ(h.applied, 0);
    CHECK_UINT_EQ(h.max_rid, 4);
    CHECK_UINT_EQ(h.n_in_doubt, 1);
    CHECK_UINT_EQ(h.in_doubt[0], 4);
    CHECK_UINT_EQ(h.durable, 0);
    CHECK_UINT_EQ(h.cluster, 0x1234abcd5678ef01ULL);
    CHECK_UINT_EQ(h.member, 3);
    CHECK_INT_EQ(h.proto, 3); /* the newest both speak: 2..3 and this replica's 2..3 */
    CHECK_INT_EQ(h.proto_min, TWOPC_PROTOCOL_MIN);
    CHECK_INT_EQ(h.proto_max, TWOPC_PROTOCOL_VERSION);
    CHECK_STR_EQ(h.release, TWOPC_VERSION);
    free((void *)h.in_doubt);
    free(out.p);
    /* No common version, and a protocol-1 HELLO (no arguments): refused, naming both. */
    expect(p, "TPC.HELLO 4 5 0.4.0",
           R("-ERR protocol version mismatch: replica twopc " TWOPC_VERSION " speaks "
             "protocol 2..3, coordinator twopc 0.4.0 speaks protocol 4..5\r\n"));
    expect(p, "TPC.HELLO",
           R("-ERR protocol version mismatch: replica twopc " TWOPC_VERSION " speaks "
             "protocol 2..3, coordinator twopc 0.1.x speaks protocol 1 (no version in "
             "TPC.HELLO); upgrade the coordinator\r\n"));
    expect(p, "TPC.HELLO 2", R("-ERR bad arguments for TPC.HELLO (expected MIN MAX "
                               "RELEASE)\r\n"));
    participant_close(p);

    static const char old[] = "*4\r\n:7\r\n:8\r\n*1\r\n:8\r\n:6\r\n";
    h = (struct link_hello){ .cluster = 99, .member = 99 };
    CHECK_INT_EQ(parse_hello(old, sizeof old - 1, &h), 0);
    CHECK_UINT_EQ(h.applied, 7);
    CHECK_UINT_EQ(h.max_rid, 8);
    CHECK_UINT_EQ(h.n_in_doubt, 1);
    CHECK_UINT_EQ(h.durable, 6);
    CHECK_UINT_EQ(h.cluster, 0);
    CHECK_UINT_EQ(h.member, 0);
    free((void *)h.in_doubt);

    static const char *const bad[] = {
        "*5\r\n:7\r\n:8\r\n*0\r\n:6\r\n:1\r\n",          /* neither 4 nor 6 */
        "*6\r\n:7\r\n:8\r\n*0\r\n:6\r\n:1\r\n$1\r\n3\r\n", /* a string for the replica id */
        "*6\r\n:7\r\n:8\r\n*0\r\n:6\r\n:-1\r\n:3\r\n",    /* a negative cluster id */
        "*4\r\n:7\r\n:8\r\n*1\r\n+x\r\n:6\r\n",           /* a round in doubt that is no rid */
        "-ERR unknown command\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT_EQ(parse_hello(bad[i], strlen(bad[i]), &h), -1);
}

/* ---- TPC.NOTICE ---- */

/* Logged at warning level as one line, control bytes turned into spaces; +OK from any
 * connection; it changes nothing. */
static void test_notice(void)
{
    log_to_file();
    struct participant *p = open_fresh();
    request_conn = 1;
    expect(p, HELLO, R("*10\r\n:0\r\n:0\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));
    request_conn = 2; /* no fence */
    expect(p, "TPC.NOTICE needs repair: applied round 0 is below ended round 12",
           R("+OK\r\n"));
    CHECK_INT_EQ(log_count("# coordinator: needs repair: applied round 0 is below ended "
                           "round 12\n"), 1);
    char *argv[2] = { "TPC.NOTICE", "two\r\nlines" };
    size_t lens[2] = { 10, 10 };
    struct resp_request req = { 2, argv, lens };
    struct record_buf out = { 0 };
    struct resp_writer w = { record_buf_sink, &out, 2 };
    CHECK_INT_EQ(peer_dispatch(p, &req, &w, &rng, request_conn), 0);
    CHECK_MEM_EQ(out.p, out.len, "+OK\r\n", 5);
    free(out.p);
    CHECK_INT_EQ(log_count("# coordinator: two  lines\n"), 1);
    expect(p, "TPC.NOTICE", R("-ERR wrong number of arguments for 'tpc.notice' command\r\n"));
    expect(p, HELLO, R("*10\r\n:0\r\n:0\r\n*0\r\n:0\r\n" NO_ID HELLO_TAIL));
    request_conn = 0;
    participant_close(p);
}

static const struct check_case cases[] = {
    { "store_rows", test_store_rows },
    { "store_power_loss", test_store_power_loss },
    { "identify", test_identify },
    { "identify_power_loss", test_identify_power_loss },
    { "restore_identity", test_restore_identity },
    { "hello_link_reply", test_hello_link_reply },
    { "notice", test_notice },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    int rc = check_run(cases, argc, argv);
    sim_file_free(disk);
    return rc;
}

/* fuzz_replica_protocol.c -- libFuzzer target for the replica's command protocol: arbitrary
 * frames from a peer fed to a participant (replica/peer.c and replica/participant.c, on an
 * in-memory store and the simulator's in-memory log, as tests/unit/peer_harness.c drives
 * it).
 *
 * The input is a byte stream as a replica's port would read it: RESP multibulk or inline
 * requests, parsed by the daemon's own parser (resp/resp_parser.c). Each request goes
 * through peer_dispatch() from the current connection, then the log is made durable (as
 * the daemon's flush would). Three pseudo-commands, which no peer can send, steer the run:
 *   FUZZ.CONN <n>  later requests come from connection n % 4 + 1 (the session fence:
 *                  only the coordinator's connection may decide rounds);
 *   FUZZ.CRASH     the process dies (the log keeps its durable bytes) and restarts on
 *                  what SQLite kept: replay of whatever the fuzzer got accepted;
 *   FUZZ.SYNC      nothing (a separator the fuzzer may use).
 * The target aborts unless, after every request:
 *   - participant_assert_state() holds (the participant's invariants P1-P8);
 *   - the store's digest changed only on a TPC.COMMIT of a round this participant voted
 *     YES on (a well-formed PREPARE, then its COMMIT) or on a TPC.RESTORE (the repair
 *     path, which replaces the data by design); a read, a refused PREPARE, an ABORT, a
 *     HELLO, a stray connection's anything never changes the data;
 *   - every reply is one complete RESP value (the peer parses it the same way);
 * and the sanitizers see nothing (the target is built with ASan and UBSan). A protocol
 * error ends the stream, as the daemon closes such a connection.
 *
 * Build with -DTWOPC_FUZZ=ON and CC=clang; run as fuzz_replica_protocol CORPUS_DIR SEED_DIR.
 */
#include "log.h"
#include "participant.h"
#include "peer.h"
#include "record.h"
#include "resp_parser.h"
#include "resp_writer.h"
#include "sim_log.h"
#include "store.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
#include "fuzz_check.h"

/* The rounds voted YES in this run: a COMMIT may change the data only for one of them. */
#define MAX_YES 256
static uint64_t yes_rids[MAX_YES];
static size_t n_yes;

static struct sim_file *disk;
static struct wal *log_of_p;

static struct wal *open_log(void *arg, journal_replay_fn fn, void *ctx,
                            struct journal_info *info, char *err, size_t errlen)
{
    (void)arg;
    return log_of_p = sim_log_open(disk, fn, ctx, info, err, errlen);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init('F', "/dev/null", LOG_LEVEL_MAX); /* refusals log a warning each: not here */
    return 0;
}

static int is(const struct resp_request *req, const char *name)
{
    return req->lens[0] == strlen(name) && strncasecmp(req->argv[0], name, req->lens[0]) == 0;
}

static int voted_yes(uint64_t rid)
{
    for (size_t i = 0; i < n_yes; i++)
        if (yes_rids[i] == rid)
            return 1;
    return 0;
}

/* A vote's reply is *3 +YES ... (participant.h); a PREPARE's rid is argv[1], or comes
 * after TOUCHED/WATCHED lists the fuzzer rarely forms: those are not tracked, so a COMMIT
 * of such a round that changes data would be reported -- keep the rid where it is. */
static void note_vote(const struct resp_request *req, const struct record_buf *out)
{
    uint64_t rid;
    if (out->len >= 9 && memcmp(out->p, "*3\r\n+YES\r", 9) == 0 && req->argc > 1 &&
        util_parse_u64(req->argv[1], req->lens[1], &rid) == 0 && n_yes < MAX_YES)
        yes_rids[n_yes++] = rid;
}

/* True if reply is exactly one complete RESP value (a simple parse of the reply grammar). */
static int one_value(const char *p, size_t len, size_t *used, int depth)
{
    if (len < 3 || depth > 8)
        return 0;
    const char *nl = memchr(p, '\n', len);
    if (!nl || nl == p || nl[-1] != '\r')
        return 0;
    size_t line = (size_t)(nl - p) + 1;
    long long n = 0;
    switch (p[0]) {
    case '+': case '-': case ':':
        *used = line;
        return 1;
    case '$':
        n = strtoll(p + 1, NULL, 10);
        if (n < 0) {
            *used = line;
            return n == -1;
        }
        if ((size_t)n + 2 > len - line || p[line + n] != '\r' || p[line + n + 1] != '\n')
            return 0;
        *used = line + (size_t)n + 2;
        return 1;
    case '*': {
        n = strtoll(p + 1, NULL, 10);
        size_t at = line;
        for (long long i = 0; i < n; i++) {
            size_t u;
            if (!one_value(p + at, len - at, &u, depth + 1))
                return 0;
            at += u;
        }
        *used = at;
        return n >= -1;
    }
    default:
        return 0;
    }
}

static struct participant *open_on(struct store *st)
{
    char err[256];
    struct participant *p = participant_open_with(st, open_log, NULL, err, sizeof err);
    if (!p) {
        fprintf(stderr, "participant_open_with: %s\n", err);
        abort();
    }
    return p;
}

static void digest_of(struct participant *p, char *hex)
{
    FUZZ_CHECK(store_digest(participant_store(p), hex) == 0);
}

static void sync_log(struct participant *p)
{
    char err[256];
    uint64_t done;
    FUZZ_CHECK(participant_sync(p, err, sizeof err) == 0);
    FUZZ_CHECK(participant_log_progress(p, UINT64_MAX, &done, err, sizeof err) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256], before[17], after[17];
    disk = sim_file_new();
    struct store *st = store_open_memory(err, sizeof err);
    FUZZ_CHECK(st != NULL);
    struct participant *p = open_on(st);
    struct resp_parser *rp = resp_parser_new(NULL);
    FUZZ_CHECK(rp != NULL);
    uint64_t rng = 42, conn = 1;
    n_yes = 0;
    int crashes = 0;

    const char *buf = (const char *)data;
    size_t left = size;
    while (left > 0) {
        size_t used = 0;
        enum resp_status s = resp_parser_feed(rp, buf, left, &used);
        if (s != RESP_OK)
            break; /* RESP_AGAIN: the stream ends mid-request; RESP_ERR: the conn closes */
        buf += used;
        left -= used;
        const struct resp_request *req = resp_parser_request(rp);
        if (is(req, "FUZZ.CONN")) {
            conn = (req->argc > 1 ? (uint64_t)(unsigned char)req->argv[1][0] % 4 : 0) + 1;
            continue;
        }
        if (is(req, "FUZZ.SYNC"))
            continue;
        if (is(req, "FUZZ.CRASH")) {
            if (++crashes > 4) /* each restart replays the log: keep runs quick */
                continue;
            sim_log_crash(log_of_p, 0);
            p = open_on(participant_crash(p));
            conn = 1;
            continue;
        }
        digest_of(p, before);
        struct record_buf out = { 0 };
        struct resp_writer w = { record_buf_sink, &out, 2 };
        int handled = peer_dispatch(p, req, &w, &rng, conn);
        sync_log(p);
        participant_assert_state(p);
        if (handled < 0) {
            FUZZ_CHECK(out.len == 0); /* not a peer command: the daemon answers it */
        } else {
            size_t u = 0;
            FUZZ_CHECK(one_value(out.p, out.len, &u, 0) && u == out.len);
        }
        if (is(req, "TPC.PREPARE"))
            note_vote(req, &out);
        digest_of(p, after);
        if (strcmp(before, after) != 0) {
            uint64_t rid = 0;
            int ok = is(req, "TPC.RESTORE") ||
                     (is(req, "TPC.COMMIT") && req->argc == 2 &&
                      util_parse_u64(req->argv[1], req->lens[1], &rid) == 0 && voted_yes(rid));
            if (!ok) {
                fprintf(stderr, "data changed by %.*s (%d args) from conn %llu\n",
                        (int)req->lens[0], req->argv[0], req->argc, (unsigned long long)conn);
                abort();
            }
        }
        free(out.p);
    }
    resp_parser_free(rp);
    participant_close(p);
    sim_file_free(disk);
    disk = NULL;
    return 0;
}

/* peer_harness.c -- a participant driven as the simulator drives it, for the replica's
 * unit tests (see peer_harness.h).
 */
#include "peer_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_common.h"
#include "record.h"
#include "resp_writer.h"
#include "sim_log.h"

/* ---- the log: the simulator's file in memory (tests/sim/sim_log.h) ---- */

struct sim_file *disk; /* what survives a crash of the process */
static struct wal *log_of_p;  /* the open log of the participant under test */

static struct wal *open_log(void *arg, journal_replay_fn fn, void *ctx,
                            struct journal_info *info, char *err, size_t errlen)
{
    return log_of_p = sim_log_open(disk, fn, ctx, info, err, errlen);
}

/* A crash of p's process: the log keeps its durable bytes (with tear, half of the submitted
 * rest, which may end inside a record); returns the store, as SQLite kept it. */
struct store *crash(struct participant *p, int tear)
{
    size_t extra = sim_file_len(disk) - sim_file_durable(disk);
    sim_log_crash(log_of_p, tear ? extra / 2 : 0);
    return participant_crash(p);
}

/* ---- driving a participant ---- */

uint64_t rng = 42;

struct participant *open_on(struct store *st)
{
    char err[256];
    struct participant *p = participant_open_with(st, open_log, NULL, err, sizeof err);
    if (!p)
        check_fail(__FILE__, __LINE__, "participant_open_with: %s", err);
    return p;
}

struct participant *open_fresh(void)
{
    char err[256];
    sim_file_free(disk);
    disk = sim_file_new();
    struct store *st = store_open_memory(err, sizeof err);
    if (!st)
        check_fail(__FILE__, __LINE__, "store_open_memory: %s", err);
    return open_on(st);
}

/* Splits cmd on spaces into at most 64 arguments in buf. */
int split(const char *cmd, char *buf, char **argv, size_t *lens)
{
    int argc = 0;
    strcpy(buf, cmd);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        CHECK(argc < 64);
        argv[argc] = tok;
        lens[argc++] = strlen(tok);
    }
    return argc;
}

/* The connection the requests come from (peer.h's session fence). */
uint64_t request_conn;

/* Sends cmd through peer_dispatch and checks the reply's bytes. */
void expect(struct participant *p, const char *cmd, const char *want, size_t wantlen)
{
    char buf[1024], *argv[64];
    size_t lens[64];
    CHECK(strlen(cmd) < sizeof buf);
    struct resp_request req = { split(cmd, buf, argv, lens), argv, lens };
    struct record_buf out = { 0 };
    struct resp_writer w = { record_buf_sink, &out, 2 };
    CHECK_INT_EQ(peer_dispatch(p, &req, &w, &rng, request_conn), 0);
    if (check_mem_diff(out.p, out.len, want, wantlen) != (size_t)-1) {
        fprintf(stderr, "%s\n  got  %.*s\n  want %.*s\n", cmd, (int)out.len,
                out.p ? out.p : "", (int)wantlen, want);
        CHECK_MEM_EQ(out.p, out.len, want, wantlen);
    }
    free(out.p);
    participant_assert_state(p);
}

void sync_log(struct participant *p)
{
    char err[256];
    uint64_t done;
    CHECK(participant_sync(p, err, sizeof err) == 0);
    CHECK(participant_log_progress(p, UINT64_MAX, &done, err, sizeof err) == 0);
}

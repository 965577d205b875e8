/* peer_harness.h -- the replica's unit tests drive a participant as the simulator does:
 * one thread, an in-memory store (store_open_memory) and an in-memory log behind struct
 * wal (the simulator's file, tests/sim/sim_log.h), every request through peer_dispatch()
 * with its reply compared byte for byte. Shared by test_participant.c and
 * test_identity.c.
 *
 *     struct participant *p = open_fresh();      // a new disk, an empty memory store
 *     expect(p, HELLO, R("*10\r\n..." HELLO_TAIL)); // request split on spaces, exact reply
 *     p = open_on(crash(p, 0));                  // kill -9 and restart
 *     st = store_power_loss(crash(p, 0), ...);   // a power cut: SQLite to its checkpoint
 *
 * disk is the current participant's log file; a test that needs two participants keeps the
 * first one's (and frees it) and sets disk to NULL before open_fresh(). Every helper fails
 * the test (check_fail) instead of returning an error.
 */
#ifndef TWOPC_PEER_HARNESS_H
#define TWOPC_PEER_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "participant.h"
#include "peer.h"
#include "store.h"
#include "version.h"
#include "wal.h"

/* A string literal as the (pointer, length) pair expect() takes. */
#define R(s) s, sizeof(s) - 1

/* The coordinator's TPC.HELLO (protocol 2, common/version.h) and the four fields a replica
 * adds after the participant's six: the version chosen, its range and its release. */
#define HELLO "TPC.HELLO 2 2 " TWOPC_VERSION
#define HELLO_STR_(x) #x
#define HELLO_STR(x) HELLO_STR_(x)
/* The chosen version (2, what HELLO offers), then the replica's own range. */
#define HELLO_TAIL                                                                        \
    ":2\r\n:" HELLO_STR(TWOPC_PROTOCOL_MIN) "\r\n:" HELLO_STR(TWOPC_PROTOCOL_VERSION)     \
    "\r\n$5\r\n" TWOPC_VERSION "\r\n"

struct sim_file;

extern struct sim_file *disk; /* what survives a crash of the process */
extern uint64_t rng;          /* peer_dispatch's RANDOMKEY seed */
extern uint64_t request_conn; /* the connection requests come from (peer.h's fence) */

/* A crash of p's process: the log keeps its durable bytes (with tear, half of the submitted
 * rest, which may end inside a record); returns the store, as SQLite kept it. */
struct store *crash(struct participant *p, int tear);
/* A participant on st (taken over) and the current disk. */
struct participant *open_on(struct store *st);
/* A participant on a new disk and an empty memory store (the old disk is freed). */
struct participant *open_fresh(void);
/* Splits cmd on spaces into at most 64 arguments in buf; returns their number. */
int split(const char *cmd, char *buf, char **argv, size_t *lens);
/* Sends cmd through peer_dispatch from request_conn and checks the reply's bytes (and the
 * participant's invariants). */
void expect(struct participant *p, const char *cmd, const char *want, size_t wantlen);
/* Makes the whole vote log durable and lets the participant learn it. */
void sync_log(struct participant *p);

#endif

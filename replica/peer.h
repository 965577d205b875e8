/* peer.h -- the replica's answers to its coordinator: one parsed request in, one reply out.
 *
 * The coordinator-facing command table of a replica, with no sockets and no event loop, so
 * that main.c (a libevent server) and the simulator (a resp_writer over a memory buffer)
 * dispatch requests the same way:
 *
 *     uint64_t rng = seed;
 *     struct resp_writer w = { record_buf_sink, &buf, 2 };
 *     if (peer_dispatch(part, &req, &w, &rng) < 0)
 *         ...not a peer command: the caller answers (INFO, QUIT, unknown command)
 *
 * It handles TPC.PREPARE, TPC.COMMIT, TPC.ABORT, TPC.DURABLE and TPC.HELLO (participant.h;
 * TPC.HELLO <min> <max> <release> also negotiates the protocol version, common/version.h),
 * TPC.READ and TPC.MREAD (reads at the coordinator's clock), TPC.EXPIRED (the coordinator's
 * expiry sweep), TPC.DUMP and TPC.RESTORE BEGIN / ROWS / END (a full resync of a replica
 * that lost data: restore.h), TPC.IDENTIFY <cluster> <replica> (the replica's identity:
 * identity.h), TPC.NOTICE <text> (logged at warning level as "coordinator: <text>",
 * answered +OK: how the coordinator tells a replica's operator why it refuses it), PING,
 * DIGEST, and every read command of exec.c at the wall clock (so that `redis-cli -p
 * <replica> GET k` works). Votes written into w may leave only once the log ticket
 * participant_submit() returns is durable (participant.h, invariant 5): holding them is the
 * caller's job. The request's memory stays the caller's; peer keeps nothing.
 */
#ifndef TWOPC_PEER_H
#define TWOPC_PEER_H

#include <stdint.h>

#include "resp_parser.h"
#include "resp_writer.h"

struct participant;

/* The session fence: conn names the requesting connection (nonzero, never reused while the
 * process lives). TPC.PREPARE, TPC.COMMIT, TPC.ABORT, TPC.RESTORE and TPC.IDENTIFY run only on
 * the coordinator's connection, the session; from any other they are refused (-NO / -ERR
 * "... not the coordinator's ..."), so a command that arrives late on a connection the
 * coordinator has since replaced, or from anyone else, never changes a round. TPC.HELLO
 * answers and does not move the session: the connection takes it at its first fenced
 * command, and only if the session ran nothing since that answer (else it is refused and
 * must say TPC.HELLO again), so a stranger's TPC.HELLO disturbs no round in flight and a
 * new coordinator connection decides exactly the rounds its answer listed (participant.h,
 * participant_take_session; the simulator's --stray-hello checks it). (The simulator found a PREPARE read late from a dead connection, after the new
 * connection's HELLO: the replica held a round nobody would decide, and evaluated later
 * rounds on it.)
 *
 * Handles one coordinator request (TPC.PREPARE, TPC.COMMIT, TPC.ABORT, TPC.DURABLE,
 * TPC.HELLO, TPC.READ, TPC.MREAD, TPC.EXPIRED, TPC.DUMP, TPC.RESTORE, TPC.IDENTIFY,
 * TPC.NOTICE, and the read commands / PING / DIGEST the replica serves), writing its reply
 * into w. Returns 0 if handled (whatever the reply, including Redis's
 * wrong-number-of-arguments error), -1 if req is not a command this module knows (the
 * caller answers the unknown-command error). rng seeds RANDOMKEY-like choices: it is
 * advanced once per read command. */
int peer_dispatch(struct participant *p, const struct resp_request *req, struct resp_writer *w,
                  uint64_t *rng, uint64_t conn);

#endif

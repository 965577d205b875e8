/* version.h -- the twopc release and the wire protocol the daemons speak to each other.
 *
 * TWOPC_VERSION is the release (INFO's twopc_version on both daemons, the start-up line).
 * TWOPC_PROTOCOL_VERSION is the coordinator-replica wire protocol this build speaks, and
 * TWOPC_PROTOCOL_MIN the oldest one it still speaks. Protocol history:
 *   1  twopc 0.1.x: TPC.HELLO without arguments, no cluster secret, no negotiation;
 *   2  twopc 0.2.0: TPC.HELLO <min> <max> <release> negotiates a version (the replica
 *      answers the chosen one, its range and its release after the 6 fields of protocol
 *      1); TPC.CHALLENGE / TPC.AUTH prove the cluster secret before anything else;
 *   3  twopc 0.3.0: TPC.PREPARE TOUCHED GONE: the touched report marks a key the op
 *      changed and left gone 'D' (Redis's "del" event when a pop empties a collection).
 *      The coordinator asks for it only when every replica of the round speaks 3, so a
 *      2..3 coordinator keeps working with 2..2 replicas (without those events).
 * A protocol change bumps TWOPC_PROTOCOL_VERSION; TWOPC_PROTOCOL_MIN rises only when a
 * release stops speaking an old one. A rolling upgrade (README, "Upgrading") works when the
 * new release's range still contains the old release's version.
 *
 * Use: version_init() once at start-up (it reads the test hook below), then
 * version_range() wherever the range is needed; version_choose() is the negotiation both
 * sides agree on.
 *
 * Test hook: the environment variable TWOPC_PROTOCOL_RANGE=MIN-MAX, read by version_init(),
 * replaces the range this process speaks, so tests can play an older or a newer release
 * without its binary (tests/integration/test_versions.py). It is not an option: it is not
 * in --help and production never sets it.
 */
#ifndef TWOPC_VERSION_H
#define TWOPC_VERSION_H

#include <stddef.h>

#define TWOPC_VERSION "0.3.0"
#define TWOPC_PROTOCOL_VERSION 3
#define TWOPC_PROTOCOL_MIN 2
/* The first protocol whose TPC.PREPARE takes TOUCHED GONE. */
#define TWOPC_PROTOCOL_GONE 3

/* Round ids. A coordinator issues them one by one from 1, so none it ever issues reaches
 * TWOPC_RID_LIMIT (2^62: 146,000 years at a million rounds a second), and nothing adding
 * one to a round id can wrap. A replica refuses any round id at or past it, and one more
 * than TWOPC_RID_MAX_AHEAD past the highest it has seen (a stray or hostile PREPARE: the
 * coordinator's rounds reach a replica in order, and a replica that missed many is
 * repaired, which moves its mark first); a coordinator refuses a replica reporting such a
 * round instead of numbering its rounds after it (which once wrapped to 0 and made every
 * later round "stale", for good). */
#define TWOPC_RID_LIMIT ((unsigned long long)1 << 62)
#define TWOPC_RID_MAX_AHEAD ((unsigned long long)1 << 40)

/* Reads TWOPC_PROTOCOL_RANGE if set. Returns 0, or -1 with a message in err when the
 * variable is malformed (the daemon then refuses to start). */
int version_init(char *err, size_t errlen);

/* The protocol versions this process speaks, inclusive. */
void version_range(int *min, int *max);

/* The version two parties speak together: the newest both know, or -1 if their ranges do
 * not overlap. */
int version_choose(int min_a, int max_a, int min_b, int max_b);

#endif

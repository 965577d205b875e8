/* notify.h -- Redis's keyspace notifications (notify-keyspace-events), for committed
 * writes only.
 *
 * The round engine's commit hook hands every op of every committed round, in commit order,
 * with what the replicas reported it changed (TPC.PREPARE TOUCHED: one '0'/'1' per
 * argument) and its committed result. For each key an op changed, notify_on_commit() publishes Redis 7.0's event
 * (the command's own name for it: "set", "del", "expire", "rename_from" ...) on
 * __keyspace@0__:<key> (message: the event) and __keyevent@0__:<event> (message: the key),
 * as the K and E flags and the event's class (g, $, x ...) ask. The replies of the round
 * go out after its notifications, as in Redis, where they are published while the command
 * runs.
 *
 *     notify_wanted()           (the commit hook's wanted(): notifications are on and
 *                                someone is subscribed, so the replicas must say TOUCHED)
 *     notify_on_commit(op, touched, len, result, rlen)
 *
 * Without the replicas' report (touched NULL: nobody listened when the round was prepared)
 * nothing is published: twopc does not guess. The op's committed result tells a *STORE's
 * or BITOP's "del" (an empty result) from its own event. Events it does not emit: the
 * "del" Redis adds when a pop or removal empties a collection (the report says a key
 * changed, not that it is gone), FLUSHDB/FLUSHALL (none in Redis either), keyspace misses
 * and "new" (m, n), evictions (none here), and "expired" for a key found expired by a read
 * (the sweep's deletions, TPC.EXPIREDEL, do emit it).
 */
#ifndef TWOPC_NOTIFY_H
#define TWOPC_NOTIFY_H

#include <stddef.h>

struct op;

/* Redis 7.0's notify-keyspace-events flags (server.h NOTIFY_*). */
enum notify_flag {
    NOTIFY_KEYSPACE = 1 << 0, /* K */
    NOTIFY_KEYEVENT = 1 << 1, /* E */
    NOTIFY_GENERIC = 1 << 2,  /* g */
    NOTIFY_STRING = 1 << 3,   /* $ */
    NOTIFY_LIST = 1 << 4,     /* l */
    NOTIFY_SET = 1 << 5,      /* s */
    NOTIFY_HASH = 1 << 6,     /* h */
    NOTIFY_ZSET = 1 << 7,     /* z */
    NOTIFY_EXPIRED = 1 << 8,  /* x */
    NOTIFY_EVICTED = 1 << 9,  /* e */
    NOTIFY_STREAM = 1 << 10,  /* t */
    NOTIFY_KEY_MISS = 1 << 11, /* m */
    NOTIFY_MODULE = 1 << 12,  /* d */
    NOTIFY_NEW = 1 << 13,     /* n */
};
/* A: every class but m and n. */
#define NOTIFY_ALL (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | \
                    NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM |           \
                    NOTIFY_MODULE)

/* Redis's keyspaceEventsStringToFlags: the flags of s, or -1 for a character that is no
 * flag (CONFIG SET's "Invalid event class character ..."). */
int notify_flags_parse(const char *s);
/* Redis's keyspaceEventsFlagsToString into buf (at least 16 bytes): "AKE", "g$xK" ... */
const char *notify_flags_string(int flags, char *buf, size_t len);

/* What CONFIG SET notify-keyspace-events (settings.c) chose: publish from now on. */
void notify_set_flags(int flags);

int notify_wanted(void);
void notify_on_commit(const struct op *op, const char *touched, size_t len,
                      const char *result, size_t rlen);

#endif

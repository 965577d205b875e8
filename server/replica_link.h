/* replica_link.h -- the coordinator's connection to one replica (hiredis async + libevent).
 *
 * A link keeps one persistent, pipelined connection to a replica and reconnects on its own
 * every LINK_RETRY_MS while the replica is unreachable. Its life:
 *
 *     DOWN ──connected──▶ SYNCING ──TPC.HELLO answered──▶ READY
 *       ▲  │                 ▲  │                              │
 *       │  └─(secret)─▶ AUTH ┘  │                              │
 *       └───────────────────────┴────────── disconnected ──────┘
 *
 * With a cluster secret (common/secret.h) a new connection first proves it: AUTH sends
 * TPC.CHALLENGE, answers the nonce with TPC.AUTH <proof>, and only on +OK moves to SYNCING.
 * TPC.HELLO carries this process's protocol range (common/version.h); the replica answers
 * the version both speak. A refusal on either side -- a proof refused, a replica without a
 * secret (or one that wants it from a coordinator without), no common protocol version, a
 * replica of protocol 1 -- closes the connection with a warning that names the replica and
 * both versions (logged again only when the reason changes or every 10 s; link_refusal()
 * keeps it for INFO), and the link retries like a down link.
 *
 * On the HELLO answer the owner's on_hello hook runs first (the coordinator re-sends the
 * decisions this replica missed, which then travel ahead of anything else on the pipelined
 * connection), and only then does the link become READY: a READY link has been sent every
 * committed round, so reads sent on it afterwards see them.
 *
 * Transition table (every change goes through set_state() in replica_link.c, which asserts
 * it and logs it; link_assert() checks the per-state invariants after each):
 *
 *   from      event                                to        done by
 *   DOWN      TCP connected, no secret (TPC.HELLO  SYNCING   connect_cb()
 *             sent first)
 *   DOWN      TCP connected, a secret (TPC.CHALLENGE AUTH    connect_cb()
 *             sent first)
 *   AUTH      TPC.AUTH answered +OK (TPC.HELLO     SYNCING   auth_cb()
 *             sent)
 *   AUTH      challenge or proof refused           (closing) refuse(): disconnect
 *   SYNCING   HELLO answered, on_hello returned 0  READY     hello_cb()
 *   SYNCING   bad HELLO answer, a refusal, or      (closing) hello_cb(): disconnect
 *             on_hello -1
 *   SYNCING   on_hello returned 1: the replica's   REPAIR    hello_cb(): it stays
 *             data is incomplete                             connected for the engine's
 *                                                            repair, never READY
 *   REPAIR    link_drop() (repaired: a new HELLO)  SYNCING   link_drop(): disconnect
 *   READY     link_drop() (refused a decision)     SYNCING   link_drop(): disconnect
 *   any       connection lost or connect failed    DOWN      went_down(): retry timer
 *
 * Per-state invariants: DOWN has nothing pending (a connection attempt may be under way);
 * AUTH, SYNCING, READY and REPAIR have a connection; only READY serves reads and writes.
 *
 * Commands go out with link_send(); its callback runs exactly once: with the reply, or with
 * NULL when the connection is lost or was never up (then link_send returns -1 and the
 * callback is NOT called). Replies are opaque (struct link_reply, link_reply.h) so no other
 * module sees hiredis; link_reply_write() re-encodes one for a client.
 *
 * Liveness. TCP alone does not notice a silent partition: the connection stays open while
 * the kernel retransmits with backoff, and after the network heals the link only comes back
 * when the next retransmission gets through (11 s after a 15 s partition). So every link
 * watches itself, with one timeout, link_timeout() (--link-timeout-ms, CONFIG
 * link-timeout-ms, default LINK_TIMEOUT_MS; settings.c never sets it below
 * --prepare-timeout-ms, since a vote may honestly take that long):
 *   - a connect not completed within the timeout is abandoned and retried LINK_RETRY_MS
 *     later (hiredis 0.14 has no connect timeout of its own);
 *   - a request outstanding with no reply for the timeout drops the connection: pending
 *     callbacks run with NULL, exactly as on a lost connection (a NO vote, a read re-sent
 *     elsewhere), the link goes DOWN and reconnects through TPC.HELLO;
 *   - a link with nothing outstanding for a quarter of the timeout sends a PING (the
 *     heartbeat), so an idle link is checked too.
 * The timeout must outlast the slowest honest answer: a vote waits for the replica's
 * fdatasync, a TPC.DUMP chunk reads --repair-chunk keys. A replica stopped (SIGSTOP) is
 * dropped and reconnected every timeout + LINK_RETRY_MS until it runs again.
 */
#ifndef TWOPC_REPLICA_LINK_H
#define TWOPC_REPLICA_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "link_reply.h"

#define LINK_RETRY_MS 100 /* fast enough to notice a restarted replica within a second */
/* The default link timeout: twice the default prepare timeout, so a slow vote aborts its
 * round (500 ms) before its link is dropped, and short enough that writes resume within
 * about a second of a partition healing (docs/network-faults.md has the figures). */
#define LINK_TIMEOUT_MS 1000

enum link_state { LINK_DOWN, LINK_SYNCING, LINK_READY, LINK_REPAIR, LINK_AUTH,
                  LINK_STATE_MAX };

struct event_base;
struct link;

struct link_events {
    /* Returns 0, or -1 if it could not do its part (the link then does not become READY:
     * it is dropped and reconnects), or 1 if the replica needs repair (REPAIR). */
    int (*on_hello)(void *ctx, struct link *l, const struct link_hello *h);
    void (*on_down)(void *ctx, struct link *l);
    void *ctx;
};

typedef void (*link_reply_fn)(struct link *l, const struct link_reply *r, void *arg);

/* Creates the link and starts connecting. index is its position in the coordinator's
 * list. Returns NULL if addr isn't "host:port". */
struct link *link_new(struct event_base *base, const char *addr, int index,
                      const struct link_events *ev);
void link_free(struct link *l);

enum link_state link_state(const struct link *l);
const char *link_addr(const struct link *l);
int link_index(const struct link *l);
const char *link_state_name(enum link_state s);
uint64_t link_connects(const struct link *l);
/* The protocol version the replica agreed to at its last TPC.HELLO (0: none yet). */
int link_proto(const struct link *l);
/* Why the replica or this coordinator refused the other at the last attempt ("" when the
 * last HELLO succeeded). */
const char *link_refusal(const struct link *l);

/* True if a request has been outstanding for more than stall_ms without any reply: the
 * replica is connected but not answering (stopped, swapping, a disk stuck). Reads avoid a
 * stalled link and writes fail fast instead of waiting for the prepare timeout. */
int link_stalled(const struct link *l, uint64_t stall_ms);

/* The replica has been given work that may honestly keep it silent ms longer than the link
 * timeout (a big PREPARE to evaluate and log, a big COMMIT to apply: the round engine
 * computes it with util_work_allowance_ms). The allowance adds up over requests sent and
 * lasts until no request is outstanding; the watchdog and link_stalled() count it. Call it
 * just before sending the request. */
void link_allow(struct link *l, uint64_t ms);

/* The link timeout of every link, in ms (at least 1); takes effect at each link's next
 * watchdog tick. */
void link_set_timeout(int ms);
int link_timeout(void);

/* Closes the connection on purpose (a replica that refused a decision is out of step):
 * pending callbacks run with NULL, the link goes DOWN, stops serving reads, and reconnects
 * through TPC.HELLO, which re-sends its missed decisions in order. Safe inside a callback. */
void link_drop(struct link *l, const char *why);

/* Sends one command. Returns 0 (fn will run exactly once) or -1 (link not connected; fn
 * will not run). */
int link_send(struct link *l, int argc, const char **argv, const size_t *lens,
              link_reply_fn fn, void *arg);

/* The same command for several links (a round's PREPARE): formatted once with
 * link_format() (link_reply.h), then sent on each link with link_send_formatted(), which
 * behaves as link_send(). */
int link_send_formatted(struct link *l, const char *cmd, size_t len, link_reply_fn fn,
                        void *arg);

#endif

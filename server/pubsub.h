/* pubsub.h -- Redis's publish/subscribe, answered by the coordinator alone (no replica,
 * no round: nothing is stored).
 *
 * SUBSCRIBE / UNSUBSCRIBE (channels), PSUBSCRIBE / PUNSUBSCRIBE (glob patterns, common/
 * glob.h), SSUBSCRIBE / SUNSUBSCRIBE (shard channels: one shard here, so they behave as
 * Redis 7.0 outside a cluster), PUBLISH, SPUBLISH and PUBSUB CHANNELS | NUMSUB | NUMPAT |
 * SHARDCHANNELS | SHARDNUMSUB | HELP, with Redis 7.0's replies: a confirmation per channel
 * ("subscribe", channel, count) and each message as a push (RESP3 '>') or an array (RESP2).
 * A client subscribed to a channel and to a matching pattern gets both messages, channel
 * first. PUBLISH's reply counts every delivery (a client counted once per matching pattern).
 *
 *     pubsub_init();                         (start-up: registers the commands)
 *     pubsub_active(cl)                      (request.c: RESP2's subscribed context; PING)
 *     pubsub_forget(cl);                     (RESET, and the client's connection closed)
 *     pubsub_counts(&ch, &pat, &shard);      (INFO stats)
 *     pubsub_publish(ch, len, msg, len);     (keyspace notifications)
 *
 * While a client has a subscription it is in Redis's pub/sub context: its conn takes the
 * pubsub class of client-output-buffer-limit (conn.h), CLIENT LIST shows flag P and its
 * sub=/psub=/ssub= counts, and in RESP2 it may only run (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE,
 * PING, QUIT and RESET (request.c refuses the rest with Redis's text).
 *
 * Ownership: the channel tables are this module's; each client's list of subscriptions is
 * kept with the client (client_pubsub()) and freed by pubsub_forget(), which must run before
 * the client is freed (main.c's on_close hook), so no channel ever points at a gone client.
 */
#ifndef TWOPC_PUBSUB_H
#define TWOPC_PUBSUB_H

#include <stddef.h>

struct client;

/* Returns 0, or -1 if the table could not be registered (out of memory). */
int pubsub_init(void);

/* True while cl has a channel, pattern or shard channel subscription (Redis's
 * CLIENT_PUBSUB flag). */
int pubsub_active(const struct client *cl);

/* cl's subscriptions: channels, patterns, shard channels (CLIENT LIST's sub, psub, ssub). */
void pubsub_client_counts(const struct client *cl, size_t *sub, size_t *psub, size_t *ssub);

/* PUBLISH channel message from the server itself (keyspace notifications, notify.h).
 * Returns the deliveries made. */
size_t pubsub_publish(const char *channel, size_t chlen, const char *msg, size_t msglen);
/* True if any client has a channel or pattern subscription (a publish may reach someone). */
int pubsub_listened(void);

/* Drops every subscription of cl without a reply (RESET, a closed connection). */
void pubsub_forget(struct client *cl);

/* Channels, patterns and shard channels with at least one subscriber (INFO's
 * pubsub_channels, pubsub_patterns, pubsubshard_channels). */
void pubsub_counts(size_t *channels, size_t *patterns, size_t *shard_channels);

#endif

/* request.h -- the checklist every client request passes before its command runs.
 *
 * main.c installs request_dispatch() as the client layer's dispatch hook. For each request,
 * in Redis 7's order (processCommand):
 *   1. unknown command, unknown subcommand of a container (CLIENT, CONFIG, COMMAND,
 *      SLOWLOG, LATENCY), wrong arity of the command or of its subcommand: Redis's error
 *      (registry_check() gives the text), and an open MULTI is flagged so that EXEC fails
 *      with EXECABORT -- a subcommand error is thus refused at queue time, not at EXEC;
 *   2. NOAUTH while a password is required and the client has not authenticated (AUTH,
 *      HELLO, QUIT and RESET are allowed); then, for a RESP2 client with a pub/sub
 *      subscription, Redis's "ERR Can't execute '<cmd>': only (P|S)SUBSCRIBE / ..." for
 *      anything but (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET (pubsub.h);
 *   3. while the round engine is still recovering at start-up (txn_loading() is not NULL),
 *      a command without CMD_LOADING (registry.h: Redis 7's `loading` flag) gets
 *      "LOADING twopc is recovering: <what it waits for>"; INFO, AUTH, HELLO, CLIENT,
 *      CONFIG, REPLICASET ... still run, PING and every data command do not;
 *   4. a MONITOR client may not touch the keyspace;
 *   5. inside MULTI, every command but EXEC, DISCARD, MULTI, WATCH, QUIT and RESET is queued
 *      (multi.c);
 *   6. the command runs (its fn; a container's fn runs the subcommand checked at 1). Around
 *      it: the writes it submits are tracked for WATCH (watch.c), its time from arrival to
 *      reply feeds SLOWLOG (slowlog.c), it is counted for INFO (stats.c), and it is shown
 *      to MONITOR clients (monitor.c).
 * A request rejected at 1-4 that is EXEC aborts the transaction instead ("EXECABORT
 * Transaction discarded because of: <error>"), as Redis does. The command found at 1 (or
 * "NULL") is what CLIENT LIST shows as cmd=, even when the request is then refused.
 *
 * This is the top of the client front end: it includes the modules it drives, and none of
 * them includes it (docs/code-map.md has the layering).
 */
#ifndef TWOPC_REQUEST_H
#define TWOPC_REQUEST_H

#include "resp_parser.h"

struct client;
struct coord;

/* Gives the checklist the round engine (step 3). Before it, or with NULL, nothing is ever
 * refused as loading. */
void request_init(struct coord *c);

void request_dispatch(struct client *cl, const struct resp_request *req);

/* The client layer's ctx_done hook (see client_offer_ctx): the command's reply is ready. */
void request_ctx_done(struct client *cl, void *ctx);

#endif

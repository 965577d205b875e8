/* request.h -- the checklist every client request passes before its command runs.
 *
 * main.c installs request_dispatch() as the client layer's dispatch hook. For each request,
 * in Redis 7's order (processCommand):
 *   1. unknown command, unknown subcommand of a container (CLIENT, CONFIG, COMMAND,
 *      SLOWLOG, LATENCY), wrong arity of the command or of its subcommand: Redis's error
 *      (commands_check() gives the text), and an open MULTI is flagged so that EXEC fails
 *      with EXECABORT -- a subcommand error is thus refused at queue time, not at EXEC;
 *   2. NOAUTH while a password is required and the client has not authenticated (AUTH,
 *      HELLO, QUIT and RESET are allowed);
 *   3. a MONITOR client may not touch the keyspace;
 *   4. inside MULTI, every command but EXEC, DISCARD, MULTI, WATCH, QUIT and RESET is queued
 *      (multi.c);
 *   5. the command runs (its fn; a container's fn runs the subcommand checked at 1). Around
 *      it: the writes it submits are tracked for WATCH (multi.c), its time from arrival to
 *      reply feeds SLOWLOG, it is counted for INFO, and it is shown to MONITOR clients.
 * A request rejected at 1-3 that is EXEC aborts the transaction instead ("EXECABORT
 * Transaction discarded because of: <error>"), as Redis does. The command found at 1 (or
 * "NULL") is what CLIENT LIST shows as cmd=, even when the request is then refused.
 *
 * Also here, for the command files: the HELP reply (request_help), the MONITOR feed, and
 * the counters INFO shows.
 */
#ifndef TWOPC_REQUEST_H
#define TWOPC_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "resp_parser.h"

struct client;
struct resp_writer;

void request_dispatch(struct client *cl, const struct resp_request *req);

/* commands_lookup(), through a hash: the command named name[0..len) (any case) or NULL. */
struct command;
const struct command *request_lookup(const char *name, size_t len);

/* The client layer's ctx_done hook (see client_offer_ctx): the command's reply is ready. */
void request_ctx_done(struct client *cl, void *ctx);

/* Answers a HELP subcommand: an array of the n lines, as simple strings (Redis's form). */
void request_help(struct client *cl, const char *const *lines, size_t n);

/* Sends one command line to every MONITOR client, in Redis's format:
 * +1339518083.107412 [0 127.0.0.1:60866] "set" "k" "v" */
void request_feed_monitors(const struct client *cl, int argc, char *const *argv,
                           const size_t *lens);

struct request_stats {
    uint64_t commands;      /* total_commands_processed */
    uint64_t ops_per_sec;   /* instantaneous_ops_per_sec */
};
void request_get_stats(struct request_stats *st);
void request_reset_stats(void);

/* Called every REQUEST_CRON_MS by main.c: samples ops/sec and closes idle clients. */
#define REQUEST_CRON_MS 100
void request_cron(void);

#endif

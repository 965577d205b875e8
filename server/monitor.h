/* monitor.h -- the MONITOR feed: every command, as clients in MONITOR mode see it.
 *
 * request.c calls monitor_feed() for each command it runs (unless monitor_hidden() says
 * the command is one Redis does not show), and multi.c for each command of an EXEC; the
 * line goes, in Redis's format, to every client with the MONITOR flag (client.h keeps the
 * flag and the count):
 *
 *     +1339518083.107412 [0 127.0.0.1:60866] "set" "k" "v"
 *
 * The line is built only when some client is monitoring. MONITOR itself (the command that
 * sets the flag) is in session.c.
 */
#ifndef TWOPC_MONITOR_H
#define TWOPC_MONITOR_H

#include <stddef.h>

#include "resp_parser.h"

struct client;

/* Sends the command argv[0..argc) run by cl to every MONITOR client, its secrets (AUTH's
 * password, HELLO's AUTH pair...: redact.h) shown as "(redacted)", as Redis 7 shows them. */
void monitor_feed(const struct client *cl, int argc, char *const *argv, const size_t *lens);

/* 1 if MONITOR does not show the command named name (lowercase) with these arguments:
 * Redis 7 hides admin commands (CONFIG, DEBUG, CLIENT KILL ...); AUTH and HELLO it shows,
 * redacted. */
int monitor_hidden(const char *name, const struct resp_request *req);

#endif

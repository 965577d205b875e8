/* session.h -- connection and server commands the coordinator answers itself: PING, ECHO,
 * QUIT, SELECT, AUTH, HELLO, RESET, MONITOR, TIME, SHUTDOWN, DEBUG DIGEST.
 *
 * session_init() registers them with the command registry (registry.h). Authentication
 * is Redis's with only the `default` user and the password of settings.h; request.c
 * refuses other commands with NOAUTH until AUTH (or HELLO ... AUTH) succeeds. SHUTDOWN
 * stops c->base's loop; DEBUG DIGEST asks every replica link of c->txn for its digest.
 * SELECT sets the client's database (client_db); RESET sets it back to 0; HELLO and AUTH
 * leave it as it is, as in Redis. Inside MULTI, SELECT is queued like any command and runs
 * at EXEC, where multi.c also wraps the data commands queued after it in its database.
 */
#ifndef TWOPC_SESSION_H
#define TWOPC_SESSION_H

struct coord;

/* Returns 0, or -1 when out of memory. */
int session_init(struct coord *c);

#endif

/* auth.h -- the replica's gate: who may run which command on a connection.
 *
 * Two kinds of commands reach a replica, and each has its own guard:
 *   - internal commands, the coordinator's protocol: every TPC.* command except the two
 *     that prove the secret. With a cluster secret (secret.h) they run only on a connection
 *     that proved it (TPC.CHALLENGE, then TPC.AUTH); elsewhere they get
 *     -NOAUTH internal command refused: ... and a (rate-limited) warning names the peer.
 *     Without a secret they run for anyone, as before: fine on loopback, and the replica
 *     refuses to start on another address unless protected-mode is off (auth_check_bind).
 *   - client commands (reads, INFO, DIGEST, PING, COMMAND): with --requirepass they need
 *     AUTH [default] <password> first (Redis 7's replies, byte for byte); a connection that
 *     proved the cluster secret may run them too. QUIT always works.
 *
 * Use: auth_set_requirepass() / auth_set_protected_mode() while parsing options,
 * auth_check_bind() before listening, then auth_gate() first thing for every request (it
 * answers AUTH, TPC.CHALLENGE, TPC.AUTH and every refusal itself) and auth_conn_close()
 * from the connection's on_close. The per-connection state (the pending nonce, whether it
 * is trusted or authenticated) hangs off conn_data() and is this module's.
 *
 * The simulator calls peer_dispatch() directly, behind no gate: the gate is a property of
 * the daemon's sockets, not of the protocol's state machine.
 */
#ifndef TWOPC_REPLICA_AUTH_H
#define TWOPC_REPLICA_AUTH_H

#include <stddef.h>

#include "resp_parser.h"

struct conn;

/* --requirepass PASSWORD (empty: none). Returns 0, or -1 if out of memory. */
int auth_set_requirepass(const char *password);

/* --protected-mode yes|no. Returns 0, or -1 with a message in err. */
int auth_set_protected_mode(const char *value, char *err, size_t errlen);

/* The start-up check: without a cluster secret, with protected mode on, a replica bound to
 * anything but a loopback address would take internal commands from anyone who can reach
 * it. Returns 0, or -1 with the message to print. Also warns (log) when requirepass is set
 * without a secret: the internal commands then stay open on this port. */
int auth_check_bind(const char *bind, char *err, size_t errlen);

/* Runs before the command tables. Returns 1 when the gate answered the request (AUTH,
 * TPC.CHALLENGE, TPC.AUTH, a refusal), 0 when the caller goes on dispatching it. */
int auth_gate(struct conn *c, const struct resp_request *req);

/* Frees c's state; call from on_close. */
void auth_conn_close(struct conn *c);

/* conn_ops.on_open: a new connection starts under Redis's limits before AUTH (conn.h)
 * while a password or a cluster secret is set. Returns 0, or -1 if out of memory. */
int auth_conn_open(struct conn *c);

#endif

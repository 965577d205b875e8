/* multi.h -- MULTI / EXEC / DISCARD / WATCH / UNWATCH: transactions as one 2PC round.
 *
 * Inside MULTI, request.c hands every command to multi_queue(): data commands (any command
 * flagged read or write in the command table) and the coordinator's own local commands are
 * queued and answered +QUEUED; an unknown command or subcommand, a wrong arity (of a command
 * or of a subcommand, e.g. CLIENT GETNAME x) or a refused command flags the transaction, and
 * EXEC then answers EXECABORT. EXEC builds one TX op
 * (`TX n {argc arg...}*n`, see replica/exec.h) from the data commands and submits it as a
 * single write: every replica runs the sub-commands in order, atomically, in one round. Local
 * commands (PING, ECHO, INFO, CLIENT ...) run on the coordinator when the TX is submitted and
 * their replies are spliced into EXEC's array at their places.
 *
 * WATCH, with Redis's semantics: EXEC answers a null array when a watched key was changed
 * by a committed command after WATCH, including by this same client (watch.h tells how
 * that is kept exact while writes are in flight):
 *   - EXEC with watched keys waits while a write on one of them is undecided, then checks
 *     the dirty flag and, if clean, submits the TX in the same step. Ops commit in the
 *     order they were submitted, so nothing can commit between that check and the TX;
 *   - WATCH waits for the client's own outstanding writes (like a read does), so a SET
 *     pipelined before WATCH does not dirty it.
 *
 * Ownership: the per-client state is created on first use and freed by multi_forget() when
 * the connection closes (or RESET). An EXEC waiting for its keys owns its queue and watch
 * list; it answers (or, for a closed client, drops) its reply exactly once.
 */
#ifndef TWOPC_MULTI_H
#define TWOPC_MULTI_H

#include <stddef.h>

#include "resp_parser.h"

struct client;
struct command;
struct coord;

/* Registers MULTI, EXEC, DISCARD, WATCH and UNWATCH, and has watch.c wake EXECs waiting
 * for their keys (from c->base's loop). Returns 0, or -1 when out of memory. The round
 * engine's commit hook must lead to watch.c (main.c installs watch_on_commit). */
int multi_init(struct coord *c);

int multi_active(const struct client *cl);           /* between MULTI and EXEC/DISCARD */
int multi_queued_count(const struct client *cl);     /* -1 outside MULTI */
int multi_dirty(const struct client *cl);            /* a watched key changed */

/* A command was refused while the client is in MULTI: EXEC will answer EXECABORT. */
void multi_flag(struct client *cl);
/* EXEC itself was refused with err (arity, NOAUTH...): answers "EXECABORT Transaction
 * discarded because of: <err>" and discards the transaction. */
void multi_exec_abort(struct client *cl, const char *err);
/* Queues cmd for EXEC (or refuses it), answering +QUEUED or the error. */
void multi_queue(struct client *cl, const struct command *cmd, const struct resp_request *req);
/* Discards the transaction and every watched key: the connection closed, or RESET. */
void multi_forget(struct client *cl);

#endif

/* client_cmd.h -- the CLIENT command: ID, GETNAME, SETNAME, SETINFO, INFO, LIST, KILL, REPLY,
 * NO-EVICT, PAUSE/UNPAUSE (accepted), HELP, with Redis's formats and error texts.
 *
 * CLIENT LIST / INFO print Redis 7's fields (plus 7.2's lib-name and lib-ver). What the
 * coordinator does not have is printed as Redis prints it for a plain client:
 * db=0, sub=0, psub=0, ssub=0, argv-mem=0, multi-mem=0, rbs/rbp=0, user=default, redir=-1.
 * qbuf is the unparsed input plus the request being parsed, omem the output not yet written,
 * oll the replies queued behind a write still in its round.
 */
#ifndef TWOPC_CLIENT_CMD_H
#define TWOPC_CLIENT_CMD_H

/* The error for a name with spaces or special characters (CLIENT SETNAME, HELLO SETNAME). */
#define CLIENT_CMD_BAD_NAME \
    "ERR Client names cannot contain spaces, newlines or special characters."

/* Registers CLIENT with the command registry. Returns 0, or -1 when out of memory. */
int client_cmd_init(void);

#endif

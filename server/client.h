/* client.h -- a client connection of the coordinator and its replies in request order.
 *
 * A client may pipeline: its later commands are parsed and dispatched while an earlier
 * write waits for its 2PC round, but replies must leave in request order. Each command that
 * cannot be answered at once gets a slot in the client's reply queue; whoever completes it
 * (the round engine, a replica read) writes the reply into the slot and calls slot_done().
 * Completed slots at the head of the queue are flushed to the socket:
 *
 *     requests:  SET a 1     GET b       SET c 2
 *     queue:     [slot1 w] → [slot2 r] → [slot3 w]
 *     GET b returns first:   slot2 done, but slot1 is not, so nothing is sent yet;
 *     round commits a, c:    slot1, slot3 done → slot1, slot2, slot3 flushed, in order.
 *
 * Read-your-writes: a read is dispatched only when none of this client's writes is still
 * outstanding (else the connection pauses until they complete), so a GET pipelined after
 * the same client's SET always sees it.
 *
 * Ownership: slots belong to their client. A client whose connection closed lives on until
 * its last slot is done (its replies are then dropped), so completers never hold dangling
 * pointers.
 */
#ifndef TWOPC_CLIENT_H
#define TWOPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "resp_parser.h"
#include "resp_writer.h"

struct conn;
struct client;
struct slot;

/* Hooks the command layer provides. */
struct client_hooks {
    /* Runs one request of a client. */
    void (*dispatch)(struct client *cl, const struct resp_request *req);
};

void client_init(const struct client_hooks *hooks);

/* conn_ops callbacks (see conn.h) wired to clients. */
int client_on_open(struct conn *c);
void client_on_request(struct conn *c, const struct resp_request *req);
void client_on_close(struct conn *c);

/* The writer for an immediate reply (only valid while no slot is pending ahead of it:
 * client_reply_writer() returns a slot's writer itself when needed). The returned writer
 * is valid until the next call on this client. */
struct resp_writer *client_reply_writer(struct client *cl);

/* Opens a slot for a reply that will come later. is_write: it counts as an outstanding
 * write for read-your-writes. Returns NULL when out of memory. */
struct slot *client_slot_new(struct client *cl, int is_write);
struct resp_writer *slot_writer(struct slot *s);
void slot_done(struct slot *s);

/* The client has outstanding writes: a read must wait. */
int client_has_writes(const struct client *cl);
/* Parks req until this client's writes are done, then dispatches it. */
void client_park(struct client *cl, const struct resp_request *req);

struct conn *client_conn(const struct client *cl); /* NULL once closed */
int client_proto(const struct client *cl);
void client_set_proto(struct client *cl, int proto);
uint64_t client_id(const struct client *cl);
void client_close_after_reply(struct client *cl);

size_t client_count(void);

#endif

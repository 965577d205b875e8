/* replicaset_cmd.h -- the REPLICASET command: the operator's view of the replica set and
 * its online changes (LIST, ADD, REMOVE, REPLACE, HELP).
 *
 * The replica set itself (cluster id, epoch, members and their states, every change made
 * durable in the decision log first) is the round engine's (engine/txn.h, txn_members.c);
 * this file only turns its API into replies:
 *
 *     REPLICASET LIST                      array, one entry per member, each a map (RESP3)
 *                                          or a flat field/value array (RESP2): id (int),
 *                                          addr, state ("in-sync" | "out"), link ("ready",
 *                                          "down", "syncing", "repair"), epoch (int),
 *                                          applied (int), why ("" or why it waits for repair)
 *     REPLICASET ADD <host:port>           the new member's replica id (int)
 *     REPLICASET REMOVE <addr|id>          +OK
 *     REPLICASET REPLACE <addr|id> <host:port>   the new member's replica id (int)
 *
 * An error from the engine is sent as the engine wrote it (a Redis error line). Unknown
 * subcommands and wrong arities get Redis's texts from the registry (".. Try REPLICASET
 * HELP."). REPLICASET is allowed while the coordinator is recovering (CMD_LOADING): a
 * replica that never comes back is what an operator removes or replaces then.
 */
#ifndef TWOPC_REPLICASET_CMD_H
#define TWOPC_REPLICASET_CMD_H

struct coord;

/* Registers REPLICASET with the command registry. Returns 0, or -1 when out of memory. */
int replicaset_cmd_init(struct coord *c);

#endif

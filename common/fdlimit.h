/* fdlimit.h -- the open-files limit and maxclients, as Redis sets them at start-up.
 *
 * Every client costs a descriptor, and the daemon needs a few more of its own (listener,
 * logs, the replica links or the SQLite files, libevent's): FDLIMIT_RESERVED, Redis's
 * CONFIG_MIN_RESERVED_FDS. fdlimit_adjust() raises RLIMIT_NOFILE toward maxclients +
 * FDLIMIT_RESERVED if the process may, and otherwise returns the lower maxclients the limit
 * allows, logging it once in Redis's words (adjustOpenFilesLimit in server.c). A daemon
 * whose maxclients is then never above its descriptors refuses the extra clients with
 * "-ERR max number of clients reached" instead of failing accept() over and over.
 *
 * Use: once, after the options are parsed and the log is open, before listening:
 *     long long mc = fdlimit_adjust(maxclients);   // mc <= maxclients; -1: cannot start
 */
#ifndef TWOPC_FDLIMIT_H
#define TWOPC_FDLIMIT_H

#define FDLIMIT_RESERVED 32

/* Returns the maxclients the descriptor limit allows (maxclients itself if the limit is
 * or could be made high enough), or -1 after logging that the limit is too low to start
 * at all (FDLIMIT_RESERVED descriptors or fewer). */
long long fdlimit_adjust(long long maxclients);

#endif

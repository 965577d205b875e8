/* coord.h -- the coordinator's shared handles: what main.c builds at start-up and hands to
 * each module's init function.
 *
 * A plain struct, no functions: main.c fills it (the event loop, the round engine, the
 * client listener, the command line's addresses and folders) and passes a pointer to the
 * modules that need one of its parts (data_cmd_init, session_init, info_init, multi_init,
 * settings_init, expire_start). They keep the pointer; main.c owns the struct and
 * outlives them all. Nothing here includes another twopc header, so any module may
 * include it without joining a cycle.
 */
#ifndef TWOPC_COORD_H
#define TWOPC_COORD_H

#include <stdint.h>

struct conn_server;
struct event_base;
struct txn;

struct coord {
    struct event_base *base;
    struct txn *txn;
    struct conn_server *srv;
    const char *bind, *dir, *executable, *config_file;
    int port, prepare_timeout_ms;
    int databases; /* SELECT's range: 0 .. databases - 1 (--databases, default 16) */
    uint64_t start_ms;
};

#endif

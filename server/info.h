/* info.h -- INFO and COMMAND: what tools ask a server about itself (cmd_info and
 * cmd_command are declared in commands.h with the other local commands).
 *
 * The versions HELLO and INFO report: twopc speaks the protocol and error texts of
 * Redis 7.0, so it introduces itself as that version (client libraries pick features by
 * it), and INFO's twopc_version gives its own.
 */
#ifndef TWOPC_INFO_H
#define TWOPC_INFO_H

#define INFO_REDIS_VERSION "7.0.0"
#define INFO_TWOPC_VERSION "0.1.0"

#endif

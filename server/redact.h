/* redact.h -- which arguments of a command are secrets, so that SLOWLOG and MONITOR show
 * "(redacted)" in their place, as Redis 7 does.
 *
 * Redis 7.0 (checked against redis-server 7.0.15) redacts, in SLOWLOG GET and in the
 * MONITOR feed alike, whether the command succeeded or not (a failed AUTH included):
 *   AUTH <password> / AUTH <user> <password>     every argument after the name;
 *   HELLO <ver> AUTH <user> <password> [...]     the user and the password;
 *   CONFIG SET <param> <value> ...               the value of requirepass, masterauth and
 *                                                the TLS key passphrases;
 *   MIGRATE ... AUTH <pw> / AUTH2 <user> <pw>    the credentials.
 * CONFIG itself never reaches MONITOR (an admin command), but does reach SLOWLOG.
 *
 *     for (int i = 0; i < argc; i++)
 *         show(redact_arg(argc, argv, lens, i) ? REDACT_TEXT : argv[i]);
 */
#ifndef TWOPC_REDACT_H
#define TWOPC_REDACT_H

#include <stddef.h>

#define REDACT_TEXT "(redacted)"

/* 1 if argument i (0 is the command's name) of argv is a secret, else 0. Looks at argv[0]
 * first, so a command with nothing to hide costs one comparison per argument. */
int redact_arg(int argc, char *const *argv, const size_t *lens, int i);

#endif

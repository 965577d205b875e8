/* localaddr.h -- HOST:PORT strings and "is this host an address of this machine?".
 *
 * Used to pick a replica's own `replica HOST:PORT` line out of a cluster's config file:
 * localaddr_is_local() resolves HOST (getaddrinfo) and compares every address with this
 * machine's interfaces (getifaddrs); 127.0.0.0/8, ::1 and "localhost" always count.
 */
#ifndef TWOPC_LOCALADDR_H
#define TWOPC_LOCALADDR_H

#include <stddef.h>

/* "host:port" or "[v6]:port" into host and port (1-65535). Returns 0, or -1 with err set. */
int localaddr_split(const char *hostport, char *host, size_t hostcap, int *port, char *err,
                    size_t errlen);

/* 1 if host is an address of this machine, 0 if not (or it does not resolve). */
int localaddr_is_local(const char *host);

/* host as an IPv4 address string for bind (a literal as is, a name through getaddrinfo).
 * Returns 0, or -1 with err set. */
int localaddr_ipv4(const char *host, char *out, size_t cap, char *err, size_t errlen);

#endif

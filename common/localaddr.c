/* localaddr.c -- HOST:PORT parsing and local-address checks (localaddr.h). */
#include "localaddr.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

int localaddr_split(const char *hostport, char *host, size_t hostcap, int *port, char *err,
                    size_t errlen)
{
    const char *colon = strrchr(hostport, ':');
    const char *h = hostport;
    size_t hlen = colon ? (size_t)(colon - hostport) : 0;
    if (colon && h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    char *end;
    long p = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || hlen == 0 || hlen >= hostcap || colon[1] == '\0' || *end != '\0' || p < 1 ||
        p > 65535) {
        snprintf(err, errlen, "'%.128s' is not HOST:PORT", hostport);
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

static int same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
    return 0;
}

static int is_loopback(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr);
    return 0;
}

int localaddr_is_local(const char *host)
{
    if (strcasecmp(host, "localhost") == 0)
        return 1;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return 0;
    struct ifaddrs *ifs = NULL;
    int local = 0;
    if (getifaddrs(&ifs) < 0)
        ifs = NULL;
    for (struct addrinfo *ai = res; ai && !local; ai = ai->ai_next) {
        if (is_loopback(ai->ai_addr))
            local = 1;
        for (struct ifaddrs *i = ifs; i && !local; i = i->ifa_next)
            if (i->ifa_addr && same_addr(ai->ai_addr, i->ifa_addr))
                local = 1;
    }
    if (ifs)
        freeifaddrs(ifs);
    freeaddrinfo(res);
    return local;
}

int localaddr_ipv4(const char *host, char *out, size_t cap, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "can't resolve '%.128s' to an IPv4 address: %s", host,
                 rc ? gai_strerror(rc) : "no address");
        return -1;
    }
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, out, (socklen_t)cap);
    freeaddrinfo(res);
    return 0;
}

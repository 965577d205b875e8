/* util.c -- strict number parsing, address splitting, clocks, directories.
 */
#include "util.h"

#include <ctype.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <errno.h>
#include <limits.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int util_parse_u64(const char *p, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20 || (len > 1 && p[0] == '0'))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int util_parse_i64(const char *p, size_t len, int64_t *out)
{
    int neg = len > 0 && p[0] == '-';
    uint64_t u;
    if (util_parse_u64(p + neg, len - (size_t)neg, &u) < 0)
        return -1;
    if (neg) {
        if (u > (uint64_t)INT64_MAX + 1 || u == 0)
            return -1; /* "-0" is not a number Redis accepts */
        *out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
        return 0;
    }
    if (u > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)u;
    return 0;
}

int util_parse_addr(const char *addr, char *hostbuf, size_t hostlen, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || (size_t)(colon - addr) >= hostlen)
        return -1;
    uint64_t p;
    if (util_parse_u64(colon + 1, strlen(colon + 1), &p) < 0 || p == 0 || p > 65535)
        return -1;
    memcpy(hostbuf, addr, (size_t)(colon - addr));
    hostbuf[colon - addr] = '\0';
    *port = (int)p;
    return 0;
}

size_t util_u64_to_str(uint64_t v, char *buf)
{
    return (size_t)snprintf(buf, 21, "%llu", (unsigned long long)v);
}

uint64_t util_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t util_work_allowance_ms(uint64_t bytes, uint64_t items)
{
    return bytes / UTIL_WORK_BYTES_PER_MS + items / UTIL_WORK_ITEMS_PER_MS;
}

uint64_t util_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int util_ensure_dir(const char *path)
{
    if (mkdir(path, 0700) == 0 /* private: the data and the logs are */ || errno == EEXIST)
        return 0;
    return -1;
}

int util_parse_memory(const char *s, long long *out)
{
    static const struct { const char *unit; long long mul; } units[] = {
        { "", 1 }, { "b", 1 }, { "k", 1000 }, { "kb", 1024 }, { "m", 1000000 },
        { "mb", 1 << 20 }, { "g", 1000000000 }, { "gb", 1 << 30 },
    };
    size_t digits = 0;
    while (isdigit((unsigned char)s[digits]))
        digits++;
    uint64_t v;
    if (digits == 0 || util_parse_u64(s, digits, &v) < 0)
        return -1;
    size_t u = 0;
    while (u < sizeof units / sizeof units[0] && strcasecmp(s + digits, units[u].unit) != 0)
        u++;
    if (u == sizeof units / sizeof units[0] || v > (uint64_t)LLONG_MAX / (uint64_t)units[u].mul)
        return -1;
    *out = (long long)v * units[u].mul;
    return 0;
}

void util_trim_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

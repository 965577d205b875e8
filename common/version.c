/* version.c -- the protocol range this process speaks (see version.h). */
#include "version.h"

#include <stdio.h>
#include <stdlib.h>

static int range_min = TWOPC_PROTOCOL_MIN, range_max = TWOPC_PROTOCOL_VERSION;

int version_init(char *err, size_t errlen)
{
    const char *s = getenv("TWOPC_PROTOCOL_RANGE");
    if (!s || !*s)
        return 0;
    int lo, hi, used = 0;
    if (sscanf(s, "%d-%d%n", &lo, &hi, &used) != 2 || s[used] != '\0' || lo < 1 ||
        hi < lo || hi > 1000) {
        snprintf(err, errlen, "TWOPC_PROTOCOL_RANGE must be MIN-MAX (e.g. 2-3), got '%.40s'",
                 s);
        return -1;
    }
    range_min = lo;
    range_max = hi;
    return 0;
}

void version_range(int *min, int *max)
{
    *min = range_min;
    *max = range_max;
}

int version_choose(int min_a, int max_a, int min_b, int max_b)
{
    int hi = max_a < max_b ? max_a : max_b, lo = min_a > min_b ? min_a : min_b;
    return hi >= lo ? hi : -1;
}

/* op.c -- deep copies of command arguments in a single allocation, and the framing of
 * several ops in one argument vector.
 *
 * Layout of the allocation: struct op | argv[argc] | lens[argc] | arg0 \0 arg1 \0 ...
 * One malloc per op keeps batching thousands of writes cheap.
 */
#include "op.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct op *op_new(int argc, char *const *argv, const size_t *lens)
{
    size_t bytes = sizeof(struct op) + (size_t)argc * (sizeof(char *) + sizeof(size_t));
    for (int i = 0; i < argc; i++)
        bytes += lens[i] + 1;
    struct op *op = malloc(bytes);
    if (!op)
        return NULL;
    op->argc = argc;
    op->argv = (char **)(op + 1);
    op->lens = (size_t *)(op->argv + argc);
    char *p = (char *)(op->lens + argc);
    for (int i = 0; i < argc; i++) {
        op->argv[i] = p;
        op->lens[i] = lens[i];
        memcpy(p, argv[i], lens[i]);
        p[lens[i]] = '\0';
        p += lens[i] + 1;
    }
    return op;
}

void op_free(struct op *op)
{
    free(op);
}

int op_frame_next(int argc, char *const *argv, const size_t *lens, int *at, struct op *out)
{
    uint64_t n;
    if (*at >= argc)
        return 0;
    if (util_parse_u64(argv[*at], lens[*at], &n) < 0 || n == 0 ||
        n > (uint64_t)(argc - *at - 1))
        return -1;
    out->argc = (int)n;
    out->argv = (char **)argv + *at + 1;
    out->lens = (size_t *)lens + *at + 1;
    *at += 1 + (int)n;
    return 1;
}

int op_is(const struct op *op, const char *name)
{
    return op->argc > 0 && strcasecmp(op->argv[0], name) == 0;
}

/* BITFIELD's type (i1..i64, u1..u63): its width in bits, or 0. */
static int bitfield_bits(const char *p, size_t len)
{
    int64_t bits;
    if (len < 2 || (p[0] != 'i' && p[0] != 'u') || util_parse_i64(p + 1, len - 1, &bits) < 0 ||
        bits < 1 || bits > (p[0] == 'i' ? 64 : 63))
        return 0;
    return (int)bits;
}

int op_bitfield_writes(const struct op *op, uint64_t *grow)
{
    int writes = 0;
    if (grow)
        *grow = 0;
    for (int j = 2; j < op->argc;) {
        int left = op->argc - j - 1;
        const char *sub = op->argv[j];
        if (strcasecmp(sub, "get") == 0 && left >= 2) {
            j += 3;
            continue;
        }
        if (strcasecmp(sub, "overflow") == 0 && left >= 1) {
            j += 2;
            continue;
        }
        if ((strcasecmp(sub, "set") != 0 && strcasecmp(sub, "incrby") != 0) || left < 3)
            break;
        writes = 1;
        if (!grow)
            break;
        int bits = bitfield_bits(op->argv[j + 1], op->lens[j + 1]);
        const char *off = op->argv[j + 2];
        size_t offlen = op->lens[j + 2];
        int hash = offlen > 0 && off[0] == '#';
        uint64_t at;
        /* Past 2^40 bits Redis refuses the offset (512 MB); the bound also keeps the
         * arithmetic from overflowing. */
        if (bits && util_parse_u64(off + hash, offlen - hash, &at) == 0 && at < (1ULL << 40)) {
            at = (hash ? at * (uint64_t)bits : at) + (uint64_t)bits - 1;
            if ((at >> 3) + 1 > *grow)
                *grow = (at >> 3) + 1;
        }
        j += 4;
    }
    return writes;
}

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

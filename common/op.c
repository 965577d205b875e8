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

int op_sort_stores(const struct op *op)
{
    for (int j = 2; j < op->argc; j++) { /* Redis's option loop (sort.c) */
        int left = op->argc - j - 1;
        const char *a = op->argv[j];
        if (!strcasecmp(a, "asc") || !strcasecmp(a, "desc") || !strcasecmp(a, "alpha"))
            continue;
        if (!strcasecmp(a, "limit") && left >= 2)
            j += 2;
        else if (!strcasecmp(a, "store") && left >= 1)
            return 1;
        else if ((!strcasecmp(a, "by") || !strcasecmp(a, "get")) && left >= 1)
            j++;
        else
            return 0; /* a syntax error: answered as a read */
    }
    return 0;
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

int op_name_is(const char *arg, size_t len, const char *name)
{
    return strlen(name) == len && strncasecmp(arg, name, len) == 0;
}

int op_db_wrapper(int argc, char *const *argv, const size_t *lens, int *db)
{
    if (argc < 3 || !op_name_is(argv[0], lens[0], "db") || lens[1] == 0 || lens[1] > 7 ||
        argv[1][0] == '0')
        return -1;
    int n = 0;
    for (size_t i = 0; i < lens[1]; i++) {
        if (argv[1][i] < '0' || argv[1][i] > '9')
            return -1;
        n = n * 10 + (argv[1][i] - '0');
    }
    if (n >= OP_DB_LIMIT)
        return -1;
    *db = n;
    return 0;
}

struct op *op_new_db(int db, int argc, char *const *argv, const size_t *lens)
{
    if (db == 0)
        return op_new(argc, argv, lens);
    char **av = malloc(((size_t)argc + 2) * sizeof *av);
    size_t *lv = malloc(((size_t)argc + 2) * sizeof *lv);
    char num[24];
    struct op *op = NULL;
    if (av && lv) {
        av[0] = "DB", lv[0] = 2;
        av[1] = num, lv[1] = util_u64_to_str((uint64_t)db, num);
        memcpy(av + 2, argv, (size_t)argc * sizeof *av);
        memcpy(lv + 2, lens, (size_t)argc * sizeof *lv);
        op = op_new(argc + 2, av, lv);
    }
    free(av);
    free(lv);
    return op;
}

void op_arg_dbs(const struct op *op, int *dbs)
{
    int db = 0, skip = 0;
    if (op_db_wrapper(op->argc, op->argv, op->lens, &db) == 0)
        skip = 2;
    for (int j = 0; j < op->argc; j++)
        dbs[j] = j < skip ? -1 : db;
    if (op->argc - skip < 2 || !op_name_is(op->argv[skip], op->lens[skip], "tx"))
        return;
    /* TX n {argc arg...}*n: the counts are framing; a frame may be DB-wrapped. */
    int at = skip + 2;
    struct op frame;
    for (int j = skip; j < at; j++)
        dbs[j] = -1;
    while (at < op->argc) {
        int count_at = at;
        if (op_frame_next(op->argc, op->argv, op->lens, &at, &frame) != 1)
            return;
        int fdb = db, fskip = 0;
        if (op_db_wrapper(frame.argc, frame.argv, frame.lens, &fdb) == 0)
            fskip = 2;
        dbs[count_at] = -1;
        for (int j = count_at + 1; j < at; j++)
            dbs[j] = j - count_at - 1 < fskip ? -1 : fdb;
    }
}

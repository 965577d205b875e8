/* cmd_object.c -- OBJECT's subcommands on strings (see cmd_object.h).
 *
 * The coordinator checks the subcommand's name and arity before forwarding (registry.c);
 * the checks here answer the same errors to what reaches a replica otherwise (a TX op, the
 * replica's own port).
 */
#include "cmd_object.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "effects.h"
#include "op.h"
#include "resp_writer.h"
#include "coll.h"
#include "store.h"
#include "util.h"

/* Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT and OBJ_SHARED_INTEGERS. */
#define EMBSTR_MAX 44
#define SHARED_INTEGERS 10000
/* OBJ_SHARED_REFCOUNT, what OBJECT REFCOUNT answers for a shared object. */
#define SHARED_REFCOUNT 2147483647

#define ERR_NOT_LFU                                                                          \
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note " \
    "that when switching between policies at runtime LRU and LFU data will take some time " \
    "to adjust."

/* 1 if tryObjectEncoding would make v an integer object (*n its value), else 0. */
static int as_int(const struct effects_value *v, int64_t *n)
{
    return v->len <= 20 && util_parse_i64(v->p, v->len, n) == 0;
}

static void help(struct resp_writer *w)
{
    static const char *const lines[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    };
    resp_write_array(w, sizeof lines / sizeof lines[0]);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        resp_write_simple(w, lines[i]);
}

/* Whether every member of the set at k is an integer (Redis's intset test): 1, 0, -1. */
static int all_integers(struct store *s, const struct effects *fx, const char *k, size_t klen)
{
    struct coll_list l = { 0 };
    uint64_t next;
    int rc = coll_collect(s, fx, k, klen, 0, -1, &l, &next) < 0 ? -1 : 1;
    for (size_t i = 0; rc == 1 && i < l.n; i++) {
        int64_t n;
        rc = util_parse_i64(l.v[i].f, l.v[i].flen, &n) == 0;
    }
    coll_list_free(&l);
    return rc;
}

/* A collection's encoding as Redis 7.0 names it at its default thresholds, from what it
 * holds now (hash-/zset-max-listpack-entries 128, set-max-intset-entries 512; Redis also
 * remembers a past conversion, which a set, hash or sorted set that shrank back does not
 * undo there: those differ). 1 (*enc), or -1 on a store error. */
static int collection_encoding(struct store *s, const struct effects *fx, const char *k,
                               size_t klen, const struct effects_value *v, const char **enc)
{
    int ints = 0;
    switch (v->t) {
    case STORE_HASH: *enc = v->n <= 128 ? "listpack" : "hashtable"; return 1;
    case STORE_ZSET: *enc = v->n <= 128 ? "listpack" : "skiplist"; return 1;
    case STORE_LIST: *enc = "quicklist"; return 1;
    default:
        ints = v->n <= 512 ? all_integers(s, fx, k, klen) : 0;
        *enc = ints == 1 ? "intset" : "hashtable";
        return ints < 0 ? -1 : 1;
    }
}

static int object(struct store *s, struct effects *fx, const struct op *op,
                  struct resp_writer *w)
{
    const char *sub = op->argv[1];
    int keyed = strcasecmp(sub, "encoding") == 0 || strcasecmp(sub, "refcount") == 0 ||
                strcasecmp(sub, "idletime") == 0 || strcasecmp(sub, "freq") == 0;
    if (strcasecmp(sub, "help") == 0 && op->argc == 2) {
        help(w);
        return 0;
    }
    if (!keyed && strcasecmp(sub, "help") != 0)
        return exec_errorf(w, "ERR unknown subcommand '%.128s'. Try OBJECT HELP.", sub);
    if (!keyed || op->argc != 3)
        return exec_errorf(w, "ERR wrong number of arguments for 'object|%s' command",
                           keyed ? sub : "help");
    struct effects_value v;
    int found = effects_lookup(s, fx, op->argv[2], op->lens[2], &v);
    if (found < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    if (!found) {
        resp_write_null(w);
        return 0;
    }
    int64_t n;
    int isint = v.t == STORE_STRING && as_int(&v, &n);
    const char *enc;
    if (strcasecmp(sub, "encoding") == 0 && v.t != STORE_STRING) {
        if (collection_encoding(s, fx, op->argv[2], op->lens[2], &v, &enc) < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        resp_write_cstr(w, enc);
    }
    else if (strcasecmp(sub, "encoding") == 0)
        resp_write_cstr(w, isint ? "int" : v.len <= EMBSTR_MAX ? "embstr" : "raw");
    else if (strcasecmp(sub, "refcount") == 0)
        resp_write_int(w, isint && n >= 0 && n < SHARED_INTEGERS ? SHARED_REFCOUNT : 1);
    else if (strcasecmp(sub, "idletime") == 0)
        resp_write_int(w, 0);
    else
        return exec_error(w, ERR_NOT_LFU);
    return 0;
}

const struct exec_cmd cmd_object_table[] = {
    { "object", -2, EXEC_READ, object },
};
const size_t cmd_object_count = sizeof cmd_object_table / sizeof cmd_object_table[0];

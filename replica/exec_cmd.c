/* exec_cmd.c -- the helpers the command files share (see exec_cmd.h): error replies and
 * argument parsing.
 */
#include "exec_cmd.h"

#include <stdarg.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "util.h"

int exec_error(struct resp_writer *w, const char *msg)
{
    resp_write_error(w, msg);
    return -1;
}

int exec_errorf(struct resp_writer *w, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return exec_error(w, msg);
}

int exec_lookup_type(struct store *s, const struct effects *fx, const struct op *op, int i,
                     int t, struct effects_value *v)
{
    int found = effects_lookup(s, fx, op->argv[i], op->lens[i], v);
    return found == 1 && v->t != t ? EXEC_WRONGTYPE : found;
}

const char *exec_type_name(int t)
{
    switch (t) {
    case STORE_STRING: return "string";
    case STORE_HASH: return "hash";
    case STORE_SET: return "set";
    case STORE_LIST: return "list";
    case STORE_ZSET: return "zset";
    default: return "none";
    }
}

int exec_lookup_error(struct resp_writer *w, int rc)
{
    return exec_error(w, rc == EXEC_WRONGTYPE ? EXEC_ERR_WRONGTYPE : EXEC_ERR_STORAGE);
}

int exec_arg_i64(const struct op *op, int i, int64_t *v)
{
    return util_parse_i64(op->argv[i], op->lens[i], v);
}

/* Redis's string2ld: strtold over the whole string, no leading space, no NaN, no
 * overflow (an underflow to a denormal is fine). Returns 0 or -1. */
int exec_parse_ld(const char *p, size_t len, long double *out)
{
    char buf[EXEC_LONG_DOUBLE_CHARS];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    errno = 0;
    char *end;
    long double v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || (size_t)(end - buf) != len || isnan(v) ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)))
        return -1;
    *out = v;
    return 0;
}

/* Redis's ld2string in "human" mode: 17 decimals, trailing zeros (and a trailing '.')
 * removed, "-0" written as "0". Returns the length, or 0 if buf is too small. */
size_t exec_format_ld(char *buf, size_t cap, long double v)
{
    int n = snprintf(buf, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n + 1 > cap)
        return 0;
    size_t len = (size_t)n;
    if (strchr(buf, '.')) {
        while (buf[len - 1] == '0')
            len--;
        if (buf[len - 1] == '.')
            len--;
    }
    if (len == 2 && buf[0] == '-' && buf[1] == '0')
        buf[0] = '0', len = 1;
    return len;
}

/* Redis's getTimeoutFromObjectOrReply in seconds, on x86: the milliseconds are the
 * seconds times 1000 truncated to a long long, so -0.5 ms is 0 (no timeout) and anything
 * past the long long range (inf too) becomes LLONG_MIN, "negative". 0, or -1 with the
 * error written. */
int exec_check_timeout(const struct effects *fx, const struct op *op, int i,
                       struct resp_writer *w)
{
    long double t;
    if (exec_parse_ld(op->argv[i], op->lens[i], &t) < 0)
        return exec_error(w, "ERR timeout is not a float or out of range");
    long double ms = t * 1000.0L;
    if (!(ms > -1.0L) || ms >= 9223372036854775807.0L)
        return exec_error(w, "ERR timeout is negative");
    if ((int64_t)ms > INT64_MAX - fx->now_ms)
        return exec_error(w, "ERR timeout is out of range");
    return 0;
}

int exec_mpop_args(const struct effects *fx, const struct op *op, int at, const char *end0,
                   const char *end1, int *wi, int *end, int64_t *count, struct resp_writer *w)
{
    int64_t numkeys;
    *count = -1;
    if (exec_arg_i64(op, at, &numkeys) < 0 || numkeys < 1)
        return exec_error(w, "ERR numkeys should be greater than 0");
    if (numkeys > op->argc - at - 2) /* the end word must follow the keys */
        return exec_error(w, EXEC_ERR_SYNTAX);
    *wi = at + 1 + (int)numkeys;
    if (!strcasecmp(op->argv[*wi], end0))
        *end = 0;
    else if (!strcasecmp(op->argv[*wi], end1))
        *end = 1;
    else
        return exec_error(w, EXEC_ERR_SYNTAX);
    for (int j = *wi + 1; j < op->argc; j++) {
        if (*count == -1 && !strcasecmp(op->argv[j], "count") && j + 1 < op->argc) {
            j++;
            if (exec_arg_i64(op, j, count) < 0 || *count < 1)
                return exec_error(w, "ERR count should be greater than 0");
        } else {
            return exec_error(w, EXEC_ERR_SYNTAX);
        }
    }
    if (*count == -1)
        *count = 1;
    return at == 2 ? exec_check_timeout(fx, op, 1, w) : 0; /* the blocking forms' */
}

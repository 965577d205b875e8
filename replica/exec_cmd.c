/* exec_cmd.c -- the helpers the command files share (see exec_cmd.h): error replies and
 * argument parsing.
 */
#include "exec_cmd.h"

#include <stdarg.h>
#include <stdio.h>

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

int exec_arg_i64(const struct op *op, int i, int64_t *v)
{
    return util_parse_i64(op->argv[i], op->lens[i], v);
}

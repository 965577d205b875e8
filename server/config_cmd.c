/* config_cmd.c -- CONFIG and its subcommands (see config_cmd.h).
 *
 * GET matches each pattern against every parameter name (fnmatch, any case) and answers
 * the matches once each, in table order, as a map. SET checks every name/value pair with
 * settings_check() (an unknown name, a duplicate or a bad value refuses the whole
 * request), then stores them all with settings_store().
 */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include "config_cmd.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "fdlimit.h"
#include "registry.h"
#include "settings.h"
#include "stats.h"

static void config_get(struct resp_writer *w, const struct resp_request *req)
{
    size_t np = settings_count(), n = 0;
    char match[SETTINGS_MAX] = { 0 };
    for (int i = 2; i < req->argc; i++)
        for (size_t p = 0; p < np; p++)
            if (!match[p] && fnmatch(req->argv[i], settings_name(p), FNM_CASEFOLD) == 0)
                match[p] = 1, n++;
    resp_write_map(w, n);
    for (size_t p = 0; p < np; p++) {
        if (!match[p])
            continue;
        char buf[32];
        resp_write_cstr(w, settings_name(p));
        resp_write_cstr(w, settings_value(p, buf, sizeof buf));
    }
}

static void set_failed(struct resp_writer *w, const char *name, const char *why)
{
    char msg[512];
    snprintf(msg, sizeof msg, "ERR CONFIG SET failed (possibly related to argument '%.128s') - %s",
             name, why);
    resp_write_error(w, msg);
}

static int listed(const int *ps, int n, int p)
{
    for (int j = 0; j < n; j++)
        if (ps[j] == p)
            return 1;
    return 0;
}

static void config_set(struct resp_writer *w, const struct resp_request *req)
{
    int npairs = (req->argc - 2) / 2;
    int ps[SETTINGS_MAX];
    long long nums[SETTINGS_MAX];
    char why[256];
    if ((req->argc - 2) % 2 != 0) {
        resp_write_error(w, "ERR syntax error");
        return;
    }
    for (int i = 0; i < npairs; i++) {
        const char *name = req->argv[2 + 2 * i], *value = req->argv[3 + 2 * i];
        int p = settings_find(name);
        if (p < 0) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "ERR Unknown option or number of arguments for CONFIG SET - '%.128s'", name);
            resp_write_error(w, msg);
            return;
        }
        if (i >= (int)settings_count() || listed(ps, i, p)) {
            set_failed(w, name, "duplicate parameter");
            return;
        }
        if (settings_check((size_t)p, value, req->lens[3 + 2 * i], &nums[i], why,
                           sizeof why) < 0) {
            set_failed(w, name, why);
            return;
        }
        /* More clients than descriptors: raise the open-files limit, or refuse as Redis
         * does (updateMaxclients), instead of failing accept() later. */
        if (strcasecmp(name, "maxclients") == 0 && nums[i] > settings_get()->maxclients) {
            long long can = fdlimit_adjust(nums[i]);
            if (can < nums[i]) {
                snprintf(why, sizeof why, "The operating system is not able to handle the "
                         "specified number of clients, try with %lld", can < 1 ? 1 : can);
                set_failed(w, name, why);
                return;
            }
        }
        ps[i] = p;
    }
    for (int i = 0; i < npairs; i++)
        settings_store((size_t)ps[i], req->argv[3 + 2 * i], req->lens[3 + 2 * i], nums[i]);
    resp_write_simple(w, "OK");
}

static void sub_get(struct client *cl, const struct resp_request *req)
{
    config_get(client_reply_writer(cl), req);
}

static void sub_set(struct client *cl, const struct resp_request *req)
{
    config_set(client_reply_writer(cl), req);
}

static void sub_resetstat(struct client *cl, const struct resp_request *req)
{
    stats_reset();
    resp_write_simple(client_reply_writer(cl), "OK");
}

static void sub_rewrite(struct client *cl, const struct resp_request *req)
{
    resp_write_error(client_reply_writer(cl), "ERR The server is running without a config file");
}

static void sub_help(struct client *cl, const struct resp_request *req)
{
    static const char *const lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    };
    registry_help(cl, lines, sizeof lines / sizeof lines[0]);
}

static const struct subcommand config_subcommands[] = {
    { "get", -3, sub_get },            { "set", -4, sub_set },
    { "resetstat", 2, sub_resetstat }, { "rewrite", 2, sub_rewrite },
    { "help", 2, sub_help },           { NULL, 0, NULL },
};

static void cmd_config(struct client *cl, const struct resp_request *req)
{
    registry_run_subcommand(cl, req, config_subcommands);
}

static const struct command config_commands[] = {
    { "config", -2, CMD_LOCAL | CMD_LOADING, 0, 0, 0, "server", "2.0.0",
      "A container for server configuration commands.", cmd_config, config_subcommands },
};

int config_cmd_init(void)
{
    return registry_add(config_commands, 1);
}

/* test_registry.c -- unit tests of server/registry.c: the checks a command passes before it
 * runs or is queued in MULTI, the lookup, the order COMMAND lists, HELP.
 *
 * registry_check() is what request.c asks before running a command and before queueing
 * one inside MULTI (an error there flags the transaction: EXEC answers EXECABORT), so its
 * texts are checked byte for byte against Redis 7's. The tables registered here are test
 * input in the shape of the real ones (data_cmd.c, client_cmd.c): GET, SET, a CLIENT
 * container with Redis's subcommand arities, and a local PING.
 *
 * Run: test_registry [case]   (no argument: every case)
 */
#include "check_common.h"
#include "client.h"
#include "fake_conn.h"
#include "registry.h"

#include <stdlib.h>
#include <string.h>

static int ran_getname, ran_list;

static void fn_nop(struct client *cl, const struct resp_request *req) {}
static void fn_getname(struct client *cl, const struct resp_request *req) { ran_getname++; }
static void fn_list(struct client *cl, const struct resp_request *req) { ran_list++; }

static const struct subcommand client_subs[] = {
    { "getname", 2, fn_getname }, { "setname", 3, fn_nop }, { "list", -2, fn_list },
    { "help", 2, fn_nop },        { NULL, 0, NULL },
};

static const struct command local_cmds[] = {
    { "ping", -1, CMD_LOCAL | CMD_FAST, 0, 0, 0, "connection", "1.0.0", "Ping.", fn_nop, NULL },
    { "client", -2, CMD_LOCAL, 0, 0, 0, "connection", "2.4.0", "Client.", fn_nop,
      client_subs },
};

static const struct command data_cmds[] = {
    { "set", -3, CMD_WRITE, 1, 1, 1, "string", "1.0.0", "Set.", fn_nop, NULL },
    { "get", 2, CMD_READ | CMD_FAST, 1, 1, 1, "string", "1.0.0", "Get.", fn_nop, NULL },
};

static void setup(void)
{
    static int done;
    if (done++)
        return;
    CHECK_INT_EQ(registry_add(local_cmds, 2), 0); /* locals first: the order must not matter */
    CHECK_INT_EQ(registry_add(data_cmds, 2), 0);
}

/* Runs registry_check on the words of line (split on spaces); returns its result, with
 * the error in err and the subcommand found in *sub. */
static int check_line(const char *line, char *err, size_t n, const struct subcommand **sub)
{
    char copy[1024], *argv[16];
    size_t lens[16];
    int argc = 0;
    snprintf(copy, sizeof copy, "%s", line);
    for (char *t = strtok(copy, " "); t && argc < 16; t = strtok(NULL, " ")) {
        argv[argc] = t;
        lens[argc++] = strlen(t);
    }
    struct resp_request req = { argc, argv, lens };
    err[0] = 0;
    return registry_check(registry_lookup(argv[0], lens[0]), &req, sub, err, n);
}

static void expect_ok(const char *line, const char *sub_name)
{
    char err[REGISTRY_ERR_MAX];
    const struct subcommand *sub;
    if (check_line(line, err, sizeof err, &sub) != 0)
        check_fail(__FILE__, __LINE__, "\"%s\" refused: %s", line, err);
    CHECK_STR_EQ(sub ? sub->name : "(none)", sub_name ? sub_name : "(none)");
}

static void expect_err(const char *line, const char *want)
{
    char err[REGISTRY_ERR_MAX];
    const struct subcommand *sub;
    if (check_line(line, err, sizeof err, &sub) != -1 || strcmp(err, want) != 0)
        check_fail(__FILE__, __LINE__, "\"%s\": got \"%s\", want \"%s\"", line, err, want);
}

static void test_unknown_command(void)
{
    setup();
    expect_err("nosuch", "ERR unknown command 'nosuch', with args beginning with: ");
    expect_err("NoSuch a bc", "ERR unknown command 'NoSuch', with args beginning with: 'a' 'bc' ");
    expect_err("gett k", "ERR unknown command 'gett', with args beginning with: 'k' ");
    /* Redis lists arguments while the list is under 128 bytes, each cut to what is left. */
    char line[600], want[600], big[201];
    memset(big, 'x', 200), big[200] = 0;
    snprintf(line, sizeof line, "foo %s more", big);
    snprintf(want, sizeof want, "ERR unknown command 'foo', with args beginning with: '%.128s' ",
             big);
    expect_err(line, want);
}

static void test_arity(void)
{
    setup();
    expect_ok("get k", NULL);
    expect_ok("GET k", NULL);
    expect_err("get", "ERR wrong number of arguments for 'get' command");
    expect_err("get a b", "ERR wrong number of arguments for 'get' command");
    expect_ok("set k v", NULL);
    expect_ok("set k v ex 10", NULL);
    expect_err("SET k", "ERR wrong number of arguments for 'set' command");
    expect_ok("ping", NULL);
    expect_ok("ping a b c", NULL); /* -1: any count; PING itself refuses more than one */
}

static void test_subcommands(void)
{
    setup();
    expect_ok("client getname", "getname");
    expect_ok("CLIENT GetName", "getname");
    expect_ok("client list id 1 2", "list");
    expect_err("client", "ERR wrong number of arguments for 'client' command");
    expect_err("client nosuch", "ERR unknown subcommand 'nosuch'. Try CLIENT HELP.");
    expect_err("client getname x",
               "ERR wrong number of arguments for 'client|getname' command");
    expect_err("client setname", "ERR wrong number of arguments for 'client|setname' command");
    /* The subcommand is reported also when its arity is wrong (CLIENT LIST's cmd=). */
    char err[REGISTRY_ERR_MAX];
    const struct subcommand *sub;
    CHECK_INT_EQ(check_line("client getname x", err, sizeof err, &sub), -1);
    CHECK(sub != NULL && strcmp(sub->name, "getname") == 0);
    CHECK_INT_EQ(check_line("client nosuch", err, sizeof err, &sub), -1);
    CHECK(sub == NULL);
}

static void test_run_subcommand(void)
{
    setup();
    char *argv[3] = { "client", "LIST", "x" };
    size_t lens[3] = { 6, 4, 1 };
    struct resp_request req = { 3, argv, lens };
    registry_run_subcommand(NULL, &req, client_subs);
    CHECK_INT_EQ(ran_list, 1);
    CHECK_INT_EQ(ran_getname, 0);
}

static void test_lookup_and_order(void)
{
    setup();
    CHECK(registry_lookup("GET", 3) == &data_cmds[1]);
    CHECK(registry_lookup("getx", 3) == &data_cmds[1]); /* by length: "get" */
    CHECK(registry_lookup("ge", 2) == NULL);
    CHECK(registry_lookup("", 0) == NULL);
    CHECK_INT_EQ(registry_count(), 4);
    /* Data commands first, then local ones, each by name. */
    static const char *const order[] = { "get", "set", "client", "ping" };
    for (size_t i = 0; i < 4; i++)
        CHECK_STR_EQ(registry_at(i)->name, order[i]);
    CHECK(registry_at(4) == NULL);
    /* A name registered twice is refused, and nothing of that table is added. */
    static const struct command dup[] = {
        { "echo", 2, CMD_LOCAL, 0, 0, 0, "connection", "1.0.0", "Echo.", fn_nop, NULL },
        { "GET", 2, CMD_READ, 1, 1, 1, "string", "1.0.0", "Get again.", fn_nop, NULL },
    };
    CHECK_INT_EQ(registry_add(dup, 2), -1);
    CHECK_INT_EQ(registry_count(), 4);
    CHECK(registry_lookup("echo", 4) == NULL);
}

static void dispatch_help(struct client *cl, const struct resp_request *req)
{
    static const char *const lines[] = { "FOO <subcommand>", "HELP", "    Prints this help." };
    registry_help(cl, lines, 3);
}

static void test_help(void)
{
    static const struct client_hooks hooks = { dispatch_help, NULL, NULL, NULL };
    client_init(&hooks);
    struct conn *c = fake_conn_new(1);
    CHECK_INT_EQ(client_on_open(c), 0);
    char *argv[2] = { "foo", "help" };
    size_t lens[2] = { 3, 4 }, len;
    struct resp_request req = { 2, argv, lens };
    client_on_request(c, &req);
    conn_flush(c);
    const char *want = "*3\r\n+FOO <subcommand>\r\n+HELP\r\n+    Prints this help.\r\n";
    const char *got = fake_conn_sent(c, &len);
    CHECK_MEM_EQ(got, len, want, strlen(want));
    client_on_close(c);
    fake_conn_free(c);
}

static const struct check_case cases[] = {
    {"unknown_command", test_unknown_command},
    {"arity", test_arity},
    {"subcommands", test_subcommands},
    {"run_subcommand", test_run_subcommand},
    {"lookup_and_order", test_lookup_and_order},
    {"help", test_help},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}

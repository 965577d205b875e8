/* test_redact.c -- unit tests of server/redact.c: which arguments SLOWLOG and MONITOR show
 * as "(redacted)". The expected masks are what redis-server 7.0.15 showed for the same
 * commands (integration.secrets checks the daemon's SLOWLOG and MONITOR end to end).
 *
 * Run: test_redact [case]   (no argument: every case)
 */
#include "check_common.h"
#include "redact.h"

#include <string.h>

/* The redaction mask of cmd (split on spaces) as a string of '0'/'1', one per argument. */
static const char *mask_of(const char *cmd)
{
    static char buf[256], mask[64];
    char *argv[64];
    size_t lens[64];
    int argc = 0;
    CHECK(strlen(cmd) < sizeof buf);
    strcpy(buf, cmd);
    for (char *t = strtok(buf, " "); t && argc < 64; t = strtok(NULL, " ")) {
        argv[argc] = t;
        lens[argc++] = strlen(t);
    }
    for (int i = 0; i < argc; i++)
        mask[i] = redact_arg(argc, argv, lens, i) ? '1' : '0';
    mask[argc] = '\0';
    CHECK_INT_EQ(redact_arg(argc, argv, lens, argc), 0); /* out of range: nothing */
    CHECK_INT_EQ(redact_arg(argc, argv, lens, -1), 0);
    return mask;
}

#define EXPECT(cmd, want) CHECK_STR_EQ(mask_of(cmd), want)

static void test_auth(void)
{
    EXPECT("AUTH pw", "01");
    EXPECT("auth user pw", "011");
    EXPECT("AUTH", "0");
    EXPECT("AUTH a b c", "0111"); /* a syntax error, still nothing shown */
}

static void test_hello(void)
{
    EXPECT("HELLO", "0");
    EXPECT("HELLO 3", "00");
    EXPECT("HELLO 3 AUTH user pw", "00011");
    EXPECT("hello 2 auth user pw setname n", "0001100");
    EXPECT("HELLO 3 SETNAME n AUTH user pw", "0000011");
    EXPECT("HELLO 3 AUTH user", "0000"); /* incomplete: not an AUTH pair */
    EXPECT("HELLO 3 BOGUS AUTH user pw", "000000"); /* HELLO stops reading at BOGUS */
}

static void test_config(void)
{
    EXPECT("CONFIG SET requirepass pw", "0001");
    EXPECT("config set MASTERAUTH pw", "0001");
    EXPECT("CONFIG SET maxmemory 0 requirepass pw timeout 5", "00000100");
    EXPECT("CONFIG SET requirepass", "000");
    EXPECT("CONFIG GET requirepass", "000");
    EXPECT("CONFIG SET timeout requirepass", "0000"); /* a value named like a secret */
}

static void test_others(void)
{
    EXPECT("SET k pw", "000");
    EXPECT("GET auth", "00");
    EXPECT("MIGRATE h 1 k 0 10 AUTH pw", "00000001");
    EXPECT("MIGRATE h 1 k 0 10 COPY AUTH2 u pw KEYS a b", "0000000011000");
}

static const struct check_case cases[] = {
    {"auth", test_auth},
    {"hello", test_hello},
    {"config", test_config},
    {"others", test_others},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}

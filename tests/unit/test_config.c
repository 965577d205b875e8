/* test_config.c -- unit tests of common/config.c (the config file reader; the cluster
 * secret file's checks are test_secret.c's).
 *
 * Each case writes real files into a temporary directory and loads them: good files
 * (comments, blank lines, case of directives, several words), quoting and escapes, every
 * error kind with its exact "FILE:LINE: reason" text, include (relative to the including
 * file, nested, the depth limit) and include cycles (a file including itself, two files
 * including each other).
 *
 * Run: test_config [case]   (no argument: every case)
 */
#include "check_common.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[512];

static const char *write_file(const char *name, const char *text, int mode)
{
    static char path[8][1024];
    static int next;
    char *p = path[next++ % 8];
    if (!dir[0])
        snprintf(dir, sizeof dir, "%s", check_tmpdir());
    snprintf(p, 1024, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
    chmod(p, (mode_t)mode);
    return p;
}

/* Loads text as a.conf and expects the error "<path>:LINE: why". */
static void expect_error(const char *text, int line, const char *why)
{
    const char *p = write_file("bad.conf", text, 0644);
    char err[1024], want[1200];
    struct config *cf = config_load(p, err, sizeof err);
    if (cf)
        check_fail(__FILE__, __LINE__, "loaded a bad file: %s", text);
    snprintf(want, sizeof want, "%s:%d: %s", p, line, why);
    CHECK_STR_EQ(err, want);
}

static void test_good(void)
{
    const char *p = write_file("good.conf",
                               "# a comment\n"
                               "\n"
                               "   # an indented comment\n"
                               "PORT 7001\n"
                               "  dir   /var/lib/twopc  \n"
                               "replica 10.0.0.1:7001\r\n"
                               "replica 10.0.0.2:7001\n"
                               "several a b c\n"
                               "last-without-newline yes",
                               0644);
    char err[512];
    struct config *cf = config_load(p, err, sizeof err);
    CHECK(cf != NULL);
    CHECK_INT_EQ(cf->n, 6);
    CHECK_STR_EQ(cf->entries[0].argv[0], "port"); /* directives are lower-cased */
    CHECK_STR_EQ(cf->entries[0].argv[1], "7001");
    CHECK_INT_EQ(cf->entries[0].line, 4);
    CHECK_STR_EQ(cf->entries[0].file, p);
    CHECK_STR_EQ(cf->entries[1].argv[1], "/var/lib/twopc");
    CHECK_INT_EQ(cf->entries[1].argc, 2);
    CHECK_STR_EQ(cf->entries[2].argv[1], "10.0.0.1:7001"); /* CR of CRLF dropped */
    CHECK_INT_EQ(cf->entries[3].line, 7);
    CHECK_INT_EQ(cf->entries[4].argc, 4);
    CHECK_STR_EQ(cf->entries[4].argv[3], "c");
    CHECK_INT_EQ(cf->entries[5].line, 9);
    config_free(cf);
    config_free(NULL);
}

static void test_quoting(void)
{
    const char *p = write_file("q.conf",
                               "requirepass \"with space\"\n"
                               "a \"esc \\\" \\\\ \\n \\t \\x41\"\n"
                               "b 'single \"as is\" \\n'\n"
                               "c 'it\\'s'\n"
                               "d \"\" ''\n"
                               "e \"#not a comment\"\n"
                               "f \"nul\\x00byte\"\n",
                               0644);
    char err[512];
    struct config *cf = config_load(p, err, sizeof err);
    CHECK(cf != NULL);
    CHECK_INT_EQ(cf->n, 7);
    CHECK_STR_EQ(cf->entries[0].argv[1], "with space");
    CHECK_STR_EQ(cf->entries[1].argv[1], "esc \" \\ \n \t A");
    CHECK_STR_EQ(cf->entries[2].argv[1], "single \"as is\" \\n");
    CHECK_STR_EQ(cf->entries[3].argv[1], "it's");
    CHECK_INT_EQ(cf->entries[4].argc, 3);
    CHECK_INT_EQ(cf->entries[4].lens[1], 0);
    CHECK_STR_EQ(cf->entries[4].argv[2], "");
    CHECK_STR_EQ(cf->entries[5].argv[1], "#not a comment");
    CHECK_MEM_EQ(cf->entries[6].argv[1], cf->entries[6].lens[1], "nul\0byte", 8);
    config_free(cf);
}

static void test_errors(void)
{
    expect_error("port 1\nrequirepass \"open\n", 2, "unbalanced quotes");
    expect_error("a 'open\n", 1, "unbalanced quotes");
    expect_error("a \"x\"y\n", 1, "a closing quote must be followed by a space");
    expect_error("\n\na 'x'y\n", 3, "a closing quote must be followed by a space");
    expect_error("a \"\\q\"\n", 1, "unknown escape \\q in a quoted value");
    expect_error("include\n", 1, "include takes one argument, a path");
    expect_error("include a b\n", 1, "include takes one argument, a path");
    char err[512], want[1200];
    CHECK(config_load("/nonexistent/twopc.conf", err, sizeof err) == NULL);
    CHECK_STR_EQ(err, "/nonexistent/twopc.conf: can't read /nonexistent/twopc.conf: "
                      "No such file or directory");
    const char *p = write_file("inc-missing.conf", "port 1\ninclude missing.conf\n", 0644);
    CHECK(config_load(p, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "%s:2: can't read %s/missing.conf: No such file or directory",
             p, dir);
    CHECK_STR_EQ(err, want);
}

static void test_include(void)
{
    write_file("sub.conf", "from-sub 1\ninclude deeper.conf\n", 0644);
    write_file("deeper.conf", "from-deeper 2\n", 0644);
    const char *abs = write_file("abs.conf", "from-abs 3\n", 0644);
    char text[2048];
    snprintf(text, sizeof text, "first 0\ninclude sub.conf\nINCLUDE \"%s\"\nlast 4\n", abs);
    const char *p = write_file("main.conf", text, 0644);
    char err[512];
    struct config *cf = config_load(p, err, sizeof err);
    CHECK(cf != NULL);
    CHECK_INT_EQ(cf->n, 5);
    CHECK_STR_EQ(cf->entries[0].argv[0], "first");
    CHECK_STR_EQ(cf->entries[1].argv[0], "from-sub");
    CHECK(strstr(cf->entries[1].file, "/sub.conf") != NULL);
    CHECK_INT_EQ(cf->entries[1].line, 1);
    CHECK_STR_EQ(cf->entries[2].argv[0], "from-deeper");
    CHECK_STR_EQ(cf->entries[3].argv[0], "from-abs");
    CHECK_STR_EQ(cf->entries[4].argv[0], "last");
    CHECK_INT_EQ(cf->entries[4].line, 4);
    config_free(cf);

    /* An error inside an include names the included file and its line. */
    write_file("badsub.conf", "ok 1\nbad 'x\n", 0644);
    p = write_file("main2.conf", "include badsub.conf\n", 0644);
    CHECK(config_load(p, err, sizeof err) == NULL);
    CHECK(strstr(err, "/badsub.conf:2: unbalanced quotes") != NULL);

    /* The depth limit: a chain of CONFIG_MAX_DEPTH + 1 files. */
    for (int i = 0; i <= CONFIG_MAX_DEPTH; i++) {
        char name[32], body[64];
        snprintf(name, sizeof name, "chain%d.conf", i);
        snprintf(body, sizeof body, "include chain%d.conf\n", i + 1);
        write_file(name, i == CONFIG_MAX_DEPTH ? "end 1\n" : body, 0644);
    }
    snprintf(text, sizeof text, "%s/chain0.conf", dir);
    CHECK(config_load(text, err, sizeof err) == NULL);
    CHECK(strstr(err, "includes nested more than 10 deep") != NULL);
    snprintf(text, sizeof text, "%s/chain1.conf", dir); /* one shorter: fine */
    CHECK((cf = config_load(text, err, sizeof err)) != NULL);
    CHECK_INT_EQ(cf->n, 1);
    config_free(cf);
}

static void test_cycle(void)
{
    char err[1024], want[1200];
    const char *self = write_file("self.conf", "a 1\ninclude self.conf\n", 0644);
    CHECK(config_load(self, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "%s:2: include cycle: %s/self.conf is already being read",
             self, dir);
    CHECK_STR_EQ(err, want);
    write_file("ping.conf", "include pong.conf\n", 0644);
    write_file("pong.conf", "x 1\n\ninclude ./ping.conf\n", 0644);
    snprintf(want, sizeof want, "%s/ping.conf", dir);
    CHECK(config_load(want, err, sizeof err) == NULL);
    CHECK(strstr(err, "/pong.conf:3: include cycle: ") != NULL);
    /* The same file twice, not nested, is no cycle. */
    write_file("leaf.conf", "leaf 1\n", 0644);
    const char *twice = write_file("twice.conf", "include leaf.conf\ninclude leaf.conf\n", 0644);
    struct config *cf = config_load(twice, err, sizeof err);
    CHECK(cf != NULL);
    CHECK_INT_EQ(cf->n, 2);
    config_free(cf);
}

static void test_split(void)
{
    char **argv, err[128];
    size_t *lens;
    CHECK_INT_EQ(config_split("   ", &argv, &lens, err, sizeof err), 0);
    CHECK_INT_EQ(config_split("#x y", &argv, &lens, err, sizeof err), 0);
    int n = config_split("a\tb  'c d'", &argv, &lens, err, sizeof err);
    CHECK_INT_EQ(n, 3);
    CHECK_STR_EQ(argv[1], "b");
    CHECK_STR_EQ(argv[2], "c d");
    config_words_free(n, argv, lens);
    CHECK_INT_EQ(config_split("a \"b", &argv, &lens, err, sizeof err), -1);
    CHECK_STR_EQ(err, "unbalanced quotes");
}


static const struct check_case cases[] = {
    { "good", test_good },       { "quoting", test_quoting }, { "errors", test_errors },
    { "include", test_include }, { "cycle", test_cycle },     { "split", test_split },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}

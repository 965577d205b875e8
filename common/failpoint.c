/* failpoint.c -- parsing TWOPC_FAILPOINTS and firing named crash points (test builds).
 */
#include "failpoint.h"

#ifdef TWOPC_FAILPOINTS
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAILPOINT_MAX 16

struct failpoint {
    char name[64];
    int use_exit;
    long fire_at, hits;
};

int failpoints_enabled;
static struct failpoint points[FAILPOINT_MAX];
static int npoints;

static void parse_entry(char *e)
{
    if (!*e || npoints == FAILPOINT_MAX)
        return;
    struct failpoint *fp = &points[npoints++];
    fp->fire_at = 1;
    char *at = strchr(e, '@');
    if (at) {
        *at = '\0';
        fp->fire_at = strtol(at + 1, NULL, 10);
    }
    char *eq = strchr(e, '=');
    if (eq) {
        *eq = '\0';
        fp->use_exit = strcmp(eq + 1, "exit") == 0;
    }
    snprintf(fp->name, sizeof fp->name, "%s", e);
}

void failpoint_init(void)
{
    const char *env = getenv("TWOPC_FAILPOINTS");
    if (!env || !*env)
        return;
    char *copy = strdup(env);
    for (char *save = NULL, *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save))
        parse_entry(e);
    free(copy);
    failpoints_enabled = npoints > 0;
}

int failpoint_hit(const char *name)
{
    for (int i = 0; i < npoints; i++)
        if (strcmp(points[i].name, name) == 0)
            return ++points[i].hits == points[i].fire_at;
    return 0;
}

int failpoint_listed(const char *name)
{
    for (int i = 0; i < npoints; i++)
        if (strcmp(points[i].name, name) == 0)
            return 1;
    return 0;
}

void failpoint_die(const char *name)
{
    int use_exit = 0;
    for (int i = 0; i < npoints; i++)
        if (strcmp(points[i].name, name) == 0)
            use_exit = points[i].use_exit;
    char msg[128];
    int n = snprintf(msg, sizeof msg, "failpoint %s fired (pid %d)\n", name, (int)getpid());
    ssize_t w = write(2, msg, (size_t)n);
    (void)w;
    if (use_exit)
        _exit(1);
    signal(SIGABRT, SIG_DFL);
    abort();
}
#endif

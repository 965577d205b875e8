/* daemon.c -- fork, setsid, and a parent that waits for the child's start-up (daemon.h).
 *
 * Two pipes join parent and child: the child's stderr (the parent copies it to its own
 * stderr) and a readiness pipe on which the child writes one byte when start-up is done.
 * The parent reads stderr to its end (the child closes it at daemon_ready or by exiting),
 * then the readiness pipe: a byte means ready (exit 0); none means the child exited, and
 * the parent exits with the child's status.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int ready_fd = -1;

static void parent_wait(pid_t pid, int err_fd, int rdy_fd)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(err_fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (write(2, buf, (size_t)n) < 0)
            break;
    }
    char c;
    while ((n = read(rdy_fd, &c, 1)) < 0 && errno == EINTR)
        ;
    if (n == 1)
        _exit(0);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
}

int daemon_start(char *err, size_t errlen)
{
    int errp[2], rdy[2];
    if (pipe(errp) < 0 || pipe(rdy) < 0) {
        snprintf(err, errlen, "daemonize: pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "daemonize: fork: %s", strerror(errno));
        return -1;
    }
    if (pid > 0) {
        close(errp[1]);
        close(rdy[1]);
        parent_wait(pid, errp[0], rdy[0]);
    }
    close(errp[0]);
    close(rdy[0]);
    setsid();
    dup2(errp[1], 2);
    close(errp[1]);
    fcntl(rdy[1], F_SETFD, FD_CLOEXEC);
    ready_fd = rdy[1];
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        if (null > 2)
            close(null);
    }
    return 0;
}

void daemon_ready(void)
{
    if (ready_fd < 0)
        return;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    if (write(ready_fd, "r", 1) < 0) {
        /* the parent is gone: nothing to release */
    }
    close(ready_fd);
    ready_fd = -1;
}

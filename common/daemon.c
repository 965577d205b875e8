/* daemon.c -- fork, setsid, and a parent that waits for the child's start-up (daemon.h).
 *
 * Two pipes join parent and child: the child's stderr (the parent copies it to its own
 * stderr) and a readiness pipe on which the child writes one byte when start-up is done.
 * The parent reads stderr to its end (the child closes it at daemon_ready or by exiting),
 * then the readiness pipe: a byte means ready (exit 0); none means the child exited, and
 * the parent exits with the child's status.
 */
#define _GNU_SOURCE /* pipe2 */
#include "daemon.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
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

/* ---- SIGTERM / SIGINT: a flag for long work, and a self-pipe for the event loop ---- */

static volatile sig_atomic_t stop_sig;
static int stop_pipe[2] = { -1, -1 };

struct stop_cb {
    void (*fn)(int sig, void *arg);
    void *arg;
};

static void on_stop_signal(int sig)
{
    int saved = errno;
    stop_sig = sig;
    char b = 1;
    if (write(stop_pipe[1], &b, 1) < 0) { /* full: a byte is waiting already */
    }
    errno = saved;
}

static void on_stop_pipe(evutil_socket_t fd, short what, void *arg)
{
    struct stop_cb *cb = arg;
    char buf[64];
    (void)what;
    while (read(fd, buf, sizeof buf) > 0) {
    }
    cb->fn(stop_sig, cb->arg);
}

int daemon_stop_signal(void) { return stop_sig; }

struct event *daemon_catch_stop(struct event_base *base, void (*fn)(int sig, void *arg),
                                void *arg)
{
    struct stop_cb *cb = malloc(sizeof *cb);
    if (!cb || pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        free(cb);
        return NULL;
    }
    *cb = (struct stop_cb){ fn, arg };
    struct event *ev = event_new(base, stop_pipe[0], EV_READ | EV_PERSIST, on_stop_pipe, cb);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (!ev || event_add(ev, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
        sigaction(SIGINT, &sa, NULL) < 0) {
        if (ev)
            event_free(ev);
        free(cb);
        close(stop_pipe[0]);
        close(stop_pipe[1]);
        stop_pipe[0] = stop_pipe[1] = -1;
        return NULL;
    }
    return ev;
}

void daemon_catch_stop_free(struct event *ev)
{
    if (!ev)
        return;
    void *cb = event_get_callback_arg(ev);
    event_free(ev);
    free(cb);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    stop_pipe[0] = stop_pipe[1] = -1;
}

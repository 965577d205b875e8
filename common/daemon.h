/* daemon.h -- `daemonize yes`: detach from the terminal once start-up has succeeded.
 *
 * daemon_start() forks before the daemon starts any thread or event loop. The parent waits:
 * the child's stderr goes to the parent through a pipe, so every start-up error still
 * reaches the terminal, and the parent exits with the child's status if start-up fails, or
 * with 0 once the child calls daemon_ready(). The child calls setsid() (no controlling
 * terminal), keeps its working directory, and daemon_ready() -- called after the pidfile is
 * written -- points stdin, stdout and stderr at /dev/null and releases the parent.
 *
 *     if (daemonize && daemon_start(err, sizeof err) < 0) ... exit 1
 *     ... open logs, listen, write the pidfile ...
 *     daemon_ready();   (a no-op when daemon_start was not called)
 */
#ifndef TWOPC_DAEMON_H
#define TWOPC_DAEMON_H

#include <stddef.h>

/* Returns 0 in the child; never returns in the parent. -1 with err set if fork fails. */
int daemon_start(char *err, size_t errlen);

/* Start-up succeeded: detach stdio and let the parent exit 0. */
void daemon_ready(void);

/* SIGTERM and SIGINT, as libevent's evsignal would catch them (fn(sig, arg) runs on base's
 * loop), but also visible at once to work that holds the loop for long: a replica applying
 * a round of a million commands checks daemon_stop_signal() between steps and stops there
 * (participant.c). Returns the event (free it with daemon_catch_stop_free), or NULL with
 * errno set. */
struct event_base;
struct event;
struct event *daemon_catch_stop(struct event_base *base, void (*fn)(int sig, void *arg),
                                void *arg);
void daemon_catch_stop_free(struct event *ev);
/* The signal caught (SIGTERM or SIGINT), 0 if none yet. Async-signal-safe to read. */
int daemon_stop_signal(void);

#endif

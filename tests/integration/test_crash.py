"""test_crash.py -- an acknowledged write survives kill -9 (design invariant 1).

Writer threads each SET a fresh key per operation while a process is killed
with SIGKILL.  Afterwards every key whose SET was acknowledged holds its
value; a key whose SET got an error or a dropped connection (outcome unknown)
may or may not exist but, if present, holds exactly its value; no key that
was never sent exists; all replicas end identical.
"""

import os
import signal
import threading
import time

import pytest
import redis

from conftest import wait_pid_gone

N_WRITERS = 4


class Writers:
    """Threads that SET w<t>:<n> = val<t>:<n> until stopped, recording what
    was acknowledged and what was sent without a definite answer."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.stop_flag = threading.Event()
        self.acked = {}
        self.unknown = {}
        self.refused = {}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True)
                        for t in range(N_WRITERS)]

    def run(self, tid):
        r = None
        n = 0
        while not self.stop_flag.is_set():
            k, v = b"w%d:%d" % (tid, n), b"val%d:%d" % (tid, n)
            n += 1
            try:
                if r is None:
                    r = self.cluster.client(socket_timeout=5, retry_on_timeout=False)
                ok = r.set(k, v)
                with self.lock:
                    (self.acked if ok is True else self.unknown)[k] = v
            except redis.exceptions.ResponseError as e:
                with self.lock:          # an error reply: outcome per its text
                    self.refused[k] = (v, str(e))
                time.sleep(0.01)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                    OSError):
                with self.lock:          # connection lost: outcome unknown
                    self.unknown[k] = v
                r = None
                time.sleep(0.02)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join(30)

    def count(self):
        with self.lock:
            return len(self.acked)

    def wait_acked(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while self.count() < n:
            assert time.monotonic() < deadline, "only %d writes acknowledged" % self.count()
            time.sleep(0.01)


def check_after_crash(cluster, w):
    """Every acked key present with its value, unknown ones all-or-nothing,
    refused ones absent unless their error said the outcome is unknown,
    replicas identical to what the coordinator returns."""
    print("writes: %d acknowledged, %d unknown, %d refused"
          % (len(w.acked), len(w.unknown), len(w.refused)))
    r = cluster.client(socket_timeout=10)
    lost = [k for k, v in w.acked.items() if r.get(k) != v]
    assert not lost, "%d acknowledged writes lost after the crash, e.g. %r" % (
        len(lost), sorted(lost)[:5])
    final = dict(w.acked)
    for k, v in w.unknown.items():
        got = r.get(k)
        assert got in (None, v), "key %r with unknown outcome holds %r" % (k, got)
        if got is not None:
            final[k] = got
    for k, (v, err) in w.refused.items():
        got = r.get(k)
        if "unknown" in err.lower():
            assert got in (None, v), "key %r holds %r" % (k, got)
            if got is not None:
                final[k] = got
        else:
            assert got is None, "write refused with %r became visible" % err
    cluster.wait_sqlite(final, exact=True)


def test_kill_coordinator_during_writes(cluster):
    with Writers(cluster) as w:
        w.wait_acked(200)
        pid = cluster.kill_server(signal.SIGKILL)   # writes are flowing
        assert wait_pid_gone(pid, 5.0)
        # the launcher restarts the coordinator; writes resume
        n = w.count()
        w.wait_acked(n + 100, timeout=20)
    new_pid = cluster.server_pid()
    assert new_pid is not None and new_pid != pid
    cluster.wait_ready()
    check_after_crash(cluster, w)


def test_kill_everything_during_writes(cluster):
    with Writers(cluster) as w:
        w.wait_acked(200)
        launcher = cluster.proc.pid
        children = cluster.child_pids()
        assert len(children) == 4
        cluster.proc.send_signal(signal.SIGKILL)     # no restarts from it
        for p in children:
            cluster.known_pids.add(p)
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        cluster.proc.wait(5)
        for p in children:
            assert wait_pid_gone(p, 5.0), "pid %d survived SIGKILL" % p
    assert launcher not in cluster.child_pids()
    cluster.proc = None
    cluster.start()
    cluster.wait_ready()
    check_after_crash(cluster, w)
    r = cluster.client()
    assert r.set(b"after-crash", b"ok") is True

"""test_replica_down.py -- kill -9 one replica: writes fail fast with
NOREPLICAS naming it, reads still work, a refused write never shows up; the
launcher restarts the replica, writes work again with nothing restarted by
hand, and the restarted replica holds every acknowledged key.
"""

import os
import re
import signal
import time

import pytest
import redis

from conftest import wait_pid_gone

RECOVERY_TIMEOUT = 15.0


@pytest.mark.parametrize("victim", [1, 2, 3])
def test_kill_replica_then_recover(cluster, victim):
    r = cluster.client(socket_timeout=2)
    # No waiting for the launcher's restart of the replica (the default --write-wait-ms,
    # 2 s, would let the write succeed once it is back): the write meets it down.
    assert r.config_set("write-wait-ms", 100)
    acked = {}
    for n in range(20):
        k, v = b"before:%d" % n, b"value-before-%d" % n
        assert r.set(k, v) is True
        acked[k] = v
    assert r.ping()

    addr = cluster.replica_addr(victim)
    old_pid = cluster.kill_replica(victim, signal.SIGKILL)
    assert wait_pid_gone(old_pid, 5.0), "replica %d (pid %d) survived SIGKILL" % (
        victim, old_pid)

    # a write now fails fast, with a definite NOREPLICAS error naming it
    t0 = time.monotonic()
    try:
        reply = r.set(b"while-down", b"must never be visible")
        pytest.fail("SET with replica %d (%s) dead replied %r" % (victim, addr, reply))
    except redis.exceptions.ResponseError as e:
        elapsed = time.monotonic() - t0
        msg = str(e)
    except redis.exceptions.TimeoutError:
        pytest.fail("SET with replica %d dead got no reply within 2 s" % victim)
    assert elapsed < 1.0, "NOREPLICAS took %.2f s" % elapsed
    assert msg.startswith("NOREPLICAS"), msg
    assert re.search(r"127\.0\.0\.1:%d(?!\d)" % cluster.replica_port(victim), msg), \
        "error does not name %s: %r" % (addr, msg)

    # reads are served by the other replicas
    for k, v in acked.items():
        assert r.get(k) == v, "GET %r while replica %d down" % (k, victim)

    # the launcher restarts the replica; poll until a write commits
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    attempt = 0
    last_error = None
    while True:
        attempt += 1
        v = b"probe-%d" % attempt
        try:
            assert r.set(b"probe", v) is True
            acked[b"probe"] = v
            break
        except redis.exceptions.ResponseError as e:
            last_error = str(e)
            assert last_error.startswith("NOREPLICAS"), \
                "unexpected error while the replica comes back: %r" % last_error
        if time.monotonic() > deadline:
            pytest.fail("writes still fail %.0f s after killing replica %d: %s"
                        % (RECOVERY_TIMEOUT, victim, last_error))
        time.sleep(0.05)

    new_pid = cluster.replica_pid(victim)
    assert new_pid is not None and new_pid != old_pid, \
        "replica %d pid file still says %r" % (victim, new_pid)
    cluster.wait_ready()

    for n in range(20):
        k, v = b"after:%d" % n, b"value-after-%d" % n
        assert r.set(k, v) is True
        acked[k] = v
    for k, v in acked.items():
        assert r.get(k) == v
    # the refused write was not applied anywhere
    assert r.get(b"while-down") is None
    assert r.exists(b"while-down") == 0
    # every replica, the restarted one first, holds exactly the acked data
    cluster.wait_sqlite(acked, replicas=[victim] + [i for i in (1, 2, 3) if i != victim],
                        exact=True, timeout=RECOVERY_TIMEOUT)


def test_stopped_replica_aborts_then_recovers(cluster):
    """SIGSTOP a replica: its TCP link stays up but it never votes, so a
    write fails once the prepare timeout (500 ms by default) passes, reads
    keep working, and the refused write never appears; after SIGCONT writes
    work again and all replicas hold the same data."""
    r = cluster.client(socket_timeout=5)
    acked = {}
    for n in range(10):
        assert r.set(b"stop:%d" % n, b"v%d" % n) is True
        acked[b"stop:%d" % n] = b"v%d" % n
    pid = cluster.kill_replica(2, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        try:
            reply = r.set(b"stop:refused", b"must never be visible")
            pytest.fail("SET with replica 2 stopped replied %r" % (reply,))
        except redis.exceptions.ResponseError as e:
            msg = str(e)
        except redis.exceptions.TimeoutError:
            pytest.fail("SET with replica 2 stopped got no reply within 5 s")
        elapsed = time.monotonic() - t0
        assert elapsed < 3.0, "error came after %.2f s" % elapsed
        for k, v in acked.items():
            assert r.get(k) == v, "GET %r while replica 2 stopped" % k
    finally:
        os.kill(pid, signal.SIGCONT)

    deadline = time.monotonic() + RECOVERY_TIMEOUT
    last_error = None
    while True:
        try:
            assert r.set(b"stop:after", b"ok") is True
            acked[b"stop:after"] = b"ok"
            break
        except redis.exceptions.ResponseError as e:
            last_error = str(e)
        if time.monotonic() > deadline:
            pytest.fail("writes still fail %.0f s after SIGCONT: %s"
                        % (RECOVERY_TIMEOUT, last_error))
        time.sleep(0.05)
    assert cluster.replica_pid(2) == pid, "the stopped replica was restarted"
    if "unknown" not in msg.lower():
        assert r.get(b"stop:refused") is None, \
            "write refused with %r became visible" % msg
    else:
        acked[b"stop:refused"] = r.get(b"stop:refused")
        if acked[b"stop:refused"] is None:
            del acked[b"stop:refused"]
    cluster.wait_sqlite(acked, exact=True, timeout=RECOVERY_TIMEOUT)


def test_reads_wait_for_a_replica_to_come_back(cluster):
    """Every replica killed at once: a read waits (up to --write-wait-ms, as a write does)
    for the launcher's restarts and the links' reconnections, instead of failing at once
    with "no replica is available to serve reads"."""
    r = cluster.client(socket_timeout=30)
    assert r.set(b"kept", b"value") is True
    assert r.config_set("write-wait-ms", 20000)
    pids = [cluster.kill_replica(i, signal.SIGKILL) for i in (1, 2, 3)]
    for pid in pids:
        assert wait_pid_gone(pid, 5.0), "a replica survived SIGKILL"
    t0 = time.monotonic()
    assert r.get(b"kept") == b"value"
    waited = time.monotonic() - t0
    assert waited > 0.2, "answered in %.3f s: no replica was down?" % waited
    assert r.mget(b"kept", b"none") == [b"value", None]

"""test_lost_data.py -- a replica that lost data is never read and never votes again; a
coordinator whose decision log is older than the replicas' data refuses to decide rounds.

Real processes under the launcher, which restarts whatever dies:
  test_wiped_replica        kill -9 a replica and delete its folder's files (a replaced
                            disk, an operator's rm): it comes back empty. Every read of an
                            acknowledged key still returns its value (before this check one
                            GET in three returned nil), writes fail with NOREPLICAS naming it
                            "in need of repair", INFO twopc shows state=needs-repair, the
                            coordinator's log says why, and the healthy replicas' data is
                            unchanged.
  test_rolled_back_replica  a replica's folder is restored from an older copy (taken while
                            it was down) after overwrites and deletes of keys it had: no read
                            ever returns an old value or a deleted key, and it is refused
                            as in need of repair.
  test_lost_decision_log    the coordinator's decision.log is deleted while the replicas
                            hold committed rounds: the restarted coordinator refuses to
                            decide anything, with a message saying what it found and how to
                            proceed, and no replica's data changes.
Until repair exists (issue #11), the cluster stays unwritable with a replica in need of
repair; the tests check the safety half: no wrong read, no vote, a clear reason.
"""

import glob
import os
import shutil
import time

import pytest
import redis

from conftest import wait_pid_gone

DEADLINE = 15.0


def write_keys(r, prefix, n):
    acked = {}
    for i in range(n):
        k, v = b"%s:%d" % (prefix, i), b"%s-value-%d" % (prefix, i)
        assert r.set(k, v) is True
        acked[k] = v
    return acked


def replica_state(cluster, i):
    info = cluster.info()
    return dict(kv.split("=", 1) for kv in info["replica_%d" % i].split(","))["state"]


def wait_state(cluster, i, want):
    deadline = time.monotonic() + DEADLINE
    state = None
    while time.monotonic() < deadline:
        try:
            state = replica_state(cluster, i)
        except (OSError, KeyError):
            state = None
        if state == want:
            return
        time.sleep(0.05)
    pytest.fail("replica %d state %r, not %r, after %.0f s" % (i, state, want, DEADLINE))


def kill_and_wait(cluster, i):
    pid = cluster.kill_replica(i)
    assert wait_pid_gone(pid, 5.0), "replica %d survived SIGKILL" % i


def data_files(cluster, i):
    d = cluster.replica_dir(i)
    return [p for p in glob.glob(os.path.join(d, "*"))
            if os.path.basename(p).startswith(("votes.log", "data.sqlite"))]


def coordinator_log(cluster):
    with open(os.path.join(cluster.coordinator_dir, "twopc-server.log"), "rb") as f:
        return f.read().decode("utf-8", "replace")


def check_reads(r, acked, rounds=6):
    """Every acknowledged key reads back its value, many times (reads are spread over the
    replicas round-robin, so a replica serving reads would be hit)."""
    for _ in range(rounds):
        for k, v in acked.items():
            assert r.get(k) == v, "GET %r returned %r, want %r" % (k, r.get(k), v)
        assert r.mget(list(acked)) == list(acked.values())


def check_write_refused(cluster, r, victim):
    with pytest.raises(redis.exceptions.ResponseError) as e:
        r.set(b"must-not-commit", b"x")
    msg = str(e.value)
    assert msg.startswith("NOREPLICAS"), msg
    assert cluster.replica_addr(victim) in msg and "in need of repair" in msg, msg


def test_wiped_replica(cluster):
    r = cluster.client(socket_timeout=5)
    acked = write_keys(r, b"wipe", 200)
    victim = 2
    cluster.wait_sqlite(acked)  # every replica has applied every acknowledged write
    healthy = {i: cluster.sqlite_dict(i) for i in (1, 3)}
    kill_and_wait(cluster, victim)
    for path in data_files(cluster, victim):
        os.unlink(path)
    # the launcher restarts it on an empty folder
    wait_state(cluster, victim, "needs-repair")
    check_reads(r, acked)
    assert r.dbsize() == len(acked)
    check_write_refused(cluster, r, victim)
    log = coordinator_log(cluster)
    assert "replica %s needs repair" % cluster.replica_addr(victim) in log, log[-2000:]
    assert "data was lost" in log, log[-2000:]
    # nothing reached the healthy replicas, and the wiped one stays empty
    for i, rows in healthy.items():
        assert cluster.sqlite_dict(i) == rows, "replica %d's data changed" % i
    assert cluster.sqlite_dict(victim) == {}


def test_rolled_back_replica(cluster):
    r = cluster.client(socket_timeout=5)
    old = write_keys(r, b"roll", 100)
    victim = 3
    kill_and_wait(cluster, victim)
    backup = os.path.join(cluster.root, "replica-3-backup")
    os.mkdir(backup)
    for path in data_files(cluster, victim):
        shutil.copy2(path, backup)
    cluster.wait_ready()
    # overwrite half the keys, delete a quarter, add new ones
    acked = dict(old)
    for n, k in enumerate(sorted(old)):
        if n % 2 == 0:
            acked[k] = b"new-" + old[k]
            assert r.set(k, acked[k]) is True
        elif n % 4 == 1:
            assert r.delete(k) == 1
            del acked[k]
    acked.update(write_keys(r, b"after", 50))
    time.sleep(0.5)  # let every replica report the rounds durable (they END)
    kill_and_wait(cluster, victim)
    for path in data_files(cluster, victim):
        os.unlink(path)
    for path in glob.glob(os.path.join(backup, "*")):
        shutil.copy2(path, cluster.replica_dir(victim))
    wait_state(cluster, victim, "needs-repair")
    check_reads(r, acked)
    for k in old:
        if k not in acked:
            assert r.get(k) is None, "deleted key %r came back" % k
    check_write_refused(cluster, r, victim)
    assert "restored from an older copy" in coordinator_log(cluster)


def test_lost_decision_log(cluster):
    r = cluster.client(socket_timeout=5)
    cluster.wait_sqlite(write_keys(r, b"coord", 50))
    before = {i: cluster.sqlite_dict(i) for i in (1, 2, 3)}
    pid = cluster.kill_server()
    assert wait_pid_gone(pid, 5.0)
    os.unlink(os.path.join(cluster.coordinator_dir, "decision.log"))
    deadline = time.monotonic() + DEADLINE
    log = ""
    while time.monotonic() < deadline:
        log = coordinator_log(cluster)
        if "this decision log only knows rounds below" in log:
            break
        time.sleep(0.1)
    else:
        pytest.fail("no refusal in the coordinator's log:\n" + log[-3000:])
    assert "restore the latest decision.log" in log
    time.sleep(0.5)
    for i, rows in before.items():
        assert cluster.sqlite_dict(i) == rows, "replica %d's data changed" % i

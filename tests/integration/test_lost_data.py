"""test_lost_data.py -- a replica that lost data is never read and never votes until it is
repaired, and it is repaired by itself from a healthy replica; a coordinator whose decision
log is older than the replicas' data refuses to decide rounds.

Real processes under the launcher, which restarts whatever dies:
  test_wiped_replica        kill -9 a replica and delete its folder's files (a replaced
                            disk, an operator's rm): it comes back empty. While readers run
                            on a second connection, no read of an acknowledged key ever
                            returns nil (before identity checks one GET in three did); the
                            coordinator logs that it needs repair and why, copies a healthy
                            replica's data to it (writes wait meanwhile), and then it holds
                            exactly the healthy replicas' data; writes of old keys work
                            again, and INFO twopc counts the repair.
  test_wiped_replica_hashes the same with hashes, lists and a set (one of 3,000 fields, small ones, one with
                            a TTL) next to strings: the repair copies each hash's row (type,
                            field count, expiry) and every field (TPC.DUMP's collection
                            rows), and the victim's kv and el tables end identical to the
                            healthy replicas'.
  test_rolled_back_replica  a replica's folder is restored from an older copy (taken while
                            it was down) after overwrites and deletes of keys it had: no read
                            ever returns an old value or a deleted key; it is repaired the
                            same way and ends identical to the others.
  test_repair_interrupted   kill -9 of the source, of the target or of the coordinator while
                            a repair copies (small chunks, so it takes a while): the repair
                            starts over and finishes, readers never see a missing value,
                            and every replica ends identical.
  test_lost_decision_log    the coordinator's decision.log is deleted while the replicas
                            hold committed rounds: the restarted coordinator refuses to
                            decide anything, with a message saying what it found and how to
                            proceed, and no replica's data changes.
"""

import glob
import os
import shutil
import threading
import time

import pytest
import redis

from conftest import Cluster, wait_pid_gone

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


class Readers:
    """A thread reading every acknowledged key over and over on its own connection, until
    stopped; records every wrong answer (reads are spread over the replicas round-robin,
    so one that served reads while its data is incomplete would be caught)."""

    def __init__(self, cluster, acked):
        self.r = cluster.client(socket_timeout=10)
        self.acked = dict(acked)
        self.wrong = []
        self.reads = 0
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        keys = sorted(self.acked)
        while not self.stop.is_set():
            for k, got in zip(keys, self.r.mget(keys)):
                self.reads += 1
                if got != self.acked[k]:
                    self.wrong.append((k, got, self.acked[k]))

    def finish(self):
        self.stop.set()
        self.t.join(10)
        assert not self.wrong, "wrong reads: %r" % self.wrong[:5]
        assert self.reads > 0


def wait_repaired(cluster, victim, n=1):
    """Until INFO twopc counts n repairs and the victim's link is ready again."""
    deadline = time.monotonic() + DEADLINE
    info = {}
    while time.monotonic() < deadline:
        try:
            info = cluster.info()
            repair = dict(kv.split("=", 1) for kv in info["repair"].split(","))
            if int(repair["done"]) >= n and replica_state(cluster, victim) == "ready":
                return repair
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    pytest.fail("replica %d not repaired within %.0f s: %r" % (victim, DEADLINE,
                                                                info.get("repair")))


def check_identical(cluster):
    rows = cluster.sqlite_dict(1)
    for i in (2, 3):
        assert cluster.sqlite_dict(i) == rows, "replica %d differs from replica 1" % i


def test_wiped_replica(cluster):
    r = cluster.client(socket_timeout=5)
    acked = write_keys(r, b"wipe", 2000)
    victim = 2
    cluster.wait_sqlite(acked)  # every replica has applied every acknowledged write
    readers = Readers(cluster, acked)
    kill_and_wait(cluster, victim)
    for path in data_files(cluster, victim):
        os.unlink(path)
    # the launcher restarts it on an empty folder; the coordinator repairs it
    repair = wait_repaired(cluster, victim)
    readers.finish()
    assert int(repair["failed"]) == 0, repair
    log = coordinator_log(cluster)
    assert "replica %s needs repair" % cluster.replica_addr(victim) in log, log[-2000:]
    # why: a wiped folder has no identity (cluster and replica id) any more
    assert "it has no identity: its data folder is new or was wiped" in log, log[-2000:]
    assert "replica %s repaired from" % cluster.replica_addr(victim) in log, log[-2000:]
    check_identical(cluster)
    assert cluster.sqlite_dict(victim) == acked
    # writes that read old state work again (before repair they failed with divergence)
    assert r.incr(b"counter") == 1
    assert r.append(b"wipe:7", b"+") == len(acked[b"wipe:7"]) + 1
    assert r.delete(b"wipe:8") == 1
    assert r.dbsize() == len(acked) + 1 - 1


def collection_rows(cluster, i):
    kv = cluster.sqlite_query(i, "SELECT db, k, v, exp, t, n FROM kv ORDER BY db, h, k")
    el = cluster.sqlite_query(i, "SELECT db, h, k, p, f, v, s FROM el "
                                 "ORDER BY db, h, k, p, f")
    return kv, el


def test_wiped_replica_hashes(cluster):
    r = cluster.client(socket_timeout=10)
    acked = write_keys(r, b"str", 50)
    big = {b"field:%d" % i: b"value:%d" % i for i in range(3000)}
    pipe = r.pipeline(transaction=False)
    for i in range(0, 3000, 500):
        pipe.hset(b"big", mapping=dict(list(big.items())[i:i + 500]))
    for n in range(20):
        pipe.hset(b"small:%d" % n, mapping={b"a": b"%d" % n, b"": b"", b"\x00\xff": b"b"})
    pipe.expire(b"small:3", 100000)
    pipe.hdel(b"small:4", b"a")
    # a list grown at both ends (its head position below zero) and popped, and a short one
    for i in range(0, 1000, 250):
        pipe.rpush(b"list", *[b"r%d" % j for j in range(i, i + 250)])
        pipe.lpush(b"list", *[b"l%d" % j for j in range(i, i + 250)])
    pipe.lpop(b"list", 10)
    pipe.rpush(b"short", b"x", b"", b"\x00")
    pipe.sadd(b"set", *[b"m%d" % j for j in range(500)], b"", b"\xff")
    assert all(x is not False for x in pipe.execute())
    lists = {k: r.lrange(k, 0, -1) for k in (b"list", b"short")}
    # The same key names in other databases: a repair copies every database's collections.
    for db in (1, 5):
        rd = cluster.client(socket_timeout=10, db=db)
        assert rd.hset(b"small:0", mapping={b"db": b"%d" % db, b"x": b"y"}) == 2
        assert rd.zadd(b"board", {b"ann": 1.5, b"bob": db}) == 2
        rd.close()
    victim = 1
    expected = None
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:  # every replica has applied every round
        rows = [collection_rows(cluster, i) for i in (1, 2, 3)]
        # elements: the hashes', the lists' entries and their heads, the set's, databases 1, 5
        if rows[0] == rows[1] == rows[2] and \
                len(rows[0][1]) == 3000 + 59 + 1990 + 3 + 2 + 502 + 8:
            expected = rows[0]
            break
        time.sleep(0.05)
    assert expected, "replicas did not converge"
    kill_and_wait(cluster, victim)
    for path in data_files(cluster, victim):
        os.unlink(path)
    repair = wait_repaired(cluster, victim)
    assert int(repair["failed"]) == 0, repair
    assert collection_rows(cluster, victim) == expected
    assert r.hlen(b"big") == 3000 and r.hget(b"big", b"field:2999") == b"value:2999"
    assert r.hgetall(b"small:4") == {b"": b"", b"\x00\xff": b"b"}
    assert r.ttl(b"small:3") > 0 and r.type(b"big") == b"hash"
    assert {k: r.lrange(k, 0, -1) for k in lists} == lists
    assert r.lindex(b"list", 0) == b"l989" and r.lindex(b"list", -1) == b"r999"
    assert r.rpush(b"list", b"after") == 1991 and r.lpop(b"list") == b"l989"
    assert r.scard(b"set") == 502 and r.sismember(b"set", b"\xff") and r.type(b"set") == b"set"
    r5 = cluster.client(socket_timeout=10, db=5)
    assert r5.hgetall(b"small:0") == {b"db": b"5", b"x": b"y"}
    assert r5.zrange(b"board", 0, -1, withscores=True) == [(b"ann", 1.5), (b"bob", 5.0)]
    r5.close()


def test_rolled_back_replica(cluster):
    r = cluster.client(socket_timeout=5)
    old = write_keys(r, b"roll", 300)
    victim = 3
    cluster.wait_sqlite(old)
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
    cluster.wait_sqlite(acked)
    time.sleep(0.5)  # let every replica report the rounds durable (they END)
    readers = Readers(cluster, acked)
    kill_and_wait(cluster, victim)
    for path in data_files(cluster, victim):
        os.unlink(path)
    for path in glob.glob(os.path.join(backup, "*")):
        shutil.copy2(path, cluster.replica_dir(victim))
    wait_repaired(cluster, victim)
    readers.finish()
    for k in old:
        if k not in acked:
            assert r.get(k) is None, "deleted key %r came back" % k
    assert "restored from an older copy" in coordinator_log(cluster)
    check_identical(cluster)
    assert cluster.sqlite_dict(victim) == acked


def load(cluster, n):
    """n keys through redis-cli --pipe (fast); returns them."""
    acked = {b"bulk:%d" % i: b"value-%d-%s" % (i, b"x" * 24) for i in range(n)}
    r = cluster.client(socket_timeout=30)
    pipe = r.pipeline(transaction=False)
    for k, v in acked.items():
        pipe.set(k, v)
    assert all(pipe.execute())
    return acked


def repair_info(cluster):
    return dict(kv.split("=", 1) for kv in cluster.info()["repair"].split(","))


@pytest.mark.parametrize("role", ["source", "target", "coordinator"])
def test_repair_interrupted(role):
    cluster = Cluster(3, coordinator_args=["--repair-chunk", "20"])
    try:
        cluster.start()
        cluster.wait_ready()
        acked = load(cluster, 20000)
        cluster.wait_sqlite(acked, exact=False)
        readers = Readers(cluster, dict(list(acked.items())[:200]))
        victim = 2
        kill_and_wait(cluster, victim)
        for path in data_files(cluster, victim):
            os.unlink(path)
        deadline = time.monotonic() + DEADLINE
        info = {}
        while time.monotonic() < deadline:  # catch the copy in the middle
            try:
                info = repair_info(cluster)
            except (OSError, KeyError):
                info = {}
            if info.get("state") == "copying" and int(info.get("keys", 0)) > 0:
                break
            time.sleep(0.005)
        else:
            pytest.fail("never saw the repair copying: %r" % info)
        if role == "target":
            kill_and_wait(cluster, victim)
        elif role == "coordinator":
            assert wait_pid_gone(cluster.kill_server(), 5.0)
        else:
            source = [a for a in (1, 3)
                      if cluster.replica_addr(a) == info["source"]][0]
            kill_and_wait(cluster, source)
        cluster.wait_ready(timeout=DEADLINE)
        readers.finish()
        log = coordinator_log(cluster)
        assert log.count(" repaired from ") >= 1, log[-3000:]
        if role != "coordinator":
            assert " stopped (" in log, log[-3000:]  # the interrupted copy was abandoned
        check_identical(cluster)
        assert cluster.sqlite_dict(victim) == acked
        r = cluster.client(socket_timeout=5)
        assert r.set(b"after", b"repair") is True
        assert r.dbsize() == len(acked) + 1
    finally:
        cluster.close()


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
        if ("this decision log only knows rounds below" in log or
                "but this decision log is new" in log):
            break
        time.sleep(0.1)
    else:
        pytest.fail("no refusal in the coordinator's log:\n" + log[-3000:])
    assert "restore the latest decision.log" in log
    time.sleep(0.5)
    for i, rows in before.items():
        assert cluster.sqlite_dict(i) == rows, "replica %d's data changed" % i


def zset_rows(cluster, i):
    kv = cluster.sqlite_query(i, "SELECT k, v, exp, t, n FROM kv ORDER BY h, k")
    el = cluster.sqlite_query(i, "SELECT db, h, k, p, f, v, s FROM el ORDER BY db, h, k, p, f")
    return kv, el


def test_wiped_replica_zsets(cluster):
    """A repaired replica gets its sorted sets back with their score index (el.s)."""
    r = cluster.client(socket_timeout=10)
    pipe = r.pipeline(transaction=False)
    for i in range(0, 3000, 500):
        pipe.zadd(b"board", {b"player:%d" % j: (j * 7) % 1000 / 4 for j in range(i, i + 500)})
    for n in range(10):
        pipe.zadd(b"z:%d" % n, {b"a": n, b"": float("inf"), b"\x00\xff": float("-inf")})
    pipe.expire(b"z:3", 100000)
    pipe.zrem(b"z:4", b"a")
    assert all(x is not False for x in pipe.execute())
    victim = 2
    expected = None
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:  # every replica has applied every round
        rows = [zset_rows(cluster, i) for i in (1, 2, 3)]
        if rows[0] == rows[1] == rows[2] and len(rows[0][1]) == 3000 + 29:
            expected = rows[0]
            break
        time.sleep(0.05)
    assert expected, "replicas did not converge"
    assert all(row[6] is not None for row in expected[1]), "a member without its score"
    kill_and_wait(cluster, victim)
    for path in data_files(cluster, victim):
        os.unlink(path)
    repair = wait_repaired(cluster, victim)
    assert int(repair["failed"]) == 0, repair
    assert zset_rows(cluster, victim) == expected
    assert r.zcard(b"board") == 3000 and r.type(b"board") == b"zset"
    assert r.zrange(b"z:4", 0, -1, withscores=True) == [(b"\x00\xff", float("-inf")),
                                                         (b"", float("inf"))]
    assert r.ttl(b"z:3") > 0
    assert r.zrangebyscore(b"board", 249.75, "+inf") == sorted(
        b"player:%d" % j for j in range(3000) if (j * 7) % 1000 == 999)

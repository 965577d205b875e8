"""A work queue on a twopc list with redis-py, the way applications keep one: producers
RPUSH jobs, workers block in BLPOP (or move each job to a processing list with BLMOVE).
Every job reaches exactly one worker; clients blocked on one list are served in the order
they blocked; timeouts answer nil as Redis does; a client that goes away while blocked
takes nothing with it; a pop whose round fails answers an error and takes nothing."""

import signal
import threading
import time

import pytest
import redis

from conftest import wait_for

JOBS = 400
WORKERS = 4




def blocked(c):
    return c.client().info("clients")["blocked_clients"]


def test_workers_get_every_job_once(c):
    r = c.client()
    r.delete("jobs", "done")
    got = [[] for _ in range(WORKERS)]

    def worker(i):
        w = c.client(socket_timeout=30)
        while True:
            key, job = w.blpop(["jobs"], timeout=20)
            if job == b"stop":
                return
            got[i].append(job)
            w.rpush("done", job)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    wait_for("the workers to block", lambda: blocked(c) == WORKERS)
    p = r.pipeline(transaction=False)
    for j in range(JOBS):
        p.rpush("jobs", "job-%d" % j)
        if j % 50 == 49:
            p.execute()
            time.sleep(0.01)
    p.execute()
    r.rpush("jobs", *["stop"] * WORKERS)
    for t in threads:
        t.join(60)
        assert not t.is_alive(), "a worker never got its stop job"
    every = [j for g in got for j in g]
    assert sorted(every) == sorted(b"job-%d" % j for j in range(JOBS)), \
        "jobs lost or delivered twice"
    assert sum(1 for g in got if g) >= 2, "one worker took every job: nobody else blocked?"
    assert r.llen("jobs") == 0 and r.llen("done") == JOBS
    assert blocked(c) == 0


def test_served_in_the_order_they_blocked(c):
    r = c.client()
    r.delete("fifo")
    results = {}

    def waiter(name):
        results[name] = c.client(socket_timeout=30).blpop(["fifo"], timeout=20)

    threads = []
    for i, name in enumerate(["first", "second", "third"]):
        t = threading.Thread(target=waiter, args=(name,))
        t.start()
        threads.append(t)
        wait_for("%s to block" % name, lambda: blocked(c) == i + 1)
    r.rpush("fifo", "a", "b", "c")
    for t in threads:
        t.join(30)
    assert results == {"first": (b"fifo", b"a"), "second": (b"fifo", b"b"),
                       "third": (b"fifo", b"c")}


def test_timeouts_and_multi(c):
    r = c.client()
    r.delete("empty", "dst")
    t0 = time.monotonic()
    assert r.blpop(["empty"], timeout=0.3) is None
    assert time.monotonic() - t0 >= 0.29
    assert r.blmove("empty", "dst", 0.2, "LEFT", "RIGHT") is None
    assert r.bzpopmin(["empty"], timeout=0.1) is None
    # Inside MULTI a blocking pop answers at once.
    p = r.pipeline(transaction=True)
    p.blpop(["empty"], timeout=0)
    p.rpush("dst", "x")
    assert p.execute() == [None, 1]
    assert r.blmove("dst", "dst2", 0, "LEFT", "LEFT") == b"x"
    assert r.lrange("dst2", 0, -1) == [b"x"]


def test_a_client_that_leaves_takes_nothing(c):
    r = c.client()
    r.delete("left")
    w = c.client(socket_timeout=30)
    conn = w.connection_pool.get_connection("BLPOP")
    conn.send_command("BLPOP", "left", 0)
    wait_for("the client to block", lambda: blocked(c) == 1)
    conn.disconnect()
    wait_for("the coordinator to forget it", lambda: blocked(c) == 0)
    r.rpush("left", "kept")
    time.sleep(0.2)
    assert r.lrange("left", 0, -1) == [b"kept"]


def test_client_unblock(c):
    r = c.client()
    r.delete("ub")
    out = {}

    def waiter():
        w = c.client(socket_timeout=30)
        out["id"] = w.client_id()
        try:
            out["reply"] = w.blpop(["ub"], timeout=0)
        except redis.ResponseError as e:
            out["reply"] = str(e)

    t = threading.Thread(target=waiter)
    t.start()
    wait_for("the client to block", lambda: blocked(c) == 1)
    mine = [cl for cl in r.client_list() if int(cl["id"]) == out["id"]]
    assert mine and mine[0]["flags"] == "b" and mine[0]["cmd"] == "blpop", mine
    assert r.client_unblock(out["id"], error=True) is True
    t.join(10)
    assert out["reply"] == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
    assert r.client_unblock(out["id"]) is False


def test_a_failed_pop_round_takes_nothing(c):
    r = c.client()
    r.delete("fail")
    r.rpush("fail", "precious")
    # A stopped replica never votes, so the pop's round fails, whatever the timing. (A
    # killed one raced: a round sent before the coordinator saw the death failed, one sent
    # after waited --write-wait-ms for the link and the launcher's restart, and succeeded.)
    c.kill_replica(2, signal.SIGSTOP)
    try:
        with pytest.raises(redis.ResponseError) as e:
            c.client().blpop(["fail"], timeout=1)
        assert "NOREPLICAS" in str(e.value) or "replica" in str(e.value)
    finally:
        c.kill_replica(2, signal.SIGCONT)
        wait_for("the replica to come back",
                 lambda: _writes_work(r), timeout=30)
    assert r.lrange("fail", 0, -1) == [b"precious"]


def _writes_work(r):
    try:
        r.set("probe", "1")
        return True
    except redis.ResponseError:
        return False

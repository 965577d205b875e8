"""test_reads.py -- the batched read path: the coordinator sends the reads of one loop
turn to a replica as one TPC.MREAD request.

  - TPC.MREAD on a replica directly: replies in order, each as of the given clock (an
    expired key is gone), a write command inside gets an error element and changes
    nothing, malformed framing gets one error and no partial array;
  - many pipelining clients reading at once get every reply, in order, right;
  - a replica stopped (SIGSTOP) while batches are on their way to it: every read still
    gets its answer from another replica (the batch's prepare timeout re-sends each read).
"""

import os
import signal
import threading
import time

from conftest import RespConn, RespError


def test_mread_on_a_replica(cluster):
    r = cluster.client(socket_timeout=10)
    assert r.set("a", "1") is True
    assert r.set("b", "two") is True
    assert r.set("gone", "x", px=1) is True          # expired at any later clock
    now = str(int(time.time() * 1000) + 1000)
    c = RespConn(cluster.replica_ports[0])
    try:
        reply = c.command("TPC.MREAD", now, "5", "2", "GET", "a", "3", "MGET", "b", "zz",
                          "2", "GET", "gone", "3", "SET", "a", "9", "1", "DBSIZE")
        assert reply[0] == b"1"
        assert reply[1] == [b"two", None]
        assert reply[2] is None
        assert isinstance(reply[3], RespError) and "not a read" in str(reply[3]), reply[3]
        assert reply[4] == 2
        assert len(reply) == 5
        for bad in (["TPC.MREAD", now, "2", "2", "GET", "a"],          # n too big
                    ["TPC.MREAD", now, "1", "5", "GET", "a"],          # argc too big
                    ["TPC.MREAD", now, "1", "2", "GET", "a", "x"],     # trailing
                    ["TPC.MREAD", "-1", "1", "2", "GET", "a"],         # bad clock
                    ["TPC.MREAD", now, "x"]):
            reply = c.command(*bad)
            assert isinstance(reply, RespError), (bad, reply)
        assert c.command("TPC.MREAD", now, "0") == []
    finally:
        c.close()
    assert r.get("a") == b"1", "a write inside TPC.MREAD changed the data"


def test_many_pipelined_readers(cluster):
    r = cluster.client(socket_timeout=10)
    pipe = r.pipeline(transaction=False)
    for n in range(500):
        pipe.set("rk:%d" % n, "v%d" % n)
    assert all(pipe.execute())
    errors = []

    def reader(seed):
        try:
            c = cluster.client(socket_timeout=10)
            for rnd in range(20):
                p = c.pipeline(transaction=False)
                keys = [(seed * 31 + rnd * 7 + i) % 600 for i in range(50)]
                for k in keys:
                    p.get("rk:%d" % k)
                p.mget(["rk:%d" % k for k in keys[:5]])
                got = p.execute()
                want = [b"v%d" % k if k < 500 else None for k in keys]
                assert got[:-1] == want, (seed, rnd)
                assert got[-1] == want[:5]
            c.close()
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]


def test_reads_survive_a_stopped_replica(cluster):
    r = cluster.client(socket_timeout=10)
    pipe = r.pipeline(transaction=False)
    for n in range(200):
        pipe.set("sk:%d" % n, "v%d" % n)
    assert all(pipe.execute())
    pid = cluster.kill_replica(1, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        for rnd in range(6):                 # some batches go to the stopped replica
            p = r.pipeline(transaction=False)
            for n in range(200):
                p.get("sk:%d" % n)
            assert p.execute() == [b"v%d" % n for n in range(200)], rnd
        assert time.monotonic() - t0 < 8.0
    finally:
        os.kill(pid, signal.SIGCONT)
    assert r.get("sk:7") == b"v7"

"""test_consistency.py -- a mixed workload of SET/DEL/GET/EXISTS on a small
set of overlapping keys from several threads (some pipelining), a few
thousand operations.  Afterwards every replica's SQLite is identical and
equal to what GETs through the coordinator return, and every value is one a
client really wrote to that key.  The workload is seeded: the seed is in
every failure message (set TWOPC_IT_SEED to replay a schedule's choices).
"""

import os
import random
import sqlite3
import threading
import traceback
import urllib.parse

import pytest
import redis

N_THREADS = 8
OPS_PER_THREAD = 400
PIPELINE_THREADS = 2        # threads 0..1 send batches of 25 in a pipeline
BATCH = 25

KEYS = [b"mix:%d" % i for i in range(40)] + [b"mix:\x00\r\n", b"mix:\xff"]


def make_ops(rng, tid):
    """The thread's operations as (name, args) tuples."""
    ops = []
    for n in range(OPS_PER_THREAD):
        p = rng.random()
        if p < 0.55:
            ops.append(("SET", (rng.choice(KEYS), b"t%d-%d" % (tid, n) + b"\r\n" * (n % 2))))
        elif p < 0.80:
            ops.append(("DEL", tuple(rng.choice(KEYS) for _ in range(rng.randint(1, 3)))))
        elif p < 0.93:
            ops.append(("GET", (rng.choice(KEYS),)))
        else:
            ops.append(("EXISTS", tuple(rng.choice(KEYS) for _ in range(rng.randint(1, 3)))))
    return ops


def test_mixed_workload_replicas_identical(cluster):
    seed = int(os.environ.get("TWOPC_IT_SEED") or random.randrange(1 << 30))
    where = "(seed %d)" % seed
    written = {k: set() for k in KEYS}   # values ever sent by a SET, per key
    lock = threading.Lock()
    errors = []

    def check(op, args, reply):
        if op == "SET":
            assert reply is True, "SET %r -> %r" % (args, reply)
        elif op == "DEL":
            assert isinstance(reply, int) and 0 <= reply <= len(set(args)), \
                "DEL %r -> %r" % (args, reply)
        elif op == "EXISTS":
            assert isinstance(reply, int) and 0 <= reply <= len(args), \
                "EXISTS %r -> %r" % (args, reply)
        elif reply is not None:
            with lock:
                ok = reply in written[args[0]]
            assert ok, "GET %r returned %r, never written to it" % (args[0], reply)

    def worker(tid):
        try:
            ops = make_ops(random.Random(seed * 1000 + tid), tid)
            r = cluster.client(socket_timeout=60)
            step = BATCH if tid < PIPELINE_THREADS else 1
            for start in range(0, len(ops), step):
                batch = ops[start:start + step]
                with lock:
                    for op, args in batch:
                        if op == "SET":
                            written[args[0]].add(args[1])
                if step == 1:
                    op, args = batch[0]
                    replies = [r.execute_command(op, *args)]
                else:
                    pipe = r.pipeline(transaction=False)
                    for op, args in batch:
                        pipe.execute_command(op, *args)
                    replies = pipe.execute()
                for (op, args), reply in zip(batch, replies):
                    check(op, args, reply)
            r.close()
        except BaseException:
            errors.append("thread %d %s: %s" % (tid, where, traceback.format_exc(limit=3)))

    threads = [threading.Thread(target=worker, args=(t,), daemon=True)
               for t in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "workload still running after 120 s " + where
    assert not errors, "%d threads failed; first: %s" % (len(errors), errors[0])

    r = cluster.client()
    through_coordinator = {}
    for k in KEYS:
        v = r.get(k)
        if v is not None:
            assert v in written[k], "GET %r = %r, never written to it %s" % (k, v, where)
            through_coordinator[k] = v
    assert through_coordinator, "workload left no key at all " + where
    cluster.wait_sqlite(through_coordinator, exact=True)
    # and the replicas agree with each other (same data, same order)
    rows = [cluster.sqlite_rows(i) for i in (1, 2, 3)]
    assert rows[0] == rows[1] == rows[2], where
    # GET again: nothing moved while the replicas caught up
    assert {k: r.get(k) for k in through_coordinator} == through_coordinator


def test_diverged_replica_refuses_to_commit(cluster):
    """Replicas compute every write's result; if one disagrees (here its SQLite was changed
    behind its back), the round aborts with a divergence error naming it, nothing is
    applied anywhere, DEBUG DIGEST reports the difference, and writes whose results agree
    still commit."""
    r = cluster.client(socket_timeout=10)
    assert r.set("div:n", "10") is True
    assert r.set("div:other", "x") is True
    cluster.wait_sqlite({b"div:n": b"10", b"div:other": b"x"}, exact=True)
    uri = "file:%s" % urllib.parse.quote(cluster.sqlite_path(2))
    con = sqlite3.connect(uri, uri=True, timeout=5.0)
    try:
        assert con.execute("UPDATE kv SET v = X'3530' WHERE k = X'6469763A6E'").rowcount == 1
        con.commit()
    finally:
        con.close()
    with pytest.raises(redis.exceptions.ResponseError) as e:
        r.incr("div:n")                       # replica 2 computes 51, the others 11
    msg = str(e.value)
    assert "computed different results (divergence)" in msg, msg
    assert cluster.replica_addr(2) in msg, msg
    for i in (1, 3):
        assert cluster.sqlite_dict(i)[b"div:n"] == b"10", "replica %d applied it" % i
    assert cluster.sqlite_dict(2)[b"div:n"] == b"50"
    with pytest.raises(redis.exceptions.ResponseError) as e:
        r.execute_command("DEBUG", "DIGEST")
    assert "DIVERGENCE" in str(e.value), str(e.value)
    assert r.append("div:other", "y") == 2    # agreeing results still commit
    r.close()

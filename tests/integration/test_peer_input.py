"""A replica never trusts its peer (#13, #16): malformed or out-of-order internal commands
get an error and change nothing; a poisoned round id (2^64-1, or one absurdly far ahead)
is refused, so it can no longer stop every later write. Each case talks raw RESP to a
real replica, after TPC.HELLO as a coordinator would (this cluster has no secret), then
checks the replica's data did not change and the cluster still commits."""

import os
import time

import pytest

from conftest import RespConn, RespError

U64_MAX = 2 ** 64 - 1
RID_LIMIT = 2 ** 62


def err(reply):
    assert isinstance(reply, RespError), "expected an error, got %r" % (reply,)
    return reply.message.decode()


def hello(port):
    s = RespConn(port)
    reply = s.command("TPC.HELLO", "2", "2", "test")
    assert isinstance(reply, list), reply
    return s, reply


def max_rid(port):
    s = RespConn(port)
    try:
        return s.command("TPC.HELLO", "2", "2", "probe")[1]
    finally:
        s.close()


def writes_work(c, key, n=20, timeout=20.0):
    """n SETs through the coordinator all succeed (a write the stray connection's HELLO
    disturbed may fail once, and is retried)."""
    r = c.client()
    for i in range(n):
        deadline = time.monotonic() + timeout
        while True:
            try:
                assert r.set(key, str(i))
                break
            except Exception as e:  # noqa: BLE001 -- retried until the deadline
                if time.monotonic() > deadline:
                    raise AssertionError("writes stopped after a hostile peer: %s" % e)
                time.sleep(0.1)
    assert r.get(key) == str(n - 1).encode()


def digests(c):
    c.client().set("pi:barrier", "x")   # every replica applies the rounds before it
    time.sleep(0.2)
    return [RespConn(p).command("DIGEST") for p in c.replica_ports]


def prepare(rid, *ops, now="1"):
    args = ["TPC.PREPARE", str(rid), now, str(len(ops))]
    for op in ops:
        args += [str(len(op))] + list(op)
    return args


@pytest.mark.parametrize("rid", [U64_MAX, RID_LIMIT, 2 ** 63])
def test_round_id_poisoning_is_refused(cluster, rid):
    c = cluster
    writes_work(c, "pi:before", 3)
    port = c.replica_ports[0]
    s, _ = hello(port)
    reply = s.command(*prepare(rid, ("SET", "pi:x", "evil")))
    # the coordinator takes its link back and numbers its rounds as before (twopc 0.2.0
    # numbered them after 2^64-1, wrapped to 0, and every later write was "stale")
    writes_work(c, "pi:after")
    assert "past any a coordinator issues" in err(reply)
    assert max_rid(port) < RID_LIMIT
    c.kill_server()
    c.wait_ready()
    writes_work(c, "pi:after2")
    assert c.client().get("pi:x") is None


def test_a_round_far_ahead_is_refused(cluster):
    c = cluster
    writes_work(c, "pi:a", 3)
    port = c.replica_ports[1]
    seen = max_rid(port)
    s, _ = hello(port)
    reply = s.command(*prepare(seen + 2 ** 40 + 5, ("SET", "pi:x", "evil")))
    assert "too far ahead" in err(reply)
    assert max_rid(port) < seen + 1000
    writes_work(c, "pi:b")
    assert c.client().get("pi:x") is None
    with open(os.path.join(c.replica_dir(2), "twopc-replica.log"), errors="replace") as f:
        assert "no coordinator jumps that far" in f.read()


def test_malformed_and_out_of_order_commands(cluster):
    c = cluster
    r = c.client()
    r.set("pi:k", "orig")
    before = digests(c)
    assert len(set(before)) == 1
    port = c.replica_ports[2]
    s, h = hello(port)
    seen = h[1]
    cases = [
        ("TPC.PREPARE",),                                        # arity
        ("TPC.PREPARE", "x", "1", "1", "3", "SET", "pi:k", "v"),  # non-numeric rid
        ("TPC.PREPARE", "-5", "1", "1", "3", "SET", "pi:k", "v"),  # negative rid
        ("TPC.PREPARE", "0", "1", "1", "3", "SET", "pi:k", "v"),   # rid 0
        ("TPC.PREPARE", str(2 ** 70), "1", "1", "3", "SET", "pi:k", "v"),  # overflowing
        ("TPC.PREPARE", str(seen + 1), "1", "2147483647", "3", "SET", "pi:k", "v"),  # huge count
        ("TPC.PREPARE", str(seen + 1), "1", "1", "9", "SET", "pi:k", "v"),  # argc past the end
        ("TPC.PREPARE", str(seen + 1), "1", "1", "2", "NOSUCHCMD", "pi:k"),  # garbage op
        ("TPC.PREPARE", str(seen), "1", "1", "3", "SET", "pi:k", "v"),  # old rid
        ("TPC.COMMIT", str(seen + 100)),                          # unknown round
        ("TPC.COMMIT", "abc"),
        ("TPC.COMMIT", str(U64_MAX)),
        ("TPC.COMMIT",),
        ("TPC.ABORT", str(U64_MAX)),
        ("TPC.RESTORE", "END", str(U64_MAX)),
        ("TPC.IDENTIFY", "0", "0"),
    ]
    for cmd in cases:
        reply = s.command(*cmd)
        if cmd[0] == "TPC.PREPARE" and cmd[3:4] == ("1",) and cmd[5:6] == ("NOSUCHCMD",):
            # an unknown command is voted on like any op: the vote carries its error
            assert isinstance(reply, (RespError, bytes, list)), (cmd, reply)
            s.command("TPC.ABORT", cmd[1])
            continue
        err(reply)
    # a round prepared, then a second PREPARE of the same rid with other ops, then its
    # COMMIT, then an ABORT after the COMMIT
    rid = max_rid(port) + 1
    s, _ = hello(port)
    ok = s.command(*prepare(rid, ("SET", "pi:k", "first")))
    assert not isinstance(ok, RespError), ok
    assert "stale" in err(s.command(*prepare(rid, ("SET", "pi:k", "second"))))
    assert "stale" in err(s.command(*prepare(rid - 1, ("SET", "pi:k", "older"))))
    s.command("TPC.ABORT", str(rid))   # the test's own round: nothing applied
    err(s.command("TPC.COMMIT", str(rid)))  # COMMIT after ABORT: unknown round
    assert RespConn(port).command("GET", "pi:k") == b"orig"
    s.close()
    # the coordinator takes its link back; nothing changed, and the replicas agree
    writes_work(c, "pi:after")
    assert r.get("pi:k") == b"orig"
    after = digests(c)
    assert len(set(after)) == 1, after


def test_abort_after_commit_changes_nothing(cluster):
    c = cluster
    r = c.client()
    port = c.replica_ports[0]
    s, h = hello(port)
    rid = h[1] + 1
    assert not isinstance(s.command(*prepare(rid, ("SET", "pi:c", "v1"))), RespError)
    assert isinstance(s.command("TPC.COMMIT", str(rid)), int)
    reply = s.command("TPC.ABORT", str(rid))
    # an ABORT of a round already committed is answered, and undoes nothing
    assert RespConn(port).command("GET", "pi:c") == b"v1"
    assert "stale" in err(s.command(*prepare(rid, ("SET", "pi:c", "v2"))))
    assert RespConn(port).command("GET", "pi:c") == b"v1"
    s.close()
    del reply
    # this replica now holds a round the others never saw: the coordinator must not
    # number a round after it as if nothing happened -- it still commits new writes
    writes_work(c, "pi:after")


def test_stray_hello_disturbs_no_round(cluster):
    """#16: a stranger's TPC.HELLO (any local process, no cluster secret here), or a second
    one on the same connection, never disturbs rounds in flight: every write of a steady
    stream succeeds at its first try while strangers say TPC.HELLO to every replica. (Until
    0.3 a TPC.HELLO moved the replica's session at once: the coordinator's next PREPARE or
    COMMIT there was refused and that write failed.)"""
    import threading
    c = cluster
    r = c.client()
    stop = threading.Event()
    hellos = [0]

    def strangers():
        conns = []
        while not stop.is_set():
            for port in c.replica_ports:
                s, _ = hello(port)
                s.command("TPC.HELLO", "2", "2", "again")  # a duplicate on one connection
                conns.append(s)
                hellos[0] += 2
            if len(conns) > 30:
                for s in conns[:15]:
                    s.close()
                del conns[:15]
            time.sleep(0.005)
        for s in conns:
            s.close()

    t = threading.Thread(target=strangers)
    t.start()
    failures = []
    try:
        for i in range(600):
            try:
                r.set("sh:%d" % (i % 50), str(i))
                if i % 3 == 0:
                    r.mset({"sh:a": str(i), "sh:b": str(i)})
            except Exception as e:  # noqa: BLE001 -- counted and reported
                failures.append("%d: %s" % (i, e))
    finally:
        stop.set()
        t.join()
    assert hellos[0] > 100
    assert not failures, "%d of 600 writes failed, first: %s" % (len(failures), failures[0])
    for k in range(50):
        assert r.get("sh:%d" % k) == str(550 + k).encode()
    after = digests(c)
    assert len(set(after)) == 1, after
    with open(os.path.join(c.coordinator_dir, "twopc-server.log"), errors="replace") as f:
        assert "another connection said TPC.HELLO" not in f.read()

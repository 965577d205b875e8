"""test_big.py -- large values and large transactions at default settings (issue #16,
item 5): a 64 MB SET is voted on, committed and read back through the coordinator, and
a MULTI of 100,000 SETs commits in one EXEC. Both used to abort with "did not vote
within 500 ms": the prepare deadline was the same 500 ms for a 10-byte SET and a 64 MB
one, and a replica busy with a big round was dropped by the link watchdog after 1 s of
silence. Now a round's deadline grows with its bytes and arguments
(util_work_allowance_ms) and bytes still moving on a link count as progress.

The 512 MB SET and the 1,000,000-command MULTI are measured by bench/big.py (make big),
outside make test.

Each test has a cluster of its own: with a 64 MB value in a replica's SQLite table, every
later write whose key search passes that row copies the whole 64 MB (the kv table is
WITHOUT ROWID, so the value is part of the b-tree cell and SQLite reads an overflowing
cell whole to compare its key); a 100,000-SET EXEC after it then takes minutes to
apply. That is a schema change of its own (README, "Large values"), not what this file
tests.
"""

import hashlib
import os
import signal
import threading
import time

import pytest

from conftest import RespConn, closing_cluster, new_cluster, pid_alive


@pytest.fixture
def c(cluster):
    return cluster


def test_64mb_set_reads_back(c):
    # Not one repeated byte: a value whose every megabyte differs, so a read that
    # returned the wrong part or a truncated copy fails the digest.
    block = hashlib.sha256(b"big").digest() * (1 << 15)  # 1 MB
    value = b"".join(bytes([i]) + block[1:] for i in range(64))
    assert len(value) == 64 << 20
    r = c.client(socket_timeout=240)
    assert r.set("big:64mb", value) is True
    assert r.strlen("big:64mb") == len(value)
    got = r.get("big:64mb")
    assert got is not None and len(got) == len(value)
    assert hashlib.sha256(got).digest() == hashlib.sha256(value).digest()
    # A small write after it still commits at once (the big round is decided).
    assert r.set("big:after", "x") is True
    assert r.get("big:after") == b"x"


def test_multi_of_100000_sets(c):
    n = 100_000
    r = c.client(socket_timeout=240)
    p = r.pipeline(transaction=True)
    for i in range(n):
        p.set("big:m:%d" % i, i)
    res = p.execute()
    assert len(res) == n and all(x is True for x in res)
    assert r.get("big:m:0") == b"0"
    assert r.get("big:m:%d" % (n - 1)) == str(n - 1).encode()
    assert r.mget(["big:m:%d" % i for i in range(0, n, 9973)]) == \
        [str(i).encode() for i in range(0, n, 9973)]


def test_long_exec_reads_its_own_writes(c):
    # Past 64 effects a round's effects are looked up through a key index (effects.c):
    # the answers inside one EXEC must be those of the plain scan -- newest write wins,
    # DEL and FLUSHALL hide older writes, EXPIRE applies to the value found below it.
    r = c.client()
    r.set("big:x:old", "before")
    p = r.pipeline(transaction=True)
    for i in range(100):
        p.set("big:x:%d" % i, "v%d" % i)
    p.delete("big:x:5")
    p.set("big:x:6", "new")
    p.expire("big:x:7", 100)
    p.incr("big:x:8")  # "v8": not an integer
    p.get("big:x:5")
    p.get("big:x:6")
    p.ttl("big:x:7")
    p.get("big:x:old")
    p.flushall()
    p.get("big:x:1")
    p.set("big:x:9", "z")
    p.get("big:x:9")
    p.exists("big:x:old")
    res = p.execute(raise_on_error=False)
    assert res[:100] == [True] * 100
    tail = res[100:]
    assert tail[0] == 1 and tail[1] is True and tail[2] is True
    assert "not an integer" in str(tail[3])
    assert tail[4] is None and tail[5] == b"new" and 0 < tail[6] <= 100
    assert tail[7] == b"before"
    assert tail[8] is True and tail[9] is None
    assert tail[10] is True and tail[11] == b"z" and tail[12] == 0
    assert r.get("big:x:9") == b"z" and r.get("big:x:1") is None


@pytest.fixture
def slow_apply(monkeypatch):
    # replica.apply.slow: each change a replica applies takes 200 us more, so a 20,000-SET
    # EXEC is a round of several seconds to apply (what a 1,000,000-command one is for real).
    monkeypatch.setenv("TWOPC_FAILPOINTS", "replica.apply.slow")
    yield from closing_cluster(new_cluster)


def _busy(port, timeout=0.3):
    try:
        s = RespConn(port, timeout=timeout)
        try:
            s.command("PING")
        finally:
            s.close()
        return False
    except OSError:
        return True


def test_sigterm_while_applying_a_huge_round(slow_apply):
    """#16: a replica applying a huge round answers SIGTERM within seconds (it used to finish
    the whole round first: over 10 minutes for a 1,000,000-command MULTI), loses nothing, and
    applies the round after its restart."""
    c = slow_apply
    n = 20_000
    r = c.client(socket_timeout=120)
    result = []
    p = r.pipeline(transaction=True)
    for i in range(n):
        p.set("big:t:%d" % i, i)
    t = threading.Thread(target=lambda: result.append(p.execute()))
    t.start()
    port = c.replica_ports[0]
    deadline = time.monotonic() + 60
    while not _busy(port):  # the COMMIT's apply holds replica 1's loop
        assert time.monotonic() < deadline, "replica 1 never got busy applying"
        time.sleep(0.05)
    time.sleep(0.5)
    pid = c.kill_replica(1, signal.SIGTERM)
    start = time.monotonic()
    while pid_alive(pid):
        assert time.monotonic() - start < 5, "replica 1 ignored SIGTERM while applying"
        time.sleep(0.02)
    took = time.monotonic() - start
    with open(os.path.join(c.replica_dir(1), "twopc-replica.log"), errors="replace") as f:
        assert "received SIGTERM while applying round" in f.read()
    t.join(180)
    assert result and len(result[0]) == n and all(x is True for x in result[0])
    # The launcher restarts it; the round's durable records bring it back whole.
    c.wait_sqlite({"big:t:0": b"0", "big:t:%d" % (n - 1): str(n - 1).encode()},
                  replicas=[1], exact=False, timeout=120)
    assert c.sqlite_query(1, "SELECT count(*) FROM kv") == [(n,)]
    print("replica exited %.2f s after SIGTERM" % took)

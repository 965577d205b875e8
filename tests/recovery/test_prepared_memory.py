"""test_prepared_memory.py -- a replica bounds what undecided rounds may pin (#16 item 3).

A 50-byte `SETRANGE k 536870911 x` makes a replica build a 512 MB value when it prepares
the round, and hold it until the round is decided; a few of them in flight pinned
gigabytes. --prepared-memory-limit (default 1gb) bounds the bytes built by the rounds
prepared and undecided on a replica (APPEND, SETRANGE, BITFIELD, INCR...): past it the replica votes
NO, the client gets an error naming the replica and the limit, nothing is applied, and
the memory is given back. The same write under the limit commits.
"""

import os
import time

import pytest
import redis

from conftest import REPLICA  # noqa: F401 -- the rig's binaries
from twopc_harness import rss_mb


def test_setrange_past_the_limit_is_refused(make_rig):
    rig = make_rig()
    for r in rig.replicas:
        r.argv += ["--prepared-memory-limit", "64mb"]
        r.start()
    rig.coord.start()
    rig.wait_ready()
    c = rig.client(socket_timeout=60)
    c.set(b"small", b"x")
    rss_before = [rss_mb(r.pid) for r in rig.replicas]
    with pytest.raises(redis.exceptions.ResponseError) as e:
        c.setrange(b"big", 200 * 1024 * 1024 - 1, b"x")  # a 200 MB value from 40 bytes
    msg = str(e.value)
    assert msg.startswith("write not applied: replica 127.0.0.1:"), msg
    assert "prepared-memory-limit (67108864 bytes)" in msg, msg
    assert c.exists(b"big") == 0
    # the refused value was never kept: no replica grew by anything like 200 MB
    for r, before in zip(rig.replicas, rss_before):
        assert rss_mb(r.pid) < before + 32, "replica %s kept the refused value" % r.name
    with open(rig.replica(1).log_path, errors="replace") as f:
        assert "refusing PREPARE of round" in f.read()
    # under the limit: built, committed, read back
    assert c.setrange(b"mid", 32 * 1024 * 1024 - 1, b"y") == 32 * 1024 * 1024
    assert c.strlen(b"mid") == 32 * 1024 * 1024
    assert c.getrange(b"mid", -1, -1) == b"y"
    # and APPEND past it, on top of that 32 MB value, is refused the same way
    with pytest.raises(redis.exceptions.ResponseError) as e:
        p = c.pipeline(transaction=True)
        for _ in range(3):
            p.append(b"mid", b"z" * (16 * 1024 * 1024))
        p.execute()
    assert "prepared-memory-limit" in str(e.value), str(e.value)
    assert c.strlen(b"mid") == 32 * 1024 * 1024
    assert c.set(b"after", b"ok") and c.get(b"after") == b"ok"
    time.sleep(0.2)
    rig.digest()


def test_bitfield_past_the_limit_is_refused(make_rig):
    """BITFIELD's SET and INCRBY grow the value to the last bit they reach: the same bound."""
    rig = make_rig()
    for r in rig.replicas:
        r.argv += ["--prepared-memory-limit", "64mb"]
        r.start()
    rig.coord.start()
    rig.wait_ready()
    c = rig.client(socket_timeout=60)
    c.set(b"bf", b"ab", ex=1000)
    with pytest.raises(redis.exceptions.ResponseError) as e:  # 200 MB from a #N offset
        c.execute_command("BITFIELD", "bf", "SET", "u8", "#%d" % (200 * 1024 * 1024 - 1), "1")
    msg = str(e.value)
    assert msg.startswith("write not applied: replica 127.0.0.1:"), msg
    assert "prepared-memory-limit (67108864 bytes)" in msg, msg
    assert c.get(b"bf") == b"ab"
    # under the limit: the value grows, keeps its TTL, and a GET-only BITFIELD reads it
    assert c.execute_command("BITFIELD", "bf", "INCRBY", "u16", "#%d" % (2 * 1024 * 1024 - 1),
                             "300") == [300]
    assert c.strlen(b"bf") == 4 * 1024 * 1024
    assert 0 < c.ttl(b"bf") <= 1000
    assert c.execute_command("BITFIELD", "bf", "GET", "u16", "#%d" % (2 * 1024 * 1024 - 1),
                             "GET", "u8", "0") == [300, ord("a")]
    time.sleep(0.2)
    rig.digest()

"""test_expiry.py -- expiry that stays consistent across replicas.

What must hold (docs: replica/effects.h, server/expire.h, README.md here):
  - a key is invisible through the coordinator from the instant it expires: a read sent
    after the expiry time never returns the value;
  - every replica's SQLite loses an expired key within a few hundred ms (the coordinator's
    sweep deletes it through an ordinary round), and loses nothing else;
  - a key written again after it expired is not deleted by a late sweep;
  - replicas asked directly with TPC.READ at the same clock give identical answers, and
    the expiry instant itself still counts as alive (Redis: expired when now > when);
  - expiry times survive a restart of the whole cluster (they are absolute, in SQLite and
    in the vote log).
"""

import time

import pytest

from conftest import RespConn

SWEEP_BOUND_S = 1.5  # sweeps run every 100 ms; generous for slow machines


def now_ms():
    return int(time.time() * 1000)


def sqlite_keys(cluster, i):
    return {k for k, _ in cluster.sqlite_rows(i)}


def wait_replicas_hold(cluster, keys, present=True, timeout=10.0):
    """Polls until every replica's SQLite holds (present) or lacks (not present) all keys;
    returns the seconds it took, or fails."""
    t0 = time.monotonic()
    for i in range(1, cluster.replicas + 1):
        while True:
            have = sqlite_keys(cluster, i)
            if all((k in have) == present for k in keys):
                break
            if time.monotonic() - t0 > timeout:
                pytest.fail("replica %d SQLite still %s %r after %.1f s" % (
                    i, "lacks" if present else "holds",
                    sorted(k for k in keys if (k in have) != present)[:10], timeout))
            time.sleep(0.02)
    return time.monotonic() - t0


def test_sqlite_loses_expired_keys(cluster):
    r = cluster.client()
    expiring = [b"e%d" % i for i in range(300)]  # more than one sweep batch (128)
    r.set(b"keep", b"v")
    r.set(b"keep-ttl", b"v", ex=1000)
    pipe = r.pipeline(transaction=False)
    for k in expiring:
        pipe.set(k, b"x", px=300)
    pipe.execute()
    deadline = now_ms() + 300
    wait_replicas_hold(cluster, expiring + [b"keep", b"keep-ttl"])
    time.sleep(max(0, deadline - now_ms()) / 1000.0)
    took = wait_replicas_hold(cluster, expiring, present=False, timeout=10.0)
    assert took < SWEEP_BOUND_S, "expired keys left SQLite only after %.2f s" % took
    for i in range(1, cluster.replicas + 1):
        assert sqlite_keys(cluster, i) == {b"keep", b"keep-ttl"}
    assert r.dbsize() == 2
    assert 990 <= r.ttl(b"keep-ttl") <= 1000


def test_expired_value_never_returned(cluster):
    """Reads race the expiry instant; the coordinator's clock decides, and it is never
    behind the client's (same machine), so a read sent after the expiry must miss."""
    r = cluster.client()
    raw = cluster.raw()
    start = now_ms()
    expiries = {b"r%d" % i: start + 150 + 20 * i for i in range(10)}
    for k, at in expiries.items():
        assert r.set(k, b"val", pxat=at)
    gone = set()
    while len(gone) < len(expiries) and now_ms() < start + 2000:
        for k, at in expiries.items():
            sent = now_ms()
            got = raw.command("GET", k)
            if got is None:
                gone.add(k)
                continue
            assert got == b"val"
            assert sent <= at, "GET %r sent %d ms after its expiry returned the value" % (
                k, sent - at)
            assert k not in gone, "GET %r returned the value again after a miss" % k
    assert gone == set(expiries), "keys never expired: %r" % (set(expiries) - gone)
    assert raw.command("MGET", *expiries) == [None] * len(expiries)
    assert raw.command("EXISTS", *expiries) == 0
    assert raw.command("KEYS", "r*") == []
    raw.close()


def replica_read(cluster, i, clock, *args):
    c = RespConn(cluster.replica_port(i))
    try:
        return c.command("TPC.READ", str(clock), *args)
    finally:
        c.close()


def test_replicas_agree_at_the_same_clock(cluster):
    r = cluster.client()
    base = now_ms() + 60000  # far enough ahead that no sweep touches these keys
    keys = {b"a": base, b"b": base + 1000, b"c": base + 1001, b"d": None, b"e": base - 30000}
    for k, at in keys.items():
        if at is None:
            r.set(k, k * 3)
        else:
            r.set(k, k * 3, pxat=at)
    wait_replicas_hold(cluster, list(keys))
    clocks = [0, base - 1, base, base + 1, base + 999, base + 1000, base + 1001, base + 1002,
              base + 10 ** 9]
    reads = [("GET", "a"), ("GET", "c"), ("EXISTS", "a", "b", "c", "d", "e"), ("TTL", "a"),
             ("PTTL", "b"), ("PTTL", "c"), ("EXPIRETIME", "c"), ("PEXPIRETIME", "a"),
             ("DBSIZE",), ("KEYS", "*"), ("SCAN", "0", "COUNT", "100"), ("MGET", "a", "b", "c"),
             ("STRLEN", "b"), ("TYPE", "c"), ("GETRANGE", "a", "0", "-1")]
    for clock in clocks:
        for args in reads:
            answers = [replica_read(cluster, i, clock, *args)
                       for i in range(1, cluster.replicas + 1)]
            assert all(a == answers[0] for a in answers), (clock, args, answers)
    # The expiry instant is alive; one ms later the key is gone.
    assert replica_read(cluster, 1, base, "GET", "a") == b"aaa"
    assert replica_read(cluster, 1, base + 1, "GET", "a") is None
    assert replica_read(cluster, 2, base + 1000, "PTTL", "b") == 0
    assert replica_read(cluster, 2, base + 1001, "PTTL", "b") == -2
    assert replica_read(cluster, 3, base - 1, "PTTL", "a") == 1
    assert replica_read(cluster, 3, base - 1, "DBSIZE") == 4  # e has expired
    assert replica_read(cluster, 3, base + 1001, "DBSIZE") == 2  # c (at its instant) and d


def test_key_written_again_survives_the_sweep(cluster):
    """Keys expire, then are written again (with and without a TTL) while sweeps run: the
    sweep's delete, evaluated at its own round's clock, must spare every one of them."""
    r = cluster.client()
    keys = [b"w%d" % i for i in range(60)]
    for k in keys:
        r.set(k, b"old", px=20)
    stop = time.monotonic() + 1.0
    i = 0
    while time.monotonic() < stop:  # rewrite keys at every moment of the sweep cycle
        k = keys[i % len(keys)]
        if i % 3 == 0:
            r.set(k, b"new%d" % i)
        else:
            r.set(k, b"old", px=20)
        i += 1
        time.sleep(0.003)
    final = {}
    for n, k in enumerate(keys):
        r.set(k, b"final%d" % n, ex=1000 if n % 2 else None)
        final[k] = b"final%d" % n
    time.sleep(0.5)  # several sweeps
    assert r.mget(keys) == [final[k] for k in keys]
    cluster.wait_sqlite(final)
    assert r.dbsize() == len(keys)


def test_expiry_survives_restart(cluster):
    r = cluster.client()
    r.set(b"long", b"v", ex=1000)
    r.set(b"at", b"v", pxat=4102444800000)
    r.set(b"short", b"v", px=300)
    r.set(b"plain", b"v")
    assert r.pexpire(b"plain", 2000000) == 1
    wait_replicas_hold(cluster, [b"long", b"at", b"short", b"plain"])
    res = cluster.stop()
    assert not res.problems, res.problems
    time.sleep(0.4)  # "short" expires while everything is down
    cluster.start()
    cluster.wait_ready()
    r = cluster.client()
    assert 995 <= r.ttl(b"long") <= 1000
    assert r.execute_command("PEXPIRETIME", b"at") == 4102444800000
    assert 1990 <= r.ttl(b"plain") <= 2000
    assert r.get(b"short") is None
    wait_replicas_hold(cluster, [b"short"], present=False)
    assert sorted(r.keys()) == [b"at", b"long", b"plain"]


def test_sweep_covers_every_database(cluster):
    """The sweep visits every database in turn: keys expiring in databases 0, 7 and 15
    (more than one batch in 7) leave every replica's SQLite within the same bound, and
    the live keys of each database stay where they are."""
    clients = {db: cluster.client(db=db) for db in (0, 7, 15)}
    expiring = {}
    for db, r in clients.items():
        keys = [b"x%d:%d" % (db, i) for i in range(200 if db == 7 else 20)]
        pipe = r.pipeline(transaction=False)
        for k in keys:
            pipe.set(k, b"x", px=300)
        pipe.set(b"live%d" % db, b"v")
        pipe.execute()
        expiring[db] = keys
    deadline = now_ms() + 300
    keys = [k for ks in expiring.values() for k in ks]
    wait_replicas_hold(cluster, keys)
    time.sleep(max(0, deadline - now_ms()) / 1000.0)
    took = wait_replicas_hold(cluster, keys, present=False, timeout=10.0)
    assert took < SWEEP_BOUND_S, "expired keys left SQLite only after %.2f s" % took
    for i in range(1, cluster.replicas + 1):
        rows = cluster.sqlite_query(i, "SELECT db, k FROM kv WHERE CAST(k AS TEXT) LIKE "
                                       "'live%' ORDER BY db")
        assert rows == [(0, b"live0"), (7, b"live7"), (15, b"live15")], rows
    for db, r in clients.items():
        assert r.get(b"live%d" % db) == b"v"
        r.close()

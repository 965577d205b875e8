"""redis-py (Debian's python3-redis 4.3.4) against twopc: pipelines with and
without MULTI, the WATCH retry loop under contention, a connection pool shared
by threads, and the parsers redis-py applies to INFO, CLIENT LIST, SLOWLOG,
CONFIG and MONITOR output (they fail if a format drifts from Redis's).

redis-py 4.3.4 cannot speak RESP3 (no protocol=3); RESP3 is tested over a raw
socket in test_connection.py.
"""

import threading
import time

import pytest
import redis


@pytest.fixture
def r(c):
    client = c.client()
    yield client
    client.close()


def test_pipeline_without_transaction(r):
    pipe = r.pipeline(transaction=False)
    for i in range(2000):
        pipe.set("py:p:%d" % i, i)
    for i in range(2000):
        pipe.incr("py:p:%d" % i)
    res = pipe.execute()
    assert res[:2000] == [True] * 2000
    assert res[2000:] == list(range(1, 2001))
    assert r.get("py:p:1999") == b"2000"


def test_pipeline_with_transaction(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("py:t:a", "1").incr("py:t:a").get("py:t:a").get("py:t:missing").ping()
    assert pipe.execute() == [True, 2, b"2", None, True]
    # an error inside the transaction is returned in place by redis-py
    pipe = r.pipeline(transaction=True)
    pipe.set("py:t:s", "abc").incr("py:t:s").set("py:t:after", "1")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        pipe.execute()
    assert r.get("py:t:after") == b"1"   # the other commands ran (Redis semantics)
    pipe = r.pipeline(transaction=True)
    pipe.set("py:t:s", "abc").incr("py:t:s").set("py:t:after2", "1")
    res = pipe.execute(raise_on_error=False)
    assert res[0] is True and isinstance(res[1], redis.ResponseError) and res[2] is True


def test_transaction_queue_error_aborts(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("py:abort", "1")
    pipe.execute_command("NOSUCHCOMMAND")
    with pytest.raises(redis.ResponseError):
        pipe.execute()
    assert r.exists("py:abort") == 0


def test_watch_retry_loop_with_concurrent_incrementers(c):
    """8 threads x 25 increments through redis-py's WATCH/MULTI/EXEC retry
    loop (WatchError on conflict); the final count must be exact."""
    threads_n, per_thread = 8, 25
    pool = redis.ConnectionPool(host="127.0.0.1", port=c.port, max_connections=threads_n)
    r = redis.Redis(connection_pool=pool)
    r.set("py:counter", 0)
    retries = [0]
    errors = []

    def worker():
        try:
            for _ in range(per_thread):
                with r.pipeline() as pipe:
                    while True:
                        try:
                            pipe.watch("py:counter")
                            v = int(pipe.get("py:counter"))
                            pipe.multi()
                            pipe.set("py:counter", v + 1)
                            pipe.execute()
                            break
                        except redis.WatchError:
                            retries[0] += 1
        except Exception as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    ts = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(180)
    assert not errors, errors
    assert int(r.get("py:counter")) == threads_n * per_thread
    assert retries[0] > 0, "no contention: the test did not exercise WATCH"
    # r.transaction() is the same loop, done by redis-py
    r.set("py:tx2", 5)

    def double(pipe):
        v = int(pipe.get("py:tx2"))
        pipe.multi()
        pipe.set("py:tx2", v * 2)

    assert r.transaction(double, "py:tx2") == [True]
    assert r.get("py:tx2") == b"10"
    pool.disconnect()


def test_connection_pool_under_threads(c):
    pool = redis.BlockingConnectionPool(host="127.0.0.1", port=c.port, max_connections=6,
                                        timeout=30)
    r = redis.Redis(connection_pool=pool)
    errors = []

    def worker(t):
        try:
            for i in range(60):
                k = "py:pool:%d:%d" % (t, i)
                assert r.set(k, i) is True
                assert r.incr(k) == i + 1
                assert r.get(k) == str(i + 1).encode()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=worker, args=(t,)) for t in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(180)
    assert not errors, errors[:3]
    assert r.exists(*["py:pool:%d:59" % t for t in range(16)]) == 16
    assert len(pool._connections) <= 6
    pool.disconnect()


def test_redis_py_parsers(r, c):
    info = r.info()
    assert info["redis_version"] and info["tcp_port"] == c.port
    assert info["connected_clients"] >= 1
    assert "db0" not in info or info["db0"]["keys"] >= 0
    r.set("py:parse", "1")
    assert r.info("keyspace")["db0"]["keys"] >= 1
    assert r.client_setname("pyname") is True
    assert r.client_getname() == "pyname"
    me = r.client_info()
    assert me["name"] == "pyname" and me["cmd"] == "client|info" and me["db"] == 0
    assert any(cl["name"] == "pyname" for cl in r.client_list())
    assert r.client_id() == me["id"]
    assert r.config_get("maxclients") == {"maxclients": "10000"}
    assert r.config_set("slowlog-log-slower-than", 0) is True
    try:
        r.set("py:slow", "1")
        entries = r.slowlog_get(5)
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
    assert entries and {"id", "start_time", "duration", "command"} <= set(entries[0])
    assert r.slowlog_len() >= 1 and r.slowlog_reset() is True
    assert isinstance(r.time()[0], int)
    assert r.command_count() > 20
    assert r.echo("x") == b"x" and r.ping() is True


def test_redis_py_monitor(c):
    r = c.client()
    with r.monitor() as m:
        c.client().set("py:mon", "v")
        cmd = m.next_command()
    assert cmd["command"] == "SET py:mon v", cmd
    assert cmd["db"] == 0 and cmd["client_address"] == "127.0.0.1"
    assert abs(cmd["time"] - time.time()) < 60


def test_redis_py_db(c):
    """redis-py with db=1 (what redis://host/1 means): every command of its pool, pipelines
    and transactions included, in database 1; database 0 untouched."""
    import redis
    r0, r1 = c.client(db=0), c.client(db=1)
    url = redis.Redis.from_url("redis://127.0.0.1:%d/1" % c.port)
    try:
        r0.delete("py:db")
        assert r1.set("py:db", "one") is True
        assert url.get("py:db") == b"one"
        assert r0.get("py:db") is None
        with r1.pipeline(transaction=True) as p:
            p.incr("py:n").incr("py:n").get("py:db")
            assert p.execute() == [1, 2, b"one"]
        assert r0.exists("py:n") == 0
        assert r1.move("py:n", 0) is True
        assert r0.get("py:n") == b"2" and r1.exists("py:n") == 0
        assert r1.copy("py:db", "py:copy", destination_db=3) is True
        assert c.client(db=3).get("py:copy") == b"one"
        assert r1.client_info()["db"] == 1
        assert r1.info("keyspace")["db1"]["keys"] >= 1
    finally:
        for r in (r0, r1, url):
            r.close()

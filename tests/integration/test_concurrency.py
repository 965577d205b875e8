"""test_concurrency.py -- 100 clients at once, each on its own connection,
each writing, overwriting, reading and deleting its own keys.  Every reply
must be right, and afterwards every replica's SQLite holds exactly the last
value of every key (and none of the deleted ones).
"""

import threading
import traceback

N_CLIENTS = 100
KEYS_PER_CLIENT = 5
ROUNDS = 3


def value(tid, j, rnd):
    # different lengths per client so a value landing on the wrong key shows
    return ("v%d:%d:%d:" % (tid, j, rnd) + "x" * (tid % 7)).encode()


def test_100_concurrent_clients(cluster):
    barrier = threading.Barrier(N_CLIENTS, timeout=30)
    errors = []

    def worker(tid):
        try:
            r = cluster.client(socket_timeout=60)
            r.ping()                    # connect before the barrier
            barrier.wait()
            for rnd in range(ROUNDS):
                for j in range(KEYS_PER_CLIENT):
                    k = "c%d:k%d" % (tid, j)
                    v = value(tid, j, rnd)
                    assert r.set(k, v) is True, "SET %s" % k
                    got = r.get(k)
                    assert got == v, "GET %s: expected %r got %r" % (k, v, got)
            assert r.delete("c%d:k0" % tid, "c%d:none" % tid) == 1
            assert r.get("c%d:k0" % tid) is None
            assert r.exists(*["c%d:k%d" % (tid, j)
                              for j in range(KEYS_PER_CLIENT)]) == KEYS_PER_CLIENT - 1
            r.close()
        except BaseException:
            errors.append("client %d: %s" % (tid, traceback.format_exc(limit=3)))

    threads = [threading.Thread(target=worker, args=(t,), daemon=True)
               for t in range(N_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "clients still running after 120 s"
    assert not errors, "%d clients failed; first: %s" % (len(errors), errors[0])

    expected = {("c%d:k%d" % (tid, j)).encode(): value(tid, j, ROUNDS - 1)
                for tid in range(N_CLIENTS) for j in range(1, KEYS_PER_CLIENT)}
    r = cluster.client()
    for k, v in expected.items():
        assert r.get(k) == v
    cluster.wait_sqlite(expected, exact=True)

"""test_databases.py -- numbered databases (SELECT) across replica crashes and repairs.

Real processes under the launcher, which restarts whatever dies:
  test_kill9_replica_keeps_databases   four clients write the same key names with values
                            of their own into databases 0-3 while a replica is killed with
                            SIGKILL and restarted: every acknowledged write is on every
                            replica in its own database (SQLite read directly, db column),
                            the replicas hold identical rows, DEBUG DIGEST agrees, and each
                            database answers its own values.
  test_wiped_replica_repaired_with_databases   a replica's folder is wiped: the repair
                            (TPC.DUMP / TPC.RESTORE, database by database) gives it every
                            database's rows, TTLs included, identical to the others.
"""

import os
import threading
import time

import redis

from test_lost_data import data_files, kill_and_wait, wait_repaired, wait_state

DBS = 4
ROWS_SQL = "SELECT db, k, v, exp FROM kv ORDER BY db, k"


def rows(cluster, i):
    return cluster.sqlite_query(i, ROWS_SQL)


def wait_identical(cluster, ok=lambda rows: True, timeout=15.0):
    """The replicas' rows once all three are identical and ok(rows) holds (replicas apply
    committed rounds a moment after the client's reply: poll)."""
    deadline = time.monotonic() + timeout
    while True:
        got = [rows(cluster, i) for i in (1, 2, 3)]
        if got[0] == got[1] == got[2] and ok(got[0]):
            return got[0]
        assert time.monotonic() < deadline, "replicas differ or lag: %r" % [
            len(g) for g in got]
        time.sleep(0.1)


def by_db(rows):
    out = {}
    for db, k, v, _ in rows:
        out.setdefault(db, {})[k] = v
    return out


def newer(got, acked):
    """Whether got is the value acked or a later write's of the same database."""
    if got is None:
        return False
    prefix = acked[:acked.index(b"-value-") + 7]
    return got.startswith(prefix) and int(got[len(prefix):]) >= int(acked[len(prefix):])


class Writer:
    """A client of database db writing key:i = db-value-i until stopped; keeps what was
    acknowledged (a write refused while a replica is down is simply not counted)."""

    def __init__(self, cluster, db):
        self.r = cluster.client(socket_timeout=10, db=db)
        self.db = db
        self.acked = {}
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        i = 0
        while not self.stop.is_set():
            k, v = b"key:%d" % (i % 200), b"%d-value-%d" % (self.db, i)
            try:
                if self.r.set(k, v) is True:
                    self.acked[k] = v
            except redis.exceptions.RedisError:
                pass  # refused or outcome unknown: not acknowledged
            i += 1

    def finish(self):
        self.stop.set()
        self.t.join(10)


def test_kill9_replica_keeps_databases(cluster):
    writers = [Writer(cluster, db) for db in range(DBS)]
    time.sleep(0.5)
    kill_and_wait(cluster, 2)
    time.sleep(0.5)
    wait_state(cluster, 2, "ready")
    time.sleep(0.5)
    for w in writers:
        w.finish()
    def caught_up(rows):  # every acknowledged write, or a later one, in its database
        have = by_db(rows)
        return all(newer(have.get(w.db, {}).get(k), v) for w in writers
                   for k, v in w.acked.items())

    final = by_db(wait_identical(cluster, caught_up))
    for w in writers:
        assert w.acked, "database %d: nothing acknowledged" % w.db
        prefix = b"%d-value-" % w.db
        for k, v in w.acked.items():
            # this database's value, the last acknowledged one or a later write's (one
            # whose outcome the client was not told may have committed)
            got = final[w.db].get(k)
            assert got and got.startswith(prefix), (w.db, k, got, v)
            assert int(got[len(prefix):]) >= int(v[len(prefix):]), (w.db, k, got, v)
        got = w.r.mget(sorted(w.acked))
        assert got == [final[w.db][k] for k in sorted(w.acked)]
    assert sorted(final) == list(range(DBS))
    r = cluster.client()
    digest = r.execute_command("DEBUG", "DIGEST")
    assert digest and b"DIVERGENCE" not in digest


def test_wiped_replica_repaired_with_databases(cluster):
    r = [cluster.client(socket_timeout=5, db=db) for db in range(DBS)]
    for db in range(DBS):
        for i in range(50):
            assert r[db].set(b"w:%d" % i, b"%d:%d" % (db, i)) is True
        assert r[db].set(b"ttl", b"t", ex=1000) is True
    assert r[0].swapdb(0, 3) is True
    want = wait_identical(cluster, lambda rows: len(rows) == DBS * 51 and
                          by_db(rows)[0][b"w:7"] == b"3:7")
    victim = 3
    kill_and_wait(cluster, victim)
    for path in data_files(cluster, victim):
        os.unlink(path)
    repair = wait_repaired(cluster, victim)
    assert int(repair["failed"]) == 0, repair
    assert rows(cluster, victim) == want
    assert wait_identical(cluster) == want
    assert r[3].get(b"w:7") == b"0:7" and r[0].get(b"w:7") == b"3:7"
    assert r[2].ttl(b"ttl") > 900

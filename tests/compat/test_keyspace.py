"""test_keyspace.py -- SCAN, KEYS and friends beyond what the differential test reaches.

  - SCAN's cursor survives concurrent writes: every key that exists for the whole
    iteration is returned, whatever is written or deleted meanwhile and whichever replica
    serves each call (reads go round-robin);
  - cursors are decimal integers of at most 64 bits; any such cursor is accepted;
  - KEYS with random glob patterns (escapes, classes, ranges over high bytes, unterminated
    brackets) matches exactly what redis-server matches;
  - DBSIZE / KEYS / SCAN / RANDOMKEY inside MULTI/EXEC see the block's own writes;
  - a replica database created before expiry existed is migrated when opened.
"""

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import REPLICA, RespConn, free_port_block


def full_scan(conn, *opts):
    seen, cursor, calls = [], b"0", 0
    while True:
        cursor, keys = conn.command("SCAN", cursor, *opts)
        assert cursor.isdigit() and int(cursor) < 2 ** 64, cursor
        seen += keys
        calls += 1
        if cursor == b"0":
            return seen, calls


def test_scan_survives_concurrent_writes(cluster):
    r = cluster.client()
    stable = [b"stable:%d" % i for i in range(400)]
    pipe = r.pipeline(transaction=False)
    for k in stable:
        pipe.set(k, b"s")
    pipe.execute()
    stop = threading.Event()
    errors = []

    def churn():
        w = cluster.client()
        rng = random.Random(7)
        try:
            while not stop.is_set():
                k = b"churn:%d" % rng.randrange(2000)
                op = rng.random()
                if op < 0.5:
                    w.set(k, b"c")
                elif op < 0.8:
                    w.delete(k)
                else:
                    w.set(k, b"c", px=rng.randint(1, 50))
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=churn) for _ in range(2)]
    for t in threads:
        t.start()
    conn = cluster.raw()
    try:
        for count in (1, 7, 50):
            seen, calls = full_scan(conn, "COUNT", count)
            missing = set(stable) - set(seen)
            assert not missing, "SCAN COUNT %d missed %d stable keys, e.g. %r" % (
                count, len(missing), sorted(missing)[:5])
            assert calls > 1
            seen, _ = full_scan(conn, "MATCH", "stable:1*", "COUNT", count)
            assert set(seen) == {k for k in stable if k.startswith(b"stable:1")}
    finally:
        stop.set()
        for t in threads:
            t.join()
        conn.close()
    assert not errors, errors


def test_scan_cursors(cluster):
    r = cluster.client()
    for i in range(30):
        r.set(b"k%d" % i, b"v")
    conn = cluster.raw()
    seen, calls = full_scan(conn, "COUNT", "1")
    assert sorted(seen) == sorted(b"k%d" % i for i in range(30))
    assert calls >= 30
    # Any 64-bit cursor is valid (past the end: nothing, and the iteration is over).
    assert conn.command("SCAN", "18446744073709551615") == [b"0", []]
    assert conn.command("SCAN", "-1") == [b"0", []]  # strtoul wraps it, as in Redis
    assert conn.command("SCAN", "+0", "COUNT", "1000")[0] == b"0"
    for bad in ("18446744073709551616", "abc", " 1", "1x"):
        assert conn.command("SCAN", bad).message == b"ERR invalid cursor"
    conn.close()


PATTERN_BYTES = [b"a", b"b", b"-", b"*", b"?", b"[", b"]", b"^", b"\\", b"\xe9", b"z"]
KEY_BYTES = [b"a", b"b", b"-", b"]", b"[", b"\\", b"*", b"\xe9", b"z", b"^", b"\x00"]


def test_keys_glob_matches_redis(redis_server, cluster):
    rng = random.Random(int(os.environ.get("TWOPC_COMPAT_SEED") or 1234))
    keys = {b"".join(rng.choice(KEY_BYTES) for _ in range(rng.randint(0, 5)))
            for _ in range(150)}
    ours, theirs = cluster.raw(), RespConn(redis_server.port)
    try:
        for conn in (ours, theirs):
            conn.command("FLUSHALL")
            for k in keys:
                conn.command("SET", k, "v")
        patterns = [b"".join(rng.choice(PATTERN_BYTES) for _ in range(rng.randint(0, 6)))
                    for _ in range(400)]
        patterns += [b"[a-", b"[^", b"[\\", b"\\", b"[z-a]*", b"[\xe9-a]", b"*[a-\xe9]*",
                     b"[]a]", b"[^]]*", b"a*" * 1001, b"a*" * 1002]
        for p in patterns:
            got, want = ours.command("KEYS", p), theirs.command("KEYS", p)
            assert sorted(got) == sorted(want), "KEYS %r: twopc %r redis %r" % (p, got, want)
    finally:
        ours.close()
        theirs.close()


def normalize(block, reply):
    """EXEC's array with KEYS / SCAN results sorted (their order is not Redis's) and
    RANDOMKEY's answer reduced to whether there was one."""
    out = []
    for args, item in zip(block, reply):
        if args[0] == "SCAN":
            item = [item[0], sorted(item[1])]
        elif args[0] == "KEYS":
            item = sorted(item)
        elif args[0] == "RANDOMKEY":
            item = item is not None
        out.append(item)
    return out


def test_keyspace_commands_inside_multi(redis_server, cluster):
    block = [("SET", "a", "1"), ("SET", "b", "2"), ("SET", "gone", "x", "PX", "1"),
             ("KEYS", "*"), ("DBSIZE",), ("DEL", "a"), ("SCAN", "0", "COUNT", "1000"),
             ("EXISTS", "a", "b"), ("RANDOMKEY",), ("RENAME", "b", "c"), ("KEYS", "*"),
             ("FLUSHDB",), ("DBSIZE",), ("RANDOMKEY",), ("SET", "d", "4", "EX", "100"),
             ("KEYS", "*"), ("TTL", "d"), ("SCAN", "0", "MATCH", "d*", "COUNT", "1000")]
    results = []
    for port in (redis_server.port, cluster.port):
        conn = RespConn(port)
        try:
            conn.command("FLUSHALL")
            conn.command("SET", "pre", "0")
            assert conn.command("MULTI") == b"OK"
            for args in block:
                assert conn.command(*args) == b"QUEUED"
            results.append(normalize(block, conn.command("EXEC")))
        finally:
            conn.close()
    assert results[0] == results[1]


OLD_SCHEMAS = {
    # before expiry existed
    "v0": "CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;",
    # an intermediate shape with exp and h but keyed by k alone
    "v1": "CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB NOT NULL,"
          " exp INTEGER NOT NULL DEFAULT 0, h INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
          "CREATE INDEX kv_h ON kv(h);",
    # keyed by (h, k), from before numbered databases (h is recomputed by the migration)
    "v2": "CREATE TABLE kv(k BLOB NOT NULL, v BLOB NOT NULL, exp INTEGER NOT NULL DEFAULT 0,"
          " h INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(h, k)) WITHOUT ROWID;",
}


@pytest.mark.parametrize("shape", sorted(OLD_SCHEMAS))
def test_old_schema_is_migrated(shape):
    """A data.sqlite whose kv has an older shape: the replica rebuilds it keyed by
    (db, h, k), keeps every key (and expiry) in database 0, and GET, TTL, DBSIZE and SCAN
    work on them."""
    root = tempfile.mkdtemp(prefix="twopc-compat-migrate-")
    db = sqlite3.connect(os.path.join(root, "data.sqlite"))
    db.executescript(OLD_SCHEMAS[shape] +
                     "CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);")
    keys = [b"old%d" % i for i in range(50)] + [b"", b"\x00\xff"]
    db.executemany("INSERT INTO kv(k, v) VALUES (?, ?)", [(k, b"v" + k) for k in keys])
    if shape != "v0":
        db.execute("UPDATE kv SET exp = 4102444800000 WHERE k = ?", (b"old3",))
    db.commit()
    db.close()
    port = free_port_block(1)
    proc = subprocess.Popen([REPLICA, "--port", str(port), "--dir", root],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                conn = RespConn(port)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "replica died"
                time.sleep(0.05)
        assert conn.command("GET", "old7") == b"vold7"
        assert conn.command("TTL", "old7") == -1
        if shape != "v0":
            assert conn.command("PEXPIRETIME", "old3") == 4102444800000
        assert conn.command("DBSIZE") == len(keys)
        seen, _ = full_scan(conn, "COUNT", "5")
        assert sorted(seen) == sorted(keys)
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    db = sqlite3.connect(os.path.join(root, "data.sqlite"))
    pk = {row[1]: row[5] for row in db.execute("PRAGMA table_info(kv)")}
    assert pk.get("db") == 1 and pk.get("h") == 2 and pk.get("k") == 3 and "exp" in pk, pk
    assert db.execute("SELECT count(*) FROM kv WHERE h <= 0").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM kv WHERE db != 0").fetchone()[0] == 0
    db.close()
    shutil.rmtree(root, ignore_errors=True)


def test_el_without_scores_is_migrated():
    """A data.sqlite from before sorted sets (el without the score column s and its index):
    the replica opens it, adds s and the index el_score."""
    root = tempfile.mkdtemp(prefix="twopc-compat-migrate-el-")
    port = free_port_block(1)

    def run_replica(check):
        proc = subprocess.Popen([REPLICA, "--port", str(port), "--dir", root],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    conn = RespConn(port)
                    break
                except OSError:
                    assert proc.poll() is None and time.monotonic() < deadline, "replica died"
                    time.sleep(0.05)
            check(conn)
            conn.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)

    run_replica(lambda conn: None)  # creates the current schema
    db = sqlite3.connect(os.path.join(root, "data.sqlite"))
    # The shape from before sorted sets: no s, so neither the rank buckets (zb, the levels
    # above in zt) nor their triggers on el either.
    db.executescript("DROP TRIGGER zr_insert; DROP TRIGGER zr_delete; DROP TRIGGER zr_update;"
                     "DROP TRIGGER zt_insert; DROP TRIGGER zt_delete; DROP TRIGGER zt_update;"
                     "DROP TABLE zb; DROP TABLE zt; DROP INDEX el_score;"
                     "ALTER TABLE el DROP COLUMN s;")
    assert "s" not in [row[1] for row in db.execute("PRAGMA table_info(el)")]
    db.close()
    run_replica(lambda conn: conn.command("DBSIZE") == 0 or pytest.fail("not empty"))
    db = sqlite3.connect(os.path.join(root, "data.sqlite"))
    cols = [row[1] for row in db.execute("PRAGMA table_info(el)")]
    assert "s" in cols, cols
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                      "name = 'el_score'").fetchone()[0] == 1
    names = {row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE name LIKE 'z%' AND name NOT LIKE 'sqlite%'")}
    assert names == {"zb", "zt", "zr_insert", "zr_delete", "zr_update", "zt_insert",
                     "zt_delete", "zt_update"}, names  # the two tables and their triggers
    db.close()
    shutil.rmtree(root, ignore_errors=True)

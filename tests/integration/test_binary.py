"""test_binary.py -- keys and values are byte strings: every byte value, NUL,
CR/LF, RESP look-alikes, the empty value, the empty key and a 1 MB value come
back equal through the coordinator and sit byte-for-byte in every replica's
SQLite; the text logs stay free of raw NUL bytes (they escape binary data).
"""

import os
import random

import pytest


@pytest.fixture(scope="module")
def c(module_cluster):
    return module_cluster


def write_and_check(c, pairs):
    r = c.client(socket_timeout=30)
    pipe = r.pipeline(transaction=False)
    for k, v in pairs.items():
        pipe.set(k, v)
    assert pipe.execute() == [True] * len(pairs)
    for k, v in pairs.items():
        got = r.get(k)
        assert got == v, "GET %r: expected %r got %r" % (k[:40], v[:40],
                                                         None if got is None else got[:40])
    c.wait_sqlite(pairs, exact=False)


def test_every_byte_value_in_one_key_and_value(c):
    all_bytes = bytes(range(256))
    write_and_check(c, {b"bin:all:" + all_bytes: all_bytes[::-1],
                        all_bytes: b"key is every byte"})


def test_every_byte_value_as_its_own_key(c):
    pairs = {b"bin:one:" + bytes([b]): bytes([b]) * 3 + b"\r\n" + bytes([b])
             for b in range(256)}
    write_and_check(c, pairs)


def test_crlf_and_nul(c):
    write_and_check(c, {
        b"a\r\nb": b"\r\n",
        b"\x00": b"\x00\x00",
        b"k\x00k": b"v\r\n\x00v",
        b"bin:resp": b"*1\r\n$4\r\nPING\r\n",
        b"*1\r\n$4\r\nPING\r\n": b"-ERR fake\r\n",
        b"bin:cr": b"\r",
        b"bin:lf": b"\n",
        b"bin:quotes": b"\"'\\ \t",
    })


def test_empty_value(c):
    r = c.client()
    assert r.set(b"bin:empty", b"") is True
    assert r.get(b"bin:empty") == b""
    assert r.exists(b"bin:empty") == 1
    c.wait_sqlite({b"bin:empty": b""}, exact=False)


def test_empty_key(c):
    r = c.client()
    assert r.set(b"", b"value of the empty key") is True
    assert r.get(b"") == b"value of the empty key"
    c.wait_sqlite({b"": b"value of the empty key"}, exact=False)


def test_one_megabyte_value(c):
    rng = random.Random(20240601)
    value = b"\r\n\x00" + rng.randbytes(1 << 20) + b"\r\n"
    r = c.client(socket_timeout=30)
    assert r.set(b"bin:1mb", value) is True
    got = r.get(b"bin:1mb")
    assert got is not None and len(got) == len(value) and got == value
    c.wait_sqlite({b"bin:1mb": value}, exact=False)


def test_binary_delete(c):
    r = c.client()
    key = b"bin:del:\x00\r\n\xff"
    assert r.set(key, b"\xff\x00") is True
    assert r.delete(key) == 1
    assert r.get(key) is None
    assert r.exists(key) == 0
    c.wait_sqlite({}, exact=False, absent=[key])


def test_logs_have_no_raw_nul(c):
    # binary keys and values go through both logs, which must stay
    # readable with cat and grep (design: human-readable, binary-safe)
    r = c.client()
    assert r.set(b"bin:log:\x00\r\n", b"\x00\x01\x00") is True
    paths = [os.path.join(c.coordinator_dir, "decision.log")]
    paths += [os.path.join(c.replica_dir(i), "votes.log") for i in (1, 2, 3)]
    for path in paths:
        assert os.path.exists(path), path
        with open(path, "rb") as f:
            data = f.read()
        assert b"\x00" not in data, "raw NUL byte in %s at offset %d" % (
            path, data.index(b"\x00"))


def test_sqlite_stores_blobs_in_wal_mode(c):
    # TEXT and BLOB are distinct keys to SQLite: every key and value must be
    # bound as a BLOB, or one Redis key could become two rows
    r = c.client()
    assert r.set(b"bin:type:text-like", b"plain ascii") is True
    c.wait_sqlite({b"bin:type:text-like": b"plain ascii"}, exact=False)
    for i in (1, 2, 3):
        assert c.sqlite_query(i, "PRAGMA journal_mode") == [("wal",)]
        kinds = c.sqlite_query(i, "SELECT typeof(k), typeof(v), count(*) FROM kv "
                                  "GROUP BY 1, 2")
        assert [(k, v) for k, v, _ in kinds] == [("blob", "blob")], kinds

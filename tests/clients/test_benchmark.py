"""redis-benchmark (Debian's redis-tools 7.0) against twopc: ping, set, get,
incr, mset, with and without pipelining (-P 16).  It must run every test to
the end with no error reply (redis-benchmark stops at the first one), and the
writes it made must be there afterwards."""

import csv
import io
import subprocess

import pytest

from conftest import connect, resp_encode, tool

TESTS = ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"]


def bench(c, *extra, n=20000):
    res = subprocess.run([tool("redis-benchmark"), "-p", str(c.port), "-t",
                          "ping,set,get,incr,mset", "-n", str(n), "-c", "20", "--csv"]
                         + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=240)
    out, err = res.stdout.decode(), res.stderr.decode()
    assert res.returncode == 0, (out, err)
    assert "rror" not in out + err, (out, err)
    rows = {row["test"]: row for row in csv.DictReader(io.StringIO(out))}
    assert list(rows) == TESTS, out
    for name, row in rows.items():
        assert float(row["rps"]) > 0, (name, row)
    return rows


@pytest.mark.parametrize("pipeline", [[], ["-P", "16"]], ids=["plain", "P16"])
def test_redis_benchmark(cluster, pipeline):
    bench(cluster, *pipeline)
    conn = connect(cluster)
    # INCR's counter got exactly n increments (every reply was a success)
    conn.send(resp_encode("GET", "counter:__rand_int__"))
    assert conn.read_raw() == b"$5\r\n20000\r\n"
    conn.send(resp_encode("EXISTS", "key:__rand_int__"))
    assert conn.read_raw() == b":1\r\n"

"""Limits before AUTH, as Redis 7 (networking.c, processMultibulkBuffer): while a password
is required and the client has not authenticated, a multibulk of more than 10 arguments
gets `-ERR Protocol error: unauthenticated multibulk length`, a bulk over 16384 bytes
`-ERR Protocol error: unauthenticated bulk length`, and the connection is closed -- so an
unauthenticated client cannot make the server allocate much. On the coordinator and on a
replica's client port (requirepass), each compared byte for byte with redis-server 7 when
it is installed."""

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import REPLICA, free_port_block

# (payload, expected reply) pairs, every one sent on a fresh connection that is then
# half-closed; the server must answer and close.
CASES = [
    (b"*11\r\n" + b"$4\r\nPING\r\n" * 11,
     b"-ERR Protocol error: unauthenticated multibulk length\r\n"),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$16385\r\n",
     b"-ERR Protocol error: unauthenticated bulk length\r\n"),
    (b"*3\r\n$3\r\nGET\r\n$536870912\r\n",
     b"-ERR Protocol error: unauthenticated bulk length\r\n"),
    # the limits are checked per request: a PING first gets its NOAUTH
    (b"*1\r\n$4\r\nPING\r\n*20000000\r\n",
     b"-NOAUTH Authentication required.\r\n"
     b"-ERR Protocol error: unauthenticated multibulk length\r\n"),
    # at the limits: an ordinary NOAUTH
    (b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$16384\r\n" + b"x" * 16384 + b"\r\n",
     b"-NOAUTH Authentication required.\r\n"),
    # AUTH lifts them for the rest of the pipeline
    (b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*2\r\n$6\r\nEXISTS\r\n$16385\r\n" +
     b"y" * 16385 + b"\r\n*12\r\n$6\r\nEXISTS\r\n" + b"$10\r\npreauth:no\r\n" * 11,
     b"+OK\r\n:0\r\n:0\r\n"),
]


def exchange(port, payload, timeout=10.0):
    """Sends payload, half-closes, reads until the server closes. (reply bytes, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = bytearray()
    try:
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close while we still send (the big bulk)
        while True:
            try:
                d = s.recv(1 << 16)
            except ConnectionResetError:
                break
            if not d:
                break
            out += d
    finally:
        s.close()
    return bytes(out)


def check_port(port):
    for payload, want in CASES:
        assert exchange(port, payload) == want, payload[:40]
    # the connection (and the server) stays healthy for the next client
    assert exchange(port, b"AUTH pw\r\nPING\r\n") == b"+OK\r\n+PONG\r\n"


def test_coordinator(manual_cluster):
    mc = manual_cluster("--requirepass", "pw")
    check_port(mc.port)
    # a 20 M argument multibulk before AUTH costs nothing: RSS stays small
    pid = mc.server.pid
    before = rss_kb(pid)
    exchange(mc.port, b"*20000000\r\n" + b"$0\r\n\r\n" * 100000)
    assert rss_kb(pid) < before + 20000
    # without a password there are no such limits
    mc2 = manual_cluster()
    out = exchange(mc2.port, b"*2\r\n$4\r\nECHO\r\n$20000\r\n" + b"e" * 20000 + b"\r\n")
    assert out == b"$20000\r\n" + b"e" * 20000 + b"\r\n"


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def start_replica(args):
    port = free_port_block(1)
    d = tempfile.mkdtemp(prefix="twopc-preauth-")
    p = subprocess.Popen([REPLICA, "--port", str(port), "--dir", d] + args,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, port, d
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise AssertionError("replica did not listen")


def test_replica_client_port():
    p, port, d = start_replica(["--requirepass", "pw"])
    try:
        check_port(port)
        # the coordinator's TPC.HELLO (no cluster secret) still lifts them
        out = exchange(port, b"*4\r\n$9\r\nTPC.HELLO\r\n$1\r\n1\r\n$2\r\n99\r\n$1\r\nx\r\n"
                       b"*12\r\n$4\r\nPING\r\n" + b"$1\r\nz\r\n" * 11)
        assert b"unauthenticated" not in out, out
    finally:
        p.terminate()
        p.wait(10)
        shutil.rmtree(d, ignore_errors=True)


def test_redis_7_agrees():
    """The expected bytes above are what redis-server 7 sends (skipped without it)."""
    server = shutil.which("redis-server")
    if not server:
        pytest.skip("redis-server not installed")
    port = free_port_block(1)
    p = subprocess.Popen([server, "--port", str(port), "--requirepass", "pw", "--save", "",
                          "--appendonly", "no"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        check_port(port)
    finally:
        p.terminate()
        p.wait(10)

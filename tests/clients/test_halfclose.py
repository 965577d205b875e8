"""Half-close: a client that shuts its write side after sending (`nc -N`, a script's
shutdown(SHUT_WR)) gets every reply to what it sent, in order, then the close -- as from
Redis -- including replies still waiting on a 2PC round or on a replica, MULTI/EXEC, and
long pipelines; on the coordinator and on a replica's client port."""

import os
import signal
import socket
import threading
import time

from conftest import resp_encode


def half_close(port, payload, timeout=30.0, after_send=None):
    """Sends payload, shuts the write side, reads until the server closes; the bytes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        if after_send:
            after_send()
        out = bytearray()
        while True:
            d = s.recv(1 << 16)
            if not d:
                return bytes(out)
            out += d
    finally:
        s.close()


def test_every_reply_then_the_close(c):
    assert half_close(c.port, b"PING\r\nEXISTS hc:k\r\n") == b"+PONG\r\n:0\r\n"
    out = half_close(c.port, b"SET hc:a 1\r\nGET hc:a\r\nMULTI\r\nSET hc:b 2\r\n"
                     b"INCR hc:b\r\nEXEC\r\nGET hc:b\r\nDEL hc:a\r\n")
    assert out == (b"+OK\r\n$1\r\n1\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:3\r\n"
                   b"$1\r\n3\r\n:1\r\n")


def test_long_pipelines(c):
    n = 10000
    sets = b"".join(resp_encode("SET", "hc:p%d" % (i % 500), "v%d" % i) for i in range(n))
    out = half_close(c.port, sets)
    assert out == b"+OK\r\n" * n
    gets = b"".join(resp_encode("GET", "hc:p%d" % i) for i in range(500)) * 20
    out = half_close(c.port, gets)
    want = b"".join(b"$%d\r\nv%d\r\n" % (len(str(j)) + 1, j)
                    for j in range(n - 500, n)) * 20
    assert out == want


def test_a_write_waiting_on_a_paused_replica(c):
    """The round cannot commit while a replica is stopped; its reply still comes, after
    the client's EOF, once the replica is back."""
    pid = c.replica_pid(2)
    os.kill(pid, signal.SIGSTOP)
    timer = threading.Timer(0.3, os.kill, (pid, signal.SIGCONT))
    try:
        out = half_close(c.port, b"SET hc:w 1\r\nINCR hc:w\r\nGET hc:w\r\n",
                         after_send=timer.start)
    finally:
        timer.cancel()
        os.kill(pid, signal.SIGCONT)
    assert out == b"+OK\r\n:2\r\n$1\r\n2\r\n"


def test_replica_client_port(c):
    c.client().set("hc:r", "x")
    port = c.replica_ports[0]
    deadline = time.monotonic() + 10
    while True:  # the replica applies the commit just after the coordinator's reply
        out = half_close(port, b"PING\r\nGET hc:r\r\nEXISTS hc:r hc:none\r\n")
        if out == b"+PONG\r\n$1\r\nx\r\n:1\r\n" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert out == b"+PONG\r\n$1\r\nx\r\n:1\r\n"


def test_nc_half_close(c):
    """The issue's own command: `printf 'PING\\r\\nEXISTS k\\r\\n' | nc -N 127.0.0.1 PORT`
    (netcat-openbsd's -N shuts the write side at the end of its input)."""
    import shutil
    import subprocess
    nc = shutil.which("nc")
    if not nc:
        import pytest
        pytest.fail("nc not found: install netcat-openbsd (scripts/install-deps.sh)")
    out = subprocess.run([nc, "-N", "127.0.0.1", str(c.port)],
                         input=b"PING\r\nEXISTS hc:nc\r\nSET hc:nc 1\r\nGET hc:nc\r\n",
                         capture_output=True, timeout=30).stdout
    assert out == b"+PONG\r\n:0\r\n+OK\r\n$1\r\n1\r\n"

"""Protocol limits: the idle timeout, the query-buffer limit, maxclients, and
the cap on replies one pipelining client may have outstanding."""

import os
import signal
import socket
import threading
import time

import pytest

from conftest import connect, parse_info, resp_encode, send


def test_idle_clients_are_closed_after_timeout(manual_cluster):
    mc = manual_cluster("--timeout", "1")
    idle, busy, mon = mc.raw(), mc.raw(), mc.raw()
    assert send(idle, "PING") == b"+PONG\r\n"
    assert send(mon, "MONITOR") == b"+OK\r\n"
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:            # busy keeps talking
        assert send(busy, "PING") == b"+PONG\r\n"
        time.sleep(0.2)
    assert idle.closed_by_server(timeout=0.1)      # idle > 1 s: gone
    assert send(busy, "PING") == b"+PONG\r\n"
    mon.send(resp_encode("PING"))                   # monitors are never idle
    for _ in range(100):                            # the busy PINGs it saw, then its own
        if mon.read_raw() == b"+PONG\r\n":
            break
    else:
        pytest.fail("the monitor got no PONG")
    # CONFIG SET timeout 0 turns it off
    assert send(busy, "CONFIG", "SET", "timeout", "0") == b"+OK\r\n"
    calm = mc.raw()
    assert send(calm, "PING") == b"+PONG\r\n"
    time.sleep(2.5)
    assert send(calm, "PING") == b"+PONG\r\n"


def test_query_buffer_limit_closes_the_client(module_cluster):
    c = module_cluster
    admin = connect(c)
    assert send(admin, "CONFIG", "SET", "client-query-buffer-limit", "1mb") == b"+OK\r\n"
    try:
        s = socket.create_connection(("127.0.0.1", c.port), timeout=10)
        s.sendall(b"*3\r\n$3\r\nSET\r\n$9\r\nqbuf:big\r\n$3000000\r\n")
        closed = False
        try:
            for _ in range(30):
                s.sendall(b"x" * 100000)
            s.settimeout(5)
            closed = s.recv(100) == b""     # closed without a reply, as Redis does
        except (ConnectionResetError, BrokenPipeError):
            closed = True
        assert closed
        s.close()
        # a request under the limit is fine, and the server is healthy
        assert send(admin, "SET", "qbuf:small", "y" * 500000) == b"+OK\r\n"
        assert send(admin, "EXISTS", "qbuf:big", "qbuf:small") == b":1\r\n"
    finally:
        assert send(admin, "CONFIG", "SET", "client-query-buffer-limit", "1gb") == b"+OK\r\n"
    # with the default 1 GB limit, 3 MB values go through
    big = b"z" * 3000000
    assert send(admin, "SET", "qbuf:big", big) == b"+OK\r\n"
    assert send(admin, "GET", "qbuf:big") == b"$3000000\r\n" + big + b"\r\n"


def test_maxclients(manual_cluster):
    mc = manual_cluster("--maxclients", "2")
    a, b = mc.raw(), mc.raw()
    assert send(a, "PING") == b"+PONG\r\n"
    assert send(b, "PING") == b"+PONG\r\n"
    third = mc.raw()
    assert third.read_raw() == b"-ERR max number of clients reached\r\n"
    assert third.closed_by_server()
    assert parse_info(send(a, "INFO", "stats").split(b"\r\n", 1)[1])["rejected_connections"] == "1"
    b.close()
    time.sleep(0.2)
    assert send(mc.raw(), "PING") == b"+PONG\r\n"


def test_pending_replies_are_capped_per_client(manual_cluster):
    """While one replica is stopped, a client pipelines 20,000 SETs without
    reading.  The rounds cannot finish, so its replies pile up -- but only up
    to the per-client cap (4096): past it the coordinator stops reading that
    client.  Once the replica continues, every reply arrives, in order."""
    mc = manual_cluster("--prepare-timeout-ms", "8000")
    n = 20000
    admin = mc.raw()
    replica = mc.procs[1]
    payload = b"".join(resp_encode("INCR", "cap:n") for _ in range(n))
    flood = socket.create_connection(("127.0.0.1", mc.port), timeout=30)
    os_kill = replica.send_signal
    os_kill(signal.SIGSTOP)
    try:
        sender = threading.Thread(target=flood.sendall, args=(payload,))
        sender.start()
        time.sleep(1.5)
        peak = 0
        for _ in range(10):
            info = parse_info(send(admin, "INFO", "clients").split(b"\r\n", 1)[1])
            peak = max(peak, int(info["pending_replies"]))
            time.sleep(0.05)
        assert 0 < peak <= 1024 + 1, peak
    finally:
        os_kill(signal.SIGCONT)
    sender.join(30)
    got = bytearray()
    want = b"".join(b":%d\r\n" % i for i in range(1, n + 1))
    deadline = time.monotonic() + 60
    while len(got) < len(want) and time.monotonic() < deadline:
        got += flood.recv(1 << 20)
    assert bytes(got) == want


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS")


def test_multi_queue_is_bounded(manual_cluster):
    """A MULTI that queues without end: past client-query-buffer-limit (the whole
    transaction is one request) the queue is freed, every later command gets the error,
    EXEC aborts; the connection and the server stay healthy."""
    mc = manual_cluster()
    admin = mc.raw()
    assert send(admin, "CONFIG", "SET", "client-query-buffer-limit", "1mb") == b"+OK\r\n"
    m = mc.raw()
    assert send(m, "MULTI") == b"+OK\r\n"
    value = "x" * 1000
    m.send(b"".join(resp_encode("SET", "mq:%d" % i, value) for i in range(3000)))
    replies = [m.read_raw() for _ in range(3000)]
    queued = replies.index(next(r for r in replies if r != b"+QUEUED\r\n"))
    assert 900 < queued < 1048, queued          # ~1 KB each against a 1 MB bound
    err = (b"-ERR MULTI queue exceeds client-query-buffer-limit; transaction discarded "
           b"(EXEC will fail)\r\n")
    assert set(replies[queued:]) == {err}
    assert send(m, "EXEC") == \
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    assert send(m, "EXISTS", "mq:0") == b":0\r\n"
    # a transaction under the bound works on the same connection
    assert send(m, "MULTI") == b"+OK\r\n"
    assert send(m, "SET", "mq:0", "small") == b"+QUEUED\r\n"
    assert send(m, "EXEC") == b"*1\r\n+OK\r\n"
    log = open(os.path.join(mc.root, "coordinator", "twopc-server.log")).read()
    assert log.count("passed client-query-buffer-limit") == 1


def test_slowloris_bulk_header(manual_cluster):
    """`$536870912` announced, then a byte at a time: nothing near the announced size is
    allocated (the parser grows with the bytes), and `timeout` closes the client, whose
    request never completes."""
    mc = manual_cluster("--timeout", "1")
    pid = mc.server.pid
    before = rss_mb(pid)
    socks = []
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", mc.port), timeout=10)
        s.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$536870912\r\n")
        socks.append(s)
    t0 = time.monotonic()
    closed = set()
    while len(closed) < len(socks) and time.monotonic() - t0 < 8:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                s.sendall(b"x")
            except OSError:
                closed.add(i)
        time.sleep(0.2)
    took = time.monotonic() - t0
    grew = rss_mb(pid) - before
    for s in socks:
        s.close()
    assert len(closed) == len(socks), (len(closed), took)
    assert took < 6, took
    assert grew < 30, grew                        # 20 announced 512 MB bulks
    assert send(mc.raw(), "PING") == b"+PONG\r\n"

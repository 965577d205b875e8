"""client-output-buffer-limit as Redis (normal and pubsub classes: hard, soft, soft-seconds;
CONFIG GET / SET and its errors), the pause that bounds a never-reading client at the
default (no limit), and memory returned to the system once a greedy client is closed
(#16: a client pipelining 100 KB GETs without reading grew the coordinator to 4 GB, and it
kept it after the client left)."""

import os
import socket
import threading
import time

import pytest

from conftest import connect, parse_info, resp_encode, rss_mb, send

VALUE = b"v" * 100000




def info_stats(conn):
    return parse_info(send(conn, "INFO", "stats").split(b"\r\n", 1)[1])


class Greedy:
    """A client that pipelines GETs of a 100 KB value and never reads the replies."""

    def __init__(self, port, key="ob:big"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        self.burst = resp_encode("GET", key) * 1000
        self.sent = 0
        self.closed = False
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        try:
            while not self.stop:
                self.s.sendall(self.burst)
                self.sent += 1000
        except OSError:
            self.closed = True

    def close(self):
        self.stop = True
        self.s.close()
        self.t.join(10)


def wait_for(what, fn, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    pytest.fail("timed out waiting for " + what)


def test_config_get_set(c):
    admin = connect(c)
    default = (b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
    assert send(admin, "CONFIG", "GET", "client-output-buffer-limit") == (
        b"*2\r\n$26\r\nclient-output-buffer-limit\r\n$%d\r\n%s\r\n" % (len(default), default))
    err = b"-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - "
    for bad, why in [("normal 1 2", b"Wrong number of arguments in buffer limit configuration."),
                     ("master 1 2 3", b"Invalid client class specified in buffer limit "
                                      b"configuration."),
                     ("normal 1x 2 3", b"Error in hard, soft or soft_seconds setting in buffer "
                                       b"limit configuration."),
                     ("normal 1 2 -3", b"Error in hard, soft or soft_seconds setting in buffer "
                                       b"limit configuration.")]:
        assert send(admin, "CONFIG", "SET", "client-output-buffer-limit", bad) == \
            err + why + b"\r\n"
    try:
        assert send(admin, "CONFIG", "SET", "client-output-buffer-limit",
                    "pubsub 64mb 16mb 30 normal 10mb 5mb 7") == b"+OK\r\n"
        got = send(admin, "CONFIG", "GET", "client-output-buffer-limit")
        assert b"normal 10485760 5242880 7 slave 268435456 67108864 60 " \
               b"pubsub 67108864 16777216 30" in got
    finally:
        send(admin, "CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0 "
             "pubsub 32mb 8mb 60")


def test_never_reading_client_is_paused_at_default(manual_cluster):
    """No limit (Redis's default for normal clients): the coordinator stops reading the
    greedy client once 16 MB of replies wait, so its RSS stays bounded; when the client
    finally reads, every reply arrives, in order."""
    mc = manual_cluster()
    admin = mc.raw()
    # 20 KB values: one loop turn's reads (up to 1024, CLIENT_MAX_PENDING) make one
    # TPC.MREAD; with 100 KB values its 100 MB answer can outlast link-timeout-ms on a
    # loaded machine, and the link is dropped (the links' watchdog counts whole replies)
    value = b"w" * 20000
    assert send(admin, "SET", "ob:mid", value) == b"+OK\r\n"
    base = rss_mb(mc.server.pid)
    s = socket.create_connection(("127.0.0.1", mc.port), timeout=30)
    n = 15000  # 300 MB of replies
    sender = threading.Thread(target=s.sendall, args=(resp_encode("GET", "ob:mid") * n,),
                              daemon=True)
    sender.start()
    time.sleep(3)
    peak = rss_mb(mc.server.pid)
    assert peak < base + 200, (base, peak)
    assert send(admin, "PING") == b"+PONG\r\n"  # the others are served meanwhile
    want = b"$20000\r\n" + value + b"\r\n"
    got = 0
    buf = bytearray()
    while got < n:
        d = s.recv(1 << 20)
        assert d, "closed after %d replies" % got
        buf += d
        while len(buf) >= len(want):
            assert buf[:len(want)] == want, (got, bytes(buf[:120]))
            del buf[:len(want)]
            got += 1
    sender.join(10)
    s.close()
    assert info_stats(admin)["client_output_buffer_limit_disconnections"] == "0"


def test_hard_limit_disconnects_and_memory_comes_back(manual_cluster):
    mc = manual_cluster()
    admin = mc.raw()
    assert send(admin, "SET", "ob:big", VALUE) == b"+OK\r\n"
    assert send(admin, "CONFIG", "SET", "client-output-buffer-limit",
                "normal 64mb 0 0") == b"+OK\r\n"
    time.sleep(0.5)
    before = rss_mb(mc.server.pid)
    g = Greedy(mc.port)
    try:
        wait_for("the greedy client to be closed", lambda: g.closed)
        peak = rss_mb(mc.server.pid)
    finally:
        g.close()
    stats = info_stats(admin)
    assert stats["client_output_buffer_limit_disconnections"] == "1"
    # memory returned: within 50 MB of the level before
    after = wait_for("RSS to come back", lambda: (lambda r: r if r < before + 50 else None)(
        rss_mb(mc.server.pid)), timeout=10)
    print("coordinator RSS MB: before %.1f, at the limit %.1f, after %.1f" %
          (before, peak, after))
    log = open(os.path.join(mc.root, "coordinator", "twopc-server.log")).read()
    lines = [l for l in log.splitlines() if "scheduled to be closed ASAP for overcoming of "
             "output buffer limits" in l]
    assert len(lines) == 1, lines
    # served again (after the links' reconnection if a 100 MB read outlasted their timeout)
    wait_for("a GET", lambda: send(admin, "GET", "ob:big") == b"$100000\r\n" + VALUE +
             b"\r\n")


def test_soft_limit(manual_cluster):
    """Over the soft limit for longer than soft-seconds: closed; a client that reads (so
    its output stays small) is not."""
    mc = manual_cluster()
    admin = mc.raw()
    assert send(admin, "SET", "ob:big", VALUE) == b"+OK\r\n"
    assert send(admin, "CONFIG", "SET", "client-output-buffer-limit",
                "normal 0 4mb 1") == b"+OK\r\n"
    s = socket.create_connection(("127.0.0.1", mc.port), timeout=30)
    s.sendall(resp_encode("GET", "ob:big") * 200)  # 20 MB of replies, never read
    t0 = time.monotonic()

    # the peer's close shows as a reset once our unread data is discarded: poll INFO
    wait_for("the soft limit", lambda: info_stats(admin)[
        "client_output_buffer_limit_disconnections"] == "1", timeout=15)
    assert time.monotonic() - t0 >= 1.0
    s.close()
    # a reading client with the same pipeline is served in full
    r = mc.raw(timeout=30)
    r.send(resp_encode("GET", "ob:big") * 50)
    for _ in range(50):
        assert r.read_raw() == b"$100000\r\n" + VALUE + b"\r\n"
    assert info_stats(admin)["client_output_buffer_limit_disconnections"] == "1"


def test_config_file_directive(manual_cluster, tmp_path):
    conf = tmp_path / "extra.conf"
    conf.write_text("client-output-buffer-limit normal 32mb 16mb 10\n"
                    "client-query-buffer-limit 2mb\n")
    mc = manual_cluster("--config", str(conf))
    admin = mc.raw()
    got = send(admin, "CONFIG", "GET", "client-output-buffer-limit")
    assert b"normal 33554432 16777216 10 " in got
    assert send(admin, "CONFIG", "GET", "client-query-buffer-limit") == \
        b"*2\r\n$25\r\nclient-query-buffer-limit\r\n$7\r\n2097152\r\n"


def test_replica_never_reading_client_is_bounded(manual_cluster):
    """A replica's client port: a never-reading client is paused at 16 MB of replies, and
    a request past the replica's client-query-buffer-limit closes the connection."""
    mc = manual_cluster()
    admin = mc.raw()
    assert send(admin, "SET", "ob:big", VALUE) == b"+OK\r\n"
    port = mc.replica_ports[0]
    pid = mc.procs[0].pid
    wait_for("the replica to apply", lambda: socket_cmd(port, b"EXISTS ob:big\r\n") == b":1\r\n")
    base = rss_mb(pid)
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    sender = threading.Thread(target=lambda: swallow(s.sendall, resp_encode("GET", "ob:big")
                                                     * 3000), daemon=True)
    sender.start()
    time.sleep(3)
    peak = rss_mb(pid)
    s.close()
    sender.join(10)
    assert peak < base + 150, (base, peak)
    # writes still commit (the coordinator's link is served meanwhile)
    assert send(admin, "SET", "ob:after", "1") == b"+OK\r\n"


def swallow(fn, *args):
    try:
        fn(*args)
    except OSError:
        pass


def socket_cmd(port, payload):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(payload)
        return s.recv(1 << 16)
    finally:
        s.close()


def test_pubsub_class_applies_to_subscribers(manual_cluster):
    """A subscriber gets the pubsub class's limits, not the normal ones: with
    'pubsub 1mb 0 0' a subscriber that never reads is closed (and forgotten by its
    channel); with 'normal 1mb 0 0 pubsub 0 0 0' one holding 5 MB of messages is not."""
    mc = manual_cluster()
    admin = mc.raw()
    msg = b"p" * 100000

    def subscriber(channel):
        s = socket.create_connection(("127.0.0.1", mc.port), timeout=30)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(resp_encode("SUBSCRIBE", channel))
        wait_for("the subscription", lambda: send(admin, "PUBSUB", "NUMSUB", channel) ==
                 b"*2\r\n$%d\r\n%s\r\n:1\r\n" % (len(channel), channel.encode()))
        return s

    assert send(admin, "CONFIG", "SET", "client-output-buffer-limit",
                "normal 0 0 0 pubsub 1mb 0 0") == b"+OK\r\n"
    s = subscriber("ob:ch")
    for _ in range(200):  # 20 MB at most
        if send(admin, "PUBLISH", "ob:ch", msg) == b":0\r\n":
            break
    assert info_stats(admin)["client_output_buffer_limit_disconnections"] == "1"
    assert send(admin, "PUBSUB", "NUMSUB", "ob:ch") == b"*2\r\n$5\r\nob:ch\r\n:0\r\n"
    s.close()

    assert send(admin, "CONFIG", "SET", "client-output-buffer-limit",
                "normal 1mb 0 0 pubsub 0 0 0") == b"+OK\r\n"
    s = subscriber("ob:ch2")
    for _ in range(50):
        assert send(admin, "PUBLISH", "ob:ch2", msg) == b":1\r\n"
    assert info_stats(admin)["client_output_buffer_limit_disconnections"] == "1"
    want = b"*3\r\n$9\r\nsubscribe\r\n$6\r\nob:ch2\r\n:1\r\n" + (
        b"*3\r\n$7\r\nmessage\r\n$6\r\nob:ch2\r\n$100000\r\n" + msg + b"\r\n") * 50
    got = bytearray()
    while len(got) < len(want):
        d = s.recv(1 << 20)
        assert d, "closed after %d bytes" % len(got)
        got += d
    assert bytes(got) == want
    s.close()

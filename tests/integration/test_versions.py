"""test_versions.py -- protocol version negotiation in TPC.HELLO and a rolling upgrade
(common/version.h, README "Upgrading").

No old binaries are needed: the test hook TWOPC_PROTOCOL_RANGE=MIN-MAX makes a process
speak another protocol range, so a "release that speaks 2..3" is the same binary started
with 2-3. noderig.py starts each process on its own, all with the cluster secret.

  test_rolling_upgrade       every process speaks 2..2; the replicas are restarted one at a
                             time as 2..3 while a redis-py client keeps writing, each one
                             back in sync before the next; then the coordinator as 2..3
                             (protocol 3 on every link, INFO proto=3). Every write was
                             acknowledged or refused; none acknowledged is lost, none refused
                             is visible; DEBUG DIGEST agrees.
  test_mismatch_refused      a coordinator 3..3 and a replica 2..2 refuse each other: the
                             coordinator's log and INFO name both versions; a replica 3..3
                             refuses a coordinator 2..2, naming both in its log (and the
                             coordinator relays it).
  test_mixed_versions_keep_writing
                             protocol 3's TOUCHED GONE is asked for only when every
                             replica speaks 3: a 2..2 replica among 2..3 ones still votes
                             alike (no "del" event yet), and the "del" comes once it
                             speaks 3.
  test_protocol_1_replica    a replica of twopc 0.1.x (played by a socket that answers
                             TPC.HELLO with a wrong-arity error, as 0.1.x does) is reported
                             as protocol 1, to be upgraded.
  test_bad_range_refused     a malformed TWOPC_PROTOCOL_RANGE stops start-up with exit 2.
"""

import socket
import subprocess
import threading
import time

import pytest
import redis

from noderig import NodeRig
from twopc_harness import RespConn

SECRET = "--cluster-secret-file"


@pytest.fixture
def rig(tmp_path):
    r = NodeRig(tmp_path, replicas=3)
    yield r
    r.close()


def rng(spec):
    return {"TWOPC_PROTOCOL_RANGE": spec}


def replica_line(rig, i):
    return rig.info()["replica_%d" % (i + 1)]


def in_sync(rig, i, proto=None):
    line = replica_line(rig, i)
    return (line["state"] == "ready" and line["member"] == "in-sync"
            and (proto is None or int(line["proto"]) == proto)) and line


class Writer(threading.Thread):
    """SET w<n> n through the coordinator, one at a time, until stopped; each write's
    outcome is ok, refused (a definite error) or unknown (connection lost, or an error
    that says the outcome is unknown)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.ok, self.refused, self.unknown = [], [], []

    def run(self):
        c = redis.Redis(port=self.port, socket_timeout=10)
        n = 0
        while not self.stop.is_set():
            key = "w%d" % n
            try:
                assert c.set(key, str(n)) is True
                self.ok.append(n)
            except redis.ConnectionError as e:
                if isinstance(e, redis.BusyLoadingError):
                    self.refused.append(n)
                else:
                    self.unknown.append(n)
                time.sleep(0.02)
            except redis.ResponseError as e:
                (self.unknown if "unknown" in str(e).lower() else self.refused).append(n)
                time.sleep(0.02)
            n += 1
        c.close()


def test_rolling_upgrade(rig):
    for i in range(3):
        rig.start_replica(i, SECRET, rig.secret_file, env=rng("2-2"))
    rig.start_server(SECRET, rig.secret_file, env=rng("2-2"))
    rig.wait_ready()
    assert [int(replica_line(rig, i)["proto"]) for i in range(3)] == [2, 2, 2]
    w = Writer(rig.server.port)
    w.start()
    try:
        rig.wait("first writes", lambda: len(w.ok) > 20)
        for i in range(3):  # replicas first, one at a time
            rig.replicas[i].stop()
            rig.start_replica(i, SECRET, rig.secret_file, env=rng("2-3"))
            # A 2..3 replica with a 2..2 coordinator: they agree on 2.
            rig.wait("replica %d upgraded and in sync" % (i + 1),
                     lambda: in_sync(rig, i, proto=2))
            before = len(w.ok)
            rig.wait("writes after replica %d's upgrade" % (i + 1),
                     lambda: len(w.ok) > before + 10)
        rig.server.stop()  # then the coordinator
        rig.start_server(SECRET, rig.secret_file, env=rng("2-3"))
        rig.wait("every link on protocol 3",
                 lambda: all(in_sync(rig, i, proto=3) for i in range(3)))
        before = len(w.ok)
        rig.wait("writes after the coordinator's upgrade", lambda: len(w.ok) > before + 10)
    finally:
        w.stop.set()
        w.join(30)
    assert not w.is_alive()
    print("writes during the upgrade: %d acknowledged, %d refused, %d unknown"
          % (len(w.ok), len(w.refused), len(w.unknown)))
    c = redis.Redis(port=rig.server.port, socket_timeout=10)
    for n in w.ok:
        assert c.get("w%d" % n) == str(n).encode(), "acknowledged write w%d lost" % n
    for n in w.refused:
        assert c.get("w%d" % n) is None, "refused write w%d is visible" % n
    digest = c.execute_command("DEBUG", "DIGEST")
    assert isinstance(digest, bytes) and len(digest) == 16, digest
    c.close()
    digests = {RespConn(r.port).command("DIGEST") for r in rig.replicas}
    assert len(digests) == 1, digests
    for r in rig.replicas:
        assert RespConn(r.port).command("INFO").count(b"twopc_protocol:2-3") == 1


def test_mismatch_refused(rig):
    rig.start_replica(0, SECRET, rig.secret_file, env=rng("2-2"))
    rig.start_replica(1, SECRET, rig.secret_file, env=rng("2-3"))
    rig.start_replica(2, SECRET, rig.secret_file, env=rng("3-3"))
    rig.start_server(SECRET, rig.secret_file, env=rng("3-3"))
    want = ("protocol version mismatch: replica twopc 0.3.0 speaks protocol 2..2, "
            "coordinator twopc 0.3.0 speaks protocol 3..3")
    rig.wait_log(rig.server, r"replica 127\.0\.0\.1:%d refused: %s"
                 % (rig.replicas[0].port, want.replace(".", r"\.")))
    rig.wait("INFO names both versions",
             lambda: want in str(rig.info().get("replica_1_refused", "")))
    rig.wait("replicas 2 and 3 on protocol 3",
             lambda: in_sync(rig, 1, proto=3) and in_sync(rig, 2, proto=3))
    assert replica_line(rig, 0)["state"] != "ready"
    # Logged once, not once per retry (every 100 ms).
    time.sleep(0)  # (no fixed wait: the count is bounded whatever the timing)
    assert rig.server.log_text().count(want) <= 2

    # A replica 3..3 refuses a coordinator 2..2.
    rig.server.stop()
    rig.start_server(SECRET, rig.secret_file, env=rng("2-2"))
    want = ("protocol version mismatch: replica twopc 0.3.0 speaks protocol 3..3, "
            "coordinator twopc 0.3.0 speaks protocol 2..2")
    rig.wait_log(rig.replicas[2], r"refused a coordinator: %s" % want.replace(".", r"\."))
    rig.wait_log(rig.server, r"replica 127\.0\.0\.1:%d refused: %s"
                 % (rig.replicas[2].port, want.replace(".", r"\.")))
    rig.wait("replicas 1 and 2 on protocol 2",
             lambda: in_sync(rig, 0, proto=2) and in_sync(rig, 1, proto=2))


def events_of(sub, n):
    """The next n keyspace events a redis-py pubsub got, as (channel, data) pairs."""
    got = []
    deadline = time.time() + 10
    while len(got) < n and time.time() < deadline:
        m = sub.get_message(timeout=0.2)
        if m and m["type"] == "pmessage":
            got.append((m["channel"], m["data"]))
    return got


def test_mixed_versions_keep_writing(rig):
    """Protocol 3's one addition (TPC.PREPARE TOUCHED GONE: Redis's "del" when a pop
    empties a collection) is asked for only when every replica speaks 3: with one replica
    on 2..2 the pops commit and publish their own events without "del" (no vote differs);
    once that replica speaks 3 too, the same pop adds "del"."""
    rig.start_replica(0, SECRET, rig.secret_file, env=rng("2-2"))
    for i in (1, 2):
        rig.start_replica(i, SECRET, rig.secret_file)
    rig.start_server(SECRET, rig.secret_file)
    rig.wait("replicas on protocols 2, 3, 3",
             lambda: in_sync(rig, 0, proto=2) and in_sync(rig, 1, proto=3)
             and in_sync(rig, 2, proto=3))
    c = redis.Redis(port=rig.server.port, socket_timeout=10)
    c.config_set("notify-keyspace-events", "KEA")
    sub = c.pubsub()
    sub.psubscribe("__keyevent@0__:*")
    assert sub.get_message(timeout=5)["type"] == "psubscribe"

    def pop_round():
        assert c.rpush("q", "a") == 1
        assert c.lpop("q") == b"a"
        assert c.exists("q") == 0
        return [(ch.split(b":")[-1], data) for ch, data in events_of(sub, 4)]

    assert pop_round() == [(b"rpush", b"q"), (b"lpop", b"q")]
    rig.replicas[0].stop()
    rig.start_replica(0, SECRET, rig.secret_file)
    rig.wait("every link on protocol 3",
             lambda: all(in_sync(rig, i, proto=3) for i in range(3)))
    assert pop_round() == [(b"rpush", b"q"), (b"lpop", b"q"), (b"del", b"q")]
    sub.close()
    c.close()
    digests = {RespConn(r.port).command("DIGEST") for r in rig.replicas}
    assert len(digests) == 1, digests


def test_protocol_1_replica(rig):
    """The coordinator's view of a twopc 0.1.x replica, played by a socket that answers
    TPC.HELLO <args> as 0.1.x does (arity 1)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", rig.replicas[0].port))
    srv.listen(16)
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                continue
            conn.settimeout(2)
            try:
                if b"TPC.HELLO" in conn.recv(4096):
                    conn.sendall(b"-ERR wrong number of arguments for 'tpc.hello' command\r\n")
                conn.recv(4096)
            except OSError:
                pass
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        rig.start_replica(1)
        rig.start_replica(2)
        rig.start_server()
        rig.wait_log(rig.server, r"replica 127\.0\.0\.1:%d refused: it speaks protocol 1 "
                                 r"\(twopc 0\.1\.x, no version negotiation\); upgrade it "
                                 r"\(this coordinator, twopc 0\.3\.0, speaks protocol 2\.\.3\)"
                     % rig.replicas[0].port)
        rig.wait_ready(2)
    finally:
        stop.set()
        t.join(5)
        srv.close()


def test_bad_range_refused(rig):
    for spec in ("3", "3-2", "x-y", "0-2"):
        out = subprocess.run([rig.replicas[0].binary, "--port", str(rig.replicas[0].port),
                              "--dir", rig.replicas[0].dir],
                             env={"TWOPC_PROTOCOL_RANGE": spec, "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, timeout=20)
        assert out.returncode == 2 and "TWOPC_PROTOCOL_RANGE must be MIN-MAX" in out.stderr, out

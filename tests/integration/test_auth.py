"""test_auth.py -- the cluster secret on replica links, requirepass on replicas, protected
mode (replica/auth.h, common/secret.h, server/replica_link.h).

Real processes (noderig.py: each twopc-server / twopc-replica started on its own), real
clients (redis-py through the coordinator, redis-cli and raw RESP sockets on a replica):

  test_secret_cluster_works        every node with the secret: writes and reads through the
                                   coordinator; on a replica port, TPC.PREPARE without the
                                   proof is refused with NOAUTH (redis-cli) and the replica
                                   log names the peer; a wrong proof is refused and logged;
                                   a nonce is single use; the right proof opens the gate.
  test_secret_never_shown          the secret is in no /proc/PID/cmdline, log file, INFO
                                   section or CONFIG GET * answer.
  test_coordinator_without_secret  a replica demands the secret the coordinator lacks:
                                   a clear log line, INFO's replica_N_refused, NOREPLICAS.
  test_replica_without_secret      the coordinator has a secret, the replica none: refused.
  test_wrong_secret                different secrets: refused on both sides, logged.
  test_requirepass_on_replica      NOAUTH / WRONGPASS / OK as Redis 7; AUTH default pw;
                                   QUIT; the coordinator's protocol is unaffected.
  test_secret_file_and_bind_checks a secret file readable by others or missing, protected
                                   mode on a non-loopback bind: exit 2 with a clear message.
"""

import hashlib
import hmac
import os
import re
import subprocess

import pytest
import redis

from noderig import NodeRig
from twopc_harness import Cluster, RespConn, RespError


@pytest.fixture
def rig(tmp_path):
    r = NodeRig(tmp_path, replicas=2)
    yield r
    r.close()


def proof(secret, nonce):
    return hmac.new(secret.encode(), b"twopc-auth " + nonce, hashlib.sha256).hexdigest()


def start_secure(rig):
    for i in range(len(rig.replicas)):
        rig.start_replica(i, "--cluster-secret-file", rig.secret_file)
    rig.start_server("--cluster-secret-file", rig.secret_file)
    rig.wait_ready()


def error_text(reply):
    assert isinstance(reply, RespError), reply
    return reply.message.decode()


def wait_noreplicas(rig):
    """Until a write through the coordinator fails with NOREPLICAS (after -LOADING while
    it waits --write-wait-ms for the replicas at start-up)."""
    c = redis.Redis(port=rig.server.port, socket_timeout=10)

    def write_refused():
        try:
            c.set("k", "v")
        except redis.BusyLoadingError:
            return False
        except redis.ResponseError as e:
            return str(e).startswith("NOREPLICAS") and str(e)
        raise AssertionError("a write succeeded")

    rig.wait("a write refused with NOREPLICAS", write_refused)
    c.close()


def test_secret_cluster_works(rig):
    start_secure(rig)
    c = redis.Redis(port=rig.server.port, socket_timeout=10)
    for i in range(50):
        assert c.set("k%d" % i, "v%d" % i) is True
    assert c.get("k7") == b"v7"
    assert c.incr("n") == 1
    c.close()
    assert "authenticating" not in str(rig.info())

    rep = rig.replicas[0]
    # redis-cli on the replica port, without the proof: TPC.PREPARE is refused.
    out = subprocess.run(["redis-cli", "-p", str(rep.port), "TPC.PREPARE", "999",
                          "1700000000000", "1", "3", "SET", "x", "1"],
                         capture_output=True, text=True, timeout=10)
    assert "NOAUTH internal command refused" in out.stdout + out.stderr, out
    rig.wait_log(rep, r"refused TPC\.PREPARE from 127\.0\.0\.1:\d+: the connection has not "
                      r"proven the cluster secret")
    # The data did not change: the refused PREPARE did nothing.
    assert RespConn(rep.port).command("EXISTS", "x") == 0

    s = RespConn(rep.port)
    local_port = s.sock.getsockname()[1]
    for cmd in (("TPC.HELLO", "2", "2", "0.2.0"), ("TPC.COMMIT", "1"), ("TPC.READ", "1", "GET",
                                                                       "k1")):
        assert error_text(s.command(*cmd)).startswith("NOAUTH internal command refused")
    # Client commands need no proof (no requirepass here).
    assert s.command("GET", "k1") == b"v1"
    assert s.command("PING") == b"PONG"
    # A wrong proof: refused and logged with the peer; the nonce is gone with it.
    nonce = s.command("TPC.CHALLENGE")
    assert re.fullmatch(rb"[0-9a-f]{64}", nonce), nonce
    assert error_text(s.command("TPC.AUTH", "0" * 64)) == "ERR invalid cluster secret proof"
    rig.wait_log(rep, r"refused a wrong cluster secret proof from 127\.0\.0\.1:%d" % local_port)
    assert error_text(s.command("TPC.AUTH", proof(rig.secret, nonce))) == \
        "ERR TPC.AUTH without a pending TPC.CHALLENGE"
    assert error_text(s.command("TPC.DURABLE")).startswith("NOAUTH")
    # A fresh nonce, the right proof: the gate opens (TPC.DURABLE answers).
    nonce2 = s.command("TPC.CHALLENGE")
    assert nonce2 != nonce
    assert s.command("TPC.AUTH", proof(rig.secret, nonce2)) == b"OK"
    assert isinstance(s.command("TPC.DURABLE"), int)
    s.close()
    # The cluster still works after all that.
    c = redis.Redis(port=rig.server.port, socket_timeout=10)
    assert c.set("after", "1") is True
    c.close()


def test_secret_never_shown(rig):
    start_secure(rig)
    c = redis.Redis(port=rig.server.port, socket_timeout=10)
    c.set("a", "b")
    secret = rig.secret.encode()
    for n in rig.nodes():
        with open("/proc/%d/cmdline" % n.pid, "rb") as f:
            assert secret not in f.read()
    info = c.execute_command("INFO", "everything")
    assert secret not in (info if isinstance(info, bytes) else str(info).encode())
    conf = c.config_get("*")
    assert all(rig.secret not in str(k) + str(v) for k, v in conf.items())
    c.close()
    for rep in rig.replicas:
        assert secret not in RespConn(rep.port).command("INFO")
    for root, _dirs, files in os.walk(rig.root):
        for name in files:
            path = os.path.join(root, name)
            if path == rig.secret_file:
                continue
            with open(path, "rb") as f:
                assert secret not in f.read(), path


def test_coordinator_without_secret(rig):
    for i in range(len(rig.replicas)):
        rig.start_replica(i, "--cluster-secret-file", rig.secret_file)
    rig.start_server("--write-wait-ms", "300")
    rig.wait_log(rig.server, r"replica 127\.0\.0\.1:%d refused: it requires the cluster "
                             r"secret; set cluster-secret-file on this coordinator"
                 % rig.replicas[0].port)
    info = rig.wait("INFO's refusal", lambda: rig.info().get("replica_1_refused"))
    assert "requires the cluster secret" in str(info)
    wait_noreplicas(rig)
    # Rate-limited: the link retries every 100 ms, the warning is not repeated each time.
    text = rig.server.log_text()
    assert text.count("requires the cluster secret") <= 2 * len(rig.replicas), text[-2000:]
    for rep in rig.replicas:
        rig.wait_log(rep, r"refused TPC\.HELLO from 127\.0\.0\.1:\d+")
        assert RespConn(rep.port).command("DBSIZE") == 0


def test_replica_without_secret(rig):
    rig.start_replica(0)
    rig.start_replica(1, "--cluster-secret-file", rig.secret_file)
    rig.start_server("--cluster-secret-file", rig.secret_file)
    rig.wait_log(rig.server, r"replica 127\.0\.0\.1:%d refused: it has no cluster secret, "
                             r"this coordinator has one" % rig.replicas[0].port)
    rig.wait_ready(1)
    info = rig.info()
    assert info["replica_2"]["state"] == "ready"
    assert info["replica_1"]["state"] != "ready"
    assert "no cluster secret" in str(info["replica_1_refused"])


def test_wrong_secret(rig):
    other = rig.write_secret("other", "not-the-same-secret")
    for i in range(len(rig.replicas)):
        rig.start_replica(i, "--cluster-secret-file", rig.secret_file)
    rig.start_server("--cluster-secret-file", other, "--write-wait-ms", "300")
    rig.wait_log(rig.server, r"refused: it did not accept this coordinator's cluster secret "
                             r"proof \(ERR invalid cluster secret proof\): the cluster secrets "
                             r"differ")
    rig.wait_log(rig.replicas[0], r"refused a wrong cluster secret proof from 127\.0\.0\.1:")
    assert rig.ready_count() == 0
    wait_noreplicas(rig)


def test_requirepass_on_replica(rig):
    rig.start_replica(0, "--requirepass", "pw1")
    rig.start_replica(1)
    rig.start_server()
    rig.wait_ready()
    c = redis.Redis(port=rig.server.port, socket_timeout=10)
    assert c.set("k", "v") is True  # the coordinator's TPC.* need no password
    # DEBUG DIGEST sends DIGEST, a client command, on the coordinator's links: it passes.
    digest = c.execute_command("DEBUG", "DIGEST")
    assert isinstance(digest, bytes) and len(digest) == 16, digest
    c.close()
    s = RespConn(rig.replicas[0].port)
    assert error_text(s.command("GET", "k")) == "NOAUTH Authentication required."
    assert error_text(s.command("INFO")) == "NOAUTH Authentication required."
    assert error_text(s.command("DIGEST")) == "NOAUTH Authentication required."
    assert error_text(s.command("AUTH", "nope")) == \
        "WRONGPASS invalid username-password pair or user is disabled."
    assert error_text(s.command("AUTH", "someone", "pw1")) == \
        "WRONGPASS invalid username-password pair or user is disabled."
    assert s.command("AUTH", "pw1") == b"OK"
    assert s.command("GET", "k") == b"v"
    s.close()
    s = RespConn(rig.replicas[0].port)
    assert s.command("AUTH", "default", "pw1") == b"OK"
    assert s.command("DBSIZE") == 1
    assert s.command("QUIT") == b"OK"
    s.close()
    s = RespConn(rig.replicas[0].port)
    assert s.command("QUIT") == b"OK"  # QUIT needs no AUTH
    s.close()
    # redis-cli with -a, as an operator would.
    out = subprocess.run(["redis-cli", "-p", str(rig.replicas[0].port), "--no-auth-warning",
                          "-a", "pw1", "GET", "k"], capture_output=True, text=True,
                         timeout=10)
    assert out.stdout.strip() == "v", out
    # A replica without requirepass: Redis's answer to AUTH.
    s = RespConn(rig.replicas[1].port)
    assert error_text(s.command("AUTH", "x")) == (
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?")
    assert s.command("GET", "k") == b"v"
    s.close()
    # The password is not in the log either.
    assert "pw1" not in rig.replicas[0].log_text()


def run_replica(rig, *args):
    return subprocess.run([rig.replicas[0].binary, "--port", str(rig.replicas[0].port),
                           "--dir", rig.replicas[0].dir, "--log", "-"] + list(args),
                          capture_output=True, text=True, timeout=20)


def test_secret_file_and_bind_checks(rig):
    loose = rig.write_secret("loose", "abc", mode=0o644)
    out = run_replica(rig, "--cluster-secret-file", loose)
    assert out.returncode == 2
    assert "accessible by group or others" in out.stderr and "chmod 600" in out.stderr, out
    assert "abc" not in out.stderr
    out = run_replica(rig, "--cluster-secret-file", os.path.join(rig.root, "missing"))
    assert out.returncode == 2 and "can't open the cluster secret file" in out.stderr, out
    out = subprocess.run([rig.server.binary, "--port", str(rig.server.port), "--dir",
                          rig.server.dir, "--replica", rig.addr(0), "--cluster-secret-file",
                          loose], capture_output=True, text=True, timeout=20)
    assert out.returncode == 2 and "chmod 600" in out.stderr, out
    empty = rig.write_secret("empty", "")
    out = run_replica(rig, "--cluster-secret-file", empty)
    assert out.returncode == 2 and "must hold 1 to" in out.stderr, out
    # Protected mode: no secret on a non-loopback address is refused...
    out = run_replica(rig, "--bind", "0.0.0.0")
    assert out.returncode == 2
    assert "without a cluster secret" in out.stderr and "cluster-secret-file" in out.stderr
    out = run_replica(rig, "--bind", "0.0.0.0", "--protected-mode", "maybe")
    assert out.returncode == 2 and "protected-mode must be yes or no" in out.stderr, out
    # ... unless protected mode is off, or there is a secret.
    rig.start_replica(0, "--bind", "0.0.0.0", "--protected-mode", "no")
    rig.replicas[0].stop()
    rig.start_replica(0, "--bind", "0.0.0.0", "--cluster-secret-file", rig.secret_file)
    assert error_text(RespConn(rig.replicas[0].port).command("TPC.DURABLE")).startswith(
        "NOAUTH")


def test_launcher_password_protects_every_port():
    """#16: `make run ARGS="--requirepass pw"` (twopc-cluster -- --requirepass pw) used to
    protect the coordinator only: `redis-cli -p <replica port> GET k` and KEYS * answered
    without AUTH, and TPC.READ read anything. The launcher now gives the password to every
    replica (through TWOPC_REQUIREPASS: not in ps) and makes the cluster a secret of its
    own, so no replica port answers anything without proof."""
    c = Cluster(3, coordinator_args=["--requirepass", "pw"])
    c.password = "pw"
    try:
        c.start()
        c.wait_ready()
        r = c.client(password="pw")
        assert r.set("lp:k", "v") is True
        assert r.get("lp:k") == b"v"
        for port in c.replica_ports:
            s = RespConn(port)
            assert error_text(s.command("GET", "lp:k")).startswith("NOAUTH")
            assert error_text(s.command("KEYS", "*")).startswith("NOAUTH")
            assert error_text(s.command("TPC.READ", "0", "GET", "lp:k")).startswith("NOAUTH")
            assert error_text(s.command("AUTH", "wrong")).startswith("WRONGPASS")
            assert s.command("AUTH", "pw") == b"OK"
            assert s.command("GET", "lp:k") == b"v"
            # a client's AUTH opens the client commands, not the coordinator's protocol
            assert error_text(s.command("TPC.READ", "0", "GET", "lp:k")).startswith("NOAUTH")
            s.close()
        secret = os.path.join(c.dir, "cluster.secret")
        assert os.stat(secret).st_mode & 0o777 == 0o600
        for pid in c.child_pids():
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            if b"twopc-replica" in argv[0]:
                assert b"pw" not in argv, argv
    finally:
        c.close()

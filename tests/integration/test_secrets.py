"""test_secrets.py -- secrets kept secret (#16.6): SLOWLOG and MONITOR redact AUTH, HELLO's
AUTH pair and CONFIG SET requirepass / masterauth as Redis 7.0 does (checked against
redis-server 7.0.15: "(redacted)" in place of each secret, failed AUTHs too; MONITOR shows
AUTH and HELLO redacted and never shows CONFIG); the password comes from TWOPC_REQUIREPASS
instead of argv (ps shows argv); the data folders and files are private to the daemon's
user (0700 / 0600; the pidfile 0644, as Redis's).

Real processes (noderig.py), real clients (redis-py, raw RESP sockets, redis-cli):

  test_slowlog_redacts          SLOWLOG GET after AUTH (right, wrong, with a user), HELLO 3
                                AUTH, CONFIG SET requirepass/masterauth: the secrets are
                                "(redacted)", nothing else is, and no secret is anywhere
                                in the reply.
  test_monitor_redacts          the MONITOR feed of the same commands, line by line.
  test_password_from_env        TWOPC_REQUIREPASS guards the coordinator's and a replica's
                                client ports (GET, KEYS * need AUTH: #16.2), and is in no
                                /proc/PID/cmdline nor log.
  test_private_files            folders the daemons create are 0700, every file in them
                                0600 (logs, vote and decision logs, SQLite), the pidfile
                                0644.
"""

import os
import socket
import stat
import subprocess
import time

import pytest
import redis

from noderig import NodeRig
from twopc_harness import RespConn, RespError

PW = "pw-S3cret-42"
NEW_PW = "pw-N3w-99"
MASTER = "m4sterauth-x"
WRONG = "wr0ng-guess-7"
SECRETS = (PW, NEW_PW, MASTER, WRONG, "someuser")


@pytest.fixture
def rig(tmp_path):
    r = NodeRig(tmp_path, replicas=2)
    yield r
    r.close()


def client(rig, password=PW):
    return redis.Redis(port=rig.server.port, password=password, socket_timeout=10)


def wait_ready(rig, password=PW):
    def ready():
        info = client(rig, password).info("twopc")
        return sum(1 for k, v in info.items() if k.startswith("replica_") and
                   isinstance(v, dict) and v.get("state") == "ready") == len(rig.replicas)
    rig.wait("replicas ready", ready)


def start(rig, server_env=None, replica_env=None):
    for i in range(len(rig.replicas)):
        rig.start_replica(i, env=replica_env)
    rig.start_server(env=server_env or {"TWOPC_REQUIREPASS": PW})
    wait_ready(rig)


def run_secret_commands(rig):
    """The commands whose secrets Redis 7 redacts, each on its own connection (as the
    Redis run this test was checked against)."""
    s = RespConn(rig.server.port)
    assert isinstance(s.command("AUTH", WRONG), RespError)              # failed AUTH
    assert isinstance(s.command("AUTH", "someuser", WRONG), RespError)  # failed, with a user
    assert s.command("AUTH", PW) == b"OK"
    assert s.command("AUTH", "default", PW) == b"OK"
    hello = s.command("HELLO", "2", "AUTH", "default", PW, "SETNAME", "cli-name")
    assert isinstance(hello, list), hello
    assert s.command("CONFIG", "SET", "requirepass", NEW_PW) == b"OK"
    s.command("CONFIG", "SET", "masterauth", MASTER)  # unknown here: refused, still redacted
    assert s.command("SET", "k", "v") == b"OK"
    assert s.command("CONFIG", "SET", "requirepass", PW) == b"OK"
    s.close()


def test_slowlog_redacts(rig):
    start(rig)
    c = client(rig)
    assert c.config_set("slowlog-log-slower-than", 0)
    c.slowlog_reset()
    run_secret_commands(rig)
    raw = RespConn(rig.server.port)
    assert raw.command("AUTH", PW) == b"OK"
    entries = raw.command("SLOWLOG", "GET", "100")
    raw.close()
    args = [e[3] for e in reversed(entries)]
    text = repr(entries)
    for secret in SECRETS:
        assert secret not in text, (secret, text)
    R = b"(redacted)"
    want = [
        [b"AUTH", R],
        [b"AUTH", R, R],
        [b"AUTH", R],
        [b"AUTH", R, R],
        [b"HELLO", b"2", b"AUTH", R, R, b"SETNAME", b"cli-name"],
        [b"CONFIG", b"SET", b"requirepass", R],
        [b"CONFIG", b"SET", b"masterauth", R],
        [b"SET", b"k", b"v"],
        [b"CONFIG", b"SET", b"requirepass", R],
    ]
    got = [a for a in args if a and a[0].upper() in (b"AUTH", b"HELLO", b"CONFIG", b"SET")
           and a[:3] != [b"CONFIG", b"SET", b"slowlog-log-slower-than"]]
    assert got[:len(want)] == want, got


def read_monitor(sock, until, timeout=10.0):
    buf = b""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.5)
    while until not in buf and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
    return buf


def test_monitor_redacts(rig):
    start(rig)
    mon = socket.create_connection(("127.0.0.1", rig.server.port))
    mon.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$7\r\nMONITOR\r\n" %
                (len(PW), PW.encode()))
    assert read_monitor(mon, b"+OK\r\n+OK\r\n").startswith(b"+OK\r\n+OK\r\n")
    run_secret_commands(rig)
    client(rig).set("monitor-end", "1")
    feed = read_monitor(mon, b'"monitor-end"').decode()
    mon.close()
    for secret in SECRETS:
        assert secret not in feed, (secret, feed)
    lines = [ln.split("] ", 1)[1] for ln in feed.splitlines() if "] " in ln]
    assert lines[:7] == [
        '"AUTH" "(redacted)"',
        '"AUTH" "(redacted)" "(redacted)"',
        '"AUTH" "(redacted)"',
        '"AUTH" "(redacted)" "(redacted)"',
        '"HELLO" "2" "AUTH" "(redacted)" "(redacted)" "SETNAME" "cli-name"',
        '"SET" "k" "v"',
        '"AUTH" "(redacted)"',
    ], lines
    assert not any(ln.startswith('"CONFIG"') for ln in lines), lines


def test_password_from_env(rig):
    env = {"TWOPC_REQUIREPASS": PW}
    start(rig, server_env=env, replica_env=env)
    assert client(rig).set("k", "v")
    with pytest.raises(redis.exceptions.AuthenticationError):
        client(rig, password=None).get("k")
    for node in rig.replicas:
        # the replica's client port honours requirepass too (#16.2): GET and KEYS *
        s = RespConn(node.port)
        for cmd in (("GET", "k"), ("KEYS", "*")):
            reply = s.command(*cmd)
            assert isinstance(reply, RespError), (cmd, reply)
            assert reply.message == b"NOAUTH Authentication required."
        assert s.command("AUTH", PW) == b"OK"
        assert s.command("GET", "k") == b"v"
        assert s.command("KEYS", "*") == [b"k"]
        s.close()
        out = subprocess.run(["redis-cli", "-p", str(node.port), "KEYS", "*"],
                             capture_output=True, text=True, timeout=10)
        assert "NOAUTH" in out.stdout + out.stderr, out
    for node in rig.nodes():
        with open("/proc/%d/cmdline" % node.pid, "rb") as f:
            assert PW.encode() not in f.read()
        assert PW not in node.log_text()
    # a flag still overrides the environment (precedence: env < config file < flags)
    rig.server.stop()
    rig.start_server("--requirepass", NEW_PW, env=env)
    wait_ready(rig, NEW_PW)
    with pytest.raises(redis.exceptions.ResponseError, match="WRONGPASS"):
        client(rig, PW).get("k")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_private_files(rig):
    # --dir names folders that do not exist yet: the daemons create them
    for node in rig.nodes():
        node.dir, sub = os.path.dirname(node.dir), node.dir
        node.args_dir = sub
    for i, node in enumerate(rig.replicas):
        rig.start_replica(i, "--dir", node.args_dir)
    rig.start_server("--dir", rig.server.args_dir)
    for node in rig.nodes():
        node.dir = node.args_dir
        node.log = os.path.join(node.dir, os.path.basename(node.log))
    r = redis.Redis(port=rig.server.port, socket_timeout=10)
    rig.wait("replicas ready", lambda: r.set("k", "v"))
    r.close()
    seen = set()
    for node in rig.nodes():
        assert mode(node.dir) == 0o700, node.dir
        for root, dirs, files in os.walk(node.dir):
            for d in dirs:
                assert mode(os.path.join(root, d)) == 0o700, os.path.join(root, d)
            for f in files:
                path = os.path.join(root, f)
                want = 0o644 if f.endswith(".pid") else 0o600
                assert mode(path) == want, (path, oct(mode(path)))
                seen.add(os.path.splitext(f)[1] or f)
    # the kinds of file this checked: logs, pidfiles, the logs of votes and decisions, SQLite
    assert {".log", ".pid", ".sqlite"} <= seen, seen

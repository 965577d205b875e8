"""conftest.py -- fixtures for the real-client tests (tests/clients).

Every test talks to real processes with a real client: redis-py, redis-cli,
redis-benchmark, a hiredis C program, ioredis and node-redis.  The harness
(tests/lib/twopc_harness.py) starts the clusters; this file adds:

  cluster / module_cluster   a ready twopc-cluster (coordinator + 3 replicas)
  ManualCluster              three twopc-replica processes and one
                             twopc-server started directly, so a test can pass
                             the coordinator options the launcher does not
                             (--requirepass, --timeout, --maxclients)
  tool(name)                 the path of a client tool, or a skip if missing
  wait_for(what, fn)         fn()'s first true value, polled; a failure after a timeout
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from twopc_harness import *  # noqa: E402,F401,F403
from twopc_harness import (_live_clusters, new_cluster, free_port_block,  # noqa: E402
                           cluster, module_cluster, pytest_runtest_makereport,  # noqa: F401
                           RespConn, RespProtocolError, SERVER, REPLICA, parse_info, tail)



def wait_for(what, fn, timeout=10.0, every=0.02):
    """Polls fn until it returns something true (returned); fails the test after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(every)
    pytest.fail("timed out waiting for " + what)


def resp3_span(buf, pos=0):
    """End of the one RESP2/RESP3 reply at buf[pos:], or None if incomplete."""
    if pos >= len(buf):
        return None
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    kind, line, nxt = buf[pos:pos + 1], buf[pos + 1:end], end + 2
    if kind in b"$=!":
        n = int(line)
        if n < 0:
            return nxt
        return nxt + n + 2 if len(buf) >= nxt + n + 2 else None
    if kind in b"*~>%|":
        n = int(line)
        if kind in b"%|":
            n *= 2
        for _ in range(max(n, 0)):
            nxt = resp3_span(buf, nxt)
            if nxt is None:
                return None
        return nxt
    if kind in b"+-:_,#(":
        return nxt
    raise RespProtocolError("unexpected reply type byte %r in %r" % (kind, bytes(buf[pos:pos + 40])))


class Resp3Conn(RespConn):
    """RespConn whose read_raw() also understands RESP3 replies (maps,
    nulls, verbatim strings...), for byte-exact checks after HELLO 3."""

    def read_raw(self):
        while True:
            end = resp3_span(self.buf)
            if end is not None:
                raw = bytes(self.buf[:end])
                del self.buf[:end]
                return raw
            self._fill()


class ExternalCluster:
    """A cluster someone else started, at TWOPC_EXTERNAL=HOST:PORT (the multi-host tests
    run the tests that only need a client this way, against the coordinator's address)."""

    def __init__(self, addr):
        self.host, _, port = addr.rpartition(":")
        self.port = int(port)

    def client(self, socket_timeout=10.0, **kw):
        import redis
        return redis.Redis(host=self.host, port=self.port, socket_timeout=socket_timeout,
                           socket_connect_timeout=5.0, **kw)


@pytest.fixture(scope="module")
def c(request):
    """The module's cluster, by its short name in these tests; with TWOPC_EXTERNAL set, an
    ExternalCluster (only client() and port: tests needing more fail)."""
    ext = os.environ.get("TWOPC_EXTERNAL")
    if ext:
        return ExternalCluster(ext)
    return request.getfixturevalue("module_cluster")


def send(conn, *args):
    """Sends one command on a Resp3Conn; its raw reply."""
    conn.send(resp_encode(*args))
    return conn.read_raw()


def connect(cluster, timeout=10.0):
    """A Resp3Conn to a cluster's coordinator."""
    return Resp3Conn(cluster.port, timeout=timeout)


def tool(name):
    path = shutil.which(name)
    if not path:
        pytest.fail("%s not found: install redis-tools (scripts/install-deps.sh)" % name)
    return path


class ManualCluster:
    """Three replicas and a coordinator started by hand, with extra
    coordinator options.  Not restarted if they die (no launcher)."""

    def __init__(self, server_args=(), replicas=3, server_env=None, preexec_fn=None,
                 replica_args=()):
        self.server_env = dict(os.environ, **(server_env or {}))
        self.preexec_fn = preexec_fn  # runs in every daemon before exec (setrlimit...)
        self.replica_args = list(replica_args)
        self.root = tempfile.mkdtemp(prefix="twopc-clients-")
        base = free_port_block(replicas + 1)
        self.port = base
        self.replica_ports = [base + 1 + i for i in range(replicas)]
        self.procs = []
        self.server_args = list(server_args)
        self.replicas = replicas

    def log_tails(self):
        out = []
        for d in sorted(os.listdir(self.root)):
            for f in sorted(os.listdir(os.path.join(self.root, d))):
                if f.endswith(".log"):
                    p = os.path.join(self.root, d, f)
                    out.append("--- %s\n%s" % (p, tail(p, 30)))
        return "".join(out)

    def start(self):
        for i, p in enumerate(self.replica_ports):
            d = os.path.join(self.root, "replica-%d" % (i + 1))
            self.procs.append(subprocess.Popen(
                [REPLICA, "--port", str(p), "--dir", d] + self.replica_args,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, preexec_fn=self.preexec_fn))
        argv = [SERVER, "--port", str(self.port),
                "--dir", os.path.join(self.root, "coordinator")]
        for p in self.replica_ports:
            argv += ["--replica", "127.0.0.1:%d" % p]
        self.server = subprocess.Popen(argv + self.server_args,
                                       env=self.server_env,
                                       preexec_fn=self.preexec_fn,
                                       stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
        self.procs.append(self.server)
        self.wait_ready()

    def wait_ready(self, timeout=15.0):
        """Poll until the coordinator answers INFO (after AUTH when it has a
        password) and every replica link is ready."""
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise AssertionError("twopc-server exited with %r: %s\n%s"
                                     % (self.server.returncode,
                                        self.server.stderr.read().decode(errors="replace"),
                                        self.log_tails()))
            try:
                conn = RespConn(self.port, timeout=2.0)
                try:
                    if self.password:
                        conn.command("AUTH", self.password)
                    info = parse_info(conn.command("INFO", "twopc"))
                finally:
                    conn.close()
                if info.get("replicas_ready") == str(self.replicas):
                    return
                last = "replicas_ready=%r" % info.get("replicas_ready")
            except (OSError, EOFError) as e:
                last = "%s: %s" % (type(e).__name__, e)
            time.sleep(0.05)
        raise AssertionError("not ready in %.0f s (%s)\n%s"
                             % (timeout, last, self.log_tails()))

    @property
    def password(self):
        args = self.server_args
        if "--requirepass" in args:
            return args[args.index("--requirepass") + 1]
        return None

    def raw(self, timeout=10.0):
        return Resp3Conn(self.port, timeout=timeout)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if getattr(self, "server", None) is not None and self.server.stderr:
            self.server.stderr.close()
        if os.environ.get("TWOPC_IT_KEEP"):
            print("keeping %s" % self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def manual_cluster():
    """A factory: manual_cluster("--requirepass", "x") -> started ManualCluster
    (server_env={...} adds environment variables for the coordinator)."""
    made = []

    def make(*server_args, server_env=None, **kw):
        mc = ManualCluster(server_args, server_env=server_env, **kw)
        made.append(mc)
        mc.start()
        return mc

    try:
        yield make
    finally:
        for mc in made:
            mc.close()

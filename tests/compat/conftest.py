"""conftest.py -- fixtures for the Redis-compatibility tests (tests/compat).

The harness (Cluster, RespConn, free_port_block, ...) is tests/lib/twopc_harness.py, shared
with the other suites; this file adds a real redis-server 7 to compare against, and the
cluster fixtures.  redis-server comes from Debian's redis-server package; a test that needs
it is skipped (with the reason) when it is not installed.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from twopc_harness import *  # noqa: E402,F401,F403
from twopc_harness import (CLUSTER, REPLICA, SERVER, Cluster, ClusterError,  # noqa: E402
                            RespConn, _live_clusters, free_port_block)

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """A throwaway redis-server: no persistence, its own temporary folder and free port."""

    def __init__(self):
        if not os.access(REDIS_SERVER, os.X_OK):
            pytest.skip("redis-server not installed (Debian package redis-server)")
        self.root = tempfile.mkdtemp(prefix="twopc-compat-redis-")
        self.port = free_port_block(1)
        self.log = os.path.join(self.root, "redis.log")
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.root,
                "--logfile", self.log]
        self.proc = subprocess.Popen(argv, cwd=self.root, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                c = RespConn(self.port, timeout=2)
                try:
                    if c.command("PING") == b"PONG":
                        return
                finally:
                    c.close()
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("redis-server did not start; see %s" % self.log)
            time.sleep(0.05)

    def version(self):
        c = RespConn(self.port)
        try:
            info = c.command("INFO", "server").decode()
        finally:
            c.close()
        for line in info.splitlines():
            if line.startswith("redis_version:"):
                return line.split(":", 1)[1].strip()
        return "?"

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_server():
    r = RedisServer()
    try:
        yield r
    finally:
        r.close()


# These tests are about replies, not about timing: a machine busy with other test suites
# must not turn a slow fsync into an aborted round ("did not vote within 500 ms").
PREPARE_TIMEOUT_MS = 10000


class CompatCluster(Cluster):
    """A harness Cluster whose coordinator waits PREPARE_TIMEOUT_MS for votes."""

    def start(self):
        if self.proc is not None and self.proc.poll() is None:
            raise ClusterError("cluster already running")
        env = dict(os.environ, TWOPC_SERVER=SERVER, TWOPC_REPLICA=REPLICA,
                   TWOPC_CLUSTER=CLUSTER)
        argv = [CLUSTER, "--port", str(self.port), "--dir", self.dir,
                "--replicas", str(self.replicas),
                "--replica-port", str(self.replica_ports[0]),
                "--prepare-timeout-ms", str(PREPARE_TIMEOUT_MS)]
        with open(self.launcher_out, "ab") as out:
            out.write(("=== start %d: %s\n" % (self.starts, " ".join(argv))).encode())
            out.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         env=env, close_fds=True)
        self.starts += 1


def compat_cluster():
    c = CompatCluster()
    try:
        c.start()
        c.wait_ready()
    except BaseException:
        c.close()
        raise
    return c


@pytest.fixture
def cluster():
    yield from closing_cluster(compat_cluster)


@pytest.fixture(scope="module")
def module_cluster():
    yield from closing_cluster(compat_cluster)

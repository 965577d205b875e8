"""noderig.py -- a coordinator and replicas started one by one, each with its own options
and environment (test_auth.py, test_versions.py).

The launcher (Cluster) gives every replica the same arguments; these tests need a replica
with a cluster secret next to one without, a replica that speaks another protocol range
(the TWOPC_PROTOCOL_RANGE test hook of common/version.h), and a restart of one process with
new options. So each Node here is one twopc-server or twopc-replica process:

    rig = NodeRig(tmp_path, replicas=2)
    rig.start_replica(0, "--cluster-secret-file", rig.secret_file)
    rig.start_server("--cluster-secret-file", rig.secret_file)
    rig.wait_log(rig.server, "replica .* is up")
    ...
    rig.close()   # SIGKILL whatever still runs

Readiness is polled (a TCP connect), never slept for.
"""

import os
import re
import signal
import socket
import subprocess
import time

from twopc_harness import REPLICA, SERVER, free_port_block, parse_info

DEADLINE = 20.0


class Node:
    def __init__(self, name, binary, port, data_dir, log_name):
        self.name, self.binary, self.port, self.dir = name, binary, port, data_dir
        self.log = os.path.join(data_dir, log_name)
        self.proc = None

    def start(self, args, env=None):
        os.makedirs(self.dir, exist_ok=True)
        full_env = dict(os.environ)
        full_env.pop("TWOPC_PROTOCOL_RANGE", None)
        full_env.update(env or {})
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--dir", self.dir]
                                     + [str(a) for a in args], env=full_env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited %d: %s" % (self.name, self.proc.returncode,
                                                          self.proc.stderr.read().decode()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise AssertionError("%s not listening within %.0f s" % (self.name, DEADLINE))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    @property
    def pid(self):
        return self.proc.pid


class NodeRig:
    def __init__(self, root, replicas=2, secret="s3cret-for-tests-\u00e9-xyz"):
        self.root = str(root)
        base = free_port_block(replicas + 1)
        self.server = Node("coordinator", SERVER, base, os.path.join(self.root, "coord"),
                           "twopc-server.log")
        self.replicas = [Node("replica %d" % (i + 1), REPLICA, base + 1 + i,
                              os.path.join(self.root, "r%d" % (i + 1)), "twopc-replica.log")
                         for i in range(replicas)]
        self.secret = secret
        self.secret_file = self.write_secret("secret", secret)

    def write_secret(self, name, value, mode=0o600):
        path = os.path.join(self.root, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        os.chmod(path, mode)
        return path

    def addr(self, i):
        return "127.0.0.1:%d" % self.replicas[i].port

    def start_replica(self, i, *args, env=None):
        return self.replicas[i].start(args, env)

    def start_server(self, *args, env=None):
        replica_args = []
        for i in range(len(self.replicas)):
            replica_args += ["--replica", self.addr(i)]
        return self.server.start(replica_args + ["--prepare-timeout-ms", "2000"] + list(args),
                                 env)

    def nodes(self):
        return [self.server] + self.replicas

    def close(self):
        for n in self.nodes():
            n.kill()

    def info(self, section="twopc"):
        import redis
        c = redis.Redis(port=self.server.port, socket_timeout=5)
        try:
            return c.info(section)
        finally:
            c.close()

    def wait(self, what, cond, timeout=DEADLINE):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = cond()
                if last:
                    return last
            except Exception as e:  # a connection refused while a node restarts
                last = "%s: %s" % (type(e).__name__, e)
            time.sleep(0.05)
        raise AssertionError("%s: not within %.0f s (last: %r)\n%s" %
                             (what, timeout, last, self.report()))

    def wait_log(self, node, pattern, timeout=DEADLINE):
        rx = re.compile(pattern)
        return self.wait("%s log matching %r" % (node.name, pattern),
                         lambda: rx.search(node.log_text()), timeout)

    def ready_count(self):
        info = self.info()
        return sum(1 for k, v in info.items()
                   if re.fullmatch(r"replica_\d+", k) and isinstance(v, dict)
                   and v.get("state") == "ready")

    def wait_ready(self, n=None, timeout=DEADLINE):
        n = len(self.replicas) if n is None else n
        self.wait("%d replica links ready" % n, lambda: self.ready_count() >= n, timeout)

    def report(self, lines=15):
        out = []
        for n in self.nodes():
            text = n.log_text().splitlines()[-lines:]
            out.append("--- %s (%s)\n%s" % (n.name, n.log, "\n".join(text)))
        return "\n".join(out)

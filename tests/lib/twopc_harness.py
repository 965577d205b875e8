"""twopc_harness.py -- the shared test harness: real clusters, raw RESP, redis-cli.

Used by tests/integration and tests/crash (their conftest.py files add the fixtures).

Every test drives real processes: twopc-cluster (the launcher) starts one
twopc-server (the coordinator) and N twopc-replica processes in a fresh
temporary folder, on free ports.  Tests talk to them with real clients
(redis-cli as a subprocess, redis-py, or a raw socket with the small RESP
reader below), inject faults with signals, and check the data each replica
holds in its SQLite database, not only the replies.

What is here, in order of use:

  binaries          TWOPC_SERVER / TWOPC_REPLICA / TWOPC_CLUSTER from the
                    environment (CTest sets them), else build/... under the
                    repository root, so `/usr/bin/python3 -m pytest
                    tests/integration` works by hand after a build.
  free_port_block   n consecutive free TCP ports on 127.0.0.1.
  Cluster           one launcher and its children; start(), wait_ready(),
                    stop(), kill_replica(), client(), sqlite_rows(),
                    wait_sqlite() ...  Replicas are numbered from 1, as their
                    folders (replica-1, ...) and INFO's replica_1 lines are;
                    replica_ports is a plain 0-based list.
  cluster           function-scoped fixture: a ready 3-replica cluster,
                    always stopped and removed afterwards, even on failure.
  module_cluster    the same, shared by all tests of one file.
  RespConn          raw-socket RESP client: send exact bytes, read exact
                    replies, see whether the server closed the connection.
  redis_cli         run `redis-cli -p PORT args...`, return stripped stdout.

On any failing test the tail of every process log of every live cluster is
attached to the report (section "twopc logs").  Set TWOPC_IT_KEEP=1 to keep
the data folders after the run for inspection.
"""

import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse

import pytest
import redis

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

READY_TIMEOUT = 15.0     # seconds for a cluster to report every replica ready
STOP_TIMEOUT = 15.0      # seconds for the launcher to exit after SIGTERM
SQLITE_TIMEOUT = 15.0    # seconds for replicas to apply committed rounds


def _binary(env_name, rel_path):
    path = os.environ.get(env_name) or os.path.join(REPO_ROOT, "build", rel_path)
    return os.path.abspath(path)


SERVER = _binary("TWOPC_SERVER", "server/twopc-server")
REPLICA = _binary("TWOPC_REPLICA", "replica/twopc-replica")
CLUSTER = _binary("TWOPC_CLUSTER", "server/twopc-cluster")
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


class ClusterError(Exception):
    """The cluster could not be started, made ready or stopped."""


# --------------------------------------------------------------------------
# Free ports
# --------------------------------------------------------------------------

_handed_out = set()


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def _port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _os_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def free_port_block(n):
    """Return base such that base, base+1, ..., base+n-1 are all free.

    Candidates are drawn below the kernel's ephemeral range first: a port
    inside it may be taken as the local port of an outgoing connection (the
    coordinator's links to replicas, our own clients) while a killed replica
    waits to be restarted on it.  Each candidate block is checked by binding
    every port.  If that fails, fall back to ports the OS hands out for
    port 0.  Never 6379.
    """
    lo, _hi = _ephemeral_range()
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    candidates = []
    if lo - n - 1 > 15000:
        candidates += [rng.randrange(15000, lo - n - 1) for _ in range(200)]
    candidates += [_os_port() for _ in range(50)]
    for base in candidates:
        block = range(base, base + n)
        if 6379 in block or base + n > 65535:
            continue
        if any(p in _handed_out for p in block):
            continue
        if all(_port_free(p) for p in block):
            _handed_out.update(block)
            return base
    raise ClusterError("no block of %d consecutive free ports found" % n)


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

def read_pid_file(path):
    """The pid in a pid file, or None if it is missing, empty or garbage."""
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def pid_cmdline(pid):
    """argv of a running (not zombie) process as a list of bytes, or None."""
    if pid is None:
        return None
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read()
    except OSError:
        return None
    state = stat.rsplit(")", 1)[1].split()[0]
    if state in ("Z", "X"):
        return None
    return cmdline.rstrip(b"\0").split(b"\0")


def rss_mb(pid, default=None):
    """A process's resident set (VmRSS) in MB; default when it has none (a zombie), or an
    error if default is None."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    if default is None:
        raise AssertionError("no VmRSS for %d" % pid)
    return default


def pid_alive(pid):
    """True if pid is a running (not zombie) process whose command line
    mentions twopc: guards against a recycled pid."""
    argv = pid_cmdline(pid)
    return argv is not None and any(b"twopc" in a for a in argv)


def wait_pid_gone(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.01)
    return False


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "  (cannot read: %s)\n" % e
    text = data.decode("utf-8", errors="backslashreplace").splitlines()
    return "".join("  " + line + "\n" for line in text[-lines:]) or "  (empty)\n"


def short(value, limit=60):
    """repr of bytes, cut for assertion messages (values may be 1 MB)."""
    if value is None:
        return "None"
    r = repr(value)
    if len(r) > limit:
        return "%s...(len %d)" % (r[:limit], len(value))
    return r


def dict_diff(expected, actual, limit=10):
    """Human-readable difference of two {bytes: bytes} dicts, '' if equal."""
    missing = [k for k in expected if k not in actual]
    extra = [k for k in actual if k not in expected]
    wrong = [k for k in expected if k in actual and actual[k] != expected[k]]
    out = []
    if missing:
        out.append("missing %d keys: %s" % (
            len(missing), ", ".join(short(k) for k in sorted(missing)[:limit])))
    if extra:
        out.append("%d unexpected keys: %s" % (
            len(extra), ", ".join("%s=%s" % (short(k), short(actual[k]))
                                  for k in sorted(extra)[:limit])))
    if wrong:
        out.append("%d wrong values: %s" % (
            len(wrong), ", ".join("%s: expected %s got %s" % (
                short(k), short(expected[k]), short(actual[k]))
                for k in sorted(wrong)[:limit])))
    return "; ".join(out)


def to_bytes(x):
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode()
    if isinstance(x, int):
        return str(x).encode()
    raise TypeError(type(x))


# --------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------

_live_clusters = []


class StopResult:
    def __init__(self, returncode, leftovers, problems):
        self.returncode = returncode   # launcher exit status (-N: signal N)
        self.leftovers = leftovers     # child pids still running after it exited
        self.problems = problems       # human-readable list, empty when clean

    def __repr__(self):
        return "StopResult(returncode=%r, leftovers=%r, problems=%r)" % (
            self.returncode, self.leftovers, self.problems)


class Cluster:
    """One twopc-cluster launcher, its coordinator and its replicas."""

    def __init__(self, replicas=3, coordinator_args=()):
        for path in (CLUSTER, SERVER, REPLICA):
            if not os.access(path, os.X_OK):
                raise ClusterError("binary not found or not executable: %s "
                                   "(build first, or set TWOPC_SERVER / "
                                   "TWOPC_REPLICA / TWOPC_CLUSTER)" % path)
        self.replicas = replicas
        self.coordinator_args = [str(a) for a in coordinator_args]  # after "--"
        self.root = tempfile.mkdtemp(prefix="twopc-it-")
        self.dir = os.path.join(self.root, "data")
        os.mkdir(self.dir)
        self.launcher_out = os.path.join(self.root, "twopc-cluster.out")
        base = free_port_block(replicas + 1)
        self.port = base
        self.replica_ports = [base + 1 + i for i in range(replicas)]
        self.proc = None
        self.known_pids = set()
        self.starts = 0
        _live_clusters.append(self)

    # -- paths ------------------------------------------------------------
    def replica_dir(self, i):
        return os.path.join(self.dir, "replica-%d" % i)

    def replica_port(self, i):
        return self.replica_ports[i - 1]

    def replica_addr(self, i):
        return "127.0.0.1:%d" % self.replica_port(i)

    @property
    def coordinator_dir(self):
        return os.path.join(self.dir, "coordinator")

    def replica_pid(self, i):
        return read_pid_file(os.path.join(self.replica_dir(i), "twopc-replica.pid"))

    def server_pid(self):
        return read_pid_file(os.path.join(self.coordinator_dir, "twopc-server.pid"))

    def launcher_pid_file(self):
        return read_pid_file(os.path.join(self.dir, "twopc-cluster.pid"))

    def child_pids(self):
        """pids of the coordinator and replicas from their pid files."""
        pids = [self.server_pid()] + [self.replica_pid(i)
                                      for i in range(1, self.replicas + 1)]
        return [p for p in pids if p is not None]

    def log_files(self):
        files = [self.launcher_out,
                 os.path.join(self.coordinator_dir, "twopc-server.log")]
        files += [os.path.join(self.replica_dir(i), "twopc-replica.log")
                  for i in range(1, self.replicas + 1)]
        return files

    def log_tails(self, lines=40):
        out = ["cluster dir %s, port %d, replica ports %s\n"
               % (self.dir, self.port, self.replica_ports)]
        for path in self.log_files():
            out.append("--- %s (last %d lines)\n" % (path, lines))
            out.append(tail(path, lines))
        return "".join(out)

    # -- lifecycle --------------------------------------------------------
    def start(self):
        """Start the launcher (returns at once; call wait_ready next)."""
        if self.proc is not None and self.proc.poll() is None:
            raise ClusterError("cluster already running")
        env = dict(os.environ, TWOPC_SERVER=SERVER, TWOPC_REPLICA=REPLICA,
                   TWOPC_CLUSTER=CLUSTER)
        argv = [CLUSTER, "--port", str(self.port), "--dir", self.dir,
                "--replicas", str(self.replicas),
                "--replica-port", str(self.replica_ports[0])]
        if self.coordinator_args:
            argv += ["--"] + self.coordinator_args
        with open(self.launcher_out, "ab") as out:
            out.write(("=== start %d: %s\n" % (self.starts, " ".join(argv))).encode())
            out.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         env=env, close_fds=True)
        self.starts += 1

    def info(self, timeout=2.0):
        """INFO from the coordinator, parsed to {name: value-string}."""
        conn = RespConn(self.port, timeout=timeout)
        try:
            if getattr(self, "password", None):
                conn.command("AUTH", self.password)
            reply = conn.command("INFO")
        finally:
            conn.close()
        if not isinstance(reply, bytes):
            raise ClusterError("INFO replied %r" % (reply,))
        return parse_info(reply)

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Poll until INFO says every replica is ready and every pid file
        names a live process.  Raises ClusterError with the log tails."""
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                rc = None if self.proc is None else self.proc.returncode
                raise ClusterError("twopc-cluster is not running (exit status "
                                   "%r)\n%s" % (rc, self.log_tails()))
            try:
                info = self.info()
                ready = info.get("replicas_ready")
                pids = self.child_pids()
                if ready != str(self.replicas):
                    last = "replicas_ready=%r" % ready
                elif len(pids) != self.replicas + 1 or not all(map(pid_alive, pids)):
                    last = "pid files: %r" % pids
                else:
                    self.known_pids.update(pids)
                    return info
            except (OSError, EOFError, ClusterError, RespProtocolError) as e:
                last = "%s: %s" % (type(e).__name__, e)
            time.sleep(0.05)
        raise ClusterError("cluster not ready within %.0f s (last: %s)\n%s"
                           % (timeout, last, self.log_tails()))

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signal the launcher, wait for it, then SIGKILL any child still
        running (found through the pid files).  Returns a StopResult that
        says what was left over, so a test can assert a clean stop."""
        problems = []
        pids = set(self.child_pids()) | self.known_pids
        self.known_pids.update(pids)
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                problems.append("launcher did not exit within %.0f s of %s; "
                                "killed" % (timeout, signal.Signals(sig).name))
                self.proc.kill()
                rc = self.proc.wait()
            if rc != 0:
                problems.append("launcher exit status %r" % rc)
        pids |= set(self.child_pids())
        leftovers = sorted(p for p in pids if self.owns(p))
        if leftovers:
            problems.append("children still running after the launcher "
                            "exited: %r; killed" % leftovers)
        for p in leftovers:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        for p in leftovers:
            wait_pid_gone(p, 5.0)
        self.proc = None
        return StopResult(rc, leftovers, problems)

    def close(self):
        """Teardown: stop everything and remove the folder; never raises."""
        try:
            res = self.stop()
            if res.problems:
                print("twopc teardown problems: %s\n%s"
                      % ("; ".join(res.problems), self.log_tails()))
        finally:
            if self in _live_clusters:
                _live_clusters.remove(self)
            if os.environ.get("TWOPC_IT_KEEP"):
                print("keeping %s" % self.root)
            else:
                shutil.rmtree(self.root, ignore_errors=True)

    def owns(self, pid):
        """True if pid runs a twopc process of this cluster: its argv names
        our folder or one of our ports (never kill another test's process
        that got a recycled pid)."""
        argv = pid_cmdline(pid)
        if not argv or not any(b"twopc" in a for a in argv):
            return False
        ports = {str(p).encode() for p in [self.port] + self.replica_ports}
        root = self.root.encode()
        return any(root in a or a in ports or a.rsplit(b":", 1)[-1] in ports
                   for a in argv)

    # -- faults -----------------------------------------------------------
    def kill_replica(self, i, sig=signal.SIGKILL):
        """Send sig to replica i (pid from its pid file); return the pid."""
        pid = self.replica_pid(i)
        if pid is None or not pid_alive(pid):
            raise ClusterError("replica %d has no live pid (pid file: %r)"
                               % (i, pid))
        self.known_pids.add(pid)
        os.kill(pid, sig)
        return pid

    def kill_server(self, sig=signal.SIGKILL):
        """Send sig to the coordinator (pid from its pid file); return the pid."""
        pid = self.server_pid()
        if pid is None or not pid_alive(pid):
            raise ClusterError("coordinator has no live pid (pid file: %r)" % pid)
        self.known_pids.add(pid)
        os.kill(pid, sig)
        return pid

    # -- clients ----------------------------------------------------------
    def client(self, socket_timeout=10.0, **kw):
        """A redis-py client on the coordinator (bytes replies)."""
        return redis.Redis(host="127.0.0.1", port=self.port,
                           socket_timeout=socket_timeout,
                           socket_connect_timeout=5.0, **kw)

    def raw(self, timeout=10.0):
        return RespConn(self.port, timeout=timeout)

    # -- data on disk -----------------------------------------------------
    def sqlite_path(self, i):
        return os.path.join(self.replica_dir(i), "data.sqlite")

    def sqlite_rows(self, i):
        """Sorted [(k, v)] bytes pairs of replica i's kv table, read through
        a read-only connection while the replica runs.  Raises
        sqlite3.Error if the database or table is not there."""
        return sqlite_kv_rows(self.sqlite_path(i))

    def sqlite_query(self, i, sql):
        """Run one read-only query on replica i's database; all rows."""
        return sqlite_read(self.sqlite_path(i), sql)

    def sqlite_dict(self, i):
        return dict(self.sqlite_rows(i))

    def wait_sqlite(self, expected, replicas=None, exact=True,
                    absent=(), timeout=SQLITE_TIMEOUT):
        """Poll until each replica's SQLite holds expected ({bytes: bytes}):
        exactly (exact=True) or as a subset; keys in absent must be missing.
        Fails the test with a diff on the deadline."""
        expected = {to_bytes(k): to_bytes(v) for k, v in expected.items()}
        absent = [to_bytes(k) for k in absent]
        replicas = replicas or range(1, self.replicas + 1)
        for i in replicas:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    actual = self.sqlite_dict(i)
                    if exact:
                        problem = dict_diff(expected, actual)
                    else:
                        problem = dict_diff(expected, {k: actual[k] for k in
                                                       expected if k in actual})
                    present = [k for k in absent if k in actual]
                    if present:
                        problem += "; keys that must be absent: %s" % ", ".join(
                            short(k) for k in present[:10])
                except sqlite3.Error as e:
                    problem = "sqlite error: %s" % e
                if not problem:
                    break
                if time.monotonic() > deadline:
                    pytest.fail("replica %d (%s) SQLite %s after %.0f s: %s"
                                % (i, self.sqlite_path(i),
                                   "differs" if exact else "lacks data",
                                   timeout, problem))
                time.sleep(0.1)


def sqlite_read(path, sql, as_bytes=False):
    """All rows of one query on the SQLite database at path, through a read-only
    connection (the replica may be running).  Raises sqlite3.Error if the database or
    table is not there."""
    if not os.path.exists(path):
        raise sqlite3.OperationalError("no database file %s" % path)
    uri = "file:%s?mode=ro" % urllib.parse.quote(path)
    con = sqlite3.connect(uri, uri=True, timeout=5.0)
    try:
        if as_bytes:
            con.text_factory = bytes
        return con.execute(sql).fetchall()
    finally:
        con.close()


def sqlite_kv_rows(path):
    """Sorted [(k, v)] bytes pairs of the kv table of the database at path."""
    rows = sqlite_read(path, "SELECT k, v FROM kv", as_bytes=True)
    return sorted((to_sqlite_bytes(k), to_sqlite_bytes(v)) for k, v in rows)


def command(port, *args, timeout=10.0):
    """One command on a fresh raw connection to port; the parsed reply."""
    conn = RespConn(port, timeout=timeout)
    try:
        return conn.command(*args)
    finally:
        conn.close()


def to_sqlite_bytes(x):
    if x is None or isinstance(x, bytes):
        return x
    if isinstance(x, (int, float)):
        return str(x).encode()
    return bytes(x)


def parse_info(text):
    """INFO text -> {name: value} (strings); section headers are keys too,
    e.g. '# Server': ''."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            out[line] = ""
            continue
        name, _, value = line.partition(":")
        out[name] = value
    return out


def new_cluster(replicas=3):
    c = Cluster(replicas)
    try:
        c.start()
        c.wait_ready()
    except BaseException:
        c.close()
        raise
    return c


# --------------------------------------------------------------------------
# Raw RESP
# --------------------------------------------------------------------------

class RespProtocolError(Exception):
    """The server sent bytes that are not RESP."""


class RespError:
    """An error reply (-...), kept as a value so tests can compare it."""

    def __init__(self, message):
        self.message = message          # bytes, without '-' and CRLF

    def __eq__(self, other):
        return isinstance(other, RespError) and other.message == self.message

    def __repr__(self):
        return "RespError(%r)" % self.message


class _Incomplete(Exception):
    pass


def _line(buf, pos):
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete()
    return bytes(buf[pos:end]), end + 2


def resp_parse(buf, pos=0):
    """Parse one reply at buf[pos:]: (value, new_pos); raises _Incomplete."""
    if pos >= len(buf):
        raise _Incomplete()
    kind = buf[pos:pos + 1]
    line, nxt = _line(buf, pos + 1)
    if kind == b"+":
        return line, nxt
    if kind == b"-":
        return RespError(line), nxt
    if kind == b":":
        return int(line), nxt
    if kind == b"$":
        n = int(line)
        if n < 0:
            return None, nxt
        if len(buf) < nxt + n + 2:
            raise _Incomplete()
        if buf[nxt + n:nxt + n + 2] != b"\r\n":
            raise RespProtocolError("bulk not followed by CRLF")
        return bytes(buf[nxt:nxt + n]), nxt + n + 2
    if kind in (b"*", b"~", b"%", b">"):
        # RESP3: a set (~) and a push (>) read as arrays, a map (%) as a flat array of
        # key, value... (as RESP2 sends it); callers that care look at the raw type byte.
        n = int(line)
        if n < 0:
            return None, nxt
        items = []
        for _ in range(n * 2 if kind == b"%" else n):
            item, nxt = resp_parse(buf, nxt)
            items.append(item)
        return items, nxt
    if kind == b"_":
        return None, nxt
    if kind == b",":
        return line, nxt
    if kind == b"#":
        return line == b"t", nxt
    raise RespProtocolError("unexpected reply type byte %r in %r"
                            % (kind, bytes(buf[pos:pos + 40])))


def resp_encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = to_bytes(a)
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RespConn:
    """A raw TCP connection speaking RESP: exact bytes in, exact bytes out."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = bytearray()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data

    def read_raw(self):
        """The exact bytes of the next reply."""
        while True:
            try:
                _, end = resp_parse(self.buf)
                raw = bytes(self.buf[:end])
                del self.buf[:end]
                return raw
            except _Incomplete:
                self._fill()

    def read(self):
        """The next reply, parsed (bytes, int, None, list or RespError)."""
        return resp_parse(self.read_raw())[0]

    def command(self, *args):
        self.send(resp_encode(*args))
        return self.read()

    def closed_by_server(self, timeout=3.0):
        """True if the server closes the connection within timeout without
        sending anything more; False on timeout; raises if data arrives."""
        if self.buf:
            raise AssertionError("unexpected bytes after reply: %r"
                                 % bytes(self.buf[:100]))
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if data:
            raise AssertionError("unexpected bytes instead of close: %r"
                                 % data[:100])
        return True


# --------------------------------------------------------------------------
# redis-cli
# --------------------------------------------------------------------------

def redis_cli(port, *args, input=None, timeout=10.0):
    """Run redis-cli -p port args...; return its stdout, stripped.

    With stdout a pipe redis-cli prints raw replies: OK, values, integers,
    an empty line for nil, error texts such as 'ERR ...'.  With input and no
    args it runs its interactive mode, reading commands from the pipe."""
    if isinstance(input, str):
        input = input.encode()
    res = subprocess.run([REDIS_CLI, "-p", str(port)] + [str(a) for a in args],
                         input=input if input is not None else b"",
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=timeout)
    return res.stdout.decode("utf-8", errors="backslashreplace").strip()


# --------------------------------------------------------------------------
# Fixtures and the failure report, shared by every test folder's conftest.py:
# pytest registers fixtures and hooks that a conftest imports by name.
# --------------------------------------------------------------------------

def closing_cluster(factory):
    """Yields the cluster factory() makes, and always closes it (for fixtures)."""
    c = factory()
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def cluster():
    yield from closing_cluster(new_cluster)


@pytest.fixture(scope="module")
def module_cluster():
    yield from closing_cluster(new_cluster)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failing test, attach the tail of every live cluster's process logs."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for c in list(_live_clusters):
            rep.sections.append(("twopc logs %s" % c.root, c.log_tails()))

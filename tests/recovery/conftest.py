"""conftest.py -- a small process manager for the failpoint and log-recovery tests.

The integration suite runs whole clusters through the launcher (twopc-cluster), which
restarts a dead child after about a second with the same environment.  These tests need
the opposite: give ONE process the environment TWOPC_FAILPOINTS=<name>, watch it die at
that point, and restart it without the variable, at a moment the test chooses.  So a Rig
starts twopc-replica x3 and twopc-server itself, one subprocess each, in a fresh
temporary folder laid out like the launcher's:

    ROOT/data/coordinator/   decision.log  twopc-server.log  twopc-server.pid
    ROOT/data/replica-N/     votes.log  data.sqlite  twopc-replica.log  twopc-replica.pid
    ROOT/stderr/NAME.K.txt   stderr + stdout of start number K of process NAME

What is here, in order of use:

  Rig(replicas=3, log_max_bytes=None)    ports from free_port_block, nothing started
    .start() / .wait_ready()             all processes; poll INFO until replicas_ready:N
    .coord, .replica(i)                  Daemon objects (replicas numbered from 1)
    .settle()                            wait: every replica ready, no unacknowledged round,
                                         no round in doubt on any replica
    .rows(i), .replica_command(i, ...)   replica i's SQLite kv table / a direct command
    .info(), .command(...), .client()    the coordinator (raw RESP or redis-py)
  Daemon
    .start(failpoints=None)              a new run; TWOPC_FAILPOINTS only if given
    .stop() / .kill() / .wait_exit()     SIGTERM / SIGKILL / wait for death
    .stderr(), .log_since(mark)          what this run printed; new diagnostics lines
  read_journal(path)                     decode a vote or decision log record by record,
                                         checking format and CRC-32C (docs/log-format.md)
  rig (fixture)                          a started, ready 3-replica Rig, always torn down
  make_rig (fixture)                     a factory for Rigs with options, all torn down

The harness (tests/lib/twopc_harness.py) provides ports, RespConn, pid helpers and log
tails; it is imported, not copied.  On a failing test the log tails and the stderr of
every process of every live Rig are attached to the report.  TWOPC_IT_KEEP=1 keeps the
folders.
"""

import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from twopc_harness import (  # noqa: E402
    REPLICA, SERVER, RespConn, RespError, RespProtocolError, command, free_port_block,
    parse_info, read_pid_file, tail, to_sqlite_bytes, wait_pid_gone)

START_TIMEOUT = 10.0    # seconds for a daemon to listen (or to die, when it must)
READY_TIMEOUT = 15.0    # seconds for the coordinator to see every replica ready
SETTLE_TIMEOUT = 15.0   # seconds for every round to be decided and acknowledged
EXIT_TIMEOUT = 10.0     # seconds for a process to die at its failpoint
STOP_TIMEOUT = 15.0     # seconds for a clean exit after SIGTERM


class RigError(Exception):
    """A process could not be started, made ready or stopped."""


def _no_core_dumps():
    # The failpoints abort(): no core files in the test folder.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# --------------------------------------------------------------------------
# One daemon
# --------------------------------------------------------------------------

class Daemon:
    """One twopc-server or twopc-replica process, restartable."""

    def __init__(self, rig, name, argv, data_dir, log_name, pid_name, port):
        self.rig = rig
        self.name = name                  # "coordinator", "replica-2"
        self.argv = argv
        self.dir = data_dir
        self.log_path = os.path.join(data_dir, log_name)
        self.pid_path = os.path.join(data_dir, pid_name)
        self.port = port
        self.proc = None
        self.starts = 0
        self.failpoints = None
        self.stderr_path = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def start(self, failpoints=None, wait=True, env=None):
        """Start a new run (TWOPC_FAILPOINTS=failpoints, else unset; env: more variables,
        e.g. LD_PRELOAD).  With wait, return once the process listens on its port; raise
        RigError if it dies first."""
        if self.running():
            raise RigError("%s is already running" % self.name)
        extra = env
        env = dict(os.environ)
        env.pop("TWOPC_FAILPOINTS", None)
        env.update(extra or {})
        if failpoints:
            env["TWOPC_FAILPOINTS"] = failpoints
        self.failpoints = failpoints
        self.starts += 1
        self.stderr_path = os.path.join(self.rig.stderr_dir,
                                        "%s.%d.txt" % (self.name, self.starts))
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=err,
                                         stderr=subprocess.STDOUT, env=env, close_fds=True,
                                         preexec_fn=_no_core_dumps)
        if wait:
            self.wait_listening()
        return self

    def wait_listening(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RigError("%s exited with status %r while starting\n%s"
                               % (self.name, self.proc.returncode, self.report()))
            if read_pid_file(self.pid_path) == self.proc.pid:
                try:
                    conn = RespConn(self.port, timeout=2.0)
                    try:
                        if conn.command("PING") == b"PONG":
                            return
                    finally:
                        conn.close()
                except (OSError, EOFError, RespProtocolError):
                    pass
            time.sleep(0.02)
        raise RigError("%s does not answer PING on port %d within %.0f s\n%s"
                       % (self.name, self.port, timeout, self.report()))

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        """Wait for the process to end; its exit status (-N: signal N)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise RigError("%s (pid %d) still running after %.0f s\n%s"
                           % (self.name, self.proc.pid, timeout, self.report()))

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait; the exit status (0 for a clean stop)."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RigError("%s did not stop within %.0f s of SIGTERM" % (self.name, timeout))

    def kill(self, sig=signal.SIGKILL):
        """Send sig; with SIGKILL, also wait until the process is gone."""
        if not self.running():
            raise RigError("%s is not running" % self.name)
        self.proc.send_signal(sig)
        if sig == signal.SIGKILL:
            self.proc.wait(10)

    def pidfile_pid_gone(self):
        """True if the pid the pid file names is not a live process."""
        pid = read_pid_file(self.pid_path)
        return pid is None or wait_pid_gone(pid, 5.0)

    def stderr(self):
        """Everything the current run printed on stderr (and stdout)."""
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", errors="backslashreplace")
        except (OSError, TypeError):
            return ""

    def log_mark(self):
        """A mark for log_since(): the diagnostics log's current size."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, mark=0):
        """Diagnostics log text written after mark."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", errors="backslashreplace")
        except OSError:
            return ""

    def wait_log(self, pattern, mark=0, timeout=10.0):
        """Poll until the log after mark matches the regex; the match object."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_since(mark))
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError("%s log has no line matching %r within %.0f s\n%s"
                                     % (self.name, pattern, timeout, self.report()))
            time.sleep(0.02)

    def report(self, lines=30):
        return ("--- %s log %s (last %d lines)\n%s--- %s stderr (%s)\n%s"
                % (self.name, self.log_path, lines, tail(self.log_path, lines), self.name,
                   self.stderr_path, tail(self.stderr_path, lines) if self.stderr_path
                   else "  (never started)\n"))

    def close(self):
        if self.running():
            self.proc.kill()
            self.proc.wait(10)


# --------------------------------------------------------------------------
# A coordinator and its replicas
# --------------------------------------------------------------------------

_live_rigs = []


class Rig:
    """A coordinator and N replicas, each a separately started process."""

    def __init__(self, replicas=3, log_max_bytes=None, prepare_timeout_ms=500):
        for path in (SERVER, REPLICA):
            if not os.access(path, os.X_OK):
                raise RigError("binary not found or not executable: %s (build first, or "
                               "set TWOPC_SERVER / TWOPC_REPLICA)" % path)
        self.nreplicas = replicas
        self.root = tempfile.mkdtemp(prefix="twopc-rec-")
        self.dir = os.path.join(self.root, "data")
        self.stderr_dir = os.path.join(self.root, "stderr")
        os.mkdir(self.dir)
        os.mkdir(self.stderr_dir)
        base = free_port_block(replicas + 1)
        self.port = base
        extra = ["--log-max-bytes", str(log_max_bytes)] if log_max_bytes else []
        self.replicas = []
        for i in range(1, replicas + 1):
            d = os.path.join(self.dir, "replica-%d" % i)
            argv = [REPLICA, "--port", str(base + i), "--dir", d] + extra
            self.replicas.append(Daemon(self, "replica-%d" % i, argv, d, "twopc-replica.log",
                                        "twopc-replica.pid", base + i))
        d = os.path.join(self.dir, "coordinator")
        argv = [SERVER, "--port", str(base), "--dir", d,
                "--prepare-timeout-ms", str(prepare_timeout_ms)] + extra
        for r in self.replicas:
            argv += ["--replica", r.addr]
        self.coord = Daemon(self, "coordinator", argv, d, "twopc-server.log",
                            "twopc-server.pid", base)
        _live_rigs.append(self)

    # -- names ------------------------------------------------------------
    def replica(self, i):
        return self.replicas[i - 1]

    def daemons(self):
        return [self.coord] + self.replicas

    def votes_log(self, i):
        return os.path.join(self.replica(i).dir, "votes.log")

    @property
    def decision_log(self):
        return os.path.join(self.coord.dir, "decision.log")

    def sqlite_path(self, i):
        return os.path.join(self.replica(i).dir, "data.sqlite")

    # -- lifecycle --------------------------------------------------------
    def start(self, ready=True):
        for r in self.replicas:
            if not r.running():
                r.start()
        if not self.coord.running():
            self.coord.start()
        if ready:
            self.wait_ready()
        return self

    def stop(self):
        """SIGTERM everything, coordinator first; asserts each stopped cleanly."""
        for d in self.daemons():
            if d.running():
                rc = d.stop()
                assert rc == 0, "%s exit status %r on SIGTERM\n%s" % (d.name, rc, d.report())

    def kill_all(self):
        for d in self.daemons():
            if d.running():
                d.kill()

    def close(self):
        """Teardown: kill whatever runs, remove the folder; never raises."""
        for d in self.daemons():
            try:
                d.close()
            except Exception as e:  # noqa: BLE001 -- teardown must go on
                print("teardown of %s: %s" % (d.name, e))
        if self in _live_rigs:
            _live_rigs.remove(self)
        if os.environ.get("TWOPC_IT_KEEP"):
            print("keeping %s" % self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def report(self, lines=30):
        out = ["rig %s: coordinator port %d, replica ports %s\n"
               % (self.root, self.port, [r.port for r in self.replicas])]
        for d in self.daemons():
            out.append(d.report(lines))
        return "".join(out)

    # -- the coordinator --------------------------------------------------
    def command(self, *args, timeout=10.0):
        """One command on a fresh raw connection; the parsed reply."""
        return command(self.port, *args, timeout=timeout)

    def info(self):
        reply = self.command("INFO", "twopc", timeout=3.0)
        if not isinstance(reply, bytes):
            raise RigError("INFO replied %r" % (reply,))
        return parse_info(reply)

    def client(self, socket_timeout=10.0):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=socket_timeout,
                           socket_connect_timeout=5.0)

    def wait_ready(self, n=None, timeout=READY_TIMEOUT):
        """Poll INFO until replicas_ready == n (default: all); the parsed INFO."""
        n = self.nreplicas if n is None else n
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if not self.coord.running():
                raise RigError("coordinator is not running (status %r)\n%s"
                               % (self.coord.proc and self.coord.proc.returncode,
                                  self.report()))
            try:
                info = self.info()
                last = "replicas_ready=%s" % info.get("replicas_ready")
                if info.get("replicas_ready") == str(n):
                    return info
            except (OSError, EOFError, RespProtocolError, RigError) as e:
                last = "%s: %s" % (type(e).__name__, e)
            time.sleep(0.02)
        raise RigError("not %d replicas ready within %.0f s (last: %s)\n%s"
                       % (n, timeout, last, self.report()))

    def last_committed(self):
        """The highest round with a COMMIT record in the decision log (0 if none); read
        leniently, since the coordinator may be appending."""
        best = 0
        try:
            data = read_bytes(self.decision_log)
        except OSError:
            return 0
        for line in data.split(b"\n"):
            f = line.split(b" ")
            if len(f) == 3 and f[0] == b"COMMIT" and f[1].isdigit():
                best = max(best, int(f[1]))
        return best

    def settle(self, timeout=SETTLE_TIMEOUT):
        """Wait until every round is decided and applied everywhere: every replica
        ready, none holding a round in doubt, each one's applied_round at least the last
        round the decision log committed.  (Not rounds_unacked == 0: a replica's COMMIT
        record becomes durable lazily and the coordinator keeps the round until it hears
        so; test_logs.py checks that an idle cluster does end every round.)"""
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            try:
                info = self.info()
                committed = self.last_committed()
                reps = [self.replica_info(i) for i in range(1, self.nreplicas + 1)]
                doubt = [r.get("rounds_in_doubt") for r in reps]
                applied = [int(r.get("applied_round", -1)) for r in reps]
                last = ("replicas_ready=%s last committed round %d, applied_round %s, in "
                        "doubt %s" % (info.get("replicas_ready"), committed, applied, doubt))
                if (info.get("replicas_ready") == str(self.nreplicas)
                        and all(d == "0" for d in doubt)
                        and all(a >= committed for a in applied)):
                    return info
            except (OSError, EOFError, RespProtocolError, RigError) as e:
                last = "%s: %s" % (type(e).__name__, e)
            time.sleep(0.02)
        raise RigError("cluster did not settle within %.0f s (last: %s)\n%s"
                       % (timeout, last, self.report()))

    def digest(self):
        """DEBUG DIGEST through the coordinator: the digest (bytes), or fails the test
        with the error (a DIVERGENCE report, a replica not answering)."""
        reply = self.command("DEBUG", "DIGEST")
        assert isinstance(reply, bytes) and len(reply) == 16, \
            "DEBUG DIGEST replied %r" % (reply,)
        return reply

    # -- replicas ---------------------------------------------------------
    def replica_command(self, i, *args, timeout=5.0):
        return command(self.replica(i).port, *args, timeout=timeout)

    def replica_info(self, i):
        reply = self.replica_command(i, "INFO")
        if not isinstance(reply, bytes):
            raise RigError("replica %d INFO replied %r" % (i, reply))
        return parse_info(reply)

    def rows(self, i):
        """Replica i's kv table as {key: value} (bytes), read through a read-only
        SQLite connection (the replica may be running)."""
        path = self.sqlite_path(i)
        if not os.path.exists(path):
            raise RigError("no database %s" % path)
        con = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(path), uri=True,
                              timeout=5.0)
        try:
            con.text_factory = bytes
            return {to_sqlite_bytes(k): to_sqlite_bytes(v)
                    for k, v in con.execute("SELECT k, v FROM kv")}
        finally:
            con.close()

    def all_rows(self):
        return [self.rows(i) for i in range(1, self.nreplicas + 1)]


# --------------------------------------------------------------------------
# Journals (docs/log-format.md), checked independently of common/record.c
# --------------------------------------------------------------------------

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


_TRAILER = re.compile(rb" #([0-9a-f]{8})\n\Z")
_ESCAPE = re.compile(rb"\\x([0-9a-f]{2})")


def encode_record(*fields):
    """The exact line record_encode writes for these fields (bytes or str)."""
    out = []
    for f in fields:
        f = f.encode() if isinstance(f, str) else f
        if not f:
            out.append(b'""')
            continue
        out.append(b"".join(bytes([c]) if 0x21 <= c <= 0x7E and c not in b'\\"#'
                            else b"\\x%02x" % c for c in f))
    body = b" ".join(out) + b" "
    return body + b"#%08x\n" % crc32c(body)


def decode_field(raw):
    if raw == b'""':
        return b""
    return _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


class JournalError(AssertionError):
    pass


def read_journal(path, check_crc=True):
    """[(offset, [field bytes...])] for every record of a vote or decision log.
    Fails (JournalError, naming the offset) on any line that is not a well-formed
    record: missing trailer, bad CRC, a last line without newline."""
    with open(path, "rb") as f:
        return decode_journal(f.read(), path, check_crc)


def decode_journal(data, path="journal", check_crc=True):
    """read_journal() of bytes already read."""
    records = []
    offset = 0
    for line in data.splitlines(keepends=True):
        m = _TRAILER.search(line)
        if not m:
            raise JournalError("%s offset %d: not a record (no ' #xxxxxxxx\\n' "
                               "trailer): %r" % (path, offset, line[:80]))
        body = line[:m.start() + 1]
        if check_crc and int(m.group(1), 16) != crc32c(body):
            raise JournalError("%s offset %d: bad CRC-32C: %r" % (path, offset, line[:80]))
        fields = body[:-1].split(b" ")
        if not fields or any(not x for x in fields):
            raise JournalError("%s offset %d: empty field: %r" % (path, offset, line[:80]))
        records.append((offset, [decode_field(x) for x in fields]))
        offset += len(line)
    return records


def unended_commits(records):
    """Round ids with a COMMIT and no END in decision log records: the rounds a
    coordinator replaying them must finish."""
    open_rounds = set()
    for _, f in records:
        if f[0] == b"COMMIT":
            open_rounds.add(int(f[1]))
        elif f[0] == b"END":
            open_rounds.discard(int(f[1]))
    return open_rounds


def line_offsets(path):
    """[(offset, line bytes)] of every line of a file."""
    with open(path, "rb") as f:
        data = f.read()
    out, offset = [], 0
    for line in data.splitlines(keepends=True):
        out.append((offset, line))
        offset += len(line)
    return out


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def append_bytes(path, data):
    with open(path, "ab") as f:
        f.write(data)


# --------------------------------------------------------------------------
# Client outcomes
# --------------------------------------------------------------------------

OK, ERROR, UNKNOWN = "ok", "error", "unknown"


def send_write(port, *args, timeout=15.0):
    """Send one write on a fresh connection.  (outcome, detail): ("ok", reply) for OK or
    an integer, ("error", message) for an error reply, ("unknown", why) when the
    connection was lost before a reply."""
    try:
        conn = RespConn(port, timeout=timeout)
    except OSError as e:
        raise RigError("cannot connect to the coordinator: %s" % e)
    try:
        reply = conn.command(*args)
    except (EOFError, ConnectionError, OSError) as e:
        return UNKNOWN, "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()
    if isinstance(reply, RespError):
        return ERROR, reply.message.decode("utf-8", errors="backslashreplace")
    if reply == b"OK" or isinstance(reply, int):
        return OK, reply
    raise AssertionError("write %r got an unexpected reply %r" % (args[:3], reply))


# --------------------------------------------------------------------------
# Fixtures and the failure report
# --------------------------------------------------------------------------

@pytest.fixture
def make_rig():
    rigs = []

    def make(**kw):
        r = Rig(**kw)
        rigs.append(r)
        return r

    try:
        yield make
    finally:
        for r in rigs:
            r.close()


@pytest.fixture
def rig(make_rig):
    return make_rig().start()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "benchmark: a timing check with a generous bound (scale it with "
                   "TWOPC_REPLAY_ROUNDS)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for r in list(_live_rigs):
            rep.sections.append(("twopc processes %s" % r.root, r.report()))

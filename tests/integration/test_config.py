"""test_config.py -- the config file (--config) of twopc-server and twopc-replica.

Real processes only: each test copies conf/twopc.conf (or writes a small file) into a fresh
temporary folder, rewrites its ports to free ones by editing the copy, starts the daemons
from it and talks to them with redis-py and redis-cli.  Covered: both daemons start from
the example file alone and serve SET/GET; flags override the file (also the replica list,
which a --replica flag replaces entirely); include; every kind of bad line is refused with
FILE:LINE and exit 2 without creating the data folder; a replica picks its own `replica`
line by its addresses (and refuses to guess between two local lines); daemonize returns
once the pidfile is written; the cluster secret never shows in /proc/PID/cmdline, the logs,
INFO or CONFIG GET *; a group-readable secret file is refused without echoing the secret.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest
import redis

from conftest import CLUSTER, REPLICA, REPO_ROOT, SERVER, free_port_block, pid_alive, wait_pid_gone

EXAMPLE = os.path.join(REPO_ROOT, "conf", "twopc.conf")
START_TIMEOUT = 15.0
SECRET = "Zq7-cluster-secret-do-not-leak-91"
PASSWORD = "client-pass-5521"


def ports(n):
    """n consecutive free ports on 127.0.0.1, as a list."""
    base = free_port_block(n)
    return list(range(base, base + n))


def listening(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_listening(port, host="127.0.0.1", procs=(), timeout=START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(port, host):
            return
        for p in procs:
            if p.poll() is not None:
                raise AssertionError("process exited with %s: %s" %
                                     (p.returncode, p.stderr.read() if p.stderr else ""))
        time.sleep(0.05)
    raise AssertionError("nothing listens on %s:%d after %.0f s" % (host, port, timeout))


class Nodes:
    """The daemons one test started; all stopped at the end, even on failure."""

    def __init__(self, folder):
        self.folder = folder
        self.procs = []
        self.pids = []   # daemonized processes, known by their pidfile

    def start(self, binary, *args):
        p = subprocess.Popen([binary] + list(args), cwd=self.folder,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for pid in self.pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
                if not wait_pid_gone(pid, 10):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def nodes(tmp_path):
    n = Nodes(str(tmp_path))
    yield n
    n.close()


def example_copy(folder, cport, rport, extra=""):
    """conf/twopc.conf copied into folder with its ports rewritten; returns the path."""
    with open(EXAMPLE) as f:
        text = f.read()
    text = re.sub(r"^coordinator 127\.0\.0\.1:6379$", "coordinator 127.0.0.1:%d" % cport,
                  text, flags=re.M)
    text = re.sub(r"^replica 127\.0\.0\.1:7001$", "replica 127.0.0.1:%d" % rport, text,
                  flags=re.M)
    assert "coordinator 127.0.0.1:%d" % cport in text and "replica 127.0.0.1:%d" % rport in text
    path = os.path.join(folder, "twopc.conf")
    with open(path, "w") as f:
        f.write(text + extra)
    return path


def start_pair(nodes, conf, server_args=(), replica_args=()):
    nodes.start(REPLICA, "--config", conf, *replica_args)
    nodes.start(SERVER, "--config", conf, *server_args)


def set_get(port, key="k", value="v", **kw):
    c = redis.Redis(port=port, socket_timeout=10, **kw)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            assert c.set(key, value) is True
            break
        except (redis.exceptions.ResponseError, redis.exceptions.BusyLoadingError) as e:
            # -LOADING, -NOREPLICAS while the pair starts
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
            last = e  # noqa: F841
    assert c.get(key) == value.encode()
    return c


def test_example_file_alone(nodes, tmp_path):
    cport, rport = ports(2)
    conf = example_copy(str(tmp_path), cport, rport)
    start_pair(nodes, conf)
    wait_listening(rport, procs=nodes.procs)
    wait_listening(cport, procs=nodes.procs)
    set_get(cport)
    out = subprocess.run(["redis-cli", "-p", str(cport), "GET", "k"], capture_output=True,
                         text=True, timeout=10).stdout.strip()
    assert out == "v"
    data = tmp_path / "twopc-data"   # `dir ./twopc-data`, from the daemons' folder
    for name in ("decision.log", "votes.log", "data.sqlite", "twopc-server.pid",
                 "twopc-replica.pid"):
        assert (data / name).exists(), name


def test_command_line_overrides_file(nodes, tmp_path):
    cport, rport, other, unused = ports(4)
    conf = example_copy(str(tmp_path), cport, rport,
                        "replica 127.0.0.1:%d\n" % unused)  # a second, absent replica
    # The flag replaces the file's whole replica list (two lines) by one replica.
    nodes.start(REPLICA, "--config", conf, "--port", str(rport), "--loglevel", "debug")
    nodes.start(SERVER, "--port", str(other), "--config", conf,
                "--replica", "127.0.0.1:%d" % rport, "--max-inflight", "5")
    wait_listening(other, procs=nodes.procs)
    assert not listening(cport)
    c = set_get(other)
    info = c.info("twopc")
    assert info["replicas"] == 1
    assert c.config_get("port") == {"port": str(other)}
    # --loglevel debug beats the file's `loglevel notice`: the replica logs round changes.
    log = (tmp_path / "twopc-data" / "twopc-replica.log").read_text()
    assert re.search(r" \. round \d+: ", log), log[-2000:]


def test_later_line_overrides_earlier(nodes, tmp_path):
    cport, rport, later = ports(3)
    conf = example_copy(str(tmp_path), cport, rport, "coordinator 127.0.0.1:%d\n" % later)
    start_pair(nodes, conf)
    wait_listening(later, procs=nodes.procs)
    set_get(later)
    assert not listening(cport)


def test_include(nodes, tmp_path):
    cport, rport = ports(2)
    sub = tmp_path / "conf.d"
    sub.mkdir()
    (sub / "ports.conf").write_text(
        "# included\ncoordinator 127.0.0.1:%d\nreplica 127.0.0.1:%d\n" % (cport, rport))
    (sub / "main.conf").write_text("dir 'data folder'\ninclude ports.conf\n")
    conf = str(sub / "main.conf")
    start_pair(nodes, conf)
    wait_listening(cport, procs=nodes.procs)
    set_get(cport)
    assert (tmp_path / "data folder" / "decision.log").exists()


BAD_LINES = [
    ("nosuch-directive 1", "unknown directive 'nosuch-directive'"),
    ("port", "'port' takes one argument"),
    ("dir a b", "'dir' takes one argument"),
    ("port 99999", "'port': must be an integer from 1 to 65535"),
    ("loglevel loud", "'loglevel': must be debug, verbose, notice or warning"),
    ("daemonize maybe", "'daemonize' takes yes or no"),
    ("requirepass \"unbalanced", "unbalanced quotes"),
    ("requirepass \"a\"b", "a closing quote must be followed by a space"),
    ("include missing.conf", "can't read"),
    ("include bad.conf", "include cycle"),
    ("replica nocolon", "'replica': 'nocolon' is not HOST:PORT"),
]


@pytest.mark.parametrize("binary", [SERVER, REPLICA], ids=["server", "replica"])
@pytest.mark.parametrize("line,why", BAD_LINES, ids=[b[0].split()[0] + str(i)
                                                      for i, b in enumerate(BAD_LINES)])
def test_bad_line_refused(tmp_path, binary, line, why):
    cport, rport = ports(2)
    conf = tmp_path / "bad.conf"
    conf.write_text("# a bad file\ncoordinator 127.0.0.1:%d\nreplica 127.0.0.1:%d\n"
                    "dir ./never-created\n\n%s\nport 1\n" % (cport, rport, line))
    r = subprocess.run([binary, "--config", str(conf)], cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=10)
    name = os.path.basename(binary)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("%s: %s:6: " % (name, conf)), r.stderr
    assert why in r.stderr, r.stderr
    assert not (tmp_path / "never-created").exists()
    assert not listening(cport) and not listening(rport)


def test_other_daemons_directives_ignored(nodes, tmp_path):
    """A replica accepts and ignores the coordinator's directives (even a value the
    coordinator would refuse), so one file serves both; the coordinator checks them."""
    cport, rport = ports(2)
    conf = example_copy(str(tmp_path), cport, rport, "max-inflight 999\n")
    r = nodes.start(REPLICA, "--config", conf)
    wait_listening(rport, procs=[r])
    s = subprocess.run([SERVER, "--config", conf], cwd=str(tmp_path), capture_output=True,
                       text=True, timeout=10)
    assert s.returncode == 2
    assert re.search(r"twopc.conf:\d+: 'max-inflight': must be an integer from 1 to 64",
                     s.stderr), s.stderr


def test_replica_picks_its_line(nodes, tmp_path):
    cport, rport, rport2 = ports(3)
    conf = tmp_path / "multi.conf"
    # 192.0.2.1 (TEST-NET-1) is nobody's address; 127.0.0.1 is this machine's.
    conf.write_text("coordinator 127.0.0.1:%d\nreplica 192.0.2.1:%d\n"
                    "replica 127.0.0.1:%d\ndir ./data\n" % (cport, rport2, rport))
    r = nodes.start(REPLICA, "--config", str(conf))
    wait_listening(rport, procs=[r])
    assert not listening(rport2)
    assert redis.Redis(port=rport, socket_timeout=5).info()["tcp_port"] == rport


def test_replica_refuses_to_guess(nodes, tmp_path):
    cport, p1, p2 = ports(3)
    conf = tmp_path / "two.conf"
    conf.write_text("coordinator 127.0.0.1:%d\nreplica 127.0.0.1:%d\nreplica localhost:%d\n"
                    "dir ./data\n" % (cport, p1, p2))
    r = subprocess.run([REPLICA, "--config", str(conf)], cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "127.0.0.1:%d" % p1 in r.stderr and "localhost:%d" % p2 in r.stderr, r.stderr
    assert "--port" in r.stderr
    assert not (tmp_path / "data").exists()
    # --port picks one of them; a coordinator from the same file uses both.
    nodes.start(REPLICA, "--config", str(conf), "--port", str(p2), "--dir", "r2")
    nodes.start(REPLICA, "--config", str(conf), "--port", str(p1), "--dir", "r1")
    nodes.start(SERVER, "--config", str(conf))
    wait_listening(cport, procs=nodes.procs)
    c = set_get(cport)
    assert c.info("twopc")["replicas"] == 2


def test_daemonize(nodes, tmp_path):
    cport, rport = ports(2)
    conf = example_copy(str(tmp_path), cport, rport, "daemonize yes\n")
    data = tmp_path / "twopc-data"
    for binary, pidname in ((REPLICA, "twopc-replica.pid"), (SERVER, "twopc-server.pid")):
        r = subprocess.run([binary, "--config", conf], cwd=str(tmp_path),
                           capture_output=True, text=True, timeout=START_TIMEOUT)
        assert r.returncode == 0, r.stderr
        assert r.stderr == "" and r.stdout == ""
        pid = int((data / pidname).read_text())   # written before the parent returned
        nodes.pids.append(pid)
        assert pid_alive(pid)
        with open("/proc/%d/stat" % pid) as f:   # its own session: setsid()
            fields = f.read().rsplit(")", 1)[1].split()
        assert int(fields[3]) == pid
        assert os.readlink("/proc/%d/cwd" % pid) == str(tmp_path)   # chdir stays
    set_get(cport)
    # A failed start-up still reports on the terminal and in the exit status.
    r = subprocess.run([SERVER, "--config", conf, "--dir", str(tmp_path / "second")],
                       cwd=str(tmp_path), capture_output=True, text=True,
                       timeout=START_TIMEOUT)
    assert r.returncode != 0
    assert "can't listen" in r.stderr or "in use" in r.stderr, r.stderr


def test_secret_never_shown(nodes, tmp_path):
    cport, rport = ports(2)
    conf = example_copy(str(tmp_path), cport, rport,
                        "cluster-secret \"%s\"\nrequirepass %s\nloglevel debug\n"
                        % (SECRET, PASSWORD))
    start_pair(nodes, conf)
    wait_listening(cport, procs=nodes.procs)
    c = set_get(cport, password=PASSWORD)
    for p in nodes.procs:
        with open("/proc/%d/cmdline" % p.pid, "rb") as f:
            assert SECRET.encode() not in f.read()
    assert SECRET not in str(c.info("all"))
    assert SECRET not in str(c.execute_command("CONFIG", "GET", "*"))
    nodes.close()
    data = tmp_path / "twopc-data"
    for name in ("twopc-server.log", "twopc-replica.log"):
        text = (data / name).read_text()
        assert text and SECRET not in text, name
    for p in nodes.procs:
        assert SECRET not in p.stderr.read() + p.stdout.read()


def test_secret_file(nodes, tmp_path):
    cport, rport = ports(2)
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o644)
    conf = example_copy(str(tmp_path), cport, rport)
    for binary in (SERVER, REPLICA):
        r = subprocess.run([binary, "--config", conf, "--cluster-secret-file", str(secret)],
                           cwd=str(tmp_path), capture_output=True, text=True, timeout=10)
        assert r.returncode == 2
        assert str(secret) in r.stderr and "group or other" in r.stderr
        assert SECRET not in r.stderr
    assert not (tmp_path / "twopc-data").exists()
    secret.chmod(0o600)
    start_pair(nodes, conf, ("--cluster-secret-file", str(secret)),
               ("--cluster-secret-file", str(secret)))
    wait_listening(cport, procs=nodes.procs)
    set_get(cport)


def test_help_and_version():
    for binary, extra in ((SERVER, ["--replica", "--coordinator", "--min-replicas"]),
                          (REPLICA, ["--replica", "--port"])):
        r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
        assert r.returncode == 0
        for flag in ["--config", "--daemonize", "--cluster-secret-file", "--version"] + extra:
            assert flag in r.stdout, (binary, flag)
        v = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        assert v.returncode == 0
        assert re.match(r"twopc-(server|replica) \d+\.\d+\.\d+\n$", v.stdout)


def test_launcher_passes_config(nodes, tmp_path):
    """twopc-cluster --config FILE: every daemon reads FILE (here: requirepass, and a
    `daemonize yes` the launcher turns off), the launcher's ports and folders win."""
    base = ports(3)[0]
    conf = tmp_path / "cluster.conf"
    conf.write_text("requirepass %s\ndaemonize yes\nloglevel debug\n" % PASSWORD)
    nodes.start(CLUSTER, "--config", str(conf), "--port", str(base), "--replicas", "2",
                "--dir", str(tmp_path / "data"))
    wait_listening(base, procs=nodes.procs)
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=base, socket_timeout=5).set("k", "v")
    set_get(base, password=PASSWORD)
    assert nodes.procs[0].poll() is None   # children stayed its children
    log = (tmp_path / "data" / "replica-1" / "twopc-replica.log").read_text()
    assert re.search(r" \. round \d+: ", log), log[-2000:]

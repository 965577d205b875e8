"""Descriptor limits as Redis: under `ulimit -n 1024` each daemon lowers maxclients to what
the limit allows (1024 - 32 reserved) and says so once in Redis's words; 1,100 connections
then get `-ERR max number of clients reached` past it, with the CPU idle and the log quiet
(#16: maxclients stayed 10000, accept() failed in a busy loop at ~100% CPU and 14 MB/s of
log). CONFIG SET maxclients past the descriptors is refused as Redis refuses it. When accept()
does fail (EMFILE: the descriptor limit lowered under the running process),
the listener backs off and the failures are logged at most once a second. Replicas refuse
connections past a maxclients of their own."""

import os
import resource
import socket
import time

from conftest import parse_info, send


def nofile_1024():
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_path(mc, who="coordinator", name="twopc-server.log"):
    return os.path.join(mc.root, who, name)


def open_many(port, n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    return socks


def refused(s):
    """Whether s was answered with Redis's maxclients error (then closed)."""
    s.settimeout(0.5)
    try:
        return s.recv(100) == b"-ERR max number of clients reached\r\n"
    except socket.timeout:
        return False


def test_coordinator_under_ulimit_1024(manual_cluster):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2500:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    mc = manual_cluster(preexec_fn=nofile_1024)
    admin = mc.raw()
    assert send(admin, "CONFIG", "GET", "maxclients") == \
        b"*2\r\n$10\r\nmaxclients\r\n$3\r\n992\r\n"
    log = open(log_path(mc)).read()
    assert log.count("You requested maxclients of 10000 requiring at least 10032 max file "
                     "descriptors.") == 1
    assert log.count("maxclients has been reduced to 992 to compensate for low ulimit.") == 1
    # the replicas lowered theirs too
    rlog = open(log_path(mc, "replica-1", "twopc-replica.log")).read()
    assert "maxclients has been reduced to 992" in rlog

    pid = mc.server.pid
    size0 = os.path.getsize(log_path(mc))
    cpu0 = cpu_seconds(pid)
    socks = open_many(mc.port, 1100)
    try:
        time.sleep(3)
        nrefused = sum(refused(s) for s in socks[-100:])
        assert nrefused == 100, nrefused        # 991 fit beside admin; the rest refused
        assert send(admin, "PING") == b"+PONG\r\n"
        info = parse_info(send(admin, "INFO", "stats").split(b"\r\n", 1)[1])
        assert int(info["rejected_connections"]) >= 100
        cpu = cpu_seconds(pid) - cpu0
        grew = os.path.getsize(log_path(mc)) - size0
        print("1,100 connections: %.2f s CPU in 3 s, log +%d bytes" % (cpu, grew))
        assert cpu < 1.5, cpu                   # not a busy loop (generous: a loaded box)
        assert grew < 4096, grew

        # CONFIG SET past the descriptors is refused as Redis refuses it (it tries to raise
        # the limit first)
        assert send(admin, "CONFIG", "SET", "maxclients", "5000") == (
            b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The "
            b"operating system is not able to handle the specified number of clients, try "
            b"with 992\r\n")
        assert send(admin, "CONFIG", "GET", "maxclients").endswith(b"$3\r\n992\r\n")
        # Now let accept() fail anyway: the descriptor limit lowered under the running
        # process (an operator's prlimit), below the connections it holds
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (900, 1024))
        size1 = os.path.getsize(log_path(mc))
        cpu1 = cpu_seconds(pid)
        more = open_many(mc.port, 200)          # they wait in the backlog
        socks += more
        time.sleep(3)
        cpu = cpu_seconds(pid) - cpu1
        text = open(log_path(mc)).read()[size1:]
        lines = [l for l in text.splitlines() if "Accepting client connection" in l]
        assert 1 <= len(lines) <= 6, lines
        assert "Too many open files" in lines[0]
        print("accept() failing: %.2f s CPU in 3 s, log +%d bytes, %d lines" %
              (cpu, len(text), len(lines)))
        assert len(text) < 4096, len(text)
        assert cpu < 1.5, cpu
    finally:
        for s in socks:
            s.close()
    # descriptors back: new clients are served again
    time.sleep(0.5)
    assert send(mc.raw(), "PING") == b"+PONG\r\n"


def test_replica_maxclients(manual_cluster):
    mc = manual_cluster(replica_args=["--maxclients", "4"])
    port = mc.replica_ports[0]
    # the coordinator's link holds one; 3 more fit
    socks = open_many(port, 5)
    try:
        for s in socks[:3]:
            s.sendall(b"PING\r\n")
            assert s.recv(100) == b"+PONG\r\n"
        assert refused(socks[3]) and refused(socks[4])
        assert send(mc.raw(), "SET", "fd:k", "v") == b"+OK\r\n"  # the link still works
    finally:
        for s in socks:
            s.close()

#!/usr/bin/python3
"""limits.py -- RSS of the coordinator and a replica under hostile clients, beside Redis 7.

Run by hand or with `make limits` (`bench/limits.py multi idle` runs only those cases) (not part of `make test`: it takes about two minutes and
opens 10,000 connections). Needs a build (./build) and, for the Redis column, redis-server.

Cases (each on the same running cluster, one after the other):
  idle         10,000 idle connections (the script raises its own open-files limit, which
               the daemons inherit)
  greedy       a client pipelining GETs of a 100 KB value for 5 s without reading
               (default settings: no output limit, so twopc pauses it at 16 MB unsent)
  greedy-64mb  the same with `client-output-buffer-limit normal 64mb 0 0`: disconnected
  multi        MULTI, 1,000,000 queued `SET k v`, then DISCARD
  slowloris    100 connections announcing a 512 MB bulk, then trickling a byte a second
For each: RSS before, the peak while it runs (sampled every 50 ms), and 2 s after the
clients are gone, in MB. Prints a Markdown table (README's "Limits" section has one).
"""

import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))

from twopc_harness import RespConn, new_cluster, resp_encode  # noqa: E402
from twopc_harness import rss_mb as harness_rss_mb  # noqa: E402

VALUE = b"v" * 100000


def rss_mb(pid):
    return harness_rss_mb(pid, 0.0)


class Sampler:
    """Peak RSS of some pids while a case runs."""

    def __init__(self, pids):
        self.pids = pids
        self.peak = {p: rss_mb(p) for p in pids}
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            for p in self.pids:
                self.peak[p] = max(self.peak[p], rss_mb(p))
            time.sleep(0.05)

    def done(self):
        self.stop = True
        self.t.join()
        return self.peak


def drain_send(sock, data):
    try:
        sock.sendall(data)
    except OSError:
        pass


def case_idle(port):
    socks = []
    for _ in range(10000):
        s = socket.socket()
        s.connect(("127.0.0.1", port))
        socks.append(s)
    time.sleep(2)
    return socks


def case_greedy(port, seconds=5):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    burst = resp_encode("GET", "lim:big") * 1000
    stop = time.monotonic() + seconds
    s.settimeout(1)
    try:
        while time.monotonic() < stop:
            s.sendall(burst)
    except OSError:
        pass  # disconnected (or paused: sendall blocked past the timeout)
    time.sleep(max(0, stop - time.monotonic()))
    return [s]


def case_multi(port, n=1000000):
    c = RespConn(port, timeout=120)
    c.command("MULTI")
    chunk = b"".join(resp_encode("SET", "lim:m%d" % i, "v") for i in range(10000))
    sender = threading.Thread(target=lambda: [c.sock.sendall(chunk) for _ in range(n // 10000)])
    sender.start()
    for _ in range(n):
        c.read_raw()
    sender.join()
    c.command("DISCARD")
    return [c.sock]


def case_slowloris(port, seconds=5):
    socks = []
    for _ in range(100):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"*3\r\n$3\r\nSET\r\n$8\r\nlim:slow\r\n$536870912\r\n")
        socks.append(s)
    for _ in range(seconds):
        for s in socks:
            drain_send(s, b"x")
        time.sleep(1)
    return socks


def run_case(name, fn, port, pids):
    before = {p: rss_mb(p) for p in pids}
    sampler = Sampler(pids)
    socks = fn(port)
    peak = sampler.done()
    for s in socks:
        s.close()
    time.sleep(2)
    after = {p: rss_mb(p) for p in pids}
    return name, [(before[p], peak[p], after[p]) for p in pids]


# name, function, client-output-buffer-limit while it runs
CASES = [
    ("idle", case_idle, "normal 0 0 0"),
    ("greedy", case_greedy, "normal 0 0 0"),
    ("greedy-64mb", case_greedy, "normal 64mb 0 0"),
    ("multi", case_multi, "normal 0 0 0"),
    ("slowloris", case_slowloris, "normal 0 0 0"),
]


def wanted(name):
    return len(sys.argv) < 2 or name in sys.argv[1:]


def twopc_rows():
    c = new_cluster()
    try:
        admin = RespConn(c.port, timeout=30)
        admin.command("SET", "lim:big", VALUE)
        pids = [c.server_pid(), c.replica_pid(1)]
        rows = []
        for name, fn, obl in CASES:
            if wanted(name):
                admin.command("CONFIG", "SET", "client-output-buffer-limit", obl)
                rows.append(run_case(name, fn, c.port, pids))
        return rows
    finally:
        c.close()


def redis_rows():
    server = shutil.which("redis-server")
    if not server:
        return {}
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    d = tempfile.mkdtemp(prefix="limits-redis-")
    p = subprocess.Popen([server, "--port", str(port), "--save", "", "--appendonly", "no",
                          "--dir", d, "--maxclients", "10000"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                admin = RespConn(port, timeout=30)
                break
            except OSError:
                time.sleep(0.05)
        admin.command("SET", "lim:big", VALUE)
        rows = {}
        for name, fn, obl in CASES:
            if wanted(name):
                admin.command("CONFIG", "SET", "client-output-buffer-limit", obl)
                rows[name] = run_case(name, fn, port, [p.pid])[1][0]
        return rows
    finally:
        p.terminate()
        p.wait(10)
        shutil.rmtree(d, ignore_errors=True)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 10100:
        print("warning: open-files hard limit %d; the idle case needs ~10,100" % hard)
    t = twopc_rows()
    r = redis_rows()
    fmt = lambda x: "%.0f / %.0f / %.0f" % x
    print("RSS in MB, before / peak / after (%s UTC)" % time.strftime("%Y-%m-%d %H:%M",
                                                                       time.gmtime()))
    print("| case | coordinator | replica | redis-server 7 |")
    print("|---|--:|--:|--:|")
    for name, (coord, rep) in t:
        print("| %s | %s | %s | %s |" % (name, fmt(coord), fmt(rep),
                                         fmt(r[name]) if name in r else "-"))


if __name__ == "__main__":
    main()

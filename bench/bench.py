#!/usr/bin/python3
"""bench.py -- `make bench`: twopc against redis-server, measured in the same run.

Starts, on free ports in a temporary folder (never 6379):
  * redis-server, durable:   --appendonly yes --appendfsync always --save ""
  * redis-server, in-memory: --appendonly no --save ""
  * a twopc cluster:         build/server/twopc-cluster (coordinator + 3 replicas)
and runs redis-benchmark against redis and twopc in alternation (round 1: redis then twopc,
round 2: twopc then redis, ...), so that machine noise hits both alike. Writes are compared
with the durable redis, reads with the in-memory one.

Phase 1 (fresh servers): SET and GET at -c 1, -c 50, -c 50 -P 16, SET -c 50 -r 1000000.
Phase 2 (fresh servers): a twopc cluster and an in-memory redis with 10,000 keys, another
pair (and the durable redis) with 1,000,000 keys (DBSIZE checked); GET -c 50 -r 10000 and
GET -c 50 -r 1000000 on them in alternation; disk bytes per key.

Each figure is the best of BENCH_REPEAT rounds: the run with the highest req/s, whose
latencies are the ones shown. During every run the driver samples each server process's
CPU time (/proc/PID/stat utime+stime) and the benchmark client's, and twopc's rounds.

Environment:
  BENCH_N       requests of a SET -c 50 run (default 200000); the other workloads scale
                from it (SET -c 1: N/20, GET -c 1: N/5, GET -c 50: 2N, -P 16: 4N SET, 8N GET)
  BENCH_REPEAT  alternating rounds per workload (default 2)
  BENCH_KEYS    size of the large data set (default 1000000)
  BENCH_QUICK=1 smoke version (~1 minute): BENCH_N=10000, BENCH_REPEAT=1, BENCH_KEYS=100000
  BENCH_STRACE=1  also count system calls per request (fsync, epoll_ctl...) with strace -c
                in one extra run per side of SET/GET -c 50 [-P 16] (N/4 of the usual size)
  BENCH_DIR     parent of the temporary folder (default $TMPDIR or /tmp); must be a real disk
  BENCH_KEEP=1  keep the temporary folder (logs, data) instead of deleting it, even
                after a failure (by default it is always deleted)
  TWOPC_BUILD   build folder (default <repo>/build)

Output: the tables on stdout and in bench/results/latest.md (+ latest.json, every run's
figures); a failed run prints its partial tables and leaves latest.md as it was.
Exit status: 0 when everything ran (targets missed or not -- this is a benchmark, not a
test); 1 when something failed to run (a server did not start or died, redis-benchmark
reported errors, DBSIZE mismatch, keys could not be loaded); 2 when a tool is missing.
"""

import ctypes
import datetime
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("TWOPC_BUILD", os.path.join(ROOT, "build"))
CLUSTER_BIN = os.path.join(BUILD, "server", "twopc-cluster")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def env_int(name, default):
    v = os.environ.get(name, "")
    if v == "":
        return default
    try:
        return int(v)
    except ValueError:
        sys.exit(f"bench: {name}={v!r} is not a number")


QUICK = os.environ.get("BENCH_QUICK", "") == "1"
N = env_int("BENCH_N", 10000 if QUICK else 200000)
REPEAT = max(1, env_int("BENCH_REPEAT", 1 if QUICK else 2))
KEYS = env_int("BENCH_KEYS", 100000 if QUICK else 1000000)
SMALL_KEYS = 10000
STRACE = os.environ.get("BENCH_STRACE", "") == "1"
KEEP = os.environ.get("BENCH_KEEP", "") == "1"
VALUE = b"xxx"  # what redis-benchmark SET writes (-d 3)


class BenchError(Exception):
    """Something failed to run: the benchmark's figures would be meaningless."""


class Interrupted(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Small RESP client (stdlib only)

def _read_reply(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise BenchError("connection closed mid-reply")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        return RuntimeError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode(errors="replace")
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise BenchError(f"bad reply line {line!r}")


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def command(port, *args, timeout=10.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(encode(*args))
        with s.makefile("rb") as f:
            return _read_reply(f)


def info(port, section):
    r = command(port, "INFO", section)
    if not isinstance(r, str):
        raise BenchError(f"INFO {section} on port {port}: {r!r}")
    d = {}
    for line in r.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            d[k] = v
    return d


def key(i):
    return b"key:%012d" % i  # redis-benchmark's key for __rand_int__ = i


def _load_range(port, todo, window, depth):
    """SET key:N xxx for N in todo over one connection, `depth` chunks of `window` commands
    in flight. Returns (indexes whose reply was an error, first error text)."""
    failed, first_error = [], None
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        chunks = [todo[i:i + window] for i in range(0, len(todo), window)]
        inflight = []  # chunks sent, replies not yet read
        buf = b""
        ci = 0
        while ci < len(chunks) or inflight:
            while ci < len(chunks) and len(inflight) < depth:
                c = chunks[ci]
                s.sendall(b"".join(b"*3\r\n$3\r\nSET\r\n$16\r\n" + key(i) + b"\r\n$3\r\nxxx\r\n"
                                   for i in c))
                inflight.append(c)
                ci += 1
            c = inflight.pop(0)
            need = len(c)
            while True:
                parts = buf.split(b"\r\n", need)
                if len(parts) > need:
                    lines, buf = parts[:need], parts[need]
                    break
                data = s.recv(1 << 20)
                if not data:
                    raise BenchError(f"port {port} closed the connection while loading keys")
                buf += data
            for i, ln in zip(c, lines):
                if not ln.startswith(b"+"):
                    failed.append(i)
                    if first_error is None:
                        first_error = ln.decode(errors="replace")
    return failed, first_error


def load_keys(port, start, end, conns=4, window=1000, depth=2):
    """SET key:N xxx for N in [start, end): `conns` connections in parallel, each with
    bounded pipelining (an unbounded --pipe burst makes twopc rounds so big that they time
    out). Failed SETs are retried up to 3 times; returns the number of error replies seen."""
    import threading
    todo = list(range(start, end))
    errors_seen = 0
    first_error = None
    for _attempt in range(4):
        if not todo:
            break
        k = max(1, min(conns, len(todo) // window))
        slices = [todo[i::k] for i in range(k)]
        out = [None] * k

        def work(j):
            try:
                out[j] = _load_range(port, slices[j], window, depth)
            except (OSError, BenchError) as e:
                out[j] = e
        threads = [threading.Thread(target=work, args=(j,)) for j in range(k)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        failed = []
        for o in out:
            if isinstance(o, Exception):
                raise BenchError(f"port {port}: loading keys failed: {o}")
            failed += o[0]
            if first_error is None and o[1]:
                first_error = o[1]
        errors_seen += len(failed)
        todo = sorted(failed)
    if todo:
        raise BenchError(f"port {port}: {len(todo)} SETs still failing after retries "
                         f"(first error: {first_error})")
    if errors_seen:
        log(f"  load on port {port}: {errors_seen} SET error replies, retried "
            f"(first: {first_error})")
    return errors_seen


# ---------------------------------------------------------------------------------------------
# Processes

_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup():
    # Own process group (so a terminal Ctrl-C reaches only us and we stop them in order),
    # and SIGTERM when this driver dies, even by SIGKILL.
    os.setpgid(0, 0)
    _libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def port_free(p):
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET, "127.0.0.1")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.bind((addr, p))
        except OSError:
            return False
        finally:
            s.close()
    return True


_used_ports = set()


def free_port_block(count):
    for _ in range(500):
        base = random.randrange(20000, 60000 - count)
        block = range(base, base + count)
        if 6379 in block or any(p in _used_ports for p in block):
            continue
        if all(port_free(p) for p in block):
            _used_ports.update(block)
            return base
    raise BenchError("no free block of ports found")


def read_stat_cpu(pid):
    """utime+stime of a whole process (all threads), in seconds; None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def read_status(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def read_machine_cpu():
    """(busy, iowait, total) jiffies over all CPUs from /proc/stat; busy counts user, nice,
    system, irq, softirq and steal (kernel work such as loopback TCP included)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, iowait, busy + idle + iowait


def machine_busy_sample(seconds=1.0):
    a = read_machine_cpu()
    time.sleep(seconds)
    b = read_machine_cpu()
    return (b[0] - a[0]) / max(1, b[2] - a[2])


def ppid_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return int(s[s.rindex(")") + 2:].split()[1])
    except OSError:
        return None


def disk_usage(path):
    """(bytes allocated on disk as du counts them, apparent bytes), and per-file breakdown."""
    alloc = apparent = 0
    files = {}
    for dp, _dn, fn in os.walk(path):
        for n in fn:
            p = os.path.join(dp, n)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            alloc += st.st_blocks * 512
            apparent += st.st_size
            files[os.path.relpath(p, path)] = (st.st_blocks * 512, st.st_size)
    return alloc, apparent, files


class Server:
    """Common part: a started process we own, its folder, the processes to watch."""
    kind = ""

    def __init__(self, name, workdir):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.proc = None
        self.port = None

    def procs(self):
        """{label: pid} of the processes doing the serving."""
        raise NotImplementedError

    def check_alive(self, pids):
        for label, pid in pids.items():
            if read_stat_cpu(pid) is None:
                raise BenchError(f"{self.name}: {label} (pid {pid}) died")
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name}: exited with status {self.proc.returncode}")
        now = self.procs()
        if now != pids:
            raise BenchError(f"{self.name}: processes changed during the run "
                             f"(restarted?) {pids} -> {now}")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            log(f"{self.name} did not stop within 20 s of SIGTERM: killing it")
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        except OSError:
            pass

    def tail_logs(self):
        out = []
        for dp, _dn, fn in os.walk(self.dir):
            for n in fn:
                if n.endswith((".log", ".out")) and "votes" not in n and "decision" not in n:
                    p = os.path.join(dp, n)
                    try:
                        with open(p, errors="replace") as f:
                            lines = f.readlines()[-8:]
                    except OSError:
                        continue
                    if lines:
                        out.append(f"--- {p} (last lines)\n" + "".join(lines))
        return "\n".join(out)


class Redis(Server):
    kind = "redis"

    def __init__(self, name, workdir, durable):
        super().__init__(name, workdir)
        self.durable = durable

    def start(self):
        self.port = free_port_block(1)
        persist = (["--appendonly", "yes", "--appendfsync", "always"] if self.durable
                   else ["--appendonly", "no"])
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", *persist, "--daemonize", "no",
                "--logfile", os.path.join(self.dir, "redis.log")]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.dir, "stdout.out"), "wb"),
                                     stderr=subprocess.STDOUT, preexec_fn=_child_setup)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name}: redis-server exited at start "
                                 f"(status {self.proc.returncode})\n{self.tail_logs()}")
            try:
                pong = command(self.port, "PING", timeout=1)
            except OSError:
                pong = None
            if pong == "PONG":
                pid = int(info(self.port, "server")["process_id"])
                if pid != self.proc.pid:
                    raise BenchError(f"{self.name}: port {self.port} answered by pid {pid}, "
                                     f"not ours ({self.proc.pid})")
                return
            time.sleep(0.05)
        raise BenchError(f"{self.name}: no PONG within 15 s\n{self.tail_logs()}")

    def procs(self):
        return {"redis-server": self.proc.pid}


class Twopc(Server):
    kind = "twopc"

    def start(self):
        self.port = free_port_block(4)
        self.data = os.path.join(self.dir, "data")
        args = [CLUSTER_BIN, "--port", str(self.port), "--dir", self.data]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.dir, "cluster.out"), "wb"),
                                     stderr=subprocess.STDOUT, preexec_fn=_child_setup)
        deadline = time.time() + 30
        last = ""
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name}: twopc-cluster exited at start "
                                 f"(status {self.proc.returncode})\n{self.tail_logs()}")
            try:
                inf = info(self.port, "twopc")
                last = inf.get("replicas_ready", "?")
                if inf.get("replicas_ready") == "3":
                    pids = self.procs()
                    srv = int(info(self.port, "server")["process_id"])
                    if srv != pids.get("coordinator"):
                        raise BenchError(f"{self.name}: port {self.port} answered by pid {srv}, "
                                         f"not our coordinator {pids}")
                    if len(pids) != 4:
                        raise BenchError(f"{self.name}: expected 4 processes, found {pids}")
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(f"{self.name}: replicas_ready:{last} (not 3) after 30 s\n"
                         f"{self.tail_logs()}")

    def procs(self):
        out = {}
        files = [("coordinator", os.path.join(self.data, "coordinator", "twopc-server.pid"))]
        for i in (1, 2, 3):
            files.append((f"replica-{i}",
                          os.path.join(self.data, f"replica-{i}", "twopc-replica.pid")))
        for label, path in files:
            try:
                with open(path) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                continue
            if ppid_of(pid) == self.proc.pid:
                out[label] = pid
        return out

    def wait_quiet(self, timeout=10):
        """Until rounds_unacked stops changing for a second (idle, the coordinator keeps its
        last few committed rounds unacknowledged until the next write: seen 1 to 3), so that
        the replicas have applied what they will apply."""
        deadline = time.time() + timeout
        last, since = None, time.time()
        while time.time() < deadline:
            inf = info(self.port, "twopc")
            now = (inf.get("rounds_unacked"), inf.get("ops_pending"))
            if now != last:
                last, since = now, time.time()
            elif time.time() - since >= 1.0:
                return int(now[0] or 0)
            time.sleep(0.1)
        log(f"{self.name}: rounds_unacked still changing after {timeout} s: {last}")
        return int(last[0] or 0)


# ---------------------------------------------------------------------------------------------
# Runs

def workload_args(w):
    a = ["-c", str(w["c"])]
    if w.get("P"):
        a += ["-P", str(w["P"])]
    if w.get("r"):
        a += ["-r", str(w["r"])]
    return a


def run_one(server, w, n):
    """One redis-benchmark run; returns rps, latencies, CPU seconds per process, wall."""
    pids = server.procs()
    args = ["redis-benchmark", "-p", str(server.port), "-t", w["test"], "-n", str(n),
            *workload_args(w), "--csv"]
    tw0 = info(server.port, "twopc") if server.kind == "twopc" else None
    cpu0 = {k: read_stat_cpu(p) for k, p in pids.items()}
    m0 = read_machine_cpu()
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = p.communicate()
    wall = time.monotonic() - t0
    cpu1 = {k: read_stat_cpu(p_) for k, p_ in pids.items()}
    m1 = read_machine_cpu()
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    cmdline = " ".join(args)
    if p.returncode != 0 or "Error" in err or "error" in out.lower():
        raise BenchError(f"{server.name}: `{cmdline}` failed (status {p.returncode})\n"
                         f"{err.strip()[-2000:]}\n{out.strip()[-2000:]}")
    rows = [ln for ln in out.splitlines() if ln.startswith('"')]
    if len(rows) < 2:
        raise BenchError(f"{server.name}: `{cmdline}`: no CSV row in output:\n{out}\n{err}")
    head = [h.strip('"') for h in rows[0].split(",")]
    vals = [v.strip('"') for v in rows[1].split(",")]
    row = dict(zip(head, vals))
    server.check_alive(pids)
    res = {
        "server": server.name, "n": n, "wall": wall,
        "rps": float(row["rps"]),
        "avg": float(row["avg_latency_ms"]), "p50": float(row["p50_latency_ms"]),
        "p95": float(row["p95_latency_ms"]), "p99": float(row["p99_latency_ms"]),
        "max": float(row["max_latency_ms"]),
        "cpu": {k: (cpu1[k] - cpu0[k]) for k in pids if cpu0[k] is not None
                and cpu1[k] is not None},
        "machine_busy": (m1[0] - m0[0]) / max(1, m1[2] - m0[2]),
        "machine_iowait": (m1[1] - m0[1]) / max(1, m1[2] - m0[2]),
    }
    if tw0 is not None:
        tw1 = info(server.port, "twopc")
        rounds = int(tw1["rounds_committed"]) - int(tw0["rounds_committed"])
        ops = int(tw1["ops_committed"]) - int(tw0["ops_committed"])
        res["rounds"] = rounds
        res["ops_per_round"] = ops / rounds if rounds else 0.0
        res["aborted"] = int(tw1["rounds_aborted"]) - int(tw0["rounds_aborted"])
    return res


_client_cpu_prev = [0.0]


def client_cpu_delta():
    ru = os.times()
    total = ru.children_user + ru.children_system
    d = total - _client_cpu_prev[0]
    _client_cpu_prev[0] = total
    return d


def run_group(entries, results):
    """BENCH_REPEAT rounds over entries [(workload, redis server, twopc server)], in
    alternation: odd rounds go through the list of runs forwards (redis, twopc, redis, ...),
    even rounds backwards, so that slow drifts and bursts of noise hit every side alike."""
    seq = []
    for w, ref, tw in entries:
        seq += [(w, ref), (w, tw)]
    runs = {w["id"]: {"redis": [], "twopc": []} for w, _r, _t in entries}
    for rnd in range(REPEAT):
        for w, srv in (seq if rnd % 2 == 0 else list(reversed(seq))):
            n = max(1000, int(N * w["nf"]))
            client_cpu_delta()
            r = run_one(srv, w, n)
            r["cpu"]["redis-benchmark"] = client_cpu_delta()
            runs[w["id"]][srv.kind].append(r)
            extra = f", {r['ops_per_round']:.1f} ops/round" if w["test"] == "set" \
                and srv.kind == "twopc" else ""
            log(f"  {w['name']:<26} {srv.name:<16} {r['rps']:>10.0f} req/s  "
                f"p50 {r['p50']:.3f} ms  p99 {r['p99']:.3f} ms  ({r['wall']:.1f} s{extra})")
    for w, ref, _tw in entries:
        rr = runs[w["id"]]
        best = {k: max(v, key=lambda x: x["rps"]) for k, v in rr.items()}
        results[w["id"]] = {"workload": w, "ref": ref.name, "n": max(1000, int(N * w["nf"])),
                            "runs": rr, "best": best}


def run_pair(w, ref, tw, results):
    run_group([(w, ref, tw)], results)


def strace_profile(server, w, n):
    """System calls per request during one run, per process (strace -c -f: all threads).
    strace slows the traced processes several times over: only the counts mean anything."""
    pids = server.procs()
    tracers = {}
    outs = {}
    for label, pid in pids.items():
        o = os.path.join(server.dir, f"strace-{w['id']}-{label}.txt")
        outs[label] = o
        tracers[label] = subprocess.Popen(
            ["strace", "-c", "-f", "-o", o, "-p", str(pid)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_child_setup)
    time.sleep(1.0)  # let strace attach
    try:
        r = run_one(server, w, n)
    finally:
        for t in tracers.values():
            t.send_signal(signal.SIGINT)
        for t in tracers.values():
            try:
                t.wait(timeout=20)
            except subprocess.TimeoutExpired:
                t.kill()
                t.wait()
    calls = {}
    for label, o in outs.items():
        c = {}
        try:
            with open(o) as f:
                for line in f:
                    parts = line.split()
                    # columns: % time, seconds, usecs/call, calls, [errors,] syscall
                    if len(parts) >= 5 and parts[3].isdigit() and parts[-1] != "total":
                        c[parts[-1]] = c.get(parts[-1], 0) + int(parts[3])
        except OSError:
            pass
        calls[label] = c
    return {"rps": r["rps"], "n": n, "calls": calls}


# ---------------------------------------------------------------------------------------------
# Report

WORKLOADS = [
    # id, name, test, clients, pipeline, random keys, factor of N, reference, phase
    dict(id="set_c1", name="SET -c 1", test="set", c=1, nf=0.05, ref="durable"),
    dict(id="set_c50", name="SET -c 50", test="set", c=50, nf=1, ref="durable"),
    dict(id="set_c50_p16", name="SET -c 50 -P 16", test="set", c=50, P=16, nf=4, ref="durable"),
    dict(id="set_c50_r1m", name="SET -c 50 -r 1000000", test="set", c=50, r=1000000, nf=1,
         ref="durable"),
    dict(id="get_c1", name="GET -c 1", test="get", c=1, nf=0.2, ref="memory"),
    dict(id="get_c50", name="GET -c 50", test="get", c=50, nf=2, ref="memory"),
    dict(id="get_c50_p16", name="GET -c 50 -P 16", test="get", c=50, P=16, nf=8, ref="memory"),
]
W_GET_SMALL = dict(id="get_small", name=f"GET -c 50 -r {SMALL_KEYS} ({SMALL_KEYS} keys)",
                   test="get", c=50, r=SMALL_KEYS, nf=2, ref="memory")
W_GET_LARGE = dict(id="get_large", name=f"GET -c 50 -r {KEYS} ({KEYS} keys)",
                   test="get", c=50, r=KEYS, nf=2, ref="memory")

# (workload id, what, kind, target): kind "rps" = twopc/redis req/s, "p50" = twopc/redis p50,
# "scale" = twopc large/small data set
TARGETS = [
    ("set_c50", "SET -c 50 vs redis appendfsync always", "rps", 0.8),
    ("set_c50_p16", "SET -c 50 -P 16 vs redis appendfsync always", "rps", 0.4),
    ("get_c50", "GET -c 50 vs redis (no persistence)", "rps", 0.8),
    ("get_c50_p16", "GET -c 50 -P 16 vs redis (no persistence)", "rps", 0.5),
    ("set_c1", "SET -c 1 p50 latency vs redis appendfsync always", "p50", 2.0),
    ("scale", f"{KEYS:,} keys loaded: GET req/s vs {SMALL_KEYS:,} keys", "scale", 0.8),
]


# What the profiles found bounding each target, and the change that would lift it (the
# evidence, perf and vmstat figures, is in docs/benchmarks.md, "Second round"); printed
# under the Targets table for each target this run missed.
BOUNDS = {
    "set_c50": "the machine's CPU: five processes' wake-ups and the virtio fdatasync path on "
               "2 vCPUs (vmstat ~12% idle, ~50% system); lift: replicas on their own hosts",
    "set_c50_p16": "the machine's CPU across five processes (replicas ~33% each: SQLite "
                   "upserts, evaluation, log encoding; coordinator ~45%; kernel wake-ups), "
                   "--max-inflight 3/6/12 alike; lift: replicas on their own hosts",
    "get_c50": "the coordinator's kernel TCP work for 50 clients plus one more hop (77% of "
               "its samples in the kernel); lift: forward reply bytes without redisReply objects",
    "get_c50_p16": "per-read user-space work on the coordinator (command copy, slot, reply "
                   "object per read); lift: raw forwarding of TPC.MREAD answers, pooled reads",
    "set_c1": "one fdatasync (the replicas' PREPARE; the COMMIT is decided by the durable "
              "votes, its record lazy) and four hops, each a process wake-up on the VM; "
              "lift: replicas on their own hosts (their fsyncs share one disk here)",
    "scale": "SQLite B-tree depth and page-cache reads on a larger file (0.79-0.95x across "
             "runs; a 64 MB SQLite cache or mmap made no difference beyond noise)",
}


def fmt_rps(x):
    return f"{x:,.0f}"


def fmt_ms(x):
    return f"{x:.3f}"


def fmt_bytes(b):
    for unit, f in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= f:
            return f"{b / f:.1f} {unit}"
    return f"{b} B"


def md_table(head, rows, align=None):
    out = ["| " + " | ".join(head) + " |"]
    al = align or (["---"] + ["--:"] * (len(head) - 1))
    out.append("|" + "|".join(al) + "|")
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def report(results, extras):
    parts = []
    ref_label = {"durable": "redis durable", "memory": "redis in-memory"}
    rows = []
    for w in WORKLOADS + [W_GET_SMALL, W_GET_LARGE]:
        r = results.get(w["id"])
        if not r:
            continue
        b, t = r["best"]["redis"], r["best"]["twopc"]
        rows.append([w["name"], ref_label[w["ref"]], fmt_rps(b["rps"]), fmt_rps(t["rps"]),
                     f"{t['rps'] / b['rps']:.2f}x", fmt_ms(b["p50"]), fmt_ms(t["p50"]),
                     f"{t['p50'] / b['p50']:.2f}x" if b["p50"] > 0 else "-",
                     fmt_ms(b["p99"]), fmt_ms(t["p99"])])
    parts.append("### Throughput and latency (best of %d alternating rounds: the run with the "
                 "highest req/s, and its latencies)\n" % REPEAT)
    parts.append(md_table(["workload", "compared with", "redis req/s", "twopc req/s", "ratio",
                           "redis p50 ms", "twopc p50 ms", "p50 ratio", "redis p99 ms",
                           "twopc p99 ms"], rows))

    trows, missed = [], []
    for wid, what, kind, target in TARGETS:
        if kind == "scale":
            if "get_small" not in results or "get_large" not in results:
                continue
            small = results["get_small"]["best"]["twopc"]["rps"]
            large = results["get_large"]["best"]["twopc"]["rps"]
            ratio = large / small
            rs = results["get_small"]["best"]["redis"]["rps"]
            rl = results["get_large"]["best"]["redis"]["rps"]
            detail = (f"twopc {fmt_rps(large)} vs {fmt_rps(small)} req/s "
                      f"(redis: {rl / rs:.2f}x)")
            ok = ratio >= target
            tgt = f">= {target}x"
        else:
            if wid not in results:
                continue
            b, t = results[wid]["best"]["redis"], results[wid]["best"]["twopc"]
            if kind == "rps":
                ratio = t["rps"] / b["rps"]
                detail = f"twopc {fmt_rps(t['rps'])} vs redis {fmt_rps(b['rps'])} req/s"
                ok = ratio >= target
                tgt = f">= {target}x"
            else:
                ratio = t["p50"] / b["p50"]
                detail = f"twopc p50 {fmt_ms(t['p50'])} vs redis {fmt_ms(b['p50'])} ms"
                ok = ratio <= target
                tgt = f"<= {target}x"
        trows.append([what, f"{ratio:.2f}x", tgt, "**met**" if ok else "**missed**", detail])
        if not ok:
            missed.append(f"- {what}: bound by {BOUNDS[wid]}.")
    parts.append("\n### Targets\n")
    parts.append(md_table(["target", "measured", "target", "result", "figures"], trows,
                          ["---", "--:", "--:", "---", "---"]))
    if missed:
        parts.append("\nWhat bounds each missed target (profiles: docs/benchmarks.md):\n")
        parts.append("\n".join(missed))

    # CPU: where the time goes, for the best run of each side
    ncpu = os.cpu_count() or 1
    crow = []
    for w in WORKLOADS + [W_GET_SMALL, W_GET_LARGE]:
        r = results.get(w["id"])
        if not r:
            continue
        for side in ("redis", "twopc"):
            x = r["best"][side]
            c = x["cpu"]
            wall = x["wall"]
            pct = lambda v: f"{100 * v / wall:.0f}%"
            ours = sum(c.values())
            rest = x["machine_busy"] * ncpu * wall - ours
            common = [pct(c.get("redis-benchmark", 0)), pct(rest),
                      f"{100 * x['machine_busy']:.0f}%", f"{100 * x['machine_iowait']:.0f}%",
                      f"{r['n']:,}", f"{wall:.1f}"]
            if side == "redis":
                crow.append([w["name"], r["ref"], pct(c.get("redis-server", 0)), "-", "-",
                             *common, "-"])
            else:
                reps = [c.get(f"replica-{i}", 0) for i in (1, 2, 3)]
                crow.append(["", "twopc", pct(c.get("coordinator", 0)),
                             "/".join(pct(v) for v in reps),
                             pct(c.get("coordinator", 0) + sum(reps)), *common,
                             f"{x.get('ops_per_round', 0):.1f}" if w["test"] == "set" else "-"])
    parts.append("\n### CPU during each (best) run\n\n"
                 "Per process: utime+stime over the run's wall time, 100% = one core "
                 "(/proc/PID/stat, all threads). *rest*: CPU time of everything else on the "
                 "machine (kernel threads, softirq not charged to a process, other users), same "
                 f"unit. *machine busy / iowait*: share of all {ncpu} CPUs (/proc/stat, busy "
                 "includes steal; 100% = every core busy).\n")
    rests = [r["best"][side]["machine_busy"] * ncpu - sum(r["best"][side]["cpu"].values())
             / r["best"][side]["wall"] for r in results.values() for side in ("redis", "twopc")]
    if rests and sum(rests) / len(rests) > 0.3:
        parts.append(f"**Warning: other work used {100 * sum(rests) / len(rests):.0f}% of a "
                     "core on average during these runs (column *rest*): the figures are "
                     "noisier than on a quiet machine.**\n")
    parts.append(md_table(["workload", "server", "redis-server or coordinator",
                           "replica 1/2/3", "twopc total", "redis-benchmark", "rest",
                           "machine busy", "machine iowait", "requests", "wall s",
                           "ops/round"], crow))

    if extras.get("rss"):
        parts.append("\n### Peak RSS (VmHWM)\n")
        rrow = []
        for phase, procs in extras["rss"]:
            for label, v in procs:
                rrow.append([phase, label, fmt_bytes(v) if v else "?"])
        parts.append(md_table(["when", "process", "VmHWM"], rrow, ["---", "---", "--:"]))

    if extras.get("disk"):
        d = extras["disk"]
        parts.append(f"\n### Disk after loading {d['keys']:,} keys "
                     "(bytes allocated, as du counts them)\n")
        drow = []
        for label, alloc, apparent, per in d["rows"]:
            drow.append([label, fmt_bytes(alloc), f"{alloc / d['keys']:.1f}",
                         fmt_bytes(apparent), per])
        parts.append(md_table(["what", "on disk", "bytes/key", "apparent size", "files"],
                              drow, ["---", "--:", "--:", "--:", "---"]))

    if extras.get("strace"):
        parts.append("\n### System calls per request (`BENCH_STRACE=1`: a separate run of each "
                     "side under `strace -c -f`; only the counts mean anything)\n")
        srow = []
        for wname, sname, st in extras["strace"]:
            for label, c in st["calls"].items():
                n = st["n"]
                top = sorted(c.items(), key=lambda kv: -kv[1])[:6]
                srow.append([wname, sname, label, f"{sum(c.values()) / n:.2f}",
                             f"{(c.get('fsync', 0) + c.get('fdatasync', 0)) / n:.3f}",
                             ", ".join(f"{k} {v / n:.2f}" for k, v in top), f"{n:,}"])
        parts.append(md_table(["workload", "server", "process", "syscalls/req",
                               "fsync+fdatasync/req", "most frequent (per request)",
                               "requests"], srow,
                              ["---", "---", "---", "--:", "--:", "---", "--:"]))
    return "\n".join(parts) + "\n"


def machine_header():
    def sh(*a):
        try:
            return subprocess.run(a, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = sh("git", "rev-parse", "--short=12", "HEAD") or "?"
    dirty = sh("git", "status", "--porcelain", "--untracked-files=no")
    if dirty:
        commit += " (+ uncommitted changes)"
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
        "uname": sh("uname", "-a"), "nproc": sh("nproc"), "cpu": cpu, "commit": commit,
        "redis": sh("redis-server", "--version"),
        "benchmark": sh("redis-benchmark", "--version"),
        "mem": sh("sh", "-c", "free -m | awk '/Mem:/{print $2\" MiB\"}'"),
    }


# ---------------------------------------------------------------------------------------------

def preflight():
    missing = [t for t in ("redis-server", "redis-benchmark", "redis-cli")
               if shutil.which(t) is None]
    if missing:
        pkgs = []
        if "redis-server" in missing:
            pkgs.append("redis-server")
        if {"redis-benchmark", "redis-cli"} & set(missing):
            pkgs.append("redis-tools")
        print(f"bench: missing {', '.join(missing)}.\n"
              f"  install:  apt-get install -y {' '.join(pkgs)}\n"
              f"  (as root, `make bench` installs them: scripts/install-deps.sh)",
              file=sys.stderr)
        sys.exit(2)
    if not os.access(CLUSTER_BIN, os.X_OK):
        print(f"bench: {CLUSTER_BIN} not built; run `make build` (or `make bench`)",
              file=sys.stderr)
        sys.exit(2)
    if STRACE and shutil.which("strace") is None:
        print("bench: BENCH_STRACE=1 needs strace (apt-get install -y strace)", file=sys.stderr)
        sys.exit(2)


def fs_type(path):
    best, fstype = "", "?"
    try:
        with open("/proc/mounts") as f:
            for line in f:
                p = line.split()
                mnt = p[1].replace("\\040", " ")
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                    best, fstype = mnt, p[2]
    except OSError:
        pass
    return fstype


def main():
    preflight()
    parent = os.environ.get("BENCH_DIR") or tempfile.gettempdir()
    workdir = tempfile.mkdtemp(prefix="twopc-bench-", dir=parent)
    fst = fs_type(os.path.realpath(workdir))
    servers = []
    status = 0

    def on_signal(signum, _frame):
        raise Interrupted(signal.Signals(signum).name)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    results, extras = {}, {}
    hdr = machine_header()
    idle_busy = 0.0
    t_start = time.monotonic()
    try:
        idle_busy = machine_busy_sample()
        log(f"folder {workdir} ({fst}); N={N} REPEAT={REPEAT} KEYS={KEYS}"
            + (" QUICK" if QUICK else ""))
        if idle_busy > 0.15:
            log(f"WARNING: the machine is already {100 * idle_busy:.0f}% busy before the run "
                "(other work): the figures will be noisy")
        if fst in ("tmpfs", "ramfs"):
            log("WARNING: the folder is on tmpfs: fsync costs nothing there; "
                "set BENCH_DIR to a folder on a disk")

        def start(*ss):
            for s in ss:
                servers.append(s)
                s.start()
                log(f"  started {s.name} on port {s.port}: {s.procs()}")

        # ---- phase 1
        log("phase 1: fresh servers; SET and GET")
        rd = Redis("redis-durable", workdir, durable=True)
        rm = Redis("redis-memory", workdir, durable=False)
        tw = Twopc("twopc", workdir)
        start(rd, rm, tw)
        refs = {"durable": rd, "memory": rm}
        strace_out = []
        for w in WORKLOADS:
            if w["test"] == "get" and w["id"] == "get_c1":
                # the key GET reads when there is no -r: make it exist on both sides
                for s in (rm, tw):
                    if command(s.port, "SET", "key:__rand_int__", VALUE) != "OK":
                        raise BenchError(f"{s.name}: SET key:__rand_int__ failed")
            run_pair(w, refs[w["ref"]], tw, results)
            if STRACE and w["id"] in ("set_c50", "set_c50_p16", "get_c50", "get_c50_p16"):
                for s in (refs[w["ref"]], tw):
                    log(f"  strace run: {w['name']} on {s.name}")
                    strace_out.append((w["name"], s.name,
                                       strace_profile(s, w, max(1000, int(N * w["nf"] / 4)))))
        if strace_out:
            extras["strace"] = strace_out
        rss1 = []
        for s in (tw, rd, rm):
            for label, pid in s.procs().items():
                rss1.append((f"{s.name} {label}" if s.kind == "twopc" else s.name,
                             read_status(pid, "VmHWM")))
        for s in (tw, rd, rm):
            s.stop()

        # ---- phase 2
        log(f"phase 2: fresh servers with {SMALL_KEYS:,} and {KEYS:,} keys")
        kn = f"{KEYS // 1000000}m" if KEYS % 1000000 == 0 else f"{KEYS // 1000}k"
        sn = f"{SMALL_KEYS // 1000}k"
        rd = Redis(f"redis-durable-{kn}", workdir, durable=True)
        rm_small = Redis(f"redis-memory-{sn}", workdir, durable=False)
        rm = Redis(f"redis-memory-{kn}", workdir, durable=False)
        tw_small = Twopc(f"twopc-{sn}", workdir)
        tw = Twopc(f"twopc-{kn}", workdir)
        start(rd, rm_small, rm, tw_small, tw)
        load_rate = {}
        for s, count in ((tw_small, SMALL_KEYS), (rm_small, SMALL_KEYS), (tw, KEYS),
                         (rm, KEYS), (rd, KEYS)):
            t0 = time.monotonic()
            errs = load_keys(s.port, 0, count)
            dt = time.monotonic() - t0
            load_rate[s.name] = (count / dt, errs)
            log(f"  loaded {count:,} keys into {s.name} in {dt:.1f} s ({count / dt:,.0f} SET/s)")
            db = command(s.port, "DBSIZE")
            if db != count:
                raise BenchError(f"{s.name}: DBSIZE {db!r} after loading {count} keys")
        log(f"  DBSIZE checked on all five")
        tw.wait_quiet()
        d_tw0 = disk_usage(tw.data)
        run_group([(W_GET_SMALL, rm_small, tw_small), (W_GET_LARGE, rm, tw)], results)
        # disk: twopc after the GET runs too (time for SQLite apply / log compaction)
        tw.wait_quiet()
        d_tw = disk_usage(tw.data)
        d_rd = disk_usage(os.path.join(rd.dir, "appendonlydir"))
        # redis after an AOF rewrite (RDB preamble): its compact form
        command(rd.port, "BGREWRITEAOF")
        deadline = time.time() + 60
        while time.time() < deadline:
            p = info(rd.port, "persistence")
            if p.get("aof_rewrite_in_progress") == "0" and p.get("aof_rewrite_scheduled") == "0":
                break
            time.sleep(0.2)
        time.sleep(0.5)
        d_rd2 = disk_usage(os.path.join(rd.dir, "appendonlydir"))

        def breakdown(files, groups):
            acc = {}
            for f, (alloc, _app) in files.items():
                g = next((name for name, pred in groups if pred(f)), "other")
                acc[g] = acc.get(g, 0) + alloc
            return ", ".join(f"{g} {fmt_bytes(v)}" for g, v in sorted(acc.items(),
                                                                      key=lambda x: -x[1]) if v)

        tw_groups = [
            ("data.sqlite*", lambda f: "data.sqlite" in f),
            ("votes.log", lambda f: f.endswith("votes.log")),
            ("decision.log", lambda f: f.endswith("decision.log")),
            ("diagnostic logs", lambda f: f.endswith(".log")),
        ]
        per_proc = {}
        for f, (alloc, app) in d_tw[2].items():
            top = f.split(os.sep)[0]
            a = per_proc.setdefault(top, [0, 0, {}])
            a[0] += alloc
            a[1] += app
            a[2][f] = (alloc, app)
        drows = [("twopc, whole data folder (after load)", d_tw0[0], d_tw0[1],
                  breakdown(d_tw0[2], tw_groups)),
                 (f"twopc, whole data folder (after the GET runs)", d_tw[0], d_tw[1],
                  breakdown(d_tw[2], tw_groups))]
        for top in sorted(per_proc):
            if top in ("coordinator",) or top.startswith("replica-"):
                a = per_proc[top]
                drows.append((f"  twopc {top}", a[0], a[1], breakdown(a[2], tw_groups)))
        drows.append(("redis durable, appendonlydir (as written)", d_rd[0], d_rd[1],
                      ", ".join(f"{f} {fmt_bytes(v[0])}" for f, v in sorted(d_rd[2].items()))))
        drows.append(("redis durable, appendonlydir after BGREWRITEAOF", d_rd2[0], d_rd2[1],
                      ", ".join(f"{f} {fmt_bytes(v[0])}" for f, v in sorted(d_rd2[2].items()))))
        extras["disk"] = {"keys": KEYS, "rows": drows, "load_rate": load_rate}

        rss2 = []
        for s in (tw, tw_small, rd, rm, rm_small):
            for label, pid in s.procs().items():
                rss2.append((f"{s.name} {label}" if s.kind == "twopc" else s.name,
                             read_status(pid, "VmHWM")))
        extras["rss"] = [("phase 1 (SET/GET runs)", rss1),
                         ("phase 2 (data sets loaded, GET runs)", rss2)]
        for s in (tw, tw_small, rd, rm, rm_small):
            s.stop()
    except BenchError as e:
        status = 1
        log(f"FAILED: {e}")
        for s in servers:
            t = s.tail_logs()
            if t and str(s.dir) not in str(e):
                print(t, file=sys.stderr)
    except Interrupted as e:
        status = 130
        log(f"interrupted ({e}): stopping the servers")
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        for s in reversed(servers):
            s.stop()
        if KEEP:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_DFL)

    if status == 130:
        return status
    elapsed = time.monotonic() - t_start
    lr = extras.get("disk", {}).get("load_rate", {})
    load_line = "; ".join(f"{k} {v[0]:,.0f} SET/s" + (f" ({v[1]} errors retried)" if v[1] else "")
                          for k, v in lr.items())
    head = (f"## twopc vs redis-server, {hdr['date']}\n\n"
            f"- machine: `{hdr['uname']}`\n"
            f"- nproc {hdr['nproc']}, CPU {hdr['cpu']}, memory {hdr['mem']}\n"
            f"- twopc commit {hdr['commit']}; {hdr['redis']}; {hdr['benchmark']}\n"
            f"- BENCH_N={N} BENCH_REPEAT={REPEAT} BENCH_KEYS={KEYS}"
            f"{' BENCH_QUICK=1' if QUICK else ''}; data folder on {fst}; "
            f"run took {elapsed / 60:.1f} min; machine {100 * idle_busy:.0f}% busy just before"
            + (f"; status: FAILED (see stderr)" if status else "") + "\n"
            + (f"- key load (4 connections, each 2 chunks of 1,000 SETs in flight): {load_line}\n"
               if load_line else "") + "\n")
    body = report(results, extras)
    text = head + body
    print(text)
    if status:
        log("not writing bench/results/latest.md: the run failed (its partial table is above)")
        return status
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "latest.md"), "w") as f:
        f.write(text)
    with open(os.path.join(HERE, "results", "latest.json"), "w") as f:
        json.dump({"machine": hdr, "N": N, "REPEAT": REPEAT, "KEYS": KEYS,
                   "results": {k: {"n": v["n"], "ref": v["ref"], "runs": v["runs"]}
                               for k, v in results.items()},
                   "extras": extras}, f, indent=1, default=str)
    return status


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""bench_types.py -- `make bench` (second part), or `make bench-types` alone:
per-command throughput of the collection types on a small and on a 1,000,000-element value,
twopc against redis-server in the same run (issue #14, item 2: a single-element command
must cost O(log n), not a rewrite of the value).

Starts, on free ports in a temporary folder, the same three servers as bench.py (a durable
redis-server with appendfsync always, an in-memory one, a twopc cluster), loads into each
one collection of every type at each size (hash h:<size>, set s:<size>, list l:<size>,
sorted set z:<size>; elements f:000000000042 as redis-benchmark's __rand_int__ writes
them), and runs redis-benchmark with the commands below, -c 50, alternating redis and twopc
(BENCH_REPEAT rounds, best kept). Writes are compared with the durable redis, reads with the
in-memory one, as in bench.py.

A command twopc does not have yet (its reply to a probe is an error) is listed as "not yet",
and a run in which twopc answered errors as "failed: <the error>", rather than failing the
run: the table shows what is there.

Environment: BENCH_N (requests per read run, default 50000; writes get N/2), BENCH_REPEAT
(default 2), BENCH_BIG (the big size, default 1000000), BENCH_QUICK=1 (N=5000, REPEAT=1,
BIG=100000), BENCH_TYPES (the types to run, comma-separated, e.g. BENCH_TYPES=zset;
default all), BENCH_DIR, BENCH_KEEP=1, TWOPC_BUILD: as bench.py.
Output: the table on stdout and in bench/results/types.md (types-<types>.md with
BENCH_TYPES).
Exit status: 0 when everything ran, 1 when something failed to run, 2 when a tool is missing.
"""

import datetime
import os
import shutil
import signal
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as b  # noqa: E402  (servers, redis-benchmark runs, formatting)

QUICK = os.environ.get("BENCH_QUICK") == "1"
N = b.env_int("BENCH_N", 5000 if QUICK else 50000)
REPEAT = b.env_int("BENCH_REPEAT", 1 if QUICK else 2)
BIG = b.env_int("BENCH_BIG", 100000 if QUICK else 1000000)
SMALL = 100
ONLY = [t for t in os.environ.get("BENCH_TYPES", "").split(",") if t]

# (type, loader command, element args for element i, commands). In a command, {k} is the
# key, {mid} the middle index, {r} the element range for -r; __rand_int__ is
# redis-benchmark's. kind: "w" write (compared with durable redis), "r" read.
TYPES = [
    ("hash", "HSET", lambda i: [b"f:%012d" % i, b"v"], [
        ("w", "HSET {k} f:__rand_int__ v"),
        ("r", "HGET {k} f:__rand_int__"),
        ("r", "HEXISTS {k} f:__rand_int__"),
        ("r", "HLEN {k}"),
    ]),
    ("set", "SADD", lambda i: [b"f:%012d" % i], [
        ("w", "SADD {k} f:__rand_int__"),
        ("r", "SISMEMBER {k} f:__rand_int__"),
        ("r", "SCARD {k}"),
        ("r", "SRANDMEMBER {k}"),
    ]),
    ("list", "RPUSH", lambda i: [b"f:%012d" % i], [
        ("w", "LSET {k} {mid} x"),
        ("w", "RPUSH {k} x"),
        ("w", "LPOP {k}"),  # as many as the RPUSHes before: the length stays
        ("r", "LINDEX {k} {mid}"),
        ("r", "LRANGE {k} {mid} {mid10}"),
        ("r", "LLEN {k}"),
    ]),
    ("zset", "ZADD", lambda i: [b"%d" % i, b"f:%012d" % i], [
        ("w", "ZADD {k} __rand_int__ f:__rand_int__"),
        ("r", "ZSCORE {k} f:__rand_int__"),
        ("r", "ZRANK {k} f:__rand_int__"),
        ("r", "ZRANGEBYSCORE {k} {mid} {mid10}"),
    ]),
]


def key_of(tname, size):
    return "%s:%d" % (tname[0], size)


def reply_error(port, *args):
    """The error text of one command's reply, or None when it succeeded."""
    try:
        r = b.command(port, *args, timeout=30)
    except b.BenchError as e:
        return str(e)
    if isinstance(r, Exception):
        return str(r)
    return None


def load(port, cmd, key, elem, size, batch=1000, depth=4):
    """cmd key <elements> in commands of `batch` elements, `depth` in flight on one
    connection; every reply must be an integer."""
    chunks = list(range(0, size, batch))
    with socket.create_connection(("127.0.0.1", port), timeout=300) as s:
        f = s.makefile("rb")
        sent = got = 0
        while got < len(chunks):
            while sent < len(chunks) and sent - got < depth:
                lo = chunks[sent]
                args = [cmd.encode(), key.encode()]
                for i in range(lo, min(size, lo + batch)):
                    args += elem(i)
                s.sendall(b.encode(*args))
                sent += 1
            line = f.readline()
            got += 1
            if not line.startswith(b":"):
                raise b.BenchError(f"port {port}: {cmd} {key} while loading: {line!r}")


def run_cmd(server, line, size, n):
    """One redis-benchmark run of an arbitrary command line; returns bench.run_one's dict."""
    pids = server.procs()
    args = ["redis-benchmark", "-p", str(server.port), "-n", str(n), "-c", "50",
            "-r", str(size), "--csv", *line.split()]
    cpu0 = {k: b.read_stat_cpu(p) for k, p in pids.items()}
    t0 = time.monotonic()
    p = b.subprocess.run(args, stdin=b.subprocess.DEVNULL, capture_output=True)
    wall = time.monotonic() - t0
    cpu1 = {k: b.read_stat_cpu(p_) for k, p_ in pids.items()}
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    if p.returncode != 0 or "error" in err.lower() or "error" in out.lower():
        raise b.BenchError(f"{server.name}: `{' '.join(args)}` failed\n{err[-1500:]}\n{out[-1500:]}")
    rows = [ln for ln in out.splitlines() if ln.startswith('"')]
    head = [h.strip('"') for h in rows[0].split(",")]
    row = dict(zip(head, [v.strip('"') for v in rows[1].split(",")]))
    server.check_alive(pids)
    return {"n": n, "rps": float(row["rps"]), "p50": float(row["p50_latency_ms"]),
            "p99": float(row["p99_latency_ms"]), "wall": wall,
            "cpu": sum(cpu1[k] - cpu0[k] for k in pids
                       if cpu0[k] is not None and cpu1[k] is not None)}


def main():
    b.preflight()
    parent = os.environ.get("BENCH_DIR") or tempfile.gettempdir()
    workdir = tempfile.mkdtemp(prefix="twopc-bench-coll-", dir=parent)
    servers, rows, status = [], [], 0

    def on_signal(signum, _frame):
        raise b.Interrupted(signal.Signals(signum).name)
    for sg in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sg, on_signal)

    t_start = time.monotonic()
    try:
        b.log(f"folder {workdir}; N={N} REPEAT={REPEAT} sizes {SMALL} and {BIG}")
        rd = b.Redis("redis-durable", workdir, durable=True)
        rm = b.Redis("redis-memory", workdir, durable=False)
        tw = b.Twopc("twopc", workdir)
        for s in (rd, rm, tw):
            servers.append(s)
            s.start()
            b.log(f"  started {s.name} on port {s.port}")
        for tname, loader, elem, cmds in TYPES:
            if ONLY and tname not in ONLY:
                continue
            probe = reply_error(tw.port, loader, "probe:" + tname, *elem(0))
            if probe is None:
                b.command(tw.port, "DEL", "probe:" + tname)
            for size in (SMALL, BIG):
                key = key_of(tname, size)
                if probe is None:
                    for s in (rd, rm, tw):
                        t0 = time.monotonic()
                        load(s.port, loader, key, elem, size)
                        b.log(f"  loaded {key} ({size} elements) into {s.name} in "
                              f"{time.monotonic() - t0:.1f} s")
                mid = size // 2
                for kind, tmpl in cmds:
                    line = tmpl.format(k=key, mid=mid, mid10=mid + 9)
                    probe_cmd = line.replace("__rand_int__", "%012d" % mid).split()
                    missing = probe or reply_error(tw.port, *probe_cmd)
                    if missing and "unknown command" not in missing:
                        missing = "failed: " + missing[:80]
                    if missing:
                        rows.append((tname, size, line, None, None, missing))
                        b.log(f"  {line:<44} twopc: not yet ({missing[:60]})")
                        continue
                    ref = rd if kind == "w" else rm
                    n = max(1000, N // 2 if kind == "w" else N)
                    best = {}
                    failed = None
                    for rnd in range(REPEAT):
                        order = (ref, tw) if rnd % 2 == 0 else (tw, ref)
                        for srv in order:
                            try:
                                r = run_cmd(srv, line, size, n)
                            except b.BenchError as e:
                                if srv is not tw:
                                    raise
                                # twopc's errors are a result (a row of the table), and
                                # the run goes on with the next command
                                why = [ln for ln in str(e).splitlines() if "rror" in ln]
                                failed = (why[-1] if why else str(e))[:80]
                                b.log(f"  {line:<44} twopc: failed ({failed})")
                                continue
                            if srv.kind not in best or r["rps"] > best[srv.kind]["rps"]:
                                best[srv.kind] = r
                            b.log(f"  {line:<44} {srv.name:<14} {r['rps']:>9.0f} req/s "
                                  f"p50 {r['p50']:.3f} ms")
                    if "twopc" not in best:
                        rows.append((tname, size, line, None, None, "failed: " + failed))
                        continue
                    rows.append((tname, size, line, best[ref.kind] | {"ref": ref.name},
                                 best["twopc"], None))
    except b.Interrupted as e:
        b.log(f"interrupted ({e})")
        status = 1
    except (b.BenchError, OSError) as e:
        b.log(f"FAILED: {e}")
        status = 1
    finally:
        for s in reversed(servers):
            s.stop()
        if os.environ.get("BENCH_KEEP") == "1":
            b.log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"## Collections, {stamp} (-c 50; N={N}, best of {REPEAT}; "
           f"{time.monotonic() - t_start:.0f} s)", "",
           "| type | elements | command | redis req/s (p50 ms) | twopc req/s (p50 ms) "
           "| twopc / redis | CPU µs/op redis / twopc |",
           "|---|--:|---|--:|--:|--:|--:|"]
    for tname, size, line, ref, twr, missing in rows:
        if missing and missing.startswith("failed: "):
            out.append(f"| {tname} | {size:,} | `{line}` | | {missing} | | |")
            continue
        if missing:
            out.append(f"| {tname} | {size:,} | `{line}` | | not yet | | |")
            continue
        out.append(f"| {tname} | {size:,} | `{line}` | {ref['rps']:,.0f} ({ref['p50']:.2f}, "
                   f"{ref['ref']}) | {twr['rps']:,.0f} ({twr['p50']:.2f}) "
                   f"| {twr['rps'] / ref['rps']:.2f}× "
                   f"| {1e6 * ref['cpu'] / ref['n']:.0f} / {1e6 * twr['cpu'] / twr['n']:.0f} |")
    text = "\n".join(out) + "\n"
    print(text)
    if status == 0:
        os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
        name = "types-%s.md" % "-".join(ONLY) if ONLY else "types.md"
        with open(os.path.join(HERE, "results", name), "w") as f:
            f.write(text)
    return status


if __name__ == "__main__":
    sys.exit(main())

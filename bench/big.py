#!/usr/bin/python3
"""big.py -- measures a huge SET and a huge MULTI on twopc at default settings, with
redis-server beside it (issue #16, item 5). Outside `make test`: `make big`, or

    /usr/bin/python3 bench/big.py [--mb 512] [--multi 1000000] [--no-redis]

For each case it prints the client-side time and every process's peak RSS (VmHWM from
/proc/PID/status, read after the case; a fresh cluster per case, so the peak is that
case's). redis-server (Debian's redis-server package) runs on a free port with
persistence off, as a reference for time and memory.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import twopc_harness as h  # noqa: E402
import redis  # noqa: E402


def hwm_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) // 1024
    return -1


def run_case(r, case, mb, nmulti):
    t0 = time.time()
    if case == "set":
        value = b"x" * (mb << 20)
        ok = r.set("big", value) is True
        t1 = time.time()
        ok = ok and r.strlen("big") == len(value)
        del value
    else:
        p = r.pipeline(transaction=True)
        for i in range(nmulti):
            p.set("m:%d" % i, i)
        t0 = time.time()
        ok = len(p.execute()) == nmulti
        t1 = time.time()
        ok = ok and r.get("m:%d" % (nmulti - 1)) == str(nmulti - 1).encode()
    return ok, t1 - t0


def twopc(case, mb, nmulti):
    c = h.Cluster(replicas=3)
    c.start()
    try:
        c.wait_ready()
        r = c.client(socket_timeout=1200)
        ok, secs = run_case(r, case, mb, nmulti)
        mem = [hwm_mb(c.server_pid())] + [hwm_mb(c.replica_pid(i)) for i in (1, 2, 3)]
        return ok, secs, "coordinator %d MB, replicas %s MB" % (mem[0], "/".join(map(str, mem[1:])))
    finally:
        c.stop()


def redis_ref(case, mb, nmulti):
    exe = shutil.which("redis-server")
    if not exe:
        return None
    port = h.free_port_block(1)
    d = tempfile.mkdtemp(prefix="big-redis-")
    p = subprocess.Popen([exe, "--port", str(port), "--save", "", "--appendonly", "no",
                          "--dir", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = redis.Redis(port=port, socket_timeout=1200)
        for _ in range(100):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        ok, secs = run_case(r, case, mb, nmulti)
        return ok, secs, "redis-server %d MB" % hwm_mb(p.pid)
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=512)
    ap.add_argument("--multi", type=int, default=1000000)
    ap.add_argument("--no-redis", action="store_true")
    a = ap.parse_args()
    print("%s, load average %s" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                   os.getloadavg()[0]))
    for case, label in (("set", "SET of %d MB" % a.mb), ("multi", "MULTI of %d SETs" % a.multi)):
        for who, fn in (("twopc", twopc), ("redis", redis_ref)):
            if who == "redis" and a.no_redis:
                continue
            res = fn(case, a.mb, a.multi)
            if res:
                print("| %s | %s | %s | %.1f s | %s |" % (label, who, "ok" if res[0] else "FAILED",
                                                          res[1], res[2]), flush=True)


if __name__ == "__main__":
    main()

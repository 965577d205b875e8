"""workload.py -- the random client workload and the nemesis of the crash tests.

Workload: K client threads, each with its own redis-py connection (short
socket timeout, a fresh connection after any error), run random SET / DEL /
INCRBY / GET / MSET commands and record each one as lincheck Ops with
time.monotonic_ns() invoke and response times:

  reply                         recorded as
  OK / integer / bulk / nil     a completed op with that output
  "not an integer" to INCR      a completed INCR that read a non-integer
  any other error reply         failed (not applied), kept for the
                                "failed write visible" rule
  error text saying "unknown"   outcome unknown
  connection lost / timeout     outcome unknown (response None); unknown reads
                                carry no information and are dropped by the
                                checker

Keys: 16 register keys (SET with values unique to client and sequence, DEL,
GET, MSET, a rare INCR that mostly fails with "not an integer"; half of these
ops go to the first 4, so clients often meet on a key) and 4 counter keys
(INCRBY, DEL, GET).  Every EPOCH_S seconds the clients move on to a
fresh set of 20 keys, so each key's history stays a few hundred ops long
however long the run (a soak of 30 minutes checks as fast per key as one of 60
seconds).  Connecting is not part of any op: an op is recorded only once a
connection is up, so a refused connection does not create an unknown op.

Nemesis: a thread that every 1.5-3 s (seeded) SIGKILLs a random live process
of the cluster (coordinator or a replica, pid from its pid file), sometimes
two, sometimes all four at once; the launcher restarts each after ~1 s.

The seed fixes every random choice (ops, keys, think times, kill schedule);
thread timing still varies, so a replay re-runs the same schedule, not the
same interleaving.
"""

import os
import random
import re
import signal
import threading
import time

import redis

from lincheck import DEL_ANY, DELETE, INCR, INCR_ERR, READ, WRITE, Failed, Op
from twopc_harness import pid_alive, wait_pid_gone

N_REGISTERS = 16
N_COUNTERS = 4
EPOCH_S = 20.0


def now():
    return time.monotonic_ns()


class Counts:
    """ok / failed / unknown per command, for the run summary."""

    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}
        self.errors = {}     # error text with numbers and addresses blurred -> count

    def add(self, cmd, outcome):
        with self.lock:
            d = self.c.setdefault(cmd, {"ok": 0, "failed": 0, "unknown": 0})
            d[outcome] += 1

    def error(self, text):
        text = re.sub(r"[0-9]+", "N", text)[:90]
        with self.lock:
            self.errors[text] = self.errors.get(text, 0) + 1

    def error_line(self, top=4):
        common = sorted(self.errors.items(), key=lambda kv: -kv[1])[:top]
        return "error replies: " + ("; ".join("%d x %s" % (n, t) for t, n in common)
                                    or "none")

    def total(self, outcome):
        return sum(d[outcome] for d in self.c.values())

    def line(self):
        parts = ["%s %d/%d/%d" % (cmd, d["ok"], d["failed"], d["unknown"])
                 for cmd, d in sorted(self.c.items())]
        return ("ops ok/failed/unknown: %d/%d/%d (%s)"
                % (self.total("ok"), self.total("failed"), self.total("unknown"),
                   ", ".join(parts)))


class Client:
    """One client thread's connection and history."""

    def __init__(self, wl, cid):
        self.wl, self.cid = wl, cid
        self.rng = random.Random("%s-client-%d" % (wl.seed, cid))
        self.r = None
        self.seq = 0

    def connect(self, stop, deadline=None):
        while self.r is None and not stop.is_set():
            if deadline is not None and time.monotonic() > deadline:
                break
            try:
                self.r = redis.Redis(host=getattr(self.wl.cluster, "host", "127.0.0.1"),
                                     port=self.wl.cluster.port,
                                     socket_timeout=self.wl.socket_timeout,
                                     socket_connect_timeout=1.0,
                                     single_connection_client=True)
            except (redis.exceptions.RedisError, OSError):
                time.sleep(0.05)
        return self.r is not None

    def drop(self):
        if self.r is not None:
            try:
                self.r.close()
            except Exception:
                pass
        self.r = None

    def call(self, *args):
        """(outcome, reply, t0, t1): outcome is ok / error / unknown."""
        t0 = now()
        try:
            reply = self.r.execute_command(*args)
            return "ok", reply, t0, now()
        except redis.exceptions.ResponseError as e:
            t1 = now()
            self.wl.counts.error(str(e))
            if "unknown" in str(e).lower():
                return "unknown", None, t0, None
            return "error", str(e), t0, t1
        except (redis.exceptions.RedisError, OSError):
            self.drop()
            return "unknown", None, t0, None

    # -- the commands, each recorded ----------------------------------------
    def value(self, tag):
        self.seq += 1
        return b"%s%d.%d" % (tag, self.cid, self.seq)

    def record(self, op):
        self.wl.record(op)
        return op

    def do_set(self, key):
        v = self.value(b"s")
        outcome, reply, t0, t1 = self.call("SET", key, v)
        out = Failed(reply) if outcome == "error" else None
        self.record(Op(self.cid, key, WRITE, v, out, t0, t1))
        self.wl.counts.add("SET", "failed" if outcome == "error" else outcome)
        return outcome, v, t1

    def do_mset(self, keys):
        v = self.value(b"m")
        args = []
        for k in keys:
            args += [k, v]
        outcome, reply, t0, t1 = self.call("MSET", *args)
        out = Failed(reply) if outcome == "error" else None
        desc = "c%d MSET %s = %s" % (self.cid, b" ".join(keys).decode(), v.decode())
        group = ((self.cid, self.seq), tuple(keys))
        for k in keys:
            self.record(Op(self.cid, k, WRITE, v, out, t0, t1, desc=desc, group=group))
        self.wl.counts.add("MSET", "failed" if outcome == "error" else outcome)

    def do_del(self, keys):
        outcome, reply, t0, t1 = self.call("DEL", *keys)
        desc = "c%d DEL %s -> %s" % (self.cid, b" ".join(keys).decode(), reply)
        for k in keys:
            if outcome == "error":
                out = Failed(reply)
            elif outcome == "unknown":
                out = None
            elif reply == 0 or reply == len(keys):
                out = 1 if reply else 0
            else:
                out = DEL_ANY
            self.record(Op(self.cid, k, DELETE, None, out, t0, t1,
                           desc=desc if len(keys) > 1 else None))
        self.wl.counts.add("DEL", "failed" if outcome == "error" else outcome)

    def do_incr(self, key, by):
        outcome, reply, t0, t1 = self.call("INCRBY", key, by)
        if outcome == "error":
            text = reply.lower()
            if "not an integer" in text or "overflow" in text:
                out, outcome = INCR_ERR, "ok"
            else:
                out = Failed(reply)
        else:
            out = reply
        self.record(Op(self.cid, key, INCR, by, out, t0, t1))
        self.wl.counts.add("INCRBY", "failed" if outcome == "error" else outcome)

    def do_get(self, key):
        outcome, reply, t0, t1 = self.call("GET", key)
        if outcome == "ok":
            self.record(Op(self.cid, key, READ, None, reply, t0, t1))
        self.wl.counts.add("GET", "failed" if outcome == "error" else outcome)
        return outcome, reply

    # -- the random mix -------------------------------------------------------
    def one_op(self):
        regs, ctrs = self.wl.current_keys()
        rng = self.rng
        if rng.random() < 0.2:
            k = rng.choice(ctrs)
            p = rng.random()
            if p < 0.5:
                self.do_incr(k, rng.choice([1, 1, 2, 3, 5, 7, -1, -2]))
            elif p < 0.9:
                self.do_get(k)
            else:
                self.do_del([k])
            return
        if rng.random() < 0.5:
            regs = regs[:4]       # hot keys: more clients on one key at once
        p = rng.random()
        if p < 0.38:
            self.do_set(rng.choice(regs))
        elif p < 0.68:
            self.do_get(rng.choice(regs))
        elif p < 0.80:
            self.do_mset(rng.sample(regs, rng.randint(2, 3)))
        elif p < 0.95:
            self.do_del(rng.sample(regs, rng.choice([1, 1, 1, 2])))
        else:
            self.do_incr(rng.choice(regs), 1)

    def run(self, stop):
        while not stop.is_set():
            if not self.connect(stop):
                break
            self.one_op()
            if self.r is None:
                time.sleep(0.02)    # an unknown outcome: let the cluster recover
            pause = self.rng.uniform(0, self.wl.think_s)
            if pause:
                time.sleep(pause)
        self.drop()

    def final_reads(self, keys, deadline):
        """GET every key (pipelined, 50 at a time), retrying until each has a
        completed read or the deadline passes.  Returns the keys left unread."""
        todo = list(keys)
        while todo and time.monotonic() < deadline:
            if not self.connect(threading.Event(), deadline):
                break
            batch, rest = todo[:50], todo[50:]
            pipe = self.r.pipeline(transaction=False)
            for k in batch:
                pipe.execute_command("GET", k)
            t0 = now()
            try:
                replies = pipe.execute(raise_on_error=False)
            except (redis.exceptions.RedisError, OSError):
                self.drop()
                time.sleep(0.05)
                continue
            t1 = now()
            again = []
            for k, reply in zip(batch, replies):
                if isinstance(reply, Exception):
                    again.append(k)
                else:
                    self.record(Op(self.cid, k, READ, None, reply, t0, t1, desc="final GET"))
            todo = again + rest
            if again:
                time.sleep(0.05)
        self.drop()
        return todo


class Workload:
    def __init__(self, cluster, seed, clients=8, think_s=0.01, socket_timeout=3.0):
        self.cluster, self.seed = cluster, seed
        self.think_s, self.socket_timeout = think_s, socket_timeout
        self.counts = Counts()
        self.clients = [Client(self, c) for c in range(clients)]
        self.stop_flag = threading.Event()
        self.threads = []
        self.t0 = now()
        self.epochs_used = set()
        self.lock = threading.Lock()
        self.groups = {}        # key prefix (b"e3", b"hot") -> [Op]

    # -- the history, kept per key group so a finished epoch can be checked
    #    and forgotten during a long run
    @staticmethod
    def group_of(key):
        return key.split(b":", 1)[0]

    def record(self, op):
        g = self.group_of(op.key)
        ops = self.groups.get(g)
        if ops is None:
            with self.lock:
                ops = self.groups.setdefault(g, [])
        ops.append(op)

    def history(self, groups=None):
        """The recorded ops of the given key groups (default: all)."""
        with self.lock:
            names = list(self.groups) if groups is None else groups
            return [op for g in names for op in self.groups.get(g, [])]

    def forget(self, group):
        with self.lock:
            self.groups.pop(group, None)

    def epoch_group(self, epoch):
        return b"e%d" % epoch

    def epoch_end(self, epoch):
        """monotonic_ns after which no client starts an op on the epoch's keys."""
        return self.t0 + int((epoch + 1) * EPOCH_S * 1e9)

    def keys_of(self, epoch):
        regs = [b"e%d:r%d" % (epoch, i) for i in range(N_REGISTERS)]
        ctrs = [b"e%d:c%d" % (epoch, i) for i in range(N_COUNTERS)]
        return regs, ctrs

    def current_keys(self):
        epoch = int((now() - self.t0) / 1e9 / EPOCH_S)
        if epoch not in self.epochs_used:
            with self.lock:
                self.epochs_used.add(epoch)
        return self.keys_of(epoch)

    def epochs(self):
        """The epochs whose keys clients have used so far, sorted."""
        with self.lock:
            return sorted(self.epochs_used)

    def all_keys(self, epochs=None):
        out = []
        for e in self.epochs() if epochs is None else epochs:
            regs, ctrs = self.keys_of(e)
            out += regs + ctrs
        return out

    def start(self, extra=()):
        """Start the client threads (and any extra callables as threads)."""
        self.t0 = now()
        self.current_keys()
        for c in self.clients:
            self.threads.append(threading.Thread(target=c.run, args=(self.stop_flag,),
                                                 daemon=True))
        for fn in extra:
            self.threads.append(threading.Thread(target=fn, args=(self.stop_flag,),
                                                 daemon=True))
        for t in self.threads:
            t.start()

    def alive(self):
        return all(t.is_alive() for t in self.threads)

    def stop(self, timeout=30):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout)
        stuck = [t.name for t in self.threads if t.is_alive()]
        assert not stuck, "client threads did not stop: %s" % stuck

    def final_reads(self, keys=None, timeout=60):
        """Every client reads every key (default: of every epoch) once more,
        in parallel."""
        keys = self.all_keys() if keys is None else keys
        deadline = time.monotonic() + timeout
        left = {}
        ths = []
        for c in self.clients:
            def run(c=c):
                left[c.cid] = c.final_reads(keys, deadline)
            ths.append(threading.Thread(target=run, daemon=True))
        for t in ths:
            t.start()
        for t in ths:
            t.join(timeout + 10)
        missing = {cid: todo for cid, todo in left.items() if todo}
        assert len(left) == len(self.clients) and not missing, \
            "final reads did not complete within %d s: %r" % (timeout, missing)


# --------------------------------------------------------------------------
# The nemesis's network faults: a table, so the same nemesis runs against one machine
# (netfault.LocalNet: one namespace, endpoints by port) or namespaced hosts (helper
# "deploy": the same interface with namespace names and addresses). A net object gives
#   net.replica_ids()        the replicas' numbers, 1..N
#   net.coordinator()        the coordinator's endpoint (None: any, on one machine)
#   net.replica(i)           replica i's endpoint (":PORT" or "ADDR")
#   net.faults(ids)          the netfault.NetFault objects (one per namespace) that must
#                            carry a fault between the coordinator and replicas ids
#   net.heal()               every fault gone
# Each row: (name, weight, apply(net, rng) -> description). The fault holds until the
# nemesis heals it, HOLD_S later.
# --------------------------------------------------------------------------

def _cut(net, ids, direction="both", mode="drop"):
    for f in net.faults(ids):
        f.partition(a=net.coordinator(), b=[net.replica(i) for i in ids],
                    direction=direction, mode=mode)


def _one(net, rng):
    return [rng.choice(net.replica_ids())]


def _some(net, rng):
    ids = net.replica_ids()
    return ids if rng.random() < 0.5 else _one(net, rng)


def nf_partition_replica(net, rng, mode):
    ids = _one(net, rng)
    _cut(net, ids, mode=mode)
    return "replica %d cut off (%s)" % (ids[0], mode)


def nf_partition_coordinator(net, rng):
    mode = rng.choice(["drop", "reset"])
    _cut(net, net.replica_ids(), mode=mode)
    return "coordinator cut off from every replica (%s)" % mode


def nf_one_direction(net, rng):
    ids, direction = _one(net, rng), rng.choice(["to", "from"])
    _cut(net, ids, direction=direction)
    return "%s replica %d dropped" % ("requests to" if direction == "to" else
                                      "answers from", ids[0])


def nf_delay(net, rng):
    ids, ms = _some(net, rng), rng.choice([5, 20, 50])
    for f in net.faults(ids):
        f.delay(ms, jitter_ms=ms // 4, a=net.coordinator(), b=[net.replica(i) for i in ids])
    return "+%d ms each way to replicas %s" % (ms, ids)


def nf_loss(net, rng):
    ids, pct = _some(net, rng), rng.choice([5, 10, 20])
    for f in net.faults(ids):
        f.loss(pct, a=net.coordinator(), b=[net.replica(i) for i in ids])
    return "%d%% loss to replicas %s" % (pct, ids)


NET_FAULTS = [
    ("partition-drop", 3, lambda net, rng: nf_partition_replica(net, rng, "drop")),
    ("partition-reset", 2, lambda net, rng: nf_partition_replica(net, rng, "reset")),
    ("coordinator-cut-off", 2, nf_partition_coordinator),
    ("one-direction", 2, nf_one_direction),
    ("delay", 2, nf_delay),
    ("loss", 2, nf_loss),
]
HOLD_S = (0.5, 4.0)        # how long a network fault lasts
PAUSE_S = (0.3, 2.5)       # how long a pause lasts: a round stays undecided that long, and
                           # test_nemesis reads an epoch's keys 5 s after its last op


class Nemesis:
    """Kills random processes of the cluster with SIGKILL until stopped; with wipe > 0,
    that fraction of its steps instead kills a replica and deletes its data files (a lost
    disk) before the launcher restarts it -- only while every replica is ready, so one
    replica at a time has lost its data (the coordinator repairs it from a healthy one).
    With pause > 0, that fraction of its steps SIGSTOPs a process for HOLD_S and SIGCONTs
    it. With a net (see NET_FAULTS), a fraction net_share of its steps applies a network
    fault from the table for HOLD_S, then heals it -- and at least every NET_DUE-th step,
    so that a short run always has some (a 45 s run with wipes drew none, by chance,
    with seed 168439148). Likewise a kill at least every KILL_DUE-th step (crash.nemesis_wipe
    with network faults drew one kill in 35 s, by chance, with seed 1615754632), and with
    wipe > 0 a wipe tried at least every WIPE_DUE-th step (it happens only while every
    replica is ready, else it stays due: crash.nemesis_wipe drew none in 35 s with seed
    1530218702)."""

    NET_DUE = 6
    KILL_DUE = 4
    WIPE_DUE = 5

    def __init__(self, cluster, seed, t0, interval=(1.5, 3.0), wipe=0.0, pause=0.0,
                 net=None, net_share=0.4):
        self.cluster, self.t0, self.interval, self.wipe = cluster, t0, interval, wipe
        self.pause, self.net, self.net_share = pause, net, net_share if net else 0.0
        self.rng = random.Random("%s-nemesis" % seed)
        self.kills = []          # (ms since t0, process name, pid)
        self.wipes = []          # (ms since t0, replica name)
        self.pauses = []         # (ms since t0, process name, seconds)
        self.netfaults = []      # (ms since t0, description, seconds)
        self.net_kinds = {}      # NET_FAULTS row name -> times applied
        self.since_net = 0       # steps since the last network fault
        self.since_kill = 0      # steps since the last kill
        self.since_wipe = 0      # steps since the last wipe
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stop_flag.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "nemesis thread did not stop"

    def run(self):
        names = self.cluster.process_names()
        try:
            while not self.stop_flag.wait(self.rng.uniform(*self.interval)):
                self.step(names)
        finally:
            if self.net:
                self.net.heal()

    def step(self, names):
        self.since_net += 1
        self.since_kill += 1
        if self.net and self.since_net >= self.NET_DUE:
            self.net_fault()
            return
        self.since_wipe += 1
        if self.wipe and self.since_wipe >= self.WIPE_DUE and \
                self.wipe_one(self.rng.choice(names[1:])):
            return
        if self.since_kill >= self.KILL_DUE:
            self.kill(self.rng.choice(names))
            return
        if self.wipe and self.rng.random() < self.wipe:
            self.wipe_one(self.rng.choice(names[1:]))
            return
        # drawn only when there is a choice: a kill-only run replays older seeds' schedules
        q = self.rng.random() if self.net_share or self.pause else 1.0
        if q < self.net_share:
            self.net_fault()
            return
        if q < self.net_share + self.pause:
            self.pause_one(self.rng.choice(names))
            return
        p = self.rng.random()
        n = len(names) if p < 0.05 else 2 if p < 0.15 else 1
        for name in self.rng.sample(names, n):
            self.kill(name)

    def hold(self, span=HOLD_S):
        """Waits span (seeded), or less if the nemesis is stopped; returns the seconds."""
        secs = self.rng.uniform(*span)
        t = time.monotonic()
        self.stop_flag.wait(secs)
        return time.monotonic() - t

    def net_fault(self):
        weights = [w for _, w, _ in NET_FAULTS]
        name, _, apply = self.rng.choices(NET_FAULTS, weights)[0]
        at = (now() - self.t0) / 1e6
        try:
            what = apply(self.net, self.rng)
            secs = self.hold()
        finally:
            self.net.heal()
        self.since_net = 0
        self.netfaults.append((at, what, secs))
        self.net_kinds[name] = self.net_kinds.get(name, 0) + 1

    def pause_one(self, name):
        """SIGSTOP a live process for HOLD_S, then SIGCONT (also when stopped early)."""
        pid = self.cluster.pid_of(name)
        if pid is None or not pid_alive(pid) or not self.cluster.owns(pid):
            return
        at = (now() - self.t0) / 1e6
        try:
            os.kill(pid, signal.SIGSTOP)
        except OSError:
            return
        try:
            secs = self.hold(PAUSE_S)
        finally:
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
        self.pauses.append((at, name, secs))

    def faults(self):
        return len(self.kills) + len(self.wipes) + len(self.pauses) + len(self.netfaults)

    def all_ready(self):
        try:
            info = self.cluster.info(timeout=1.0)
        except Exception:  # the coordinator is down or busy: no wipe now
            return False
        return info.get("replicas_ready") == str(self.cluster.replicas)

    def wipe_one(self, name):
        """kill -9 a replica and delete its data files, if every replica is ready; True if
        it did."""
        if not self.all_ready() or not self.kill(name):
            return False
        d = self.cluster.replica_dir(int(name.split("-")[1]))
        pid = self.kills[-1][2]
        wait_pid_gone(pid, 5.0)
        for f in os.listdir(d):
            if f.startswith(("votes.log", "data.sqlite")):
                try:
                    os.unlink(os.path.join(d, f))
                except OSError:
                    pass
        self.wipes.append(((now() - self.t0) / 1e6, name))
        self.since_wipe = 0
        return True

    def kill(self, name):
        pid = self.cluster.pid_of(name)
        if pid is None or not pid_alive(pid) or not self.cluster.owns(pid):
            return False        # down already (being restarted)
        self.cluster.known_pids.add(pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            return False
        self.kills.append(((now() - self.t0) / 1e6, name, pid))
        self.since_kill = 0
        return True

    def line(self):
        by = {}
        for _, name, _ in self.kills:
            by[name] = by.get(name, 0) + 1
        kinds = self.net_kinds
        return "kills: %d (%s)%s%s%s" % (len(self.kills), ", ".join(
            "%s %d" % kv for kv in sorted(by.items())),
            "; disks wiped: %d (%s)" % (len(self.wipes), ", ".join(
                "%.0f ms %s" % w for w in self.wipes)) if self.wipe else "",
            "; pauses: %d" % len(self.pauses) if self.pause else "",
            "; network faults: %d (%s)" % (len(self.netfaults), ", ".join(
                "%s %d" % kv for kv in sorted(kinds.items()))) if self.net else "")

    def near(self, ms, window=3000):
        return (["%.0f ms: kill -9 %s (pid %d)" % k for k in self.kills
                 if abs(k[0] - ms) <= window] +
                ["%.0f ms: SIGSTOP %s for %.1f s" % p for p in self.pauses
                 if abs(p[0] - ms) <= window] +
                ["%.0f ms: %s for %.1f s" % n for n in self.netfaults
                 if abs(n[0] - ms) <= window])

    def events(self):
        """Every fault, in time order, for a failure report."""
        ev = ([(k[0], "kill -9 %s" % k[1]) for k in self.kills] +
              [(w[0], "wipe %s" % w[1]) for w in self.wipes] +
              [(p[0], "SIGSTOP %s %.1f s" % (p[1], p[2])) for p in self.pauses] +
              [(n[0], "%s %.1f s" % (n[1], n[2])) for n in self.netfaults])
        return "; ".join("%.0f %s" % e for e in sorted(ev))

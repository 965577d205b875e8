"""test_partition.py -- the crash test's workload (tests/crash/workload.py: 8 clients,
random SET / DEL / INCRBY / GET / MSET, every op recorded) against a 1 + 3 cluster on four
simulated hosts, deployed over SSH by deploy/fabfile.py, while a nemesis partitions the
network with nftables rules inside a host's namespace and now and then SIGKILLs a daemon
(restarted by the deploy tasks, as an operator would):

  one replica cut off, both ways (silent drop)          replica host: in + out on its port
  one replica, one way only (its replies dropped, or the coordinator's requests dropped)
  one replica refusing (tcp reset)
  the coordinator cut off from every replica            coordinator host
  SIGKILL of a replica or the coordinator, restart after ~1 s

Each fault lasts 0.5-3 s, one every 1.5-3 s (seeded: TWOPC_PARTITION_SEED replays the
schedule). The cluster runs with min-replicas 2 and down-after-ms 1000, so writes go on
without a replica cut off for long. Then everything heals, and the test checks, as the
crash test does: each key's history is linearizable (tests/crash/lincheck.py), no write a
client saw fail is visible, no acknowledged write is lost, and DEBUG DIGEST converges
(every replica the same data) once the partitions are healed.

The rules are plain `nft` in the host's network namespace (`ip netns exec`); helper
tooling for delay and loss (NFQUEUE) is not used here.
"""

import os
import random
import sys
import threading
import time


HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "crash"))

import lincheck  # noqa: E402
from test_nemesis import Checker, assert_linearizable, final_values, wait_digest  # noqa: E402
from workload import Workload  # noqa: E402

REPLICA_PORT = 7379
TABLE = "twopc_nemesis"


def seconds():
    return float(os.environ.get("TWOPC_PARTITION_SECONDS") or 40)


class NetNemesis:
    """Partitions by nft rules in a host's namespace, and kills; one fault at a time."""

    def __init__(self, cluster, seed):
        self.c, self.rng = cluster, random.Random("partition-%d" % seed)
        self.stop_flag = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.events, self.error = [], None
        self.t0 = time.monotonic()

    def nft(self, host, rules):
        self.c.hosts.run(host, "nft -f - <<'EOF'\n%s\nEOF" % rules)

    def heal(self, host):
        self.c.hosts.run(host, "nft delete table inet %s" % TABLE, check=False)

    def rules(self, chain_rules):
        text = "table inet %s {\n" % TABLE
        for hook, rule in chain_rules:
            text += ("  chain %s { type filter hook %s priority 0; policy accept; %s; }\n"
                     % (hook, hook, rule))
        return text + "}"

    def fault(self):
        kind = self.rng.choice(["both", "replies", "requests", "reset", "coordinator",
                                "both", "kill"])
        replica = self.rng.choice(["r1", "r2", "r3"])
        secs = self.rng.uniform(0.5, 3.0)
        p = REPLICA_PORT
        if kind == "kill":
            name = self.rng.choice(["r1", "r2", "r3", "coord"])
            node = self.c.node(name)
            self.c.hosts.ssh(name, "kill -9 $(cat %s)" % node.pidfile, check=False)
            self.log("SIGKILL %s" % name)
            time.sleep(1.0)
            self.c.deploy.start_node(node, timeout=30)
            self.log("restarted %s" % name)
            return
        if kind == "coordinator":
            host, rules = "coord", [("output", "tcp dport %d drop" % p),
                                    ("input", "tcp sport %d drop" % p)]
        elif kind == "both":
            host, rules = replica, [("input", "tcp dport %d drop" % p),
                                    ("output", "tcp sport %d drop" % p)]
        elif kind == "replies":
            host, rules = replica, [("output", "tcp sport %d drop" % p)]
        elif kind == "requests":
            host, rules = replica, [("input", "tcp dport %d drop" % p)]
        else:
            host, rules = replica, [("input", "tcp dport %d reject with tcp reset" % p)]
        self.nft(host, self.rules(rules))
        self.log("partition %s %s for %.1f s" % (kind, host, secs))
        self.stop_flag.wait(secs)
        self.heal(host)
        self.log("healed %s" % host)

    def log(self, what):
        self.events.append((time.monotonic() - self.t0, what))

    def run(self):
        try:
            while not self.stop_flag.is_set():
                if self.stop_flag.wait(self.rng.uniform(1.5, 3.0)):
                    break
                self.fault()
        except Exception as e:  # reported by the test
            self.error = e

    def start(self):
        self.t.start()

    def stop(self):
        self.stop_flag.set()
        self.t.join(60)
        for h in ("coord", "r1", "r2", "r3"):
            self.heal(h)

    def count(self, word):
        return sum(1 for _, w in self.events if w.startswith(word))

    def line(self):
        return "%d partitions, %d kills" % (self.count("partition"), self.count("SIGKILL"))


def test_partitions(sim_cluster, summary):
    seed = int(os.environ.get("TWOPC_PARTITION_SEED") or random.randrange(1 << 31))
    where = "(seed %d; replay with TWOPC_PARTITION_SEED=%d)" % (seed, seed)
    summary("seed %d, %.0f s of partitions" % (seed, seconds()))
    c = sim_cluster("min-replicas 2\ndown-after-ms 1000\n")
    wl = Workload(c, seed)
    checker = Checker(wl, where)
    nem = NetNemesis(c, seed)
    wl.start()
    nem.start()
    try:
        end = time.monotonic() + seconds()
        while time.monotonic() < end:
            time.sleep(0.5)
            assert wl.alive(), "a client thread died %s" % where
            assert nem.error is None, "the nemesis failed %s: %r" % (where, nem.error)
            checker.check_finished_epochs()
    finally:
        nem.stop()
        wl.stop()
    events = "; ".join("%.1f %s" % e for e in nem.events)
    summary(nem.line())
    assert nem.error is None, "the nemesis failed %s: %r\n%s" % (where, nem.error, events)
    # about one partition in 5 s is expected; a kill (restarted over SSH) takes longer
    assert nem.count("partition") >= seconds() / 10, "too few partitions: " + events
    t0 = time.monotonic()
    c.deploy.wait_in_sync(timeout=60)
    summary("all replicas in sync %.1f s after the last fault healed" % (
        time.monotonic() - t0))
    wl.final_reads()
    summary(wl.counts.line())
    summary(wl.counts.error_line())
    finals = final_values(wl.history())
    checker.check_rest()
    res = checker.result
    summary(res.summary())
    assert_linearizable(res, where, "faults (s since start): " + events)
    ok = wl.counts.total("ok")
    assert ok > 200, "only %d ops succeeded under partitions %s" % (ok, where)
    digest = wait_digest(c, where, timeout=60)
    summary("DEBUG DIGEST %s after healing; %d keys read at the end" % (
        digest.decode() if isinstance(digest, bytes) else digest, len(finals)))
    assert lincheck  # the checker module the crash tests share

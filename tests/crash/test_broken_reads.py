"""test_broken_reads.py -- the crash test's checker must catch a real stale read.

The cluster runs with TWOPC_FAILPOINTS=coord.bug.reply_before_commit: the
coordinator answers OK before it sends COMMIT to the replicas and delays the
COMMIT by 200 ms, so a read that starts after a write was acknowledged can
still return the older value.  The random workload of the nemesis test runs
(no nemesis), plus a hot key (a fresh one every 100 writes): one writer SETs
it to fresh values and, on each OK, tells three readers, who GET the key at
once -- after the OK arrived, so an older value there is a linearizability
violation.

  test_checker_catches_stale_reads   with the bug: the checker MUST report
                                     "not-linearizable"; the test fails if it
                                     calls the history linearizable.
  test_same_workload_without_bug     the control: the same workload on a
                                     correct cluster is linearizable, so the
                                     first test does not pass merely because
                                     the checker rejects everything.
The seed (TWOPC_NEMESIS_SEED) and the run's numbers are printed in the
"twopc crash summary" section.
"""

import os
import random
import threading
import time

import lincheck
from workload import Client, Workload

HOT_WRITES_PER_KEY = 100    # the hot key moves on, to keep each key's history short
BUG = "coord.bug.reply_before_commit"
SECONDS = float(os.environ.get("TWOPC_BROKEN_READS_SECONDS") or 12)


class HotKey:
    """One writer publishing each acknowledged value; readers GET right after."""

    def __init__(self, wl, readers=3):
        self.writer = Client(wl, 100)
        self.readers = [Client(wl, 101 + i) for i in range(readers)]
        self.cond = threading.Condition()
        self.published = 0          # how many acknowledged writes so far
        self.key = self.key_for(0)  # the hot key of the last published write
        self.reads_after_ack = 0

    def loops(self):
        return [self.write_loop] + [
            (lambda stop, r=r: self.read_loop(r, stop)) for r in self.readers]

    @staticmethod
    def key_for(n):
        return b"hot:%d" % (n // HOT_WRITES_PER_KEY)

    def write_loop(self, stop):
        n = 0
        while not stop.is_set() and self.writer.connect(stop):
            key = self.key_for(n)
            outcome, _, _ = self.writer.do_set(key)
            if outcome == "ok":
                n += 1
                with self.cond:      # after the response time was recorded
                    self.published, self.key = n, key
                    self.cond.notify_all()
            else:
                time.sleep(0.01)

    def read_loop(self, reader, stop):
        seen = 0
        while not stop.is_set():
            with self.cond:
                self.cond.wait_for(lambda: self.published > seen or stop.is_set(), 0.5)
                fresh = self.published > seen
                seen, key = self.published, self.key
            if not fresh or not reader.connect(stop):
                continue
            if reader.do_get(key)[0] == "ok":
                self.reads_after_ack += 1


def run_workload(make_cluster, summary, env):
    seed = int(os.environ.get("TWOPC_NEMESIS_SEED") or random.randrange(1 << 31))
    summary("seed %d (replay: TWOPC_NEMESIS_SEED=%d), failpoints %r"
            % (seed, seed, env.get("TWOPC_FAILPOINTS")))
    cluster = make_cluster(env=env)
    wl = Workload(cluster, seed)
    hot = HotKey(wl)
    wl.start(extra=hot.loops())
    try:
        end = time.monotonic() + SECONDS
        while time.monotonic() < end:
            time.sleep(0.2)
            assert wl.alive(), "a client thread died (seed %d)" % seed
    finally:
        wl.stop()
    wl.final_reads()
    history = wl.history()
    res = lincheck.check(history, timeout_s=60, t0=wl.t0, time_unit=1e6, unit_name=" ms")
    summary(wl.counts.line())
    summary("hot key: %d acknowledged writes, %d reads right after an OK"
            % (hot.published, hot.reads_after_ack))
    summary(res.summary())
    assert hot.published >= 10 and hot.reads_after_ack >= 10, \
        "the hot-key workload did too little to test anything (seed %d)" % seed
    return seed, res


def test_checker_catches_stale_reads(make_cluster, summary):
    seed, res = run_workload(make_cluster, summary, {"TWOPC_FAILPOINTS": BUG})
    assert res.ok is False, (
        "the checker did not detect the stale reads of %s (seed %d):\n%s"
        % (BUG, seed, res.report()))
    stale = [v for v in res.violations if v.kind == "not-linearizable"]
    assert stale, "no stale read among the violations (seed %d):\n%s" % (seed, res.report())
    hot = [v for v in stale if v.key.startswith(b"hot:")] or stale
    summary("detected as expected (%s); e.g.\n    %s" % (
        ", ".join("%d %s" % (sum(v.kind == k for v in res.violations), k)
                  for k in res.kinds()),
        "\n    ".join(hot[0].message.splitlines()[:14])))


def test_same_workload_without_bug(make_cluster, summary):
    seed, res = run_workload(make_cluster, summary, {})
    assert res.ok is True, "a correct cluster's history was rejected (seed %d):\n%s" % (
        seed, res.report())

"""test_nemesis.py -- the randomized crash test: 8 clients run random SET /
DEL / INCRBY / GET / MSET on ~20 keys while a nemesis SIGKILLs a random
process of the cluster (coordinator or a replica; sometimes two, sometimes all
four) every 1.5-3 s.  The launcher restarts each.  Logs are compacted under
fire (--log-max-bytes 65536).

The clients move to a fresh set of 20 keys every 20 s (an epoch, see
workload.py).  5 s after an epoch is over, while the nemesis goes on, the test
reads its keys, checks its history and forgets it (a 30-minute soak needs no
more memory than a minute), remembering the values it read ("settled"
values).  This assumes that 5 s after the last op on a key began, every round
touching it is decided: a client gives up after 3 s, a round aborts after the
500 ms prepare timeout, and a restarted coordinator finishes its committed
rounds before it serves reads (the settling reads wait for that).

At the end, with the nemesis stopped and the cluster ready again, every client
GETs every key once more, and the test checks
  (a) each history is linearizable (tests/crash/lincheck.py, per key);
  (b) no write the client saw fail (error reply) is visible;
  (c) every acknowledged write is present or overwritten by a later one (the
      final reads against the acknowledged writes; for settled epochs: every
      key still holds its settled value, whatever was killed since);
  (d) DEBUG DIGEST agrees, the three replicas' SQLite tables are identical,
      and equal to what the final reads returned;
  (e) the nemesis really struck: at least DURATION/5 faults, DURATION/15 kills;
and that the logs stayed bounded.

With TWOPC_NEMESIS_WIPE=p (crash.nemesis_wipe), a fraction p of the nemesis's steps
wipe a replica's disk instead (kill -9, delete votes.log and data.sqlite): the coordinator
must never read it before it repaired it from a healthy replica, and (a)-(d) hold as
before; (f) at least one wipe happened and a repair ran (the coordinator's log).

The nemesis also pauses processes (SIGSTOP for 0.3-2.5 s, a tenth of its steps) and, where
network namespaces and nftables are available (root), runs the whole cluster in a fresh
network namespace and spends 40 % of its steps on network faults for 0.5-4 s each, then
heals them: one replica cut off (silent drop or TCP reset), the coordinator cut off from
every replica, one direction only, delay (tests/tools/nfdelay) and loss -- the table
NET_FAULTS in workload.py, applied through tests/lib/netfault.py. (a)-(d) hold as before,
and (e) counts every fault.

Environment: TWOPC_NEMESIS_NET=0 turns the network faults off, TWOPC_NEMESIS_PAUSE=p sets
the pause share (default 0.1). TWOPC_NEMESIS_SECONDS (default 60), TWOPC_NEMESIS_SEED (replays
a run's random choices; printed on every run in "twopc crash summary"),
TWOPC_NEMESIS_FAILPOINTS (passed to the cluster as TWOPC_FAILPOINTS: crash
points such as coord.commit.after_log=exit@40 add deaths at exact protocol
steps -- then (e) is not asserted; coord.bug.reply_before_commit shows what a
failure report looks like).
"""

import os
import random
import time

import pytest
import redis

import lincheck
import netfault
from lincheck import READ, Op, Violation, fmt_key, fmt_val
from workload import Nemesis, Workload, now

LOG_MAX_BYTES = 65536
LOG_BOUND = 16 * LOG_MAX_BYTES      # a log past this was not compacted
SETTLE_NS = 5 * 10 ** 9             # > socket timeout: no op of the epoch in flight


def duration():
    return float(os.environ.get("TWOPC_NEMESIS_SECONDS") or 60)


def seed_from_env():
    s = os.environ.get("TWOPC_NEMESIS_SEED")
    return int(s) if s else random.randrange(1 << 31)


class Checker:
    """Checks epochs as they finish, then the rest at the end; keeps one
    merged lincheck.Result and the settled values of forgotten epochs."""

    def __init__(self, wl, where):
        self.wl, self.where = wl, where
        self.result = lincheck.Result()
        self.checked = set()
        self.settled = {}            # key -> (value, ms since t0 of its read)
        self.unknown = {}            # key -> values of its unknown-outcome writes
        self.conn = None

    def check(self, history):
        res = lincheck.check(history, timeout_s=60, t0=self.wl.t0, time_unit=1e6,
                             unit_name=" ms")
        self.result.merge(res)
        return res

    def read_keys(self, keys, timeout=30):
        """One completed GET of each key as Ops (retried through the kills)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.conn is None:
                    self.conn = self.wl.cluster.client(socket_timeout=3)
                pipe = self.conn.pipeline(transaction=False)
                for k in keys:
                    pipe.execute_command("GET", k)
                t0 = now()
                replies = pipe.execute()
                t1 = now()
                return [Op("checker", k, READ, None, v, t0, t1, desc="settling GET")
                        for k, v in zip(keys, replies)]
            except (redis.exceptions.RedisError, OSError) as e:
                self.conn = None
                if time.monotonic() > deadline:
                    pytest.fail("could not read the keys of a finished epoch for "
                                "%d s %s: %s" % (timeout, self.where, e))
                time.sleep(0.1)

    def check_finished_epochs(self):
        """Check and forget every epoch over for SETTLE_NS, with fresh reads
        of its keys appended to its history."""
        for e in self.wl.epochs():
            if e in self.checked or now() < self.wl.epoch_end(e) + SETTLE_NS:
                continue
            group = self.wl.epoch_group(e)
            reads = self.read_keys(self.wl.all_keys([e]))
            for op in reads:
                self.wl.record(op)
            history = self.wl.history([group])
            self.check(history)
            for op in history:
                if op.unknown and op.kind != READ:
                    self.unknown.setdefault(op.key, []).append(op.input)
            for op in reads:
                self.settled[op.key] = (op.output, (op.invoke - self.wl.t0) / 1e6)
            self.wl.forget(group)
            self.checked.add(e)

    def check_rest(self):
        """After the final reads: the unchecked epochs' histories, and every
        final read of a settled key against its settled value."""
        rest = [self.wl.epoch_group(e) for e in self.wl.epochs()
                if e not in self.checked]
        self.check(self.wl.history(rest))
        changed = {}
        for e in sorted(self.checked):
            for op in self.wl.history([self.wl.epoch_group(e)]):
                value, at = self.settled[op.key]
                if op.kind == READ and op.output != value:
                    changed.setdefault(op.key, (value, at, op))
        for key, (value, at, op) in sorted(changed.items()):
            late = op.output in self.unknown.get(key, ())
            self.result.violations.append(Violation(
                "lost-acked-write", key,
                "key %s held %s when its epoch was over (read at %.0f ms, no client "
                "wrote it since), but at the end\n  %s\n%s"
                % (fmt_key(key), fmt_val(value), at,
                   lincheck.fmt_op(op, self.wl.t0, 1e6, " ms"),
                   "(a write whose client lost its connection took effect more than "
                   "5 s after its epoch ended: a round decided that late?)" if late else
                   "(an acknowledged write lost, or an old value back after a crash)")))


def wait_digest(cluster, where, timeout=30):
    """DEBUG DIGEST until every replica answers; a DIVERGENCE fails at once."""
    deadline = time.monotonic() + timeout
    r = cluster.client(socket_timeout=10)
    while True:
        try:
            return r.execute_command("DEBUG", "DIGEST")
        except (redis.exceptions.RedisError, OSError) as e:   # still syncing
            msg = str(e)
            assert "DIVERGENCE" not in msg, "replicas diverge %s: %s" % (where, msg)
            if time.monotonic() > deadline:
                pytest.fail("DEBUG DIGEST kept failing %s: %s" % (where, msg))
            time.sleep(0.2)


def wait_sqlite_identical(cluster, where, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        rows = [cluster.sqlite_dict(i) for i in range(1, cluster.replicas + 1)]
        if all(r == rows[0] for r in rows):
            return rows[0]
        if time.monotonic() > deadline:
            diffs = []
            for i in range(1, len(rows)):
                keys = set(rows[0]) | set(rows[i])
                bad = [k for k in sorted(keys) if rows[0].get(k) != rows[i].get(k)]
                diffs.append("replica 1 vs %d: %d keys differ, e.g. %s" % (
                    i + 1, len(bad), ", ".join("%r: %r != %r" % (
                        k, rows[0].get(k), rows[i].get(k)) for k in bad[:5])))
            pytest.fail("replicas' SQLite differ %s after %d s:\n%s"
                        % (where, timeout, "\n".join(diffs)))
        time.sleep(0.2)


def log_sizes(cluster):
    sizes = {"decision.log": os.path.getsize(os.path.join(cluster.coordinator_dir,
                                                          "decision.log"))}
    for i in range(1, cluster.replicas + 1):
        sizes["replica-%d/votes.log" % i] = os.path.getsize(
            os.path.join(cluster.replica_dir(i), "votes.log"))
    return sizes


def assert_linearizable(res, where, faults):
    """Fails unless the checker's result res says linearizable: (b) a failed write visible
    and (c) a lost acknowledged write get their own words, (a) covers the rest; faults is
    the fault list put after the report."""
    if res.ok:
        return
    text = res.report() + "\n" + faults
    kinds = res.kinds()
    assert "failed-write-visible" not in kinds, \
        "a write the client saw fail is visible %s\n%s" % (where, text)
    assert "lost-acked-write" not in kinds, \
        "an acknowledged write was lost %s\n%s" % (where, text)
    assert res.ok is not None, "history too big to check %s\n%s" % (where, text)
    pytest.fail("history is not linearizable %s\n%s" % (where, text))


def final_values(history):
    """{key: value of its latest final GET}."""
    out, last = {}, {}
    for op in history:
        if op.desc == "final GET" and op.invoke >= last.get(op.key, -1):
            last[op.key] = op.invoke
            out[op.key] = op.output
    return out


@pytest.fixture
def nemesis_netns():
    """A fresh namespace the test runs in (clusters made after it start inside), or None
    where network faults are off or impossible; listed before make_cluster."""
    if os.environ.get("TWOPC_NEMESIS_NET", "1") == "0" or netfault.unavailable():
        yield None
        return
    with netfault.namespace() as name:
        yield name


def test_nemesis(nemesis_netns, make_cluster, summary):
    seed = seed_from_env()
    secs = duration()
    where = "(seed %d; replay with TWOPC_NEMESIS_SEED=%d)" % (seed, seed)
    summary("seed %d, %.0f s of nemesis  -- replay: TWOPC_NEMESIS_SEED=%d "
            "TWOPC_NEMESIS_SECONDS=%.0f" % (seed, secs, seed, secs))
    fps = os.environ.get("TWOPC_NEMESIS_FAILPOINTS")
    cluster = make_cluster(args=["--log-max-bytes", LOG_MAX_BYTES],
                           env={"TWOPC_FAILPOINTS": fps} if fps else None)
    wl = Workload(cluster, seed)
    checker = Checker(wl, where)
    wl.start()
    wipe = float(os.environ.get("TWOPC_NEMESIS_WIPE") or 0)
    pause = float(os.environ.get("TWOPC_NEMESIS_PAUSE") or 0.1)
    net = netfault.LocalNet(nemesis_netns, cluster.replica_ports) if nemesis_netns else None
    if net is None:
        summary("network faults off: %s" % (netfault.unavailable() or "TWOPC_NEMESIS_NET=0"))
    nem = Nemesis(cluster, seed, wl.t0, wipe=wipe, pause=pause, net=net)
    nem.start()
    try:
        end = time.monotonic() + secs
        while time.monotonic() < end:
            time.sleep(0.5)
            assert wl.alive(), "a client thread died %s" % where
            checker.check_finished_epochs()
    finally:
        nem.stop()
        wl.stop()
    summary(nem.line())
    cluster.wait_ready(timeout=30)
    wl.final_reads()
    summary(wl.counts.line())
    summary(wl.counts.error_line())
    finals = final_values(wl.history())
    checker.check_rest()
    res = checker.result
    summary(res.summary() + "; %d epochs checked during the run" % len(checker.checked))
    assert_linearizable(res, where, "nemesis faults (ms since start): " + nem.events())

    # (d) the replicas agree, with each other and with the final reads
    digest = wait_digest(cluster, where)
    rows = wait_sqlite_identical(cluster, where)
    wrong = {k: (v, rows.get(k)) for k, v in finals.items() if rows.get(k) != v}
    assert not wrong, "SQLite differs from the final reads %s: %s" % (
        where, sorted(wrong.items())[:10])
    summary("DEBUG DIGEST %s; 3 replicas identical, %d keys" % (
        digest.decode() if isinstance(digest, bytes) else digest, len(rows)))

    # logs compacted under fire stay bounded (invariant 6)
    sizes = log_sizes(cluster)
    summary("log sizes: " + ", ".join("%s %d" % kv for kv in sorted(sizes.items())))
    big = {k: v for k, v in sizes.items() if v > LOG_BOUND}
    assert not big, "logs not compacted (limit %d) %s: %r" % (LOG_MAX_BYTES, where, big)

    # (e) the nemesis did its job (failpoints kill processes too, and the nemesis
    # spares those already down), and the clients theirs
    assert fps or nem.faults() >= secs / 5, "only %d faults in %.0f s %s" % (
        nem.faults(), secs, where)
    assert fps or len(nem.kills) >= secs / 15, "only %d kills in %.0f s %s" % (
        len(nem.kills), secs, where)
    assert not net or nem.netfaults, "no network fault in %.0f s %s" % (secs, where)
    assert wl.counts.total("ok") > 100 * secs / 60, "too few ops completed %s: %s" % (
        where, wl.counts.line())

    # (f) with the wipe nemesis: disks were wiped, and wiped replicas were repaired (the
    # coordinator's log keeps every repair across its restarts; INFO counts since the last)
    if wipe:
        with open(os.path.join(cluster.coordinator_dir, "twopc-server.log"), "rb") as f:
            log = f.read().decode("utf-8", "replace")
        repaired = log.count(" repaired from ")
        summary("disks wiped: %d; repairs: %d (coordinator log), %d abandoned and retried"
                % (len(nem.wipes), repaired, log.count(" stopped (")))
        assert nem.wipes, "the nemesis wiped no disk %s" % where
        assert repaired >= 1, "no replica was repaired %s" % where

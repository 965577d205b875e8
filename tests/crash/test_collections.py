"""test_collections.py -- the crash test with collection operations (issue #14, item 8):
hash counters, a sorted set of members, and a sorted set used as a work queue, under the
nemesis of test_nemesis.py (SIGKILL of any process, sometimes several; SIGSTOP pauses).

Six client threads, each with its own connection (redis-py, 3 s socket timeout):
  counter  (2)  HINCRBY h:counters c<id> 1, over and over. Each client knows how many of
                its increments were acknowledged (a) and how many have an unknown outcome
                (u: timeout, closed connection, an "outcome unknown" error). At the end the
                field must hold a value v with a <= v <= a + u: no acknowledged increment
                lost, none applied twice, nothing invented.
  adder    (2)  ZADD z:members <seq> <id>.<seq>: every acknowledged member must be in the
                sorted set at the end; a member whose ZADD got an error reply (the round
                aborted) must not.
  pool     (2)  one producer ZADDs unique items <id>.<seq> to z:pool (score: its sequence,
                a priority queue); one consumer takes them with ZPOPMIN. At the end: no item
                was handed out twice (by acknowledged ZPOPMINs), every item the consumer got
                was produced, and every acknowledged ZADD is either handed out or still in
                the pool -- except at most one per ZPOPMIN whose outcome is unknown (its item
                may have been popped with the reply lost, as with Redis).
  queue    (3)  a list used as a job queue: one producer RPUSHes unique items <id>.<seq> to
                q:list; one consumer takes them with BLPOP (0.2 s timeout: a blocked pop
                lives through the faults on the coordinator), one with LPOP. The same
                checks as the pool (nothing handed out twice, nothing invented, every
                acknowledged push handed out or still queued, but for pops with an unknown
                outcome), and each consumer got its items in the order they were pushed.
Then, with the nemesis stopped: DEBUG DIGEST agrees on every replica (it covers the
collections' elements), and the nemesis did strike (at least DURATION/5 faults).

Environment: TWOPC_COLLECTIONS_SECONDS (default 30), TWOPC_NEMESIS_SEED (replay).
"""

import os
import random
import threading
import time

import redis

from test_nemesis import seed_from_env, wait_digest
from workload import Nemesis, now

HOLD = 3.0  # socket timeout: a reply later than this is an unknown outcome


def duration():
    return float(os.environ.get("TWOPC_COLLECTIONS_SECONDS") or 30)


class Worker:
    """One thread and its connection; call() classifies every reply."""

    def __init__(self, cluster, name):
        self.cluster, self.name = cluster, name
        self.r = None
        self.counts = {"ok": 0, "error": 0, "unknown": 0}
        self.errors = {}
        self.died = None

    def call(self, *args):
        if self.r is None:
            try:
                self.r = self.cluster.client(socket_timeout=HOLD, single_connection_client=True)
            except (redis.exceptions.RedisError, OSError):
                time.sleep(0.05)
                return "unknown", None
        try:
            reply = self.r.execute_command(*args)
            outcome = "ok"
        except redis.exceptions.ResponseError as e:
            text = str(e)
            self.errors[text[:60]] = self.errors.get(text[:60], 0) + 1
            # "outcome unknown" errors (a coordinator that lost its replicas mid-round)
            # leave the write undecided for the client
            outcome, reply = ("unknown" if "unknown" in text.lower() else "error"), text
        except (redis.exceptions.RedisError, OSError):
            try:
                self.r.close()
            except Exception:
                pass
            self.r = None
            outcome, reply = "unknown", None
        self.counts[outcome] += 1
        return outcome, reply


def run_threads(cluster, seed, secs, stop):
    rng = random.Random("%s-collections" % seed)
    state = {
        "counter": {},           # id -> [acked, unknown]
        "added": set(), "add_failed": set(),
        "produced": set(), "produced_unknown": set(),
        "popped": [], "pop_unknown": 0,
        "pushed": set(), "pushed_unknown": set(),
        "taken": {"blpop": [], "lpop": []}, "take_unknown": 0,
    }
    workers = []

    def counter(w, cid):
        acked = unknown = 0
        while not stop.is_set():
            outcome, _ = w.call("HINCRBY", "h:counters", "c%d" % cid, 1)
            if outcome == "ok":
                acked += 1
            elif outcome == "unknown":
                unknown += 1
            state["counter"][cid] = (acked, unknown)
            time.sleep(rng.uniform(0, 0.01))

    def adder(w, cid):
        seq = 0
        while not stop.is_set():
            seq += 1
            m = "%d.%d" % (cid, seq)
            outcome, _ = w.call("ZADD", "z:members", seq, m)
            if outcome == "ok":
                state["added"].add(m)
            elif outcome == "error":
                state["add_failed"].add(m)
            time.sleep(rng.uniform(0, 0.01))

    def producer(w, cid):
        seq = 0
        while not stop.is_set():
            seq += 1
            m = "%d.%d" % (cid, seq)
            outcome, _ = w.call("ZADD", "z:pool", seq, m)
            if outcome == "ok":
                state["produced"].add(m)
            elif outcome == "unknown":
                state["produced_unknown"].add(m)
            time.sleep(rng.uniform(0, 0.01))

    def consumer(w, _cid):
        while not stop.is_set():
            outcome, reply = w.call("ZPOPMIN", "z:pool")
            if outcome == "ok" and reply:
                state["popped"].append(reply[0].decode())
            elif outcome == "unknown":
                state["pop_unknown"] += 1
            if outcome == "ok" and not reply:
                time.sleep(0.01)   # the pool is empty: let the producer get ahead

    def pusher(w, cid):
        seq = 0
        while not stop.is_set():
            seq += 1
            m = "%d.%d" % (cid, seq)
            outcome, _ = w.call("RPUSH", "q:list", m)
            if outcome == "ok":
                state["pushed"].add(m)
            elif outcome == "unknown":
                state["pushed_unknown"].add(m)
            time.sleep(rng.uniform(0, 0.01))

    def taker(how):
        def take(w, _cid):
            while not stop.is_set():
                if how == "blpop":
                    outcome, reply = w.call("BLPOP", "q:list", "0.2")
                    item = reply[1] if outcome == "ok" and reply else None
                else:
                    outcome, reply = w.call("LPOP", "q:list")
                    item = reply if outcome == "ok" else None
                if item:
                    state["taken"][how].append(item.decode())
                elif outcome == "unknown":
                    state["take_unknown"] += 1
                if outcome == "ok" and not item and how == "lpop":
                    time.sleep(0.01)
        take.__name__ = how
        return take

    def wrap(fn, w, cid):
        def run():
            try:
                fn(w, cid)
            except Exception as e:  # reported by the test, not lost in a thread
                w.died = repr(e)
        return run

    for cid, fn in enumerate((counter, counter, adder, adder, producer, consumer, pusher,
                              taker("blpop"), taker("lpop"))):
        w = Worker(cluster, fn.__name__)
        workers.append(w)
        threading.Thread(target=wrap(fn, w, cid), daemon=True).start()
    return state, workers


def test_collections_under_nemesis(make_cluster, summary):
    seed = seed_from_env()
    secs = duration()
    where = "(seed %d; replay with TWOPC_NEMESIS_SEED=%d)" % (seed, seed)
    cluster = make_cluster()
    stop = threading.Event()
    state, workers = run_threads(cluster, seed, secs, stop)
    nem = Nemesis(cluster, seed, now(), pause=0.1)
    nem.start()
    try:
        end = time.monotonic() + secs
        while time.monotonic() < end:
            time.sleep(0.5)
            died = [w.died for w in workers if w.died]
            assert not died, "a client thread died %s: %s" % (where, died)
    finally:
        nem.stop()
        stop.set()
    time.sleep(HOLD + 0.5)   # every thread's last call has returned
    summary("collections: seed %d, %.0f s; %s" % (seed, secs, nem.line()))
    summary("collections: " + "; ".join("%s %s" % (w.name, w.counts) for w in workers))
    cluster.wait_ready(timeout=30)
    r = cluster.client(socket_timeout=30)

    # counters: a <= v <= a + u
    fields = {k.decode(): int(v) for k, v in r.hgetall("h:counters").items()}
    for cid, (acked, unknown) in state["counter"].items():
        v = fields.get("c%d" % cid, 0)
        assert acked <= v <= acked + unknown, (
            "HINCRBY counter c%d holds %d: %d acknowledged, %d unknown %s"
            % (cid, v, acked, unknown, where))
    assert r.hlen("h:counters") == len(state["counter"])

    # members: acknowledged present, refused absent
    members = {m.decode() for m in r.zrange("z:members", 0, -1)}
    lost = state["added"] - members
    assert not lost, "acknowledged ZADDs lost %s: %s" % (where, sorted(lost)[:10])
    ghosts = state["add_failed"] & members
    assert not ghosts, "ZADDs answered with an error are in the set %s: %s" % (
        where, sorted(ghosts)[:10])
    assert r.zcard("z:members") == len(members)

    # the pool: no double delivery, no invented item, no acknowledged item lost beyond
    # what ZPOPMINs with an unknown outcome may have taken
    popped = state["popped"]
    twice = {m for m in popped if popped.count(m) > 1}
    assert not twice, "items handed out twice %s: %s" % (where, sorted(twice)[:10])
    left = {m.decode() for m in r.zrange("z:pool", 0, -1)}
    produced = state["produced"] | state["produced_unknown"]
    invented = (set(popped) | left) - produced
    assert not invented, "items nobody produced %s: %s" % (where, sorted(invented)[:10])
    both = set(popped) & left
    assert not both, "items handed out and still in the pool %s: %s" % (
        where, sorted(both)[:10])
    missing = state["produced"] - set(popped) - left
    assert len(missing) <= state["pop_unknown"], (
        "%d acknowledged items neither handed out nor in the pool, but only %d ZPOPMINs with "
        "an unknown outcome %s: %s" % (len(missing), state["pop_unknown"], where,
                                        sorted(missing)[:10]))
    summary("collections: counters %s; %d members; pool: %d produced, %d handed out, %d "
            "left, %d unaccounted (%d ZPOPMINs unknown)" % (
                fields, len(members), len(state["produced"]), len(popped), len(left),
                len(missing), state["pop_unknown"]))

    # the list queue: the same, plus FIFO order per consumer
    taken = state["taken"]["blpop"] + state["taken"]["lpop"]
    twice = {m for m in taken if taken.count(m) > 1}
    assert not twice, "list items handed out twice %s: %s" % (where, sorted(twice)[:10])
    queued = [m.decode() for m in r.lrange("q:list", 0, -1)]
    pushed = state["pushed"] | state["pushed_unknown"]
    invented = (set(taken) | set(queued)) - pushed
    assert not invented, "list items nobody pushed %s: %s" % (where, sorted(invented)[:10])
    assert not set(taken) & set(queued), "list items handed out and still queued %s" % where
    missing = state["pushed"] - set(taken) - set(queued)
    assert len(missing) <= state["take_unknown"], (
        "%d acknowledged pushes neither handed out nor queued, but only %d pops with an "
        "unknown outcome %s: %s" % (len(missing), state["take_unknown"], where,
                                     sorted(missing)[:10]))
    seqs = lambda items: [int(m.split(".")[1]) for m in items]  # noqa: E731
    for how, items in state["taken"].items():
        assert seqs(items) == sorted(seqs(items)), "%s got items out of order %s" % (
            how, where)
    assert seqs(queued) == sorted(seqs(queued)), "the queue is out of order %s" % where
    summary("collections: list queue: %d pushed, %d by BLPOP, %d by LPOP, %d queued, %d "
            "unaccounted (%d pops unknown)" % (
                len(state["pushed"]), len(state["taken"]["blpop"]),
                len(state["taken"]["lpop"]), len(queued), len(missing),
                state["take_unknown"]))

    digest = wait_digest(cluster, where)
    summary("collections: DEBUG DIGEST %s" % digest)
    assert nem.faults() >= secs / 5, "only %d faults in %.0f s %s" % (
        nem.faults(), secs, where)
    assert sum(w.counts["ok"] for w in workers) > 100, "too few ops completed %s: %s" % (
        where, [w.counts for w in workers])

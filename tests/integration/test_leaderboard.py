"""test_leaderboard.py -- a sorted-set leaderboard the way applications keep one (redis-py:
ZINCRBY from several threads, ZREVRANGE ... WITHSCORES for the top 10, ZRANK), while
replica 2 is killed with SIGKILL and restarted by the launcher.

Each writer thread adds whole points to random players and records, per player, the sum
of the increments acknowledged (lo) and of every increment sent, acknowledged or not (hi):
afterwards every player's score lies in [lo, hi] (no acknowledged increment lost, none
invented), ZREVRANGE 0 9 WITHSCORES is the top 10 of the whole set in Redis's order (score
descending, ties by member descending), ZRANK/ZREVRANK agree with the positions, and the
replicas' digests agree. A reader thread checks throughout that each top 10 it reads is
in order.
"""

import random
import threading
import time

import redis

from conftest import wait_pid_gone

N_WRITERS = 4
PLAYERS = [b"player:%02d" % i for i in range(40)]


class Board:
    def __init__(self, cluster):
        self.cluster = cluster
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.lo = {p: 0 for p in PLAYERS}
        self.hi = {p: 0 for p in PLAYERS}
        self.acked = 0
        self.tops = 0
        self.problems = []
        self.threads = [threading.Thread(target=self.write, args=(t,), daemon=True)
                        for t in range(N_WRITERS)]
        self.threads.append(threading.Thread(target=self.read, daemon=True))

    def write(self, tid):
        rng = random.Random(tid)
        r = None
        while not self.stop_flag.is_set():
            p, by = rng.choice(PLAYERS), rng.randint(1, 9)
            with self.lock:
                self.hi[p] += by
            try:
                if r is None:
                    r = self.cluster.client(socket_timeout=5, retry_on_timeout=False)
                score = r.zincrby(b"board", by, p)
                with self.lock:
                    self.lo[p] += by
                    self.acked += 1
                    if score > self.hi[p] or score < by:  # others may be acked later
                        self.problems.append((p, score, self.lo[p], self.hi[p]))
            except redis.exceptions.ResponseError:
                time.sleep(0.01)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
                r = None
                time.sleep(0.02)

    def read(self):
        r = None
        while not self.stop_flag.is_set():
            try:
                if r is None:
                    r = self.cluster.client(socket_timeout=5, retry_on_timeout=False)
                top = r.zrevrange(b"board", 0, 9, withscores=True)
            except (redis.exceptions.RedisError, OSError):
                r = None
                time.sleep(0.02)
                continue
            if top != sorted(top, key=lambda e: (e[1], e[0]), reverse=True):
                with self.lock:
                    self.problems.append(("top 10 out of order", top))
            with self.lock:
                self.tops += 1
            time.sleep(0.005)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join(30)

    def wait_acked(self, n, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if self.acked >= n:
                    return
            assert time.monotonic() < deadline, "only %d increments acknowledged" % self.acked
            time.sleep(0.01)


def test_leaderboard_kill_replica(cluster):
    with Board(cluster) as b:
        b.wait_acked(300)
        pid = cluster.kill_replica(2)
        assert wait_pid_gone(pid, 5.0)
        cluster.wait_ready()          # the launcher restarted it; it replayed its log
        b.wait_acked(b.acked + 300)
    assert not b.problems, b.problems[:5]
    assert b.tops > 0
    r = cluster.client(socket_timeout=10)
    whole = r.zrange(b"board", 0, -1, withscores=True)
    scores = dict(whole)
    assert r.zcard(b"board") == len(whole)
    for p in PLAYERS:
        if b.lo[p] or b.hi[p]:
            s = scores.get(p, 0)
            assert b.lo[p] <= s <= b.hi[p], (p, b.lo[p], s, b.hi[p])
        else:
            assert p not in scores, p
    order = sorted(whole, key=lambda e: (e[1], e[0]))
    assert whole == order
    assert r.zrevrange(b"board", 0, 9, withscores=True) == order[::-1][:10]
    for i, (p, _) in enumerate(order):
        assert r.zrank(b"board", p) == i
        assert r.zrevrank(b"board", p) == len(order) - 1 - i
    deadline = time.monotonic() + 10
    while True:   # every replica applies the last rounds, then their data agree
        conn = cluster.raw()
        digest = conn.command(b"DEBUG", b"DIGEST")
        conn.close()
        if isinstance(digest, bytes) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert isinstance(digest, bytes) and len(digest) == 16, digest

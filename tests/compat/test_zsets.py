"""test_zsets.py -- sorted sets (and the generic key commands on them) against a real
redis-server 7, reply for reply.

Seeded random sequences over a small key space mix the sorted-set commands (small integer
and fractional scores, inf and -inf, ties, NaN-producing increments, every range form with
its exclusive bounds, LIMIT, REV and WITHSCORES, the set algebra, ZMPOP) with DEL,
EXPIRE, TYPE, RENAME, COPY, EXISTS, TTL and string and hash commands on the same keys (so WRONGTYPE errors both ways
are compared), one command at a time, in pipelined batches (one 2PC round: each op
evaluated on top of the ones before it) and in MULTI/EXEC blocks, over RESP2 and RESP3
(HELLO 3 on both servers for a whole sequence). Replies must be byte-identical -- a sorted
set's order is (score, member) on both sides -- except:

    kind      commands                        compared as
    scan      ZSCAN (a whole iteration)       the same set of (member, score) pairs
    random    ZRANDMEMBER                     errors identical; nil on both or neither; the
                                              same count and type; every member is in the
                                              set (with its score under WITHSCORES);
                                              distinct members for a positive count

At the end of a sequence the whole keyspace (types, TTLs, every sorted set's
ZRANGE 0 -1 WITHSCORES, every hash, every string) is compared.

TWOPC_COMPAT_SEED=<n> replays a run; TWOPC_COMPAT_SEQUENCES (default 60) and
TWOPC_COMPAT_STEPS (default 80) change its size.
"""

import os
import random

from conftest import resp_encode, resp_parse
from test_collections import full_hscan, run_all
from test_differential import TTL_MS_SLACK, fmt, randcase, split_array

SEED = int(os.environ.get("TWOPC_COMPAT_SEED") or random.SystemRandom().randrange(1 << 32))
SEQUENCES = int(os.environ.get("TWOPC_COMPAT_SEQUENCES") or 60)
STEPS = int(os.environ.get("TWOPC_COMPAT_STEPS") or 80)

KEYS = [b"z0", b"z1", b"z2", b"h0", b"", b"\x00bin"]
MEMBERS = [b"a", b"b", b"c", b"d", b"", b"\xff\x00", b"a b", b"aa", b"B"]
SCORES = [b"0", b"1", b"2", b"-1", b"1.5", b"0.1", b"-2.25", b"3", b"inf", b"-inf", b"+inf",
          b"1e3", b"-0", b"10", b"1"]
BAD_SCORES = [b"abc", b"", b"nan", b" 1", b"1x", b"1e400"]
BOUNDS = [b"0", b"1", b"(1", b"-1", b"(0", b"1.5", b"(1.5", b"inf", b"-inf", b"(inf",
          b"(-inf", b"+inf", b"2", b"(3", b"x", b"", b"(", b"nan"]
LEX = [b"-", b"+", b"[a", b"(a", b"[b", b"(c", b"[", b"(", b"[aa", b"a", b"+x", b"[d"]
RANKS = [b"0", b"1", b"-1", b"2", b"-2", b"10", b"-10", b"x", b"9223372036854775807",
         b"-9223372036854775808"]
COUNTS = [b"0", b"1", b"2", b"3", b"-1", b"-3", b"10", b"-10", b"abc", b"",
          b"-9223372036854775808", b"9223372036854775807", b"4611686018427387904"]
PATTERNS = [b"*", b"a*", b"?", b"", b"[ab]"]


class Gen:
    """Random sorted-set, generic, hash and string commands on a few keys."""

    def __init__(self, rng):
        self.rng = rng

    def key(self):
        return self.rng.choice(KEYS)

    def members(self, lo=1, hi=4):
        return [self.rng.choice(MEMBERS) for _ in range(self.rng.randint(lo, hi))]

    def score(self):
        return self.rng.choice(SCORES) if self.rng.random() < 0.95 else \
            self.rng.choice(BAD_SCORES)

    def c_write(self):
        r, k = self.rng, self.key()
        opts = [o for o in (b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR")
                if r.random() < 0.12]
        r.shuffle(opts)
        pairs = []
        for m in self.members(1, 3 if b"INCR" not in opts or r.random() < 0.2 else 1):
            pairs += [self.score(), m]
        return "exact", r.choice([
            [randcase(r, b"ZADD"), k] + opts + pairs,
            [b"ZADD", k] + pairs,
            [b"ZINCRBY", k, self.score(), r.choice(MEMBERS)],
            [b"ZREM", k] + self.members(),
            [b"ZPOPMIN", k] + ([r.choice(COUNTS)] if r.random() < 0.5 else []),
            [b"ZPOPMAX", k] + ([r.choice(COUNTS)] if r.random() < 0.5 else []),
            [b"ZREMRANGEBYRANK", k, r.choice(RANKS), r.choice(RANKS)],
            [b"ZREMRANGEBYSCORE", k, r.choice(BOUNDS), r.choice(BOUNDS)],
            [b"ZREMRANGEBYLEX", k, r.choice(LEX), r.choice(LEX)],
            [b"ZRANGESTORE", r.choice(KEYS), k] + self.range_args(store=True),
            [r.choice([b"ZUNIONSTORE", b"ZINTERSTORE", b"ZDIFFSTORE"]), r.choice(KEYS)] +
            self.setop_args(),
            self.zmpop(),
        ])

    def zmpop(self):
        r = self.rng
        keys = [self.key() for _ in range(r.randint(1, 3))]
        n = len(keys) if r.random() < 0.9 else r.choice([0, -1, 5])
        args = [b"ZMPOP", b"%d" % n] + keys + [r.choice([b"MIN", b"max", b"mid"])]
        if r.random() < 0.5:
            args += [b"COUNT", r.choice([b"1", b"2", b"10", b"0", b"-1", b"x"])]
        if r.random() < 0.03:
            args.append(b"COUNT")
        return args

    def setop_args(self, withscores=False, diff=False):
        r = self.rng
        keys = [self.key() for _ in range(r.randint(1, 3))]
        n = len(keys) if r.random() < 0.95 else r.choice([0, -1, 5])
        args = [b"%d" % n] + keys
        if not diff and r.random() < 0.3:
            args += [b"WEIGHTS"] + [r.choice([b"1", b"2", b"0", b"-1", b"0.5", b"inf",
                                               b"x"]) for _ in keys]
        if not diff and r.random() < 0.3:
            args += [b"AGGREGATE", r.choice([b"SUM", b"MIN", b"max", b"avg"])]
        if withscores and r.random() < 0.5:
            args.append(b"WITHSCORES")
        return args

    def range_args(self, store=False):
        r = self.rng
        by = r.choice([b"", b"", b"BYSCORE", b"BYLEX"])
        if by == b"BYSCORE":
            args = [r.choice(BOUNDS), r.choice(BOUNDS), by]
        elif by == b"BYLEX":
            args = [r.choice(LEX), r.choice(LEX), by]
        else:
            args = [r.choice(RANKS), r.choice(RANKS)]
        if r.random() < 0.3:
            args.append(b"REV")
        if r.random() < (0.5 if by else 0.05):
            args += [b"LIMIT", r.choice(RANKS), r.choice(RANKS)]
        if not store and r.random() < 0.4:
            args.append(r.choice([b"WITHSCORES", b"withscores"]))
        if r.random() < 0.03:
            args.append(b"bad")
        r.shuffle(args[2:]) if r.random() < 0.1 and b"LIMIT" not in args else None
        return args

    def c_read(self):
        r, k = self.rng, self.key()
        choice = r.randint(0, 12)
        if choice == 0:
            args = [b"ZSCAN", k, b"0"]
            if r.random() < 0.4:
                args += [b"MATCH", r.choice(PATTERNS)]
            if r.random() < 0.4:
                args += [b"COUNT", r.choice([b"1", b"2", b"100"])]
            return "scan", args
        if choice == 1:
            args = [b"ZRANDMEMBER", k]
            if r.random() < 0.7:
                args.append(r.choice(COUNTS))
                if r.random() < 0.5:
                    args.append(r.choice([b"WITHSCORES", b"withscores", b"bad"]))
            return "random", args
        ws = [b"WITHSCORES"] if r.random() < 0.4 else []
        lim = [b"LIMIT", r.choice(RANKS), r.choice(RANKS)] if r.random() < 0.3 else []
        return "exact", r.choice([
            [b"ZSCORE", k, r.choice(MEMBERS)],
            [b"ZMSCORE", k] + self.members(),
            [b"ZCARD", k],
            [b"ZRANK", k, r.choice(MEMBERS)],
            [b"ZREVRANK", k, r.choice(MEMBERS)],
            [b"ZCOUNT", k, r.choice(BOUNDS), r.choice(BOUNDS)],
            [b"ZLEXCOUNT", k, r.choice(LEX), r.choice(LEX)],
            [randcase(r, b"ZRANGE"), k] + self.range_args(),
            [b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"],
            [r.choice([b"ZUNION", b"ZINTER"])] + self.setop_args(withscores=True),
            [b"ZDIFF"] + self.setop_args(withscores=True, diff=True),
            [b"ZINTERCARD"] + self.setop_args(diff=True) +
            ([b"LIMIT", r.choice([b"0", b"1", b"-1", b"x"])] if r.random() < 0.4 else []),
            [b"ZREVRANGE", k, r.choice(RANKS), r.choice(RANKS)] + ws,
            [b"ZRANGEBYSCORE", k, r.choice(BOUNDS), r.choice(BOUNDS)] + ws + lim,
            [b"ZREVRANGEBYSCORE", k, r.choice(BOUNDS), r.choice(BOUNDS)] + ws + lim,
            [b"ZRANGEBYLEX", k, r.choice(LEX), r.choice(LEX)] + lim,
            [b"ZREVRANGEBYLEX", k, r.choice(LEX), r.choice(LEX)] + lim,
        ])

    def c_errors(self):
        r, k = self.rng, self.key()
        return "exact", r.choice([
            [b"ZADD", k, b"1"], [b"ZADD", k, b"1", b"a", b"2"], [b"ZADD", k],
            [b"ZADD", k, b"NX", b"XX", b"1", b"a"], [b"ZADD", k, b"GT", b"LT", b"1", b"a"],
            [b"ZADD", k, b"INCR", b"1", b"a", b"2", b"b"], [b"ZADD", k, b"NX", b"GT", b"1", b"a"],
            [b"ZINCRBY", k, b"nx", b"a"], [b"ZSCORE", k], [b"ZCARD"], [b"ZRANK", k],
            [b"ZRANGE", k, b"0"], [b"ZRANGE", k, b"0", b"1", b"LIMIT", b"0", b"1"],
            [b"ZRANGE", k, b"[a", b"[b", b"BYLEX", b"WITHSCORES"],
            [b"ZRANGEBYSCORE", k, b"0", b"1", b"REV"], [b"ZRANGESTORE", k, k, b"0", b"1",
                                                       b"WITHSCORES"],
            [b"ZPOPMIN", k, b"1", b"2"], [b"ZPOPMIN", k, b"-1"], [b"ZSCAN", k, b"abc"],
            [b"ZSCAN", k, b"0", b"COUNT", b"0"], [b"ZREM", k], [b"ZRANDMEMBER"],
            [b"ZCOUNT", k, b"a", b"1"], [b"ZLEXCOUNT", k, b"a", b"b"],
        ])

    def c_generic(self):
        r, k, k2 = self.rng, self.key(), self.key()
        return r.choice([
            ("exact", [b"DEL", k]), ("exact", [b"EXISTS", k, k2]), ("exact", [b"TYPE", k]),
            ("exact", [b"EXPIRE", k, b"1000"]), ("exact", [b"PEXPIRE", k, b"-1"]),
            ("exact", [b"PERSIST", k]), ("ttl", [b"TTL", k]),
            ("exact", [b"RENAME", k, k2]), ("exact", [b"RENAMENX", k, k2]),
            ("exact", [b"COPY", k, k2] + ([b"REPLACE"] if r.random() < 0.5 else [])),
            ("exact", [b"UNLINK", k2]),
        ])

    def c_other(self):
        r, k = self.rng, self.key()
        return "exact", r.choice([
            [b"SET", k, b"v"], [b"GET", k], [b"INCR", k], [b"APPEND", k, b"x"],
            [b"HSET", k, b"f", b"1"], [b"HGET", k, b"f"], [b"HLEN", k],
            [b"SET", k, b"v", b"GET"], [b"GETDEL", k],
        ])

    def command(self):
        return self.rng.choice([self.c_write] * 5 + [self.c_read] * 5 + [self.c_generic] * 2 +
                               [self.c_other, self.c_errors])()


def same(kind, a, b):
    if kind == "exact" or a.startswith(b"-") or b.startswith(b"-"):
        return a == b
    ra, rb = resp_parse(a)[0], resp_parse(b)[0]
    if kind == "ttl":
        if not (isinstance(ra, int) and isinstance(rb, int)) or ra < 0 or rb < 0:
            return ra == rb
        return abs(ra - rb) <= 1
    raise AssertionError(kind)


def check_random(pair, args, a, b):
    """ZRANDMEMBER: see the module's table. None or a description."""
    if a.startswith(b"-") or b.startswith(b"-"):
        return None if a == b else "replies differ"
    ra, rb = resp_parse(a)[0], resp_parse(b)[0]
    if len(args) == 2:
        if (ra is None) != (rb is None):
            return "nil on one side only"
        if rb is not None and pair.one(pair.twopc, [b"ZSCORE", args[1], rb]) is None:
            return "picked %r, not a member" % (rb,)
        return None
    if a[:1] != b[:1] or len(ra) != len(rb):
        return "count or type differs"
    if ra and type(ra[0]) is not type(rb[0]):
        return "element types differ"
    whole = pair.one(pair.twopc, [b"ZRANGE", args[1], b"0", b"-1", b"WITHSCORES"]) or []
    if whole and isinstance(whole[0], list):
        whole = [x for p in whole for x in p]
    scores = dict(zip(whole[::2], whole[1::2]))
    withscores = len(args) == 4
    if withscores and rb and isinstance(rb[0], list):  # RESP3 pairs
        picked = [tuple(p) for p in rb]
    elif withscores:
        picked = list(zip(rb[::2], rb[1::2]))
    else:
        picked = [(m, scores.get(m)) for m in rb]
    for m, s in picked:
        if m not in scores or scores[m] != s:
            return "picked %r=%r, not in the set %r" % (m, s, scores)
    if int(args[2]) > 0 and len({m for m, _ in picked}) != len(picked):
        return "repeated members for a positive count"
    return None


def compare(pair, kind, args):
    if kind == "scan":
        a, b = full_hscan(pair, pair.redis, args), full_hscan(pair, pair.twopc, args)
        return None if a == b else "ZSCAN differs: redis %r twopc %r" % (a, b)
    a, b = pair.send(args)
    if kind == "random":
        problem = check_random(pair, args, a, b)
        return problem and "%s: redis %r twopc %r" % (problem, a, b)
    return None if same(kind, a, b) else "redis %r\n  twopc %r" % (a, b)


def compare_batch(pair, batch, multi):
    cmds = [args for _, args in batch]
    if multi:
        cmds = [[b"MULTI"]] + cmds + [[b"EXEC"]]
    data = b"".join(resp_encode(*c) for c in cmds)
    pair.redis.send(data)
    pair.twopc.send(data)
    ra = [pair.redis.read_raw() for _ in cmds]
    rb = [pair.twopc.read_raw() for _ in cmds]
    if not multi:
        for (kind, args), a, b in zip(batch, ra, rb):
            if not same(kind, a, b):
                return "in a pipeline, %s:\n  redis %r\n  twopc %r" % (fmt(args), a, b)
        return None
    if ra[:-1] != rb[:-1]:
        return "MULTI replies differ: redis %r twopc %r" % (ra[:-1], rb[:-1])
    ea, eb = split_array(ra[-1]), split_array(rb[-1])
    if ea is None or eb is None or len(ea) != len(eb):
        return None if ra[-1] == rb[-1] else "EXEC: redis %r twopc %r" % (ra[-1], rb[-1])
    for (kind, args), a, b in zip(batch, ea, eb):
        if not same(kind, a, b):
            return "inside MULTI, %s:\n  redis %r\n  twopc %r" % (fmt(args), a, b)
    return None


def keyspace(pair, conn):
    out = {}
    for k in pair.one(conn, [b"KEYS", b"*"]):
        t = pair.one(conn, [b"TYPE", k])
        if t == b"zset":
            conn.send(resp_encode(b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"))
            value = conn.read_raw()
        elif t == b"list":
            conn.send(resp_encode(b"LRANGE", k, b"0", b"-1"))
            value = conn.read_raw()
        elif t == b"hash":
            items = pair.one(conn, [b"HGETALL", k])
            value = sorted(zip(items[::2], items[1::2])) if isinstance(items, list) else \
                sorted(items.items())
        else:
            value = pair.one(conn, [b"GET", k])
        out[k] = (t, value, pair.one(conn, [b"PTTL", k]))
    return out


def compare_keyspace(pair):
    a, b = keyspace(pair, pair.redis), keyspace(pair, pair.twopc)
    if sorted(a) != sorted(b):
        return "keys differ: redis %r twopc %r" % (sorted(a), sorted(b))
    for k in a:
        (ta, va, pa), (tb, vb, pb) = a[k], b[k]
        if ta != tb or va != vb or ((pa < 0 or pb < 0) and pa != pb) or \
                abs(pa - pb) > TTL_MS_SLACK:
            return "key %r: redis %r twopc %r" % (k, a[k], b[k])
    return None


BATCHABLE = ("exact", "ttl")


def run_sequence(pair, rng, counts, history, gen_class=None):
    gen = (gen_class or Gen)(rng)
    step = 0
    while step < STEPS:
        mode = rng.choice(["single", "single", "pipeline", "multi"])
        size = 1 if mode == "single" else rng.randint(2, 8)
        batch = []
        while len(batch) < size and step < STEPS:
            kind, args = gen.command()
            history.append(args)
            counts[kind] = counts.get(kind, 0) + 1
            step += 1
            if kind in BATCHABLE:
                batch.append((kind, args))
                continue
            problem = (batch and compare_batch(pair, batch, mode == "multi")) or \
                compare(pair, kind, args)
            if problem:
                return step - 1, args, problem
            batch = []
        problem = batch and compare_batch(pair, batch, mode == "multi")
        if problem:
            return step - 1, batch[-1][1], problem
    problem = compare_keyspace(pair)
    return (step - 1, [b"(the whole keyspace)"], problem) if problem else None


def run_compat(name, gen_class, redis_server, module_cluster):
    """test_collections.run_all with this module's run_sequence (test_lists.py too)."""
    run_all(redis_server, module_cluster, name, gen_class, run_sequence)


def test_zsets(redis_server, module_cluster):
    run_compat("zsets", Gen, redis_server, module_cluster)

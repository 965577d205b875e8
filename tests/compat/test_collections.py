"""test_collections.py -- hashes and sets (and the generic key commands on them) against a
real redis-server 7, reply for reply.

Seeded random sequences over a small key space mix the hash commands with DEL, EXPIRE,
TYPE, RENAME, COPY, EXISTS, TTL and string commands on the same keys (so WRONGTYPE errors
both ways are compared), one command at a time, in pipelined batches (one 2PC round: each
op evaluated on top of the ones before it) and in MULTI/EXEC blocks, over RESP2 and RESP3
(HELLO 3 on both servers for a whole sequence). Replies must be byte-identical, except:

    kind      commands                        compared as
    sorted    HKEYS, HVALS, SMEMBERS, SINTER, the same type byte; the same elements, sorted
              SUNION, SDIFF
    pairs     HGETALL                         the same type byte; the same (field, value)s
    scan      HSCAN, SSCAN (whole iterations) the same set of (field, value) pairs / members
    random    HRANDFIELD, SRANDMEMBER, SPOP   errors identical; nil on both or neither; the
                                              same count and type byte; every pick is in the
                                              hash or set (with its value under WITHVALUES);
                                              distinct picks for a positive count
SPOP removes different members on the two servers; after the comparison twopc's set is
brought to Redis's (SADD / SREM of the members only one side popped), so the sequence goes
on from identical data.

Element order is not Redis's (twopc lists fields and members by a hash of the element, see
replica/cmd_hash.h), which is why listings compare as multisets. At the end of a sequence
the whole keyspace (types, TTLs, every hash's fields and values, every set's members, every
string) is compared.

TWOPC_COMPAT_SEED=<n> replays a run; TWOPC_COMPAT_SEQUENCES (default 60) and
TWOPC_COMPAT_STEPS (default 80) change its size.
"""

import os
import random
import time

import pytest

from conftest import RespConn, resp_encode, resp_parse  # noqa: F401
from test_differential import TTL_MS_SLACK, Pair, fmt, randcase, split_array

SEED = int(os.environ.get("TWOPC_COMPAT_SEED") or random.SystemRandom().randrange(1 << 32))
SEQUENCES = int(os.environ.get("TWOPC_COMPAT_SEQUENCES") or 60)
STEPS = int(os.environ.get("TWOPC_COMPAT_STEPS") or 80)

KEYS = [b"h0", b"h1", b"h2", b"s0", b"", b"\x00bin"]
FIELDS = [b"f0", b"f1", b"f2", b"f3", b"", b"\xff\x00", b"a b", b"n"]
VALUES = [b"", b"v", b"0", b"1", b"-7", b"10", b"1.5", b"abc", b"9223372036854775807",
          b"-9223372036854775808", b"\x00\r\n", b"x" * 70]
INTS = [b"0", b"1", b"-1", b"5", b"-100", b"9223372036854775807", b"-9223372036854775808",
        b"abc", b"", b"1.5", b" 1"]
FLOATS = [b"0", b"1", b"-1.5", b"0.1", b"1e3", b"abc", b"", b"inf", b"-inf", b"nan",
          b"1e308", b"5.0e3", b" 1"]
COUNTS = [b"0", b"1", b"2", b"3", b"-1", b"-3", b"10", b"-10", b"abc", b"",
          b"-9223372036854775808", b"9223372036854775807", b"4611686018427387904"]
PATTERNS = [b"*", b"f*", b"f[0-1]", b"?", b"", b"a*"]


class Gen:
    """Random hash, generic and string commands on a few keys."""

    def __init__(self, rng):
        self.rng = rng

    def key(self):
        return self.rng.choice(KEYS)

    def fields(self, lo=1, hi=4):
        return [self.rng.choice(FIELDS) for _ in range(self.rng.randint(lo, hi))]

    def name(self, word):
        return randcase(self.rng, word)

    def c_write(self):
        r, k = self.rng, self.key()
        pairs = []
        for f in self.fields():
            pairs += [f, r.choice(VALUES)]
        return "exact", r.choice([
            [self.name(b"HSET"), k] + pairs,
            [self.name(b"HMSET"), k] + pairs,
            [b"HSETNX", k, r.choice(FIELDS), r.choice(VALUES)],
            [b"HDEL", k] + self.fields(),
            [b"HINCRBY", k, r.choice(FIELDS), r.choice(INTS)],
            [b"HINCRBYFLOAT", k, r.choice(FIELDS), r.choice(FLOATS)],
        ])

    def c_read(self):
        r, k = self.rng, self.key()
        choice = r.randint(0, 9)
        if choice == 0:
            return "sorted", [r.choice([b"HKEYS", b"HVALS"]), k]
        if choice == 1:
            return "pairs", [b"HGETALL", k]
        if choice == 2:
            args = [b"HSCAN", k, b"0"]
            if r.random() < 0.4:
                args += [b"MATCH", r.choice(PATTERNS)]
            if r.random() < 0.4:
                args += [b"COUNT", r.choice([b"1", b"2", b"100"])]
            return "scan", args
        if choice == 3:
            args = [b"HRANDFIELD", k]
            if r.random() < 0.7:
                args.append(r.choice(COUNTS))
                if r.random() < 0.5:
                    args.append(r.choice([b"WITHVALUES", b"withvalues", b"bad"]))
            return "random", args
        return "exact", r.choice([
            [b"HGET", k, r.choice(FIELDS)],
            [b"HMGET", k] + self.fields(),
            [b"HLEN", k],
            [b"HSTRLEN", k, r.choice(FIELDS)],
            [b"HEXISTS", k, r.choice(FIELDS)],
        ])

    def c_errors(self):
        r, k = self.rng, self.key()
        return "exact", r.choice([
            [b"HSET", k, b"f"], [b"HSET", k, b"f", b"v", b"g"], [b"HMSET", k, b"f", b"v", b"g"],
            [b"HGET", k], [b"HLEN"], [b"HINCRBY", k, b"f"], [b"HSETNX", k, b"f"],
            [b"HSCAN", k, b"abc"], [b"HSCAN", k, b"0", b"COUNT", b"0"],
            [b"HSCAN", k, b"0", b"COUNT", b"x"], [b"HSCAN", k, b"0", b"TYPE", b"hash"],
            [b"HSCAN", k, b"0", b"MATCH"], [b"HRANDFIELD"], [b"HDEL", k],
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

    def c_string(self):
        r, k = self.rng, self.key()
        return "exact", r.choice([
            [b"SET", k, r.choice(VALUES)], [b"GET", k], [b"INCR", k], [b"APPEND", k, b"x"],
            [b"STRLEN", k], [b"GETSET", k, b"v"], [b"SETNX", k, b"v"], [b"MGET", k, b"h1"],
            [b"SET", k, b"v", b"GET"], [b"SET", k, b"v", b"NX"], [b"GETDEL", k],
            [b"SETRANGE", k, b"1", b"x"], [b"GETRANGE", k, b"0", b"-1"],
            [b"INCRBYFLOAT", k, b"1.5"], [b"SETBIT", k, b"3", b"1"], [b"BITCOUNT", k],
        ])

    def command(self):
        return self.rng.choice([self.c_write] * 5 + [self.c_read] * 4 + [self.c_generic] * 2 +
                               [self.c_string, self.c_errors])()


MEMBERS = [b"a", b"b", b"c", b"d", b"1", b"2", b"-3", b"", b"\x00\xff", b"x" * 70]


class SetGen(Gen):
    """Random set commands, with the same generic, string and error commands (and a few
    hash commands, for WRONGTYPE both ways)."""

    KEYS = [b"s0", b"s1", b"s2", b"h0", b""]

    def key(self):
        return self.rng.choice(self.KEYS)

    def members(self, lo=1, hi=4):
        return [self.rng.choice(MEMBERS) for _ in range(self.rng.randint(lo, hi))]

    def keys(self, lo=1, hi=3):
        return [self.key() for _ in range(self.rng.randint(lo, hi))]

    def c_write(self):
        r, k = self.rng, self.key()
        return "exact", r.choice([
            [self.name(b"SADD"), k] + self.members(), [b"SADD", k] + self.members(),
            [b"SREM", k] + self.members(), [b"SMOVE", k, self.key(), r.choice(MEMBERS)],
            [r.choice([b"SINTERSTORE", b"SUNIONSTORE", b"SDIFFSTORE"]), k] + self.keys(),
            [b"HSET", k, b"f", b"v"],
        ])

    def c_read(self):
        r, k = self.rng, self.key()
        choice = r.randint(0, 9)
        if choice <= 1:
            return "sorted", [r.choice([b"SMEMBERS", b"SMEMBERS", b"SINTER", b"SUNION",
                                        b"SDIFF"]), k] + (self.keys(0, 2) if choice else [])
        if choice == 2:
            args = [b"SSCAN", k, b"0"]
            if r.random() < 0.4:
                args += [b"MATCH", r.choice([b"*", b"a*", b"[a-c]", b"?", b""])]
            if r.random() < 0.4:
                args += [b"COUNT", r.choice([b"1", b"2", b"100"])]
            return "scan", args
        if choice == 3:
            args = [r.choice([b"SPOP", b"SRANDMEMBER", b"SRANDMEMBER"]), k]
            if r.random() < 0.7:
                args.append(r.choice(COUNTS))
            return "random", args
        if choice == 4:
            keys = self.keys()
            n = r.choice([len(keys), len(keys), 1, 0, len(keys) + 1, -1])
            args = [b"SINTERCARD", b"%d" % n] + keys
            if r.random() < 0.4:
                args += [b"LIMIT", r.choice([b"0", b"1", b"2", b"-1", b"x"])]
            return "exact", args
        return "exact", r.choice([
            [b"SCARD", k], [b"SISMEMBER", k, r.choice(MEMBERS)],
            [b"SMISMEMBER", k] + self.members(), [b"HGET", k, b"f"], [b"HLEN", k],
        ])

    def c_errors(self):
        r, k = self.rng, self.key()
        return "exact", r.choice([
            [b"SADD", k], [b"SREM", k], [b"SCARD"], [b"SMOVE", k, k], [b"SPOP", k, b"1", b"2"],
            [b"SRANDMEMBER", k, b"1", b"2"], [b"SINTERCARD", b"1"], [b"SINTERCARD", b"x", k],
            [b"SINTERCARD", b"1", k, b"LIMIT"], [b"SINTERCARD", b"1", k, b"BAD", b"1"],
            [b"SSCAN", k, b"x"], [b"SSCAN", k, b"0", b"COUNT", b"0"], [b"SMISMEMBER", k],
            [b"SINTERSTORE", k], [b"SDIFF"],
        ])


def type_byte(raw):
    return raw[:1]


def same(kind, a, b):
    """Whether Redis's raw reply a and twopc's b agree the kind's way (the kinds that need
    no further command)."""
    if kind == "exact" or a.startswith(b"-") or b.startswith(b"-"):
        return a == b
    ra, rb = resp_parse(a)[0], resp_parse(b)[0]
    if kind == "ttl":
        if not (isinstance(ra, int) and isinstance(rb, int)) or ra < 0 or rb < 0:
            return ra == rb
        return abs(ra - rb) <= 1
    if type_byte(a) != type_byte(b) or not isinstance(ra, list) or not isinstance(rb, list):
        return a == b
    if kind == "sorted":
        return sorted(ra, key=repr) == sorted(rb, key=repr)  # nil (GET) sorts too
    if kind == "count":
        return len(ra) == len(rb)
    if kind == "pairs":
        return sorted(zip(ra[::2], ra[1::2])) == sorted(zip(rb[::2], rb[1::2]))
    raise AssertionError(kind)


def full_hscan(pair, conn, args):
    """Every (field, value) an HSCAN iteration returns, or every member of an SSCAN's."""
    found, cursor = set(), b"0"
    for _ in range(10000):
        reply = pair.one(conn, [args[0], args[1], cursor] + args[3:])
        if not isinstance(reply, list):
            return reply
        cursor, items = reply
        if args[0].upper() == b"SSCAN":
            found.update(items)
        else:
            found.update(zip(items[::2], items[1::2]))
        if cursor == b"0":
            return found
    raise AssertionError("HSCAN did not finish: %r" % (args,))


def check_set_random(pair, args, a, b):
    """SRANDMEMBER, SPOP: see the module's table (for SPOP, the members twopc popped are
    checked against the set before the pop, as Redis's reply tells it). None or a
    description."""
    if a.startswith(b"-") or b.startswith(b"-"):
        return None if a == b else "replies differ"
    ra, rb = resp_parse(a)[0], resp_parse(b)[0]
    if len(args) == 2:
        if (ra is None) != (rb is None):
            return "nil on one side only"
        ra, rb = [ra] if ra is not None else [], [rb] if rb is not None else []
    elif type_byte(a) != type_byte(b) or len(ra) != len(rb):
        return "count or type differs"
    spop = args[0].upper() == b"SPOP"
    members = set(pair.one(pair.twopc, [b"SMEMBERS", args[1]]) or [])
    if spop:
        members |= set(rb)  # what the set held before twopc's pop
        members = members - set(ra) | set(ra)
    for m in rb:
        if m not in members:
            return "picked %r, not a member" % (m,)
    if (spop or (len(args) == 3 and int(args[2]) > 0)) and len(set(rb)) != len(rb):
        return "repeated members for a positive count"
    if spop:  # bring twopc's set to Redis's
        only_t, only_r = set(rb) - set(ra), set(ra) - set(rb)
        if only_t:
            pair.one(pair.twopc, [b"SADD", args[1]] + sorted(only_t))
        if only_r:
            pair.one(pair.twopc, [b"SREM", args[1]] + sorted(only_r))
    return None


def check_random(pair, args, a, b):
    """HRANDFIELD: see the module's table. None or a description."""
    if args[0].upper() in (b"SPOP", b"SRANDMEMBER"):
        return check_set_random(pair, args, a, b)
    if a.startswith(b"-") or b.startswith(b"-") or len(args) == 2:
        if len(args) == 2 and not a.startswith(b"-"):
            ra, rb = resp_parse(a)[0], resp_parse(b)[0]
            if (ra is None) != (rb is None):
                return "nil on one side only"
            if rb is not None and pair.one(pair.twopc, [b"HEXISTS", args[1], rb]) != 1:
                return "picked %r, not a field" % (rb,)
            return None
        return None if a == b else "replies differ"
    ra, rb = resp_parse(a)[0], resp_parse(b)[0]
    if type_byte(a) != type_byte(b) or len(ra) != len(rb):
        return "count or type differs"
    whole = dict(zip(*[iter(pair.one(pair.twopc, [b"HGETALL", args[1]]) or [])] * 2))
    withvalues = len(args) == 4
    if b.startswith(b"*") and withvalues and rb and isinstance(rb[0], list):  # RESP3 pairs
        picked = [tuple(p) for p in rb]
    elif withvalues:
        picked = list(zip(rb[::2], rb[1::2]))
    else:
        picked = [(f, whole.get(f)) for f in rb]
    for f, v in picked:
        if f not in whole or whole[f] != v:
            return "picked %r=%r, not in the hash %r" % (f, v, whole)
    if int(args[2]) > 0 and len({f for f, _ in picked}) != len(picked):
        return "repeated fields for a positive count"
    return None


def compare(pair, kind, args):
    if kind == "scan":
        a, b = full_hscan(pair, pair.redis, args), full_hscan(pair, pair.twopc, args)
        return None if a == b else "%s differs: redis %r twopc %r" % (args[0], a, b)
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
        if t == b"hash":
            items = pair.one(conn, [b"HGETALL", k])
            value = sorted(zip(items[::2], items[1::2]))
        elif t == b"set":
            value = sorted(pair.one(conn, [b"SMEMBERS", k]))
        elif t == b"list":
            value = pair.one(conn, [b"LRANGE", k, b"0", b"-1"])
        elif t == b"zset":
            value = pair.one(conn, [b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"])
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


BATCHABLE = ("exact", "sorted", "pairs", "ttl", "count")


def run_sequence(pair, rng, counts, history, gen_class=Gen):
    gen = gen_class(rng)
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


def set_protocol(pair, proto):
    for conn in (pair.redis, pair.twopc):
        conn.send(resp_encode(b"HELLO", proto))
        reply = conn.read_raw()
        assert not reply.startswith(b"-"), reply


def run_all(redis_server, module_cluster, what, gen_class, run=None):
    """SEQUENCES random sequences of gen_class's commands, each compared by run (this
    module's run_sequence by default; test_zsets.py and test_lists.py pass theirs)."""
    run = run or run_sequence
    print("twopc compat %s: TWOPC_COMPAT_SEED=%d, %d sequences x %d steps, "
          "redis-server %s" % (what, SEED, SEQUENCES, STEPS, redis_server.version()))
    pair = Pair(redis_server.port, module_cluster.port)
    t0 = time.monotonic()
    counts = {}
    try:
        for seq in range(SEQUENCES):
            history = []
            rng = random.Random(SEED * 100003 + seq)
            proto = rng.choice([b"2", b"3"])
            set_protocol(pair, proto)
            pair.send([b"FLUSHALL"])
            failure = run(pair, rng, counts, history, gen_class)
            if failure:
                step, args, problem = failure
                pytest.fail("TWOPC_COMPAT_SEED=%d sequence %d (RESP%s) step %d: %s\n  %s\n"
                            "sequence so far:\n    %s"
                            % (SEED, seq, proto.decode(), step, fmt(args), problem,
                               "\n    ".join(fmt(h) for h in history)))
    finally:
        pair.close()
    print("compared %d commands %r in %.1f s"
          % (sum(counts.values()), counts, time.monotonic() - t0))


def test_hashes(redis_server, module_cluster):
    run_all(redis_server, module_cluster, "hashes", Gen)


def test_sets(redis_server, module_cluster):
    run_all(redis_server, module_cluster, "sets", SetGen)

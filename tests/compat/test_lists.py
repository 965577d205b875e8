"""test_lists.py -- lists (and the generic key commands on them) against a real
redis-server 7, reply for reply.

Seeded random sequences over a small key space mix every list command -- pushes and pops
at both ends with and without counts, LINDEX/LSET/LRANGE/LTRIM with indexes in and out of
range, LREM and LINSERT (which shift entries), LPOS with RANK/COUNT/MAXLEN, LMOVE and
RPOPLPUSH (a key onto itself too), LMPOP, and the blocking pops BLPOP, BRPOP, BLMOVE,
BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP with short timeouts (a pop that finds
nothing waits out its timeout on both servers; inside MULTI it answers null at once) --
with DEL, EXPIRE, TYPE, RENAME, COPY, OBJECT ENCODING and string, hash and sorted-set
commands on the same keys (WRONGTYPE both ways), one command at a time, in pipelined
batches (one 2PC round) and in MULTI/EXEC blocks, over RESP2 and RESP3. Replies must be
byte-identical (TTL within a second). At the end of a sequence the whole keyspace (every
list's LRANGE 0 -1 included) is compared.

TWOPC_COMPAT_SEED=<n> replays a run; TWOPC_COMPAT_SEQUENCES and TWOPC_COMPAT_STEPS change
its size (test_zsets.py's defaults).
"""

from test_differential import randcase
from test_zsets import run_compat

KEYS = [b"l0", b"l1", b"l2", b"z0", b"", b"\x00bin"]
VALUES = [b"a", b"b", b"c", b"a", b"", b"\xff\x00", b"a b", b"1", b"-1", b"aa"]
INDEXES = [b"0", b"1", b"-1", b"2", b"-2", b"5", b"-5", b"100", b"-100", b"x", b"",
           b"9223372036854775807", b"-9223372036854775808"]
COUNTS = [b"0", b"1", b"2", b"3", b"-1", b"10", b"x", b"", b"9223372036854775807"]
WHERE = [b"LEFT", b"RIGHT", b"left", b"right", b"up"]
TIMEOUTS = [b"0.01", b"0.02", b"-1", b"x", b"0.01", b"-2", b"inf", b"1e300"]


class Gen:
    """Random list, blocking-pop, generic, string, hash and sorted-set commands."""

    def __init__(self, rng):
        self.rng = rng

    def key(self):
        return self.rng.choice(KEYS)

    def values(self, lo=1, hi=4):
        return [self.rng.choice(VALUES) for _ in range(self.rng.randint(lo, hi))]

    def keys(self):
        return [self.key() for _ in range(self.rng.randint(1, 3))]

    def mpop(self, name, ends, timeout=None):
        r = self.rng
        keys = self.keys()
        n = len(keys) if r.random() < 0.9 else r.choice([0, -1, 5])
        args = [name] + ([timeout] if timeout else []) + [b"%d" % n] + keys + [r.choice(ends)]
        if r.random() < 0.5:
            args += [b"COUNT", r.choice(COUNTS)]
        if r.random() < 0.03:
            args.append(b"COUNT")
        return args

    def c_write(self):
        r, k, k2 = self.rng, self.key(), self.key()
        return "exact", r.choice([
            [randcase(r, b"LPUSH"), k] + self.values(),
            [b"RPUSH", k] + self.values(),
            [b"RPUSH", k] + self.values(3, 8),
            [r.choice([b"LPUSHX", b"RPUSHX"]), k] + self.values(),
            [r.choice([b"LPOP", b"RPOP"]), k] + ([r.choice(COUNTS)] if r.random() < 0.5
                                                 else []),
            [b"LSET", k, r.choice(INDEXES), r.choice(VALUES)],
            [b"LTRIM", k, r.choice(INDEXES), r.choice(INDEXES)],
            [b"LREM", k, r.choice([b"0", b"1", b"-1", b"2", b"-2", b"x"]), r.choice(VALUES)],
            [b"LINSERT", k, r.choice([b"BEFORE", b"after", b"middle"]), r.choice(VALUES),
             r.choice(VALUES)],
            [b"LMOVE", k, r.choice([k, k2]), r.choice(WHERE), r.choice(WHERE)],
            [b"RPOPLPUSH", k, r.choice([k, k2])],
            self.mpop(b"LMPOP", WHERE),
        ])

    def c_block(self):
        r, k, k2 = self.rng, self.key(), self.key()
        t = r.choice(TIMEOUTS)
        return "exact", r.choice([
            [r.choice([b"BLPOP", b"BRPOP"])] + self.keys() + [t],
            [b"BLMOVE", k, r.choice([k, k2]), r.choice(WHERE), r.choice(WHERE), t],
            [b"BRPOPLPUSH", k, k2, t],
            self.mpop(b"BLMPOP", WHERE, t),
            [r.choice([b"BZPOPMIN", b"BZPOPMAX"])] + self.keys() + [t],
            self.mpop(b"BZMPOP", [b"MIN", b"MAX", b"mid"], t),
        ])

    def c_read(self):
        r, k = self.rng, self.key()
        lpos = [b"LPOS", k, r.choice(VALUES)]
        for opt in (b"RANK", b"COUNT", b"MAXLEN"):
            if r.random() < 0.3:
                lpos += [opt, r.choice([b"1", b"-1", b"2", b"-2", b"0", b"x", b"3"])]
        return "exact", r.choice([
            [b"LLEN", k], [b"LINDEX", k, r.choice(INDEXES)],
            [randcase(r, b"LRANGE"), k, r.choice(INDEXES), r.choice(INDEXES)],
            [b"LRANGE", k, b"0", b"-1"], lpos, [b"OBJECT", b"ENCODING", k],
        ])

    def c_errors(self):
        r, k = self.rng, self.key()
        return "exact", r.choice([
            [b"LPUSH", k], [b"LPOP", k, b"1", b"2"], [b"LINDEX", k], [b"LSET", k, b"0"],
            [b"LRANGE", k, b"0"], [b"LPOS", k, b"a", b"RANK"], [b"LMOVE", k, k, b"LEFT"],
            [b"BLPOP", k], [b"BLMOVE", k, k, b"LEFT", b"LEFT"], [b"LMPOP", b"1"],
            [b"BLMPOP", b"0.01", b"1", k], [b"LINSERT", k, b"BEFORE", b"a"],
        ])

    def c_generic(self):
        r, k, k2 = self.rng, self.key(), self.key()
        return r.choice([
            ("exact", [b"DEL", k]), ("exact", [b"EXISTS", k, k2]), ("exact", [b"TYPE", k]),
            ("exact", [b"EXPIRE", k, b"1000"]), ("exact", [b"PEXPIRE", k, b"-1"]),
            ("exact", [b"PERSIST", k]), ("ttl", [b"TTL", k]),
            ("exact", [b"RENAME", k, k2]), ("exact", [b"RENAMENX", k, k2]),
            ("exact", [b"COPY", k, k2] + ([b"REPLACE"] if r.random() < 0.5 else [])),
        ])

    def c_other(self):
        r, k = self.rng, self.key()
        return "exact", r.choice([
            [b"SET", k, b"v"], [b"GET", k], [b"HSET", k, b"f", b"1"], [b"HLEN", k],
            [b"ZADD", k, r.choice([b"1", b"2", b"-1"]), r.choice(VALUES)],
            [b"ZADD", k, b"1", b"a", b"2", b"b", b"3", b"c"], [b"ZRANGE", k, b"0", b"-1"],
        ])

    def command(self):
        return self.rng.choice([self.c_write] * 6 + [self.c_read] * 4 + [self.c_generic] * 2 +
                               [self.c_block, self.c_other, self.c_errors])()


def test_lists(redis_server, module_cluster):
    run_compat("lists", Gen, redis_server, module_cluster)

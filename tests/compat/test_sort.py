"""test_sort.py -- SORT and SORT_RO against a real redis-server 7, reply for reply.

Seeded random sequences build a list, a set and a sorted set of numbers and words, strings
w_<element> and o_<element> and hashes h_<element> for the patterns, and sort them: BY a
string or a hash field pattern, BY nosort, LIMIT (negative, past the end, huge, not a
number), GET # / a string / a hash field / a missing pattern, ASC, DESC, ALPHA, STORE (then
the stored list is read back), SORT_RO, and the errors (WRONGTYPE, syntax, STORE in SORT_RO,
a value that is no number), one command at a time, pipelined and in MULTI/EXEC, RESP2 and
RESP3. Replies must be byte-identical, except where Redis's answer depends on its hash
table's order (test_collections.py's kinds):

    kind      what                                      compared as
    sorted    a set BY nosort, without LIMIT            the same elements, sorted
              ALPHA BY a pattern, without LIMIT
    count     the same with LIMIT                       the same number of elements

(ALPHA BY leaves elements with equal values -- or none: a missing key -- in whatever order
Redis's qsort leaves them; twopc keeps their input order.)
(With STORE, Redis sorts a set BY nosort ALPHA anyway, so that is exact.) At the end of a
sequence the whole keyspace, stored lists included, is compared.

TWOPC_COMPAT_SEED=<n> replays a run; TWOPC_COMPAT_SEQUENCES and TWOPC_COMPAT_STEPS change
its size (test_collections.py's defaults).
"""

from test_collections import run_all

ELEMENTS = [b"1", b"2", b"3", b"10", b"-1", b"1.5", b"0", b"a", b"b", b"B", b""]
NUMBERS = [b"1", b"2", b"3", b"10", b"-1", b"1.5", b"0"]
SORTED = [b"l0", b"s0", b"z0", b"nokey", b"str"]
BY = [b"w_*", b"h_*->f", b"nosort", b"w_*->", b"x_*", b"h_*->g", b"o_*"]
GET = [b"#", b"w_*", b"h_*->f", b"o_*", b"nopattern", b"h_*->"]
LIMITS = [b"0", b"1", b"2", b"-1", b"-5", b"3", b"100", b"x", b"9223372036854775807"]


def parse_like_redis(opts, readonly):
    """What Redis's option loop makes of opts: whether nothing is sorted (a BY without
    `*`, ever), the last BY has a `*`, ALPHA, LIMIT, STORE."""
    o = {"nosort": False, "by_star": False, "alpha": False, "limit": False, "store": False}
    j = 0
    while j < len(opts):
        a, left = opts[j].upper(), len(opts) - j - 1
        if a in (b"ASC", b"DESC"):
            pass
        elif a == b"ALPHA":
            o["alpha"] = True
        elif a == b"LIMIT" and left >= 2:
            o["limit"] = True
            j += 2
        elif a == b"STORE" and left >= 1 and not readonly:
            o["store"] = True
            j += 1
        elif a == b"BY" and left >= 1:
            o["by_star"] = b"*" in opts[j + 1]
            o["nosort"] = o["nosort"] or not o["by_star"]
            j += 1
        elif a == b"GET" and left >= 1:
            j += 1
        else:
            break  # a syntax error: both answer it
        j += 1
    return o


class Gen:
    """Random builders of the sorted keys and the pattern keys, and random SORTs."""

    def __init__(self, rng):
        self.rng = rng
        self.numeric = rng.random() < 0.5  # sequences of numbers only sort without ALPHA

    def element(self):
        return self.rng.choice(NUMBERS if self.numeric else ELEMENTS)

    def elements(self, lo=1, hi=4):
        return [self.element() for _ in range(self.rng.randint(lo, hi))]

    def c_build(self):
        r, e = self.rng, self.element()
        return "exact", r.choice([
            [r.choice([b"RPUSH", b"LPUSH"]), b"l0"] + self.elements(),
            [b"SADD", b"s0"] + self.elements(),
            [b"ZADD", b"z0", r.choice(NUMBERS), e],
            [b"SET", b"w_" + e, r.choice(NUMBERS + [b"x", b"nan", b"inf", b"0x10", b" 2"])],
            [b"SET", b"o_" + e, r.choice(ELEMENTS)],
            [b"HSET", b"h_" + e, b"f", r.choice(NUMBERS + [b"word"])],
            [b"DEL", r.choice([b"l0", b"s0", b"z0", b"w_" + e, b"h_" + e])],
            [b"SET", b"str", b"v"],
        ])

    def c_sort(self):
        r = self.rng
        name = r.choice([b"SORT", b"SORT", b"sort_ro", b"SORT_RO"])
        key = r.choice(SORTED)
        opts = []
        for _ in range(r.randint(0, 5)):
            c = r.randint(0, 7)
            if c == 0:
                opts += [b"BY", r.choice(BY)]
            elif c == 1:
                opts += [b"LIMIT", r.choice(LIMITS), r.choice(LIMITS)]
            elif c == 2:
                opts += [b"GET", r.choice(GET)]
            elif c in (3, 4):
                opts.append(r.choice([b"ASC", b"DESC", b"desc", b"ALPHA", b"alpha"]))
            elif c == 5 and r.random() < 0.5:
                opts += [b"STORE", r.choice([b"dst", b"l0", b"str"])]
            elif c == 6 and r.random() < 0.1:
                opts.append(r.choice([b"LIMIT", b"BY", b"bogus", b"STORE"]))
        o = parse_like_redis(opts, name.upper() == b"SORT_RO")
        ties = o["alpha"] and o["by_star"] and not o["nosort"]
        if ties and o["store"]:  # the stored list's order could differ likewise: no STORE
            opts = [a for n, a in enumerate(opts)
                    if a.upper() != b"STORE" and (n == 0 or opts[n - 1].upper() != b"STORE")]
            o = parse_like_redis(opts, name.upper() == b"SORT_RO")
        kind = "exact"
        if (ties or (key == b"s0" and o["nosort"])) and not o["store"]:
            kind = "count" if o["limit"] else "sorted"
        return kind, [name, key] + opts

    def command(self):
        if self.rng.random() < 0.45:
            return self.c_build()
        return self.c_sort()


def test_sort(redis_server, module_cluster):
    run_all(redis_server, module_cluster, "sort", Gen)

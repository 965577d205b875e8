"""test_pubsub.py -- pub/sub, twopc against a real redis-server 7, byte for byte.

The same script runs on both servers over the same set of raw connections (RESP2 and
RESP3 subscribers side by side, a publisher that never subscribes), and every
connection's byte stream must be the same on both: confirmations, messages, PUBLISH's
counts, the RESP2 subscribed-context errors, PING's ["pong", ""], PUBSUB's answers.

How a step is compared: its command goes to one connection, followed by `PING <marker>`
on that connection; once the marker's reply is read (the command has run and its
messages are in every subscriber's output), every other connection gets a PING marker
too, and each connection's bytes up to its marker are that step's chunk. A chunk is a
list of raw top-level elements, compared exactly, except where Redis's order comes from
its hash tables (README.md in this folder):
    pmessages of one PUBLISH      a run of pmessages is compared sorted (pattern order)
    UNSUBSCRIBE / SUNSUBSCRIBE    with no argument: the same channels, in any order, and
                                  the same sequence of counts
    PUBSUB (SHARD)CHANNELS        the same names, in any order

Size and replay: TWOPC_COMPAT_SEED=<n> replays a run (printed in every failure);
TWOPC_PUBSUB_SEQUENCES (default 40) and TWOPC_PUBSUB_STEPS (default 60) change its size.
"""

import os
import random
import socket
import time

import pytest

from conftest import resp_encode

SEED = int(os.environ.get("TWOPC_COMPAT_SEED") or random.SystemRandom().randrange(1 << 32))
SEQUENCES = int(os.environ.get("TWOPC_PUBSUB_SEQUENCES") or 40)
STEPS = int(os.environ.get("TWOPC_PUBSUB_STEPS") or 60)

CHANNELS = [b"news", b"news.sport", b"nets", b"n", b"", b"\x00bin\xff", b"sp ace", b"a*b",
            b"\r\nx"]
PATTERNS = [b"news*", b"ne?s", b"n*", b"*", b"n[ae]ts", b"a\\*b", b"[^n]*", b"nomatch"]


class Incomplete(Exception):
    pass


def _line(buf, pos):
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise Incomplete()
    return bytes(buf[pos:end]), end + 2


def span(buf, pos=0):
    """The end of the RESP2 or RESP3 element at buf[pos:] (raises Incomplete)."""
    if pos >= len(buf):
        raise Incomplete()
    kind = buf[pos:pos + 1]
    line, nxt = _line(buf, pos + 1)
    if kind in (b"+", b"-", b":", b"_", b",", b"#", b"("):
        return nxt
    if kind in (b"$", b"=", b"!"):
        n = int(line)
        if n < 0:
            return nxt
        if len(buf) < nxt + n + 2:
            raise Incomplete()
        return nxt + n + 2
    if kind in (b"*", b">", b"~", b"%", b"|"):
        n = int(line)
        for _ in range(max(n, 0) * (2 if kind in (b"%", b"|") else 1)):
            nxt = span(buf, nxt)
        return nxt
    raise AssertionError("not RESP: %r" % bytes(buf[pos:pos + 40]))


def elements(raw):
    """The raw elements of an aggregate (a push or an array), or None."""
    if raw[:1] not in (b"*", b">") or raw.startswith(b"*-1"):
        return None
    line, pos = _line(raw, 1)
    out = []
    for _ in range(int(line)):
        end = span(raw, pos)
        out.append(raw[pos:end])
        pos = end
    return out


def bulk(raw):
    """The payload of a bulk string element, or None."""
    if not raw.startswith(b"$") or raw.startswith(b"$-1"):
        return None
    line, pos = _line(raw, 1)
    return raw[pos:pos + int(line)]


class Conn:
    """A raw connection: sends commands, reads raw elements."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = bytearray()

    def close(self):
        self.sock.close()

    def send(self, args):
        self.sock.sendall(resp_encode(*args))

    def read(self):
        while True:
            try:
                end = span(self.buf)
                raw = bytes(self.buf[:end])
                del self.buf[:end]
                return raw
            except Incomplete:
                data = self.sock.recv(1 << 20)
                if not data:
                    raise EOFError("server closed the connection")
                self.buf += data

    def until(self, marker):
        """The elements before the reply to PING marker (sent by the caller)."""
        out = []
        for _ in range(100000):
            raw = self.read()
            if bulk(raw) == marker:
                return out
            parts = elements(raw)
            if parts and len(parts) == 2 and bulk(parts[0]) == b"pong" and \
                    bulk(parts[1]) == marker:
                return out
            out.append(raw)
        raise AssertionError("marker %r never came" % marker)


class Side:
    """One server and its connections."""

    def __init__(self, port, protos):
        self.port = port
        self.conns = [Conn(port) for _ in protos]
        self.marker = 0
        for c, proto in zip(self.conns, protos):
            if proto == 3:
                c.send([b"HELLO", b"3"])
                c.read()

    def close(self):
        for c in self.conns:
            c.close()

    def step(self, i, args):
        """Runs args (a command, or a list of them) on connection i; returns every
        connection's chunk."""
        self.marker += 1
        m = b"m%d" % self.marker
        chunks = [None] * len(self.conns)
        for cmd in (args if isinstance(args[0], list) else [args]):
            self.conns[i].send(cmd)
        self.conns[i].send([b"PING", m])
        chunks[i] = self.conns[i].until(m)
        for j, c in enumerate(self.conns):
            if j != i:
                c.send([b"PING", m])
        for j, c in enumerate(self.conns):
            if j != i:
                chunks[j] = c.until(m)
        return chunks


def canonical(chunk, args, own):
    """chunk with Redis's hash-table orders taken out (see the module's comment)."""
    out, run = [], []
    if isinstance(args[0], list):
        args = args[-1]
    cmd = args[0].lower()
    for raw in chunk + [None]:
        parts = elements(raw) if raw is not None else None
        if parts and bulk(parts[0]) == b"pmessage":
            run.append(raw)
            continue
        if run:
            out.append(("pmessages", sorted(run)))
            run = []
        if raw is not None:
            out.append(raw)
    if own and cmd in (b"unsubscribe", b"sunsubscribe") and len(args) == 1:
        confirms = [elements(r) for r in out]
        if all(c and len(c) == 3 for c in confirms):
            out = [("unsubscribe-all", sorted(c[1] for c in confirms),
                    [c[2] for c in confirms])]
    if own and cmd == b"pubsub" and len(args) >= 2 and \
            args[1].lower() in (b"channels", b"shardchannels") and out:
        parts = elements(out[0]) if isinstance(out[0], bytes) else None
        if parts is not None:
            out[0] = ("names", sorted(parts))
    if own and cmd == b"spop" and out and isinstance(out[0], bytes):
        out[0] = ("spop", out[0][:1], len(elements(out[0]) or []))  # its picks are its own
    return out


class Pair:
    def __init__(self, redis_port, twopc_port, protos):
        self.protos = protos
        self.redis = Side(redis_port, protos)
        self.twopc = Side(twopc_port, protos)
        self.history = []

    def close(self):
        self.redis.close()
        self.twopc.close()

    def step(self, i, args):
        self.history.append((i, args))
        a, b = self.redis.step(i, args), self.twopc.step(i, args)
        for j in range(len(a)):
            ca, cb = canonical(a[j], args, j == i), canonical(b[j], args, j == i)
            assert ca == cb, (
                "seed %d: conn %d (RESP%d) after conn %d's %r:\n redis %r\n twopc %r\n"
                "history:\n  %s" % (SEED, j, self.protos[j], i, args, a[j], b[j],
                                    "\n  ".join("%d %r" % h for h in self.history[-25:])))


def random_command(r):
    ch, pat = (lambda: r.choice(CHANNELS)), (lambda: r.choice(PATTERNS))
    some = lambda f: [f() for _ in range(r.randint(1, 3))]
    kind = r.randrange(22)
    if kind < 4:
        return [b"SUBSCRIBE"] + some(ch)
    if kind < 6:
        return [b"PSUBSCRIBE"] + some(pat)
    if kind < 7:
        return [b"SSUBSCRIBE"] + some(ch)
    if kind < 8:
        return [b"UNSUBSCRIBE"] + (some(ch) if r.random() < 0.6 else [])
    if kind < 9:
        return [b"PUNSUBSCRIBE"] + (some(pat) if r.random() < 0.6 else [])
    if kind < 10:
        return [b"SUNSUBSCRIBE"] + (some(ch) if r.random() < 0.6 else [])
    if kind < 14:
        return [b"PUBLISH", ch(), r.choice([b"hi", b"", b"\x00\r\n", b"x" * 200])]
    if kind < 15:
        return [b"SPUBLISH", ch(), b"shard"]
    if kind < 18:
        return r.choice([[b"PUBSUB", b"NUMSUB"] + some(ch), [b"PUBSUB", b"NUMPAT"],
                         [b"PUBSUB", b"CHANNELS"], [b"PUBSUB", b"CHANNELS", pat()],
                         [b"PUBSUB", b"SHARDCHANNELS"], [b"PUBSUB", b"SHARDNUMSUB", ch()],
                         [b"pubsub", b"channels", b"a", b"b"], [b"PUBSUB", b"NUMPAT", b"x"]])
    if kind < 19:
        return r.choice([[b"PING"], [b"PING", b"x y"], [b"GET", b"k"], [b"CLIENT", b"GETNAME"],
                         [b"ECHO", b"e"], [b"PUBSUB", b"HELP"]])
    if kind < 20:
        return r.choice([[b"SUBSCRIBE"], [b"PUBLISH", b"x"], [b"SPUBLISH"],
                         [b"PSUBSCRIBE"], [b"PUBSUB"], [b"PUBSUB", b"nope"]])
    return [b"RESET"] if r.random() < 0.3 else [b"PUBLISH", ch(), b"again"]


def test_random_scripts(redis_server, module_cluster):
    """Random pub/sub scripts over two RESP2 and two RESP3 subscribers and a publisher."""
    r = random.Random(SEED)
    print("TWOPC_COMPAT_SEED=%d" % SEED)
    for _ in range(SEQUENCES):
        protos = [2, 2, 3, 3, 2]  # the last one only publishes and asks
        pair = Pair(redis_server.port, module_cluster.port, protos)
        try:
            for _ in range(STEPS):
                args = random_command(r)
                sub = args[0].upper() in (b"SUBSCRIBE", b"PSUBSCRIBE", b"SSUBSCRIBE")
                i = r.randrange(4) if sub or r.random() < 0.5 else 4
                if args[0] == b"RESET" and r.random() < 0.5:
                    i = r.randrange(4)
                pair.step(i, args)
        finally:
            pair.close()


SCRIPTS = {
    # A channel and a matching pattern: both messages, channel first; counts.
    "channel_and_pattern": [
        (0, [b"SUBSCRIBE", b"news"]), (0, [b"PSUBSCRIBE", b"ne*"]),
        (1, [b"PSUBSCRIBE", b"ne*", b"n*"]), (2, [b"PUBLISH", b"news", b"hello"]),
        (2, [b"PUBLISH", b"nope", b"x"]), (2, [b"PUBSUB", b"NUMPAT"]),
        (2, [b"PUBSUB", b"NUMSUB", b"news", b"ne*"]), (0, [b"PUNSUBSCRIBE"]),
        (2, [b"PUBLISH", b"news", b"again"]), (0, [b"UNSUBSCRIBE"]), (0, [b"UNSUBSCRIBE"]),
        (0, [b"GET", b"k"]),
    ],
    # RESP2's subscribed context: what it refuses, PING's shape, QUIT-free exit by
    # unsubscribing, and the subcommand's full name in the error.
    "resp2_context": [
        (0, [b"SUBSCRIBE", b"a"]), (0, [b"PING"]), (0, [b"PING", b"hi"]),
        (0, [b"CLIENT", b"LIST"]), (0, [b"CONFIG", b"GET", b"x"]), (0, [b"MULTI"]),
        (0, [b"PUBLISH", b"a", b"b"]), (0, [b"SET", b"k", b"v"]), (0, [b"nosuch"]),
        (0, [b"PSUBSCRIBE", b"x"]), (0, [b"UNSUBSCRIBE", b"a"]), (0, [b"GET", b"k"]),
        (0, [b"PUNSUBSCRIBE", b"x"]), (0, [b"GET", b"k"]), (0, [b"PING"]),
    ],
    # RESP3: no restriction, the publisher's own message before its reply.
    "resp3_self": [
        (3, [b"SUBSCRIBE", b"me"]), (3, [b"PSUBSCRIBE", b"m*"]), (3, [b"PUBLISH", b"me", b"x"]),
        (3, [b"GET", b"k"]), (3, [b"PING"]), (3, [b"SSUBSCRIBE", b"me"]),
        (3, [b"SPUBLISH", b"me", b"s"]), (3, [b"SUNSUBSCRIBE"]), (3, [b"PUNSUBSCRIBE"]),
        (3, [b"UNSUBSCRIBE"]), (3, [b"UNSUBSCRIBE"]),
    ],
    # RESET leaves every subscription (no confirmation).
    "reset": [
        (0, [b"SUBSCRIBE", b"a", b"b"]), (0, [b"PSUBSCRIBE", b"*"]), (3, [b"SSUBSCRIBE", b"s"]),
        (2, [b"PUBSUB", b"NUMSUB", b"a", b"b"]), (0, [b"RESET"]), (3, [b"RESET"]),
        (2, [b"PUBSUB", b"NUMSUB", b"a", b"b"]), (2, [b"PUBSUB", b"NUMPAT"]),
        (2, [b"PUBSUB", b"SHARDNUMSUB", b"s"]), (2, [b"PUBLISH", b"a", b"gone"]),
        (0, [b"GET", b"k"]),
    ],
    # MULTI (a whole transaction is one step: a PING marker would be queued): PUBLISH answers its count in EXEC's array; SUBSCRIBE works inside, SSUBSCRIBE
    # does not; a RESP2 publisher subscribed to itself gets the message amid EXEC's array.
    "multi": [
        (2, [b"SUBSCRIBE", b"t"]),
        (4, [[b"MULTI"], [b"PUBLISH", b"t", b"in-tx"], [b"SET", b"k", b"v"],
             [b"PUBLISH", b"none", b"x"], [b"EXEC"]]),
        (1, [[b"MULTI"], [b"SSUBSCRIBE", b"x"], [b"SUBSCRIBE", b"y"],
             [b"PUBLISH", b"y", b"self"], [b"EXEC"]]),
        (1, [b"UNSUBSCRIBE"]),
        (4, [b"DEL", b"k"]),
    ],
    # CLIENT REPLY OFF / SKIP silence confirmations and, in Redis 7.0, messages too.
    "client_reply": [
        (3, [b"SUBSCRIBE", b"c"]), (3, [[b"CLIENT", b"REPLY", b"SKIP"], [b"SUBSCRIBE", b"d"]]),
        (4, [b"PUBLISH", b"c", b"1"]), (4, [b"PUBLISH", b"d", b"2"]),
    ],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_scripts(redis_server, module_cluster, name):
    pair = Pair(redis_server.port, module_cluster.port, [2, 2, 2, 3, 2])
    try:
        for i, args in SCRIPTS[name]:
            pair.step(i, args)
    finally:
        pair.close()


def test_reply_off_keeps_pubsub(redis_server, module_cluster):
    """CLIENT REPLY OFF silences replies, but not pub/sub confirmations and messages
    (Redis 7.0.15 sends them as pushes; in RESP2 too, as the client_reply script shows)."""
    streams = []
    for port in (redis_server.port, module_cluster.port):
        sub, pub = Conn(port), Conn(port)
        try:
            sub.send([b"HELLO", b"3"])  # RESP2 could not turn replies back ON once subscribed
            sub.read()
            for args in ([b"CLIENT", b"REPLY", b"OFF"], [b"SUBSCRIBE", b"q"], [b"PING"]):
                sub.send(args)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # sub's SUBSCRIBE has run
                pub.send([b"PUBSUB", b"NUMSUB", b"q"])
                if pub.read() == b"*2\r\n$1\r\nq\r\n:1\r\n":
                    break
            pub.send([b"PUBLISH", b"q", b"lost"])
            count = pub.read()
            sub.send([b"CLIENT", b"REPLY", b"ON"])
            sub.send([b"PING", b"end"])
            first = sub.until(b"end")
            pub.send([b"PUBLISH", b"q", b"seen"])
            seen = pub.read()
            sub.send([b"PING", b"end2"])
            streams.append((count, seen, first, sub.until(b"end2")))
        finally:
            sub.close()
            pub.close()
    assert streams[0] == streams[1], streams
    assert streams[1][:3] == (b":1\r\n", b":1\r\n", [
        b">3\r\n$9\r\nsubscribe\r\n$1\r\nq\r\n:1\r\n",
        b">3\r\n$7\r\nmessage\r\n$1\r\nq\r\n$4\r\nlost\r\n", b"+OK\r\n"]), streams


def numbers(port, conn):
    """What a server says about its subscriptions (INFO stats' three fields, NUMPAT)."""
    conn.send([b"INFO", b"stats"])
    info = bulk(conn.read()).decode()
    fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
    conn.send([b"PUBSUB", b"NUMPAT"])
    numpat = conn.read()
    return (fields["pubsub_channels"], fields["pubsub_patterns"],
            fields["pubsubshard_channels"], numpat)


def test_disconnect_leaves_everything(redis_server, module_cluster):
    """Subscribers that disconnect are removed from every channel, pattern and shard
    channel: the counts come back to Redis's (and to 0), over many connections."""
    for port in (redis_server.port, module_cluster.port):
        probe = Conn(port)
        try:
            deadline = time.monotonic() + 10  # earlier tests' connections are gone
            while numbers(port, probe) != ("0", "0", "0", b":0\r\n") and \
                    time.monotonic() < deadline:
                time.sleep(0.02)
            before = numbers(port, probe)
            for round_ in range(5):
                subs = [Conn(port) for _ in range(40)]
                for k, c in enumerate(subs):
                    c.send([b"SUBSCRIBE", b"all", b"own%d" % k])
                    c.send([b"PSUBSCRIBE", b"p*", b"own%d*" % k])
                    c.send([b"SSUBSCRIBE", b"s%d" % (k % 3)])
                    for _ in range(5):
                        c.read()
                probe.send([b"PUBLISH", b"all", b"x"])
                assert probe.read() == b":%d\r\n" % 40
                probe.send([b"PUBLISH", b"pall", b"x"])
                assert probe.read() == b":%d\r\n" % 40
                assert numbers(port, probe) == ("41", "41", "3", b":41\r\n")
                for c in subs:
                    c.close()
                deadline = time.monotonic() + 10
                while numbers(port, probe) != before and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert numbers(port, probe) == before == ("0", "0", "0", b":0\r\n")
                probe.send([b"PUBLISH", b"all", b"x"])
                assert probe.read() == b":0\r\n"
        finally:
            probe.close()


def test_client_list_fields(redis_server, module_cluster):
    """CLIENT INFO shows flags=P and the sub/psub/ssub counts (a RESP3 client may ask)."""
    got = []
    for port in (redis_server.port, module_cluster.port):
        c = Conn(port)
        try:
            c.send([b"HELLO", b"3"])
            c.read()
            for args in ([b"SUBSCRIBE", b"a", b"b"], [b"PSUBSCRIBE", b"x", b"x"],
                         [b"SSUBSCRIBE", b"s"]):
                c.send(args)
            for _ in range(5):
                c.read()
            fields = []
            for args in ([b"CLIENT", b"INFO"], [b"UNSUBSCRIBE"], [b"PUNSUBSCRIBE"],
                         [b"SUNSUBSCRIBE"], [b"CLIENT", b"INFO"]):
                c.send(args)
                raw = c.read()
                if args[0] == b"CLIENT":
                    text = raw.split(b"\r\n", 1)[1].decode()
                    fields.append([f for f in text.split() if f.split("=")[0] in
                                   ("flags", "sub", "psub", "ssub")])
                else:
                    for _ in range({b"UNSUBSCRIBE": 1, b"PUNSUBSCRIBE": 0,
                                    b"SUNSUBSCRIBE": 0}[args[0]]):
                        c.read()
            got.append(fields)
        finally:
            c.close()
    assert got[0] == got[1], got
    assert got[1][0] == ["flags=P", "sub=2", "psub=1", "ssub=1"]


NKEYS = [b"a", b"b", b"c", b"", b"\x00k", b"sp ace"]


def random_write(r, keys=None):
    k, k2 = keys or (r.choice(NKEYS), r.choice(NKEYS))
    v = r.choice([b"1", b"10", b"-3", b"2.5", b"x", b""])
    return r.choice([
        [b"SET", k, v], [b"SET", k, v, b"EX", b"100"], [b"SET", k, v, b"KEEPTTL"],
        [b"SET", k, v, b"NX"], [b"SET", k, v, b"XX", b"GET"], [b"SETNX", k, v],
        [b"SETEX", k, b"100", v], [b"PSETEX", k, b"100000", v], [b"GETSET", k, v],
        [b"MSET", k, v, k2, b"2"], [b"MSETNX", k, v, k2, v], [b"APPEND", k, v],
        [b"SETRANGE", k, b"2", b"zz"], [b"INCR", k], [b"DECR", k], [b"INCRBY", k, b"5"],
        [b"DECRBY", k, b"2"], [b"INCRBYFLOAT", k, b"1.5"], [b"DEL", k, k2, k],
        [b"UNLINK", k], [b"GETDEL", k], [b"GETEX", k, b"EX", b"100"],
        [b"GETEX", k, b"PERSIST"], [b"GETEX", k, b"PXAT", b"1"], [b"GETEX", k],
        [b"EXPIRE", k, b"100"], [b"EXPIRE", k, b"-1"], [b"EXPIRE", k, b"200", b"NX"],
        [b"PEXPIRE", k, b"0"], [b"EXPIREAT", k, b"4102444800"], [b"PEXPIREAT", k, b"1"],
        [b"PERSIST", k], [b"RENAME", k, k2], [b"RENAMENX", k, k2],
        [b"COPY", k, k2], [b"COPY", k, k2, b"REPLACE"], [b"SETBIT", k, b"7", b"1"],
        [b"SET", k, v, b"PX", b"100000", b"GET"], [b"BITOP", b"OR", k, k2, b"none"],
        [b"BITOP", b"AND", k, b"none"], [b"BITOP", b"NOT", k2, k],
    ])


def notify_off(pair):
    """Turns keyspace notifications off on both servers (the module's cluster and
    redis-server outlive the test), then closes the pair."""
    for side in (pair.redis, pair.twopc):
        side.conns[2].send([b"CONFIG", b"SET", b"notify-keyspace-events", b""])
        side.conns[2].read()
    pair.close()


@pytest.mark.parametrize("flags", [b"KEA", b"E$", b"Kg", b"KEgx$"])
def test_keyspace_notifications(redis_server, module_cluster, flags):
    """notify-keyspace-events: the events of a random sequence of writes (and of MULTI
    blocks), on __keyspace@0__ and __keyevent@0__, as a RESP2 pattern subscriber and a
    RESP3 channel subscriber see them, byte for byte."""
    r = random.Random(SEED + sum(flags))
    pair = Pair(redis_server.port, module_cluster.port, [2, 3, 2])
    try:
        pair.step(2, [b"FLUSHALL"])
        pair.step(2, [b"CONFIG", b"SET", b"notify-keyspace-events", flags])
        pair.step(2, [b"CONFIG", b"GET", b"notify-keyspace-events"])
        pair.step(0, [b"PSUBSCRIBE", b"__key*__:*"])
        pair.step(1, [b"SUBSCRIBE", b"__keyevent@0__:del", b"__keyevent@0__:set",
                      b"__keyspace@0__:a"])
        for _ in range(STEPS * 3):
            if r.random() < 0.1:
                # Each command of a block has keys of its own: twopc cannot tell which
                # command of a TX changed a key several name (README.md here)
                ks = r.sample(NKEYS, 6)
                block = [random_write(r, (ks[2 * i], ks[2 * i + 1])) for i in range(3)]
                pair.step(2, [[b"MULTI"]] + block + [[b"EXEC"]])
            else:
                pair.step(2, random_write(r))
    finally:
        notify_off(pair)


POOL = [b"a", b"b", b"c", b"d", b"e"]


def prefill(pair):
    """Collections big enough that no command of a sequence empties one (emptying is
    test_emptying_notifications' subject)."""
    cmds = []
    for i in (0, 1):
        cmds.append([b"HSET", b"h%d" % i] + [x for n in range(50) for x in (b"f%d" % n, b"1")])
        cmds.append([b"RPUSH", b"l%d" % i] + [b"%d" % n for n in range(60)] + POOL)
        cmds.append([b"SADD", b"s%d" % i] + [b"m%d" % n for n in range(50)] + POOL)
        cmds.append([b"ZADD", b"z%d" % i] + [x for n in range(50)
                                              for x in (b"%d" % n, b"m%d" % n)])
    cmds.append([b"SADD", b"sp"] + [b"p%d" % n for n in range(300)])  # m<n>: PING markers
    for c in cmds:
        pair.step(2, c)


def random_collection_write(r):
    i, j = r.choice([b"0", b"1"]), r.choice([b"0", b"1"])
    h, lk, sk, z = b"h" + i, b"l" + i, b"s" + i, b"z" + i
    m, f = r.choice(POOL), r.choice(POOL + [b"f1", b"f2"])
    return r.choice([
        [b"HSET", h, f, b"v"], [b"HSETNX", h, f, b"v"], [b"HDEL", h, f, b"nofield"],
        [b"HINCRBY", h, b"n", b"2"], [b"HINCRBYFLOAT", h, b"x", b"1.5"], [b"HMSET", h, f, b"w"],
        [b"LPUSH", lk, m], [b"RPUSH", lk, m, m], [b"LPUSHX", b"nolist", m], [b"RPUSHX", lk, m],
        [b"LPOP", lk], [b"RPOP", lk, b"2"], [b"LINSERT", lk, b"BEFORE", m, b"x"],
        [b"LINSERT", lk, b"AFTER", b"nopivot", b"x"], [b"LSET", lk, b"0", m],
        [b"LTRIM", lk, b"0", b"-2"], [b"LREM", lk, b"1", m], [b"LMOVE", lk, b"l" + j,
                                                            r.choice([b"LEFT", b"RIGHT"]),
                                                            r.choice([b"LEFT", b"RIGHT"])],
        [b"RPOPLPUSH", lk, b"l" + j], [b"BLPOP", b"nolist", lk, b"0"], [b"BRPOP", lk, b"0"],
        [b"LMPOP", b"2", b"nolist", lk, r.choice([b"LEFT", b"RIGHT"])],
        [b"SADD", sk, m, b"new"], [b"SREM", sk, m], [b"SPOP", b"sp"], [b"SPOP", b"sp", b"2"],
        [b"SMOVE", sk, b"s" + j, m], [b"SINTERSTORE", b"dst", b"s0", b"s1"],
        [b"SUNIONSTORE", b"dst", sk, b"none"], [b"SDIFFSTORE", b"dst", sk, sk],
        [b"ZADD", z, b"5", m], [b"ZADD", z, b"INCR", b"1", m], [b"ZADD", z, b"NX", b"1", b"m1"],
        [b"ZINCRBY", z, b"2", m], [b"ZREM", z, m], [b"ZPOPMIN", z], [b"ZPOPMAX", z, b"2"],
        [b"ZREMRANGEBYRANK", z, b"0", b"0"], [b"ZREMRANGEBYSCORE", z, b"(10", b"11"],
        [b"ZUNIONSTORE", b"zdst", b"2", b"z0", b"z1"], [b"ZINTERSTORE", b"zdst", b"1", b"none"],
        [b"ZRANGESTORE", b"zdst", z, b"0", b"2"], [b"BZPOPMIN", z, b"0"],
        [b"ZMPOP", b"1", z, r.choice([b"MIN", b"MAX"])], [b"SORT", lk, b"ALPHA", b"STORE",
                                                         b"sorted"],
        [b"SORT", b"none", b"STORE", b"sorted"],
    ])


def test_collection_notifications(redis_server, module_cluster):
    """The events of hash, list, set and sorted-set writes (Redis 7.0's names, classes h, l,
    s, z, and del for an empty *STORE result), as subscribers see them, byte for byte."""
    r = random.Random(SEED + 7)
    pair = Pair(redis_server.port, module_cluster.port, [2, 3, 2])
    try:
        pair.step(2, [b"FLUSHALL"])
        prefill(pair)
        pair.step(2, [b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"])
        pair.step(0, [b"PSUBSCRIBE", b"__key*__:*"])
        pair.step(1, [b"SUBSCRIBE", b"__keyevent@0__:lpush", b"__keyevent@0__:zadd",
                      b"__keyspace@0__:h0"])
        for _ in range(STEPS * 3):
            pair.step(2, random_collection_write(r))
    finally:
        notify_off(pair)


def emptying_write(r):
    """A write on tiny collections: often one that empties its key (Redis then adds "del"
    after the command's own event), or a refill. SPOP only ever meets {a} (esp), so what
    it leaves is not a random choice."""
    i, j = r.choice([b"0", b"1"]), r.choice([b"0", b"1"])
    h, lk, sk, z = b"eh" + i, b"el" + i, b"es" + i, b"ez" + i
    return r.choice([
        [b"HSET", h, b"f", b"v"], [b"RPUSH", lk, b"a", b"b"], [b"SADD", sk, b"a", b"b"],
        [b"ZADD", z, b"1", b"a", b"2", b"b"], [b"HSET", h, b"f", b"v"], [b"RPUSH", lk, b"a"],
        [b"SADD", sk, b"a"], [b"ZADD", z, b"1", b"a"],
        [b"HDEL", h, b"f", b"g"], [b"LPOP", lk], [b"RPOP", lk, b"5"], [b"LTRIM", lk, b"1", b"0"],
        [b"LREM", lk, b"0", b"a"], [b"LMOVE", lk, b"el" + j, b"LEFT", b"RIGHT"],
        [b"RPOPLPUSH", lk, b"el" + j], [b"BLPOP", b"nolist", lk, b"0.01"], [b"BRPOP", lk, b"0.01"],
        [b"LMPOP", b"2", b"nolist", lk, b"LEFT", b"COUNT", b"3"], [b"SREM", sk, b"a", b"b"],
        [b"SADD", b"esp", b"a"], [b"SPOP", b"esp"], [b"SPOP", b"esp", b"5"],
        [b"SMOVE", sk, b"es" + j, b"a"],
        [b"ZREM", z, b"a"], [b"ZPOPMIN", z], [b"ZPOPMAX", z, b"3"],
        [b"ZREMRANGEBYRANK", z, b"0", b"-1"], [b"ZREMRANGEBYSCORE", z, b"-inf", b"1"],
        [b"ZREMRANGEBYLEX", z, b"-", b"+"], [b"BZPOPMIN", z, b"0.01"],
        [b"ZMPOP", b"1", z, b"MAX", b"COUNT", b"2"], [b"BZMPOP", b"0.01", b"1", z, b"MIN"],
        [b"GETDEL", b"estr"], [b"SET", b"estr", b"v"],
    ])


def test_emptying_notifications(redis_server, module_cluster):
    """A pop or removal that empties a collection: the command's event, then Redis's "del",
    byte for byte, alone and as the one command of a MULTI block naming that key."""
    r = random.Random(SEED + 11)
    pair = Pair(redis_server.port, module_cluster.port, [2, 3, 2])
    try:
        pair.step(2, [b"FLUSHALL"])
        pair.step(2, [b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"])
        pair.step(0, [b"PSUBSCRIBE", b"__key*__:*"])
        pair.step(1, [b"SUBSCRIBE", b"__keyevent@0__:del", b"__keyspace@0__:el0"])
        for _ in range(STEPS * 3):
            if r.random() < 0.15:
                a, b = emptying_write(r), emptying_write(r)
                if set(a[1:]) & set(b[1:]):
                    continue  # twopc cannot attribute a key two commands of a block name
                pair.step(2, [[b"MULTI"], a, b, [b"EXEC"]])
            else:
                pair.step(2, emptying_write(r))
    finally:
        notify_off(pair)


def test_notify_config(redis_server, module_cluster):
    """CONFIG SET / GET notify-keyspace-events: Redis's flag order and its error."""
    for flags in [b"", b"A", b"KEA", b"AKEm", b"g$lshzxetdKE", b"Kg$xn", b"nA", b"EK",
                  b"m", b"Q", b"KEAQ", b"kea"]:
        got = []
        for port in (redis_server.port, module_cluster.port):
            c = Conn(port)
            try:
                c.send([b"CONFIG", b"SET", b"notify-keyspace-events", flags])
                c.send([b"CONFIG", b"GET", b"notify-keyspace-events"])
                c.send([b"CONFIG", b"SET", b"notify-keyspace-events", b""])
                got.append((c.read(), c.read(), c.read()))
            finally:
                c.close()
        assert got[0] == got[1], (flags, got)


def test_expired_event(redis_server, module_cluster):
    """A key that expires by the clock: "set", "expire", then "expired" once it is
    reclaimed (Redis's active expiry; twopc's sweep, TPC.EXPIREDEL), and nothing else."""
    streams = []
    for port in (redis_server.port, module_cluster.port):
        sub, w = Conn(port), Conn(port)
        try:
            w.send([b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"])
            assert w.read() == b"+OK\r\n"
            sub.send([b"PSUBSCRIBE", b"__key*__:*"])
            sub.read()
            w.send([b"SET", b"exp:k", b"v", b"PX", b"150"])
            w.send([b"SET", b"exp:past", b"v", b"PXAT", b"1"])
            w.read()
            w.read()
            got = []
            while len(got) < 12:  # 2 messages per event
                got.append(sub.read())
            streams.append(sorted(got[8:]) + got[:8])  # the two expiries in any order
        finally:
            w.send([b"CONFIG", b"SET", b"notify-keyspace-events", b""])
            w.read()
            sub.close()
            w.close()
    assert streams[0] == streams[1], streams
    assert b"expired" in b"".join(streams[1])


def test_client_type_pubsub(redis_server, module_cluster):
    """CLIENT LIST TYPE pubsub / normal and CLIENT KILL TYPE pubsub: Redis's client type is
    pubsub while a client has a subscription."""
    got = []
    for port in (redis_server.port, module_cluster.port):
        subs = [Conn(port) for _ in range(3)]
        probe = Conn(port)
        try:
            subs[0].send([b"SUBSCRIBE", b"t1"])
            subs[1].send([b"HELLO", b"3"])
            subs[1].read()
            subs[1].send([b"PSUBSCRIBE", b"t*"])
            subs[2].send([b"SSUBSCRIBE", b"t3"])
            for c in subs:
                c.read()
            out = []
            for args in ([b"CLIENT", b"LIST", b"TYPE", b"pubsub"],
                         [b"CLIENT", b"LIST", b"TYPE", b"normal"],
                         [b"CLIENT", b"KILL", b"TYPE", b"pubsub"],
                         [b"CLIENT", b"LIST", b"TYPE", b"pubsub"],
                         [b"CLIENT", b"LIST", b"TYPE", b"master"]):
                probe.send(args)
                raw = probe.read()
                out.append(raw.count(b"\n") if raw.startswith(b"$") else raw)
            for c in subs:
                assert c.sock.recv(100) == b""  # closed
            got.append(out)
        finally:
            for c in subs + [probe]:
                c.close()
    assert got[0] == got[1], got
    # newlines: "$len\r\n", one per client, the final "\r\n" (the probe alone is normal)
    assert got[1] == [5, 3, b":3\r\n", 2, 2], got

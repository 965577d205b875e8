"""test_touched_vote.py -- TPC.PREPARE TOUCHED: a replica's vote says which keys each op
changed (what the coordinator's WATCH needs), and the flag leaves no trace in the vote log.

One twopc-replica, no coordinator: the test plays the coordinator over raw RESP.

  test_touched_strings          per op, "F" (a FLUSH of a database that held a key) or one
                                '0'/'1' per argument ('1': the argument names a key the op
                                changed), for writes that change nothing (DEL of a missing
                                key, SETNX on an existing one, RENAME k k, SETRANGE k 0 "",
                                EXPIRE NX that fails, a failed INCR, FLUSHDB of an empty
                                database) and writes that do (SET of the same value, APPEND
                                of "", EXPIRE to the same time); a TX op indexes its whole
                                argument list; an MSET big enough to take the hashed path
                                is still exact; without the flag the vote is as before.
  test_gone_marks               TOUCHED GONE (protocol 3): 'D' instead of '1' for a key the
                                op changed and left gone (a pop that empties a list, a
                                DEL), seen through the round's earlier ops and the rounds
                                under it; '1' without GONE; GONE goes before WATCHED.
  test_flag_not_logged_replay   the PREPARE record of a round prepared with the flag is the
                                request without it (byte for byte what the plain request
                                logs); after kill -9 the round is in doubt, COMMIT applies
                                it from the log, and a restart replays it to the same data.
  test_watched_flush_bits       TOUCHED WATCHED n key...: an op that flushed answers
                                "F<one bit per key>|<per argument>", bit '1' if the key was
                                alive just before one of its flushes, seen through the
                                round's earlier ops, an undecided round under it and the
                                store, at the round's clock (a key expired by then is not
                                alive); a TX's bits are the union over its flushes and its
                                per-argument string still reports what it wrote around them
                                (an empty-key argument is not "changed" by a FLUSH); ops
                                that flushed nothing answer as without WATCHED; a malformed
                                list is a bad PREPARE.
  test_watched_not_logged_replay  the PREPARE record of a round sent with TOUCHED WATCHED
                                is the plain request (no flag, no key); after kill -9 the
                                round is in doubt and COMMIT and a restart replay it.
  test_databases_touched_and_replayed  DB n-wrapped ops (numbered databases): a key is
                                marked only in its own database, WATCHED ... DBS gives the
                                keys' databases, FLUSHDB of one database and SWAPDB answer
                                for the keys that existed there; after kill -9 the rounds
                                commit from the log into the right databases.
"""

from conftest import RespConn, RespError, read_journal
from twopc_harness import resp_parse

NOW = 1700000000000  # the round clock: any fixed instant works for a replica alone
# The coordinator's TPC.HELLO: its protocol range (2..2) and release (common/version.h).
HELLO = ("TPC.HELLO", "2", "2", "0.2.0")


def conn_to(daemon):
    """A connection that plays the coordinator: it says TPC.HELLO first, as the coordinator
    does on every connection (a replica takes rounds only from the connection that said
    TPC.HELLO last)."""
    c = RespConn(daemon.port)
    c.command(*HELLO)
    return c


def enc(a):
    return a if isinstance(a, bytes) else a.encode()


def prepare(conn, rid, ops, touched=True, watched=None, now=NOW, dbs=None, gone=False):
    """TPC.PREPARE [TOUCHED [GONE] [WATCHED n key... [DBS db...]]] rid now nops ops..."""
    flags = [b"TOUCHED"] + ([b"GONE"] if gone else []) if touched else []
    if watched is not None:
        flags += [b"WATCHED", b"%d" % len(watched)] + [enc(k) for k in watched]
    if dbs is not None:
        flags += [b"DBS"] + [b"%d" % d for d in dbs]
    args = [b"TPC.PREPARE"] + flags + [b"%d" % rid, b"%d" % now, b"%d" % len(ops)]
    for op in ops:
        args += [b"%d" % len(op)] + [a if isinstance(a, bytes) else a.encode() for a in op]
    return flat_vote(conn.command(*args), len(ops))


def flat_vote(vote, nops):
    """A YES vote is [YES, durable, $results, (touched)], the nops results being RESP2
    replies back to back in one bulk string; returns [YES, durable, result*nops, (touched)]
    after checking that the bulk holds exactly nops replies."""
    if not (isinstance(vote, list) and vote[:1] == [b"YES"]):
        return vote
    assert len(vote) in (3, 4) and isinstance(vote[2], bytes), vote
    results, pos = [], 0
    while pos < len(vote[2]):
        value, pos = resp_parse(vote[2], pos)
        results.append(value)
    assert len(results) == nops, (nops, vote)
    return vote[:2] + results + vote[3:]


def commit(conn, rid):
    reply = conn.command("TPC.COMMIT", str(rid))
    assert isinstance(reply, int), reply


def vote_touched(vote, nops):
    """The touched array of a YES vote (asserting its shape)."""
    assert isinstance(vote, list) and vote[0] == b"YES", vote
    assert len(vote) == 3 + nops, vote
    assert isinstance(vote[-1], list) and len(vote[-1]) == nops, vote
    return vote[-1]



def restart_and_commit_round_2(r):
    """kill -9 and restart replica r, whose round 2 is prepared and undecided: HELLO must
    report it in doubt (round 1 applied), and COMMIT applies it from its log record.
    Returns a connection to the restarted replica."""
    r.kill()
    r.start()
    c = conn_to(r)
    hello = c.command(*HELLO)
    assert hello[0] == 1 and hello[2] == [2], hello
    commit(c, 2)
    return c

def test_touched_strings(make_rig):
    rig = make_rig(replicas=1)
    r = rig.replica(1).start()
    c = conn_to(r)
    # Seed: a=1, k=v, n=abc, t=x with a TTL.
    assert prepare(c, 1, [["MSET", "a", "1", "k", "v", "n", "abc"],
                          ["SET", "t", "x", "PXAT", "4102444800000"]], touched=False) == \
        [b"YES", 0, b"OK", b"OK"]
    commit(c, 1)

    ops = [
        (["DEL", "missing"], "00"),
        (["DEL", "a", "missing", "a"], "0101"),
        (["SETNX", "k", "other"], "000"),
        (["SET", "k", "v"], "010"),                      # same value: still a change
        (["SET", "missing", "x", "XX"], "0000"),
        (["APPEND", "k", ""], "010"),
        (["SETRANGE", "k", "0", ""], "0000"),
        (["RENAME", "k", "k"], "000"),
        (["RENAMENX", "k", "t"], "000"),
        (["COPY", "k", "t"], "000"),
        (["EXPIRE", "t", "100", "NX"], "0000"),          # t has a TTL: NX fails
        (["PEXPIREAT", "t", "4102444800000"], "010"),    # the same time: still a change
        (["INCR", "n"], "00"),                           # an error: nothing recorded
        (["GETEX", "k"], "00"),
        (["PERSIST", "k"], "00"),
        (["MSETNX", "k", "1", "new", "2"], "00000"),
        (["MSET", "x", "k", "k", "v"], "01110"),         # value "k" at 2: k changed too
        (["TX", "2", "3", "SET", "tx1", "v", "2", "DEL", "nope"], "000010000"),
    ]
    vote = prepare(c, 2, [op for op, _ in ops])
    assert vote[2:2 + len(ops)] == [
        0, 1, 0, b"OK", None, 1, 1, b"OK", 0, 0, 0, 1,
        RespError(b"ERR value is not an integer or out of range"), b"v", 0, 0, b"OK",
        [b"OK", 0]], vote
    got = vote_touched(vote, len(ops))
    for (op, want), t in zip(ops, got):
        assert t == want.encode(), "%r: touched %r, want %r" % (op, t, want)
    commit(c, 2)

    # An MSET big enough for the hashed path (argc x records > 4096) is still exact; a
    # value that names a key changed by the same op is '1' too.
    big = ["MSET"]
    for i in range(200):
        big += ["big:%d" % i, "big:%d" % (i + 1) if i % 50 == 0 else "val"]
    want = "0" + "".join("1" + ("1" if i % 50 == 0 and i + 1 < 200 else "0")
                         for i in range(200))
    assert vote_touched(prepare(c, 3, [big]), 1) == [want.encode()]
    commit(c, 3)

    # FLUSHDB of a database that holds keys: "F"; then of the empty database: no change.
    vote = prepare(c, 4, [["FLUSHDB"], ["FLUSHALL", "ASYNC"], ["SET", "z", "1"],
                          ["TX", "1", "1", "FLUSHALL"]])
    assert vote_touched(vote, 4) == [b"F", b"00", b"010", b"F"], vote
    commit(c, 4)
    assert c.command("DBSIZE") == 0
    vote = prepare(c, 5, [["FLUSHALL"], ["FLUSHDB", "bad"]])
    assert vote_touched(vote, 2) == [b"0", b"00"], vote
    commit(c, 5)

    # Without the flag: the vote has no touched element; a bare flag is a bad PREPARE.
    vote = prepare(c, 6, [["SET", "p", "1"]], touched=False)
    assert len(vote) == 3 and vote[0] == b"YES" and vote[2] == b"OK", vote
    commit(c, 6)
    bad = c.command("TPC.PREPARE", "TOUCHED", "7", str(NOW))
    assert isinstance(bad, RespError) and bad.message.startswith(b"NO bad PREPARE"), bad
    c.close()


def test_gone_marks(make_rig):
    """TOUCHED GONE (protocol 3): a changed key the op left gone is 'D' instead of '1' --
    seen after the op, through the round's earlier ops and the rounds under it -- and
    nothing else changes: without GONE the same ops answer '1'; a key that comes back
    later in the same op (a TX) is '1'; WATCHED still follows GONE."""
    rig = make_rig(replicas=1)
    r = rig.replica(1).start()
    c = conn_to(r)
    assert prepare(c, 1, [["RPUSH", "l", "a", "b"], ["SADD", "s", "m"], ["SET", "k", "v"],
                          ["HSET", "h", "f", "1", "g", "2"]], touched=False)[0] == b"YES"
    commit(c, 1)
    ops = [
        (["LPOP", "l"], "01"),                        # one left
        (["RPOP", "l"], "0D"),                        # emptied
        (["SREM", "s", "m", "x"], "0D00"),
        (["SET", "k", "w"], "010"),
        (["HDEL", "h", "f"], "010"),
        (["DEL", "k", "missing"], "0D0"),
        # deletes h and sets it again: '1' at both places it is named
        (["TX", "2", "2", "DEL", "h", "3", "SET", "h", "x"], "000010010"),
        (["TX", "2", "2", "DEL", "h", "3", "RPUSH", "l2", "z"], "0000D0010"),
    ]
    vote = prepare(c, 2, [op for op, _ in ops], gone=True)
    got = vote_touched(vote, len(ops))
    for (op, want), t in zip(ops, got):
        assert t == want.encode(), "%r: touched %r, want %r" % (op, t, want)
    c.command("TPC.ABORT", "2")
    # The same round without GONE: '1' wherever GONE said 'D'.
    vote = prepare(c, 3, [op for op, _ in ops])
    assert vote_touched(vote, len(ops)) == [w.replace("D", "1").encode() for _, w in ops]
    c.command("TPC.ABORT", "3")
    # GONE before WATCHED; a pop emptying a key over an undecided round that filled it.
    vote = prepare(c, 4, [["RPUSH", "q", "1"]], gone=True, watched=["q"])
    assert vote_touched(vote, 1) == [b"010"], vote
    vote = prepare(c, 5, [["LPOP", "q"], ["FLUSHDB"]], gone=True, watched=["q"])
    assert vote_touched(vote, 2) == [b"0D", b"F0|0"], vote
    commit(c, 4)
    commit(c, 5)
    assert c.command("DBSIZE") == 0
    c.close()


def prepare_records(path):
    return [f for _, f in read_journal(path) if f[0] == b"PREPARE"]


def test_flag_not_logged_replay(make_rig):
    rig = make_rig(replicas=1)
    r = rig.replica(1).start()
    c = conn_to(r)
    ops = [["SET", "a", "1"], ["SETNX", "a", "2"], ["DEL", "gone"], ["INCR", "cnt"]]
    vote = prepare(c, 1, ops, touched=False)
    assert vote == [b"YES", 0, b"OK", 0, 0, 1], vote
    commit(c, 1)
    vote = prepare(c, 2, ops, touched=True)
    assert vote[:6] == [b"YES", vote[1], b"OK", 0, 0, 2], vote
    assert vote_touched(vote, 4) == [b"010", b"000", b"00", b"01"]
    records = prepare_records(rig.votes_log(1))
    assert len(records) == 2, records
    plain, flagged = records
    # The same fields but the round id: no TOUCHED anywhere in the record.
    assert flagged[0] == b"PREPARE" and flagged[1] == b"2" and b"TOUCHED" not in flagged
    assert plain[:1] + plain[2:] == flagged[:1] + flagged[2:], (plain, flagged)
    c.close()

    # Round 2 is prepared, not decided: kill -9, restart, it is in doubt; COMMIT applies
    # it from the log record.
    c = restart_and_commit_round_2(r)
    assert c.command("GET", "a") == b"1" and c.command("GET", "cnt") == b"2"
    c.close()
    r.stop()
    r.start()
    c = conn_to(r)
    assert c.command(*HELLO)[0] == 2
    assert c.command("GET", "cnt") == b"2" and c.command("DBSIZE") == 2
    c.close()


def test_watched_flush_bits(make_rig):
    rig = make_rig(replicas=1)
    r = rig.replica(1).start()
    c = conn_to(r)
    later = NOW + 5000  # the clock of the rounds below: e has expired by then, t has not
    assert prepare(c, 1, [["MSET", "a", "1", "b", "2"],
                          ["SET", "e", "x", "PXAT", str(NOW + 1000)],
                          ["SET", "t", "x", "PXAT", "4102444800000"]], touched=False) == \
        [b"YES", 0, b"OK", b"OK", b"OK"]
    commit(c, 1)
    # Round 2 stays undecided: round 3 is evaluated on top of it (u alive only there).
    vote = prepare(c, 2, [["SET", "u", "1"]], now=later)
    assert vote_touched(vote, 1) == [b"010"], vote

    keys = ["a", "missing", "u", "e", "t", "", "k2"]
    ops = [
        # a is deleted by the op before the flush: gone by then.
        (["DEL", "a"], "01"),
        # u (round 2), t (TTL ahead) and b were alive; e expired at this clock.
        (["FLUSHDB"], "F" + "0010100" + "|" + "0"),
        (["SET", "k2", "v"], "010"),
        # TX: k2 alive before its first flush, a (written in the TX) before its second;
        # DEL of the missing empty key records nothing, so "" stays '0' though the TX's
        # FLUSH records name no key; SET a is reported by argument.
        (["TX", "4", "2", "DEL", "", "1", "FLUSHALL", "3", "SET", "a", "9", "1", "FLUSHDB"],
         "F" + "1000001" + "|" + "0000000001000"),
        # The database is empty now: this flush records nothing.
        (["FLUSHALL"], "0"),
    ]
    vote = prepare(c, 3, [op for op, _ in ops], watched=keys, now=later)
    assert vote[2:2 + len(ops)] == [1, b"OK", b"OK", [0, b"OK", b"OK", b"OK"], b"OK"], vote
    got = vote_touched(vote, len(ops))
    for (op, want), t in zip(ops, got):
        assert t == want.encode(), "%r: touched %r, want %r" % (op, t, want)

    # A FLUSH that is the only op, with a watched key that exists: its bit is '1'.
    commit(c, 2)
    commit(c, 3)
    assert c.command("DBSIZE") == 0
    assert prepare(c, 4, [["SET", "w", "1"]], touched=False, now=later)[2] == b"OK"
    commit(c, 4)
    vote = prepare(c, 5, [["FLUSHALL", "SYNC"]], watched=["w", "x"], now=later)
    assert vote_touched(vote, 1) == [b"F10|00"], vote
    # Without WATCHED the same flush answers plain "F"; with an empty list, "F|...".
    vote = prepare(c, 6, [["SET", "w", "2"], ["FLUSHDB"]], now=later)
    assert vote_touched(vote, 2) == [b"010", b"F"], vote
    vote = prepare(c, 7, [["SET", "w", "3"], ["FLUSHDB"]], watched=[], now=later)
    assert vote_touched(vote, 2) == [b"010", b"F|0"], vote
    for rid in (5, 6, 7):
        commit(c, rid)

    # A malformed list: a bad PREPARE, nothing logged; then the replica goes on.
    for bad in ([b"TOUCHED", b"WATCHED", b"3", b"a", b"8"],
                [b"TOUCHED", b"WATCHED", b"x", b"8", b"1", b"1", b"1", b"PING"],
                [b"TOUCHED", b"WATCHED", b"2", b"a", b"b"]):
        reply = c.command(b"TPC.PREPARE", *bad)
        assert isinstance(reply, RespError) and reply.message.startswith(b"NO bad PREPARE"), \
            (bad, reply)
    assert len(prepare_records(rig.votes_log(1))) == 7
    assert prepare(c, 8, [["SET", "z", "1"]], watched=["z"])[2] == b"OK"
    c.close()


def test_watched_not_logged_replay(make_rig):
    rig = make_rig(replicas=1)
    r = rig.replica(1).start()
    c = conn_to(r)
    assert prepare(c, 1, [["MSET", "a", "1", "b", "2"]], touched=False)[2] == b"OK"
    commit(c, 1)
    ops = [["FLUSHDB"], ["SET", "c", "3"]]
    vote = prepare(c, 2, ops, watched=["a", "zz", "TOUCHED"])
    assert vote_touched(vote, 2) == [b"F100|0", b"010"], vote
    records = prepare_records(rig.votes_log(1))
    assert records[-1] == [b"PREPARE", b"2", b"%d" % NOW, b"2", b"1", b"FLUSHDB", b"3",
                           b"SET", b"c", b"3"], records[-1]
    c.close()

    c = restart_and_commit_round_2(r)
    assert c.command("DBSIZE") == 1 and c.command("GET", "c") == b"3"
    c.close()
    r.stop()
    r.start()
    c = conn_to(r)
    assert c.command(*HELLO)[0] == 2
    assert c.command("DBSIZE") == 1 and c.command("GET", "c") == b"3"
    assert c.command("GET", "a") is None
    c.close()


def test_databases_touched_and_replayed(make_rig):
    """Ops of database n travel as DB n <command...>: the TOUCHED answer marks a key only in
    its own database (the wrapper's two arguments and a TX's framing never), WATCHED keys
    carry their databases (DBS), SWAPDB and FLUSHDB of one database answer for the keys
    that existed in it, and after kill -9 the logged rounds replay into the right
    databases."""
    rig = make_rig(replicas=1)
    r = rig.replica(1).start()
    c = conn_to(r)
    assert prepare(c, 1, [["SET", "x", "0"], ["DB", "1", "SET", "x", "1"],
                          ["DB", "2", "SET", "y", "2"]], touched=False)[2:] == [b"OK"] * 3
    commit(c, 1)
    ops = [
        (["DB", "1", "SET", "x", "x"], "00011"),       # any argument equal to the key
        # a TX across databases: SET x in 3 and DEL x in 0 (x exists in both by then)
        (["TX", "2", "5", "DB", "3", "SET", "x", "v", "2", "DEL", "x"], "00000010001"),
        (["DB", "2", "FLUSHDB"], "F010|000"),          # y in 2; x in 1 untouched
        (["SWAPDB", "1", "3"], "F100|000"),           # x existed in 1 and in 3
    ]
    vote = prepare(c, 2, [op for op, _ in ops], watched=["x", "y", "x"], dbs=[1, 2, 0])
    got = vote_touched(vote, len(ops))
    for (op, want), t in zip(ops, got):
        assert t == want.encode(), "%r: touched %r, want %r" % (op, t, want)
    assert prepare(c, 3, [["GET", "x"]], dbs=None, touched=False)[2] is None  # x: deleted
    r.kill()
    r.start()
    c = conn_to(r)
    commit(c, 2)
    commit(c, 3)
    got = [c.command("TPC.READ", str(NOW), "DB", str(db), "GET", "x") for db in (1, 3)]
    assert got == [b"v", b"x"], got
    assert c.command("TPC.READ", str(NOW), "DB", "2", "DBSIZE") == 0
    assert c.command("TPC.READ", str(NOW), "GET", "x") is None

"""test_logs.py -- the vote and decision logs on disk: torn tails, corruption, compaction,
idempotent replay, in-doubt rounds resolved across restarts (DESIGN.md invariants 4-6).

  test_torn_tails_are_cut         bytes appended by hand to stopped logs (garbage without
                                  newline, half a record, a bad-CRC record and zeros, garbage
                                  line + half record) are cut at start-up: the warning names
                                  exactly those bytes and that offset, nothing before them
                                  changes, none of the fake rounds takes effect, data intact.
  test_corrupt_vote_log_record    one byte flipped in a middle record of a replica's
                                  votes.log: that replica refuses to start (non-zero exit,
                                  "corrupt record in PATH at offset N", N computed from the
                                  file), leaves the file byte for byte as it was; reads are
                                  served by the others, writes fail with NOREPLICAS naming
                                  it; with the original file back it starts and catches up.
  test_corrupt_decision_log_record  the same for the coordinator's decision.log.
  test_compaction_bounds_logs     with --log-max-bytes 4096, 1000 rounds keep every log
                                  under 3 x 4096 bytes at every sample; after kill -9 of all
                                  and a restart every key is there.
  test_replay_twice_*             replaying the same vote log twice gives the same data (an
                                  INCR counter would show a round applied twice).
  test_in_doubt_resolved_*        a replica restarted while the coordinator is down keeps
                                  its round in doubt, unapplied, and the coordinator resolves
                                  it when it comes back: abort without a COMMIT record,
                                  commit with one.
  test_idle_cluster_ends_rounds   once idle, every committed round gets its END: INFO
                                  rounds_unacked reaches 0 and a restart has nothing to finish.
"""

import os
import re
import signal
import time

import pytest
import redis

from conftest import (ERROR, OK, UNKNOWN, append_bytes, encode_record, read_bytes,
                      read_journal, send_write, unended_commits, write_bytes)

FAKE_RID = 1000000  # the round id of records added by hand: must never take effect


def write_keys(rig, prefix, n, batch=10):
    """n SETs in pipelines of batch; returns {key: value}."""
    r = rig.client()
    out = {}
    for start in range(0, n, batch):
        pipe = r.pipeline(transaction=False)
        for i in range(start, min(n, start + batch)):
            k, v = b"%s:%d" % (prefix, i), b"val-%s-%d" % (prefix, i)
            pipe.set(k, v)
            out[k] = v
        assert all(x is True for x in pipe.execute())
    r.close()
    return out


def check_data(rig, expected):
    """Every replica holds exactly expected, DEBUG DIGEST agrees, the logs decode."""
    rig.settle()
    for i, table in enumerate(rig.all_rows(), 1):
        diff = sorted(set(table.items()) ^ set(expected.items()))
        assert not diff, "replica %d differs (%d rows): %r" % (i, len(diff), diff[:5])
    rig.digest()
    read_journal(rig.decision_log)
    for i in range(1, rig.nreplicas + 1):
        read_journal(rig.votes_log(i))


def write_works(rig, expected, tag):
    k, v = b"after:" + tag.encode(), b"works-" + tag.encode()
    out, detail = send_write(rig.port, "SET", k, v)
    assert out == OK, "write after recovery: %s %r" % (out, detail)
    expected[k] = v
    check_data(rig, expected)


def flip_middle_record(path):
    """Flip one byte inside a middle record (a valid record follows it).  Returns
    (original bytes, corrupted bytes, offset of the damaged record)."""
    original = read_bytes(path)
    records = read_journal(path)
    assert len(records) >= 3, "%s has only %d records" % (path, len(records))
    offset = records[len(records) // 2][0]
    damaged = bytearray(original)
    damaged[offset + 1] ^= 0x20        # 'R' -> 'r' in PREPARE, 'O' -> 'o' in COMMIT...
    write_bytes(path, bytes(damaged))
    return original, bytes(damaged), offset


# --------------------------------------------------------------------------
# (a) torn tails
# --------------------------------------------------------------------------

def test_torn_tails_are_cut(rig):
    expected = write_keys(rig, b"t", 60, batch=6)
    rig.settle()
    rig.stop()

    half_prepare = encode_record("PREPARE", str(FAKE_RID), "1", "3", "SET", "torn:key",
                                 "torn:value")
    bad_crc = encode_record("COMMIT", str(FAKE_RID))
    bad_crc = bad_crc[:-3] + (b"0" if bad_crc[-3:-2] != b"0" else b"1") + bad_crc[-2:]
    half_commit = encode_record("COMMIT", str(FAKE_RID))
    tails = {
        rig.votes_log(1): b"garbage \x00\x01\xff without a newline",
        rig.votes_log(2): half_prepare[:len(half_prepare) // 2],
        rig.votes_log(3): bad_crc + b"\x00" * 512,
        rig.decision_log: b"not a record\n" + half_commit[:len(half_commit) // 2],
    }
    sizes = {}
    originals = {}
    for path, junk in tails.items():
        originals[path] = read_bytes(path)
        sizes[path] = len(originals[path])
        append_bytes(path, junk)
    marks = {d.name: d.log_mark() for d in rig.daemons()}

    rig.start()
    for d in rig.daemons():
        path = rig.decision_log if d is rig.coord else os.path.join(d.dir, "votes.log")
        which = "decision" if d is rig.coord else "vote"
        want = "%s log %s: cut a torn tail of %d bytes at offset %d" % (
            which, path, len(tails[path]), sizes[path])
        log = d.log_since(marks[d.name])
        assert want in log, "%s: expected %r in\n%s" % (d.name, want, log)
        assert read_bytes(path)[:sizes[path]] == originals[path], \
            "%s: bytes before the torn tail changed" % path
    info = rig.info()
    assert int(info["next_round"]) < FAKE_RID, \
        "a cut record took effect: next_round %s" % info["next_round"]
    check_data(rig, expected)
    for i in range(1, 4):
        assert int(rig.replica_info(i)["applied_round"]) < FAKE_RID
    write_works(rig, expected, "torn")


# --------------------------------------------------------------------------
# (b) corruption in the middle
# --------------------------------------------------------------------------

def test_corrupt_vote_log_record(rig):
    expected = {}
    for n in range(6):                          # several rounds, so several records
        expected.update(write_keys(rig, b"c%d" % n, 10))
    rig.settle()
    victim = rig.replica(2)
    victim.kill()                               # kill -9, like a crash
    path = rig.votes_log(2)
    original, damaged, offset = flip_middle_record(path)

    victim.start(wait=False)
    status = victim.wait_exit()
    assert status != 0 and status > 0, "replica exit status %r with a corrupt log" % status
    want = "corrupt record in %s at offset %d: bad checksum" % (path, offset)
    assert want in victim.stderr(), "stderr lacks %r:\n%s" % (want, victim.stderr())
    assert want in victim.log_since(0), "log lacks %r" % want
    assert read_bytes(path) == damaged, "the corrupt vote log was modified"

    # The others keep serving reads; writes fail naming the missing replica.
    rig.wait_ready(n=2)
    r = rig.client()
    for _ in range(3):
        for k in list(expected)[:10]:
            assert r.get(k) == expected[k]
    r.close()
    out, detail = send_write(rig.port, "SET", "c:refused", "x")
    assert (out, detail) == (ERROR, "NOREPLICAS Not enough good replicas to write: "
                                    "replica %s is down" % victim.addr)

    write_bytes(path, original)
    victim.start()
    rig.wait_ready()
    check_data(rig, expected)
    write_works(rig, expected, "vote-corrupt")


def test_corrupt_decision_log_record(rig):
    expected = {}
    for n in range(6):
        expected.update(write_keys(rig, b"d%d" % n, 10))
    rig.settle()
    assert rig.coord.stop() == 0
    path = rig.decision_log
    original, damaged, offset = flip_middle_record(path)

    rig.coord.start(wait=False)
    status = rig.coord.wait_exit()
    assert status != 0 and status > 0, "coordinator exit status %r" % status
    want = "corrupt record in %s at offset %d: bad checksum" % (path, offset)
    assert want in rig.coord.stderr(), "stderr lacks %r:\n%s" % (want, rig.coord.stderr())
    assert want in rig.coord.log_since(0), "log lacks %r" % want
    assert read_bytes(path) == damaged, "the corrupt decision log was modified"
    for i in range(1, 4):                       # replicas still answer directly
        for k in list(expected)[:5]:
            assert rig.replica_command(i, "GET", k) == expected[k]

    write_bytes(path, original)
    rig.coord.start()
    rig.wait_ready()
    check_data(rig, expected)
    write_works(rig, expected, "decision-corrupt")


# --------------------------------------------------------------------------
# (c) compaction
# --------------------------------------------------------------------------

MAX_LOG = 4096


def test_compaction_bounds_logs(make_rig):
    rig = make_rig(log_max_bytes=MAX_LOG).start()
    logs = [rig.decision_log] + [rig.votes_log(i) for i in range(1, 4)]
    biggest = dict.fromkeys(logs, 0)
    r = rig.client()
    expected = {}
    rounds0 = int(rig.info()["rounds_committed"])
    for b in range(1000):
        pipe = r.pipeline(transaction=False)
        for i in range(4):
            k = b"cmp:%d" % ((b * 4 + i) % 3000)          # some keys are overwritten
            v = b"v%d-%d" % (b, i)
            pipe.set(k, v)
            expected[k] = v
        assert all(x is True for x in pipe.execute())
        if b % 10 == 0:
            for p in logs:
                biggest[p] = max(biggest[p], os.path.getsize(p))
    r.close()
    rounds = int(rig.info()["rounds_committed"]) - rounds0
    assert rounds >= 500, "only %d rounds: the logs were not stressed" % rounds
    for p in logs:
        biggest[p] = max(biggest[p], os.path.getsize(p))
        assert biggest[p] < 3 * MAX_LOG, "%s grew to %d bytes (limit %d)" % (
            p, biggest[p], MAX_LOG)
    # A compacted decision log starts with the cluster's identity and replica set, then
    # NEXT (an uncompacted one has COMMIT/END records before any NEXT).
    kinds = [rec[1][0] for rec in read_journal(rig.decision_log)]
    head = kinds[:4]
    assert head[:3] == [b"CLUSTER", b"CONFIGURED", b"MEMBERS"] and head[3] == b"NEXT", \
        "decision log never compacted (first records %r)" % head
    for i in range(1, 4):
        first = read_journal(rig.votes_log(i))[0][1][0]
        assert first == b"SEEN", "replica %d vote log never compacted (%r)" % (i, first)

    rig.kill_all()
    rig.start()
    check_data(rig, expected)
    r = rig.client()
    pipe = r.pipeline(transaction=False)
    for k in expected:
        pipe.get(k)
    assert pipe.execute() == list(expected.values())
    r.close()
    write_works(rig, expected, "compaction")


# --------------------------------------------------------------------------
# (d) replay is idempotent
# --------------------------------------------------------------------------

REPLAY_LINE = (r"vote log replayed: (\d+) records, (\d+) rounds applied, (\d+) in doubt, "
               r"applied_round (\d+), in \d+ ms")


def burst(rig, n_batches, tag, counter=b"ctr"):
    """Pipelines of 20 SETs + 1 INCR.  Returns (expected kv of acknowledged SETs, INCRs
    acknowledged, SETs with an error reply); stops at the first batch with errors."""
    r = rig.client()
    acked, errors, incrs = {}, {}, 0
    for b in range(n_batches):
        pipe = r.pipeline(transaction=False)
        kv = {b"%s:%d:%d" % (tag, b, i): b"v%d" % i for i in range(20)}
        for k, v in kv.items():
            pipe.set(k, v)
        pipe.incr(counter)
        try:
            res = pipe.execute(raise_on_error=False)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            break
        failed = False
        for (k, v), x in zip(kv.items(), res):
            if x is True:
                acked[k] = v
            else:
                errors[k] = x
                failed = True
        if isinstance(res[-1], int):
            incrs += 1
        else:
            failed = True
        if failed:
            break
    r.close()
    return acked, incrs, errors


def replay_once(rig, i):
    """Start replica i alone (no coordinator), parse its replay line, read its state,
    kill -9 it.  Returns (records, applied, in doubt, applied_round, digest, rows)."""
    d = rig.replica(i)
    mark = d.log_mark()
    d.start()
    m = re.search(REPLAY_LINE, d.log_since(mark))
    assert m, d.report()
    info = rig.replica_info(i)
    state = tuple(int(g) for g in m.groups()) + (
        rig.replica_command(i, "DIGEST"), rig.rows(i))
    assert int(info["rounds_in_doubt"]) == state[2]
    assert int(info["applied_round"]) == state[3]
    d.kill()
    return state


def test_replay_twice_after_kill(rig):
    """kill -9 a replica right after a burst; restart it twice; same digest."""
    acked, incrs, errors = burst(rig, 30, b"b")
    assert not errors and incrs == 30
    rig.replica(1).kill()
    assert rig.coord.stop() == 0     # nothing re-sent: the restarts replay the log alone
    first = replay_once(rig, 1)
    second = replay_once(rig, 1)
    assert second[1] == 0, "second replay applied %d rounds again" % second[1]
    assert second[2:] == first[2:], "replaying twice differs: %r vs %r" % (
        first[:5], second[:5])
    rig.start()
    expected = dict(acked)
    expected[b"ctr"] = b"30"
    check_data(rig, expected)


def test_replay_twice_applies_commit_once(rig):
    """A replica dies with a COMMIT durable but not applied (replica.commit.before_apply
    on its 10th COMMIT): its first replay applies exactly that round, a second replay
    applies nothing, and the INCR counter proves no round ran twice."""
    victim = rig.replica(1)
    assert victim.stop() == 0
    victim.start(failpoints="replica.commit.before_apply@10")
    rig.wait_ready()
    acked, incrs, errors = burst(rig, 50, b"f")
    assert victim.wait_exit() == -signal.SIGABRT
    assert "failpoint replica.commit.before_apply fired" in victim.stderr()
    assert errors, "the burst went on although replica 1 died"
    assert rig.coord.stop() == 0
    # (A later round may be in doubt too, if rounds were pipelined: the coordinator
    # aborts it later, as its clients got an error.)
    first = replay_once(rig, 1)
    assert first[1] == 1, "first replay applied %d rounds: %r" % (first[1], first[:4])
    second = replay_once(rig, 1)
    assert second[1] == 0, "second replay applied %d rounds again" % second[1]
    assert second[2:] == first[2:], "replaying twice differs: %r vs %r" % (
        first[:5], second[:5])
    assert first[5].get(b"ctr") == b"%d" % incrs, "counter %r after %d INCRs" % (
        first[5].get(b"ctr"), incrs)
    rig.start()
    expected = dict(acked)
    expected[b"ctr"] = b"%d" % incrs
    check_data(rig, expected)


# --------------------------------------------------------------------------
# (e) a round in doubt across restarts of everyone
# --------------------------------------------------------------------------

@pytest.mark.parametrize("point", ["coord.commit.before_log", "coord.commit.after_log",
                                   "replica.prepare.after_sync"])
def test_in_doubt_resolved_after_coordinator_returns(rig, point):
    """coord.commit.*: every replica voted YES, the coordinator died before or after it
    handed its COMMIT record to the log thread: committed either way (the rule of durable
    votes: with no decision in the log, recovery commits from the votes).
    replica.prepare.after_sync: replica 1 died after its PREPARE was durable; the round
    aborted on the others; then the coordinator stops too.  In each case replica 1 restarts
    while the coordinator is down: it must keep the round in doubt and unapplied, and the
    coordinator, when it returns, must resolve it by its decision log or the votes."""
    expected = write_keys(rig, b"base", 10)
    rig.settle()
    committed = point.startswith("coord.")
    victim = rig.coord if point.startswith("coord.") else rig.replica(1)
    assert victim.stop() == 0
    victim.start(failpoints=point)
    rig.wait_ready()
    rid = int(rig.info()["next_round"])
    outcome, detail = send_write(rig.port, "SET", "doubt:key", "doubt:value")
    assert victim.wait_exit() == -signal.SIGABRT
    assert outcome == (UNKNOWN if victim is rig.coord else ERROR), detail
    if victim is not rig.coord:
        assert rig.coord.stop() == 0
    in_doubt = [1, 2, 3] if victim is rig.coord else [1]

    # Replica 1 restarts while no coordinator runs.
    if rig.replica(1).running():
        rig.replica(1).kill()
    mark = rig.replica(1).log_mark()
    rig.replica(1).start()
    m = re.search(REPLAY_LINE, rig.replica(1).log_since(mark))
    assert m and int(m.group(3)) == 1, "replica 1 should have 1 round in doubt: %s" % (
        m and m.group(0))
    for i in range(1, 4):
        info = rig.replica_info(i)
        assert info["rounds_in_doubt"] == ("1" if i in in_doubt else "0"), (i, info)
        assert rig.replica_command(i, "GET", "doubt:key") is None, \
            "replica %d applied a round in doubt" % i

    mark = rig.coord.log_mark()
    rig.coord.start()
    rig.wait_ready()
    rig.settle()
    log = rig.coord.log_since(mark)
    for i in in_doubt:
        aborted = re.search(r"replica %s: round %d in doubt, not committed: aborting it"
                            % (re.escape(rig.replica(i).addr), rid), log)
        assert bool(aborted) == (not committed), log
    if committed:
        expected[b"doubt:key"] = b"doubt:value"
    check_data(rig, expected)
    write_works(rig, expected, point)


# --------------------------------------------------------------------------
# (f) an idle cluster forgets its rounds
# --------------------------------------------------------------------------

def test_idle_cluster_ends_rounds(rig):
    """Every round acknowledged by all replicas must get its END once the cluster is idle
    (DESIGN.md write path step 5; the decision log is bounded by its ENDs)."""
    expected = write_keys(rig, b"idle", 30, batch=3)
    rig.settle()
    deadline_info = None
    for _ in range(100):                        # up to 5 s idle
        deadline_info = rig.info()
        if deadline_info["rounds_unacked"] == "0":
            break
        time.sleep(0.05)
    assert deadline_info["rounds_unacked"] == "0", (
        "idle for 5 s with every replica caught up, yet INFO says rounds_unacked:%s "
        "(last round never ENDed)" % deadline_info["rounds_unacked"])
    rig.stop()
    open_rounds = unended_commits(read_journal(rig.decision_log))
    assert not open_rounds, "decision log has COMMIT without END for %s" % sorted(open_rounds)
    mark = rig.coord.log_mark()
    rig.start()
    assert "0 committed rounds to finish" in rig.coord.log_since(mark)
    check_data(rig, expected)

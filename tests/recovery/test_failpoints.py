"""test_failpoints.py -- a process dies at every named failpoint; recovery keeps the rules.

For each failpoint of common/failpoint.h, on the process it applies to, one test:

  1. start a fresh coordinator and 3 replicas; write baseline keys (SET, MSET, INCR, DEL);
  2. restart ONE process with TWOPC_FAILPOINTS=<point>;
  3. issue one write with unique values (a SET, or an MSET of 3 keys) on a raw connection
     and record what the client was told: OK, an error, or a lost connection (unknown);
  4. check that process died at the point (exit status, "failpoint ... fired" on its
     stderr, the pid in its pid file gone);
  5. restart it WITHOUT the failpoint and wait until every round is decided everywhere;
  6. check: the write is on all replicas or on none (SQLite rows and GET on each replica's
     own port); OK means present, an error means absent (invariant 3); the outcome is the
     one this point must produce (reasoned below, per point); it is present iff the
     decision log holds "COMMIT <rid>" or every vote log its PREPARE (invariant 4 under
     the rule of durable votes); a replica that applied it has its
     PREPARE in the vote log (invariant 5); every replica holds exactly baseline + write
     (invariant 2) and DEBUG DIGEST agrees; the start-up log lines report the recovery
     (rounds applied, in doubt, aborted, torn tail cut); every vote and decision log still
     decodes record by record with valid CRCs; a further write works.

Why each outcome is determined (round R is the write's round; replica 2 is the victim):

  replica.prepare.before_log   R2 dies before logging its vote: its link drops, so the
                               round aborts (error naming R2) and nobody applies it.
  replica.prepare.after_sync   R2's PREPARE is durable but its YES never leaves: the round
                               aborts (error naming R2).  R2 restarts with R in doubt; the
                               coordinator has no COMMIT R, so it aborts R on R2.
  replica.commit.before_apply  every vote was YES and COMMIT R is durable at the
                               coordinator, which answered OK.  R2 has COMMIT R in its log
                               but not in SQLite: its replay applies exactly 1 round.
  replica.commit.after_apply   OK as above; R2 applied R to SQLite, so replay applies 0
                               rounds and the re-sent COMMIT is answered idempotently.
  coord.commit.before_log      every replica voted YES (R in doubt on all three): under the
                               rule of durable votes R is committed, though nothing is
                               logged, sent or answered yet.  The client loses its
                               connection; on restart the log has no decision for R, every
                               replica holds a durable YES, so recovery commits it from the
                               votes ("every in-sync replica holds a durable YES vote").
  coord.commit.after_log       COMMIT R went to the log thread, TPC.COMMIT and the OK are
                               queued but never flushed: the client loses its connection;
                               on restart R is finished from the log ("1 committed rounds
                               to finish") if the thread wrote it, from the votes if not:
                               present everywhere.
  journal.torn_write (replica) half of R2's PREPARE reaches votes.log: no vote, the round
                               aborts (error naming R2); on restart exactly those bytes are
                               cut as a torn tail.
  journal.torn_write (coord)   half of "COMMIT R" reaches decision.log, then death.  The
                               OK went out (or not: the log thread races the loop's flush)
                               on the votes, before the record: on restart exactly the half
                               line is cut, and R is committed from the votes.

Two more cases use the @N and =exit syntax: the point fires on the Nth hit, the earlier
writes commit normally.
"""

import os
import re
import signal
import uuid

import pytest

from conftest import (ERROR, OK, UNKNOWN, decode_journal, read_bytes, read_journal,
                      send_write, unended_commits)

VICTIM = 2  # the replica that dies at replica failpoints

# (id, failpoint spec, process, fires on hit N, client outcome, final state)
POINTS = [
    ("replica.prepare.before_log", "replica.prepare.before_log", "replica", 1, ERROR, False),
    ("replica.prepare.after_sync", "replica.prepare.after_sync", "replica", 1, ERROR, False),
    ("replica.commit.before_apply", "replica.commit.before_apply", "replica", 1, OK, True),
    ("replica.commit.after_apply", "replica.commit.after_apply", "replica", 1, OK, True),
    ("coord.commit.before_log", "coord.commit.before_log", "coordinator", 1, UNKNOWN, True),
    ("coord.commit.after_log", "coord.commit.after_log", "coordinator", 1, UNKNOWN, True),
    ("journal.torn_write@replica", "journal.torn_write", "replica", 1, ERROR, False),
    ("journal.torn_write@coordinator", "journal.torn_write", "coordinator", 1, (OK, UNKNOWN),
     True),
]
EXTRA = [
    ("replica.commit.before_apply=exit@3", "replica.commit.before_apply=exit@3", "replica", 3,
     OK, True),
    ("coord.commit.after_log=exit@3", "coord.commit.after_log=exit@3", "coordinator", 3,
     UNKNOWN, True),
]

CASES = ([pytest.param(p, kind, id="%s-%s" % (p[0], kind)) for p in POINTS
          for kind in ("set", "mset")]
         + [pytest.param(p, "set", id="%s-set" % p[0]) for p in EXTRA])


def point_name(spec):
    return re.split(r"[=@]", spec)[0]


def write_baseline(rig):
    """A few rounds of mixed writes; returns the exact expected kv contents."""
    r = rig.client()
    expected = {}
    pipe = r.pipeline(transaction=False)
    for i in range(20):
        pipe.set(b"base:%d" % i, b"value-%d" % i)
        expected[b"base:%d" % i] = b"value-%d" % i
    assert pipe.execute() == [True] * 20
    assert r.mset({b"base:m1": b"x1", b"base:m2": b"x2"}) is True
    expected.update({b"base:m1": b"x1", b"base:m2": b"x2"})
    for _ in range(3):
        r.incr(b"base:counter")
    expected[b"base:counter"] = b"3"
    assert r.delete(b"base:0", b"base:nope") == 1
    del expected[b"base:0"]
    assert r.set(b"base:bin", b"a b\r\n\x00\xff#\"\\") is True
    expected[b"base:bin"] = b"a b\r\n\x00\xff#\"\\"
    r.close()
    return expected


def the_write(kind, tag):
    """(command args, {key: value} it writes) with values no earlier run used."""
    u = uuid.uuid4().hex
    if kind == "set":
        k, v = ("fp:%s:k" % tag).encode(), ("v-%s" % u).encode()
        return ["SET", k, v], {k: v}
    kv = {("fp:%s:m%d" % (tag, i)).encode(): ("v%d-%s" % (i, u)).encode() for i in range(3)}
    args = ["MSET"]
    for k, v in kv.items():
        args += [k, v]
    return args, kv


def torn_tail(path):
    """(offset, length) of the bytes after the last newline of a file."""
    data = read_bytes(path)
    cut = data.rfind(b"\n") + 1
    return cut, len(data) - cut


def check_journals(rig):
    """Every vote log and the decision log decode record by record."""
    recs = {"decision": read_journal(rig.decision_log)}
    for i in range(1, rig.nreplicas + 1):
        recs[i] = read_journal(rig.votes_log(i))
    return recs


def has_record(records, *fields):
    want = [f.encode() if isinstance(f, str) else f for f in fields]
    return any(r[:len(want)] == want for _, r in records)


def assert_uniform(rig, keys, expected_state, baseline):
    """The write's keys are on all replicas or on none (SQLite and a direct GET), each
    replica holds exactly baseline (+ the write); returns True if present."""
    rows = rig.all_rows()
    presence = []
    for i, table in enumerate(rows, 1):
        have = {k: table.get(k) for k in keys}
        direct = {k: rig.replica_command(i, "GET", k) for k in keys}
        assert have == direct, ("replica %d: SQLite %r but GET on its port %r"
                                % (i, have, direct))
        present = [v is not None for v in have.values()]
        assert all(present) or not any(present), \
            "replica %d holds only part of an atomic write: %r" % (i, have)
        presence.append(all(present))
    assert len(set(presence)) == 1, \
        "replicas disagree about the write: present on %s, absent on %s" % (
            [i for i, p in enumerate(presence, 1) if p],
            [i for i, p in enumerate(presence, 1) if not p])
    present = presence[0]
    want = dict(baseline)
    if present:
        want.update(expected_state)
    for i, table in enumerate(rows, 1):
        assert table == want, "replica %d: kv table differs from baseline%s: %s" % (
            i, " + write" if present else "", sorted(set(table.items()) ^ set(want.items()))[:5])
    return present


@pytest.mark.parametrize("point,kind", CASES)
def test_failpoint(rig, point, kind):
    label, spec, target, fire_at, want_outcome, want_present = point
    name = point_name(spec)
    baseline = write_baseline(rig)
    rig.settle()

    # -- arm: restart the one process with the failpoint -------------------
    victim = rig.coord if target == "coordinator" else rig.replica(VICTIM)
    assert victim.stop() == 0
    victim.start(failpoints=spec)
    rig.wait_ready()
    rig.settle()

    # Writes before the Nth hit commit normally.
    for n in range(fire_at - 1):
        out, detail = send_write(rig.port, "SET", b"fp:early:%d" % n, b"early-%d" % n)
        assert out == OK, "write %d before the failpoint fires: %s %r" % (n, out, detail)
        baseline[b"fp:early:%d" % n] = b"early-%d" % n
        assert victim.running(), "%s fired on hit %d, wanted %d" % (spec, n + 1, fire_at)

    rid = int(rig.info()["next_round"])
    decision_size = os.path.getsize(rig.decision_log)
    votes_size = os.path.getsize(rig.votes_log(VICTIM))
    coord_mark = rig.coord.log_mark()
    victim_mark = victim.log_mark()

    # -- the write ---------------------------------------------------------
    args, written = the_write(kind, label.replace("@", "-"))
    outcome, detail = send_write(rig.port, *args)

    # -- the process died at the point -------------------------------------
    status = victim.wait_exit()
    assert status == (1 if "=exit" in spec else -signal.SIGABRT), \
        "%s exit status %r\n%s" % (victim.name, status, victim.report())
    assert "failpoint %s fired" % name in victim.stderr(), victim.report()
    assert victim.pidfile_pid_gone()
    for d in rig.daemons():
        if d is not victim:
            assert d.running(), "%s died too\n%s" % (d.name, d.report())

    # What the client was told, per point.
    wants = want_outcome if isinstance(want_outcome, tuple) else (want_outcome,)
    assert outcome in wants, "client outcome %s (%r), expected %s" % (
        outcome, detail, " or ".join(wants))
    if outcome == ERROR:
        assert victim.addr in detail and ("NOREPLICAS" in detail or "not applied" in detail), \
            "error does not name the dead replica %s: %r" % (victim.addr, detail)

    # The victim's log as the crash left it: what its replay must report.
    path = rig.decision_log if target == "coordinator" else rig.votes_log(VICTIM)
    before = decision_size if target == "coordinator" else votes_size
    crash_bytes = read_bytes(path)
    cut_at, cut_len = torn_tail(path)
    if name == "journal.torn_write":
        assert cut_len > 0 and cut_at >= before, \
            "no half-written record at the end of %s (size %d, was %d)" % (
                path, len(crash_bytes), before)
    else:
        assert cut_len == 0, "%s ends in a partial line after %s" % (path, spec)
    crash_records = decode_journal(crash_bytes[:cut_at], path)

    # -- restart without the failpoint -------------------------------------
    victim.start()
    rig.wait_ready()
    rig.settle()

    # -- start-up logs ------------------------------------------------------
    log = victim.log_since(victim_mark)
    coord_log = rig.coord.log_since(coord_mark)
    aborting = r"replica %s: round %d in doubt, not committed: aborting it"
    if target == "replica":
        m = re.search(r"vote log replayed: (\d+) records, (\d+) rounds applied, (\d+) in "
                      r"doubt, applied_round (\d+), in \d+ ms", log)
        assert m, "no replay line in %s's log:\n%s" % (victim.name, log)
        nrec, applied, doubt, applied_round = (int(g) for g in m.groups())
        assert nrec == len(crash_records), \
            "replay read %d records, the vote log holds %d" % (nrec, len(crash_records))
        if name == "replica.prepare.after_sync":
            assert (applied, doubt, applied_round) == (0, 1, rid - 1), m.group(0)
            assert re.search(aborting % (re.escape(victim.addr), rid), coord_log), coord_log
        elif name == "replica.commit.before_apply":
            assert (applied, doubt, applied_round) == (1, 0, rid), m.group(0)
        elif name == "replica.commit.after_apply":
            assert (applied, doubt, applied_round) == (0, 0, rid), m.group(0)
        else:  # prepare.before_log, torn_write: the vote was never durable
            assert (applied, doubt, applied_round) == (0, 0, rid - 1), m.group(0)
            assert "round %d in doubt" % rid not in coord_log, coord_log
    else:
        m = re.search(r"decision log replayed: (\d+) records, (\d+) committed rounds to "
                      r"finish, next round (\d+), in \d+ ms", log)
        assert m, "no replay line in the coordinator's log:\n%s" % log
        nrec, to_finish = int(m.group(1)), int(m.group(2))
        assert nrec == len(crash_records), \
            "replay read %d records, the decision log holds %d" % (nrec, len(crash_records))
        unended = unended_commits(crash_records)
        assert to_finish == len(unended), \
            "replay has %d rounds to finish, the log has COMMIT without END for %s" % (
                to_finish, sorted(unended))
        from_votes = re.search(r"round %d: every in-sync replica holds a durable YES vote "
                               r"for it: committed" % rid, log)
        if want_present:
            # The rule of durable votes: COMMIT R in the log (the thread wrote it before
            # the crash), or R committed from the replicas' votes at recovery, or neither
            # when TPC.COMMIT reached every replica first -- never both.
            assert not (rid in unended and from_votes), \
                "round %d: durable COMMIT at the crash %s, committed from the votes %s\n%s" \
                % (rid, rid in unended, bool(from_votes), log)
        else:
            assert rid not in unended and not from_votes, \
                "round %d has a durable COMMIT at the crash" % rid
        for r in rig.replicas:
            found = re.search(aborting % (re.escape(r.addr), rid), log)
            if want_present:
                assert not found, "committed round %d aborted on %s" % (rid, r.addr)
            else:
                assert found, "round %d not aborted on %s:\n%s" % (rid, r.addr, log)
        assert int(rig.info()["next_round"]) > rid, "round id %d may be reused" % rid
    if name == "journal.torn_write":
        which = "decision" if target == "coordinator" else "vote"
        want_line = "%s log %s: cut a torn tail of %d bytes at offset %d" % (
            which, path, cut_len, cut_at)
        assert want_line in log, "expected %r in:\n%s" % (want_line, log)
        assert read_bytes(path)[:cut_at] == crash_bytes[:cut_at], \
            "bytes before the torn tail changed"
    else:
        assert "torn tail" not in log, log

    # -- the data -----------------------------------------------------------
    present = assert_uniform(rig, list(written), written, baseline)
    assert present == want_present, "write is %s after recovery, expected %s" % (
        "present" if present else "absent", "present" if want_present else "absent")
    if outcome == OK:
        assert present, "invariant 1: an acknowledged write was lost"
    if outcome == ERROR:
        assert not present, "invariant 3: a write answered with an error became visible"
    digest = rig.digest()
    for i in range(1, rig.nreplicas + 1):
        assert rig.replica_command(i, "DIGEST") == digest

    # -- the logs -------------------------------------------------------------
    recs = check_journals(rig)
    # Invariant 4 under the rule of durable votes: a round is applied only if its COMMIT is
    # durable in the decision log or every replica durably voted YES on it (a torn COMMIT
    # record of a round every replica already applied is never written again).
    logged = has_record(recs["decision"], "COMMIT", str(rid))
    voted = all(has_record(recs[i], "PREPARE", str(rid)) for i in range(1, rig.nreplicas + 1))
    assert (logged or voted) if present else not logged, \
        "invariant 4: round %d is %s; the decision log %s COMMIT %d; every replica %s " \
        "PREPARE %d" % (rid, "committed" if present else "not committed",
                        "holds" if logged else "lacks", rid, "logged" if voted else "lacks",
                        rid)
    for i in range(1, rig.nreplicas + 1):
        if present:
            assert has_record(recs[i], "PREPARE", str(rid)), \
                "invariant 5: replica %d applied round %d without a PREPARE record" % (i, rid)

    # -- and the cluster still works ------------------------------------------
    out, detail = send_write(rig.port, "SET", b"fp:after", b"after-" + label.encode())
    assert out == OK, "write after recovery: %s %r" % (out, detail)
    rig.settle()
    for i, table in enumerate(rig.all_rows(), 1):
        assert table.get(b"fp:after") == b"after-" + label.encode(), "replica %d" % i
    r = rig.client()
    for k, v in baseline.items():
        assert r.get(k) == v
    r.close()
    rig.digest()

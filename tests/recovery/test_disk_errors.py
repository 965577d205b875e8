"""test_disk_errors.py -- a full or failing disk costs writes, not reads (#13 item 5).

Each test runs a coordinator and three replicas as separate processes (conftest.py's Rig,
no launcher: a process that exits stays dead, so "no crash" is checked by pids), then
makes a log write or fsync fail and checks what a client sees:

  test_full_tmpfs            the whole data folder on a 16 MB tmpfs, filled by writes until
                             they fail: every acknowledged write reads back while full, the
                             error is MISCONF naming the log and the cause, no process
                             restarted; a filler file removed, writes come back by
                             themselves, and the replicas agree (DEBUG DIGEST, SQLite rows).
                             Skipped, with the reason, where mount(2) is not permitted.
  test_full_tmpfs_decision_log  only the coordinator's folder on a 1 MB tmpfs filled to
                             8 KB: the decision log itself hits ENOSPC; later writes are
                             refused with MISCONF until space is freed.
  test_vote_log_eio          EIO on write / on fsync of one replica's vote log, injected
                             by tests/tools/eiofs.c (LD_PRELOAD) and switched at run time:
                             writes fail with MISCONF naming that replica, reads go on,
                             the fault cleared, writes resume, the log replays clean.
  test_decision_log_eio      the same on the coordinator's decision log: a round whose
                             COMMIT record failed is acknowledged on its votes (the rule
                             of durable votes); later writes are refused with MISCONF; a
                             refused write never becomes visible.
  test_transient_eio_failpoint  one failed write / fdatasync of a vote log (failpoints
                             journal.write_eio, journal.fsync_eio): cut back, written again
                             within 20 ms, no write fails, the log replays clean.

Each test takes a few seconds (the fill is bounded by the tmpfs size).
"""

import os
import re
import shutil
import subprocess
import threading
import time

import pytest
import redis

from conftest import REPLICA, SERVER, read_journal

EIOFS = os.environ.get("TWOPC_EIOFS") or os.path.join(
    os.path.dirname(os.path.dirname(SERVER)), "tests", "tools", "libeiofs.so")

MISCONF_VOTE = re.compile(r"^MISCONF Errors writing to the vote log of replica "
                          r"127\.0\.0\.1:(\d+): (.+); writes are refused until the disk "
                          r"recovers$")
MISCONF_DECISION = re.compile(r"^MISCONF Errors writing to the decision log of the "
                              r"coordinator: (.+); writes are refused until the disk "
                              r"recovers$")


def pids(rig):
    return [d.pid for d in rig.daemons()]


def all_running(rig):
    return all(d.running() for d in rig.daemons())


def check_reads(client, acked):
    """Every acknowledged write reads back, several times over (reads rotate across the
    replicas)."""
    for _ in range(3):
        for k, v in acked.items():
            assert client.get(k) == v, "GET %r while the disk fails" % k


def wait_write_ok(client, key, value, timeout=15.0):
    """Polls SET until it succeeds; the last error otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if client.set(key, value):
                return None
        except redis.exceptions.ResponseError as e:
            last = str(e)
        time.sleep(0.05)
    return last or "timeout"


def check_agree(rig, acked):
    rig.settle()
    rig.digest()  # DEBUG DIGEST fails the test on divergence
    rows = rig.all_rows()
    for i, r in enumerate(rows[1:], 2):
        assert r == rows[0], "replica %d differs from replica 1" % i
    for k, v in acked.items():
        assert rows[0].get(k) == v, "acknowledged write %r lost" % k


# --------------------------------------------------------------------------
# (a) a real small file system, filled up
# --------------------------------------------------------------------------

def _mount_tmpfs(path, size):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.returncode == 0, r.stdout.decode(errors="replace").strip()


def test_full_tmpfs(make_rig):
    rig = make_rig()
    ok, why = _mount_tmpfs(rig.dir, "16m")
    if not ok:
        pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): %s" % why)
    try:
        _full_tmpfs(rig)
    except Exception as e:  # the logs live on the tmpfs: attach them before it goes
        raise AssertionError("%s\n%s" % (e, rig.report(60))) from e
    finally:
        rig.close()
        subprocess.run(["umount", "-l", rig.dir], stderr=subprocess.DEVNULL)


def _full_tmpfs(rig):
    filler = os.path.join(rig.dir, "filler")
    with open(filler, "wb") as f:
        f.write(b"\0" * (4 << 20))  # tmpfs allocates on write: these 4 MB are taken
    rig.start()
    before = pids(rig)
    c = rig.client()
    value = os.urandom(16 << 10)
    acked, errors = {}, []
    for n in range(2000):
        key = b"fill:%d" % n
        try:
            c.set(key, value)
            acked[key] = value
        except redis.exceptions.ResponseError as e:
            errors.append(str(e))
            if MISCONF_VOTE.match(str(e)) or MISCONF_DECISION.match(str(e)):
                break
            if len(errors) > 50:
                break
    assert errors, "2000 writes of 16 KB fit in a 16 MB tmpfs?"
    misconf = [e for e in errors if MISCONF_VOTE.match(e) or MISCONF_DECISION.match(e)]
    assert misconf, "no MISCONF error among %r" % errors[-5:]
    assert "No space left on device" in misconf[-1], misconf[-1]
    assert len(acked) > 10, "only %d writes fit before the disk was full" % len(acked)

    # Full: reads go on, from committed data, and nothing restarted.
    check_reads(c, acked)
    assert all_running(rig) and pids(rig) == before, "a process exited on a full disk"
    with pytest.raises(redis.exceptions.ResponseError):
        c.set(b"while-full", value)  # still refused: nothing was freed

    os.unlink(filler)
    t0 = time.monotonic()
    err = wait_write_ok(c, b"after", b"free again")
    assert err is None, "writes did not resume after space was freed: %s" % err
    resumed = time.monotonic() - t0
    assert resumed < 10, "writes took %.1f s to resume" % resumed
    print("tmpfs: %d writes of 16 KB acknowledged before full; writes resumed %.2f s after "
          "the filler was removed" % (len(acked), resumed))
    acked[b"after"] = b"free again"
    for n in range(20):  # and keep working
        c.set(b"more:%d" % n, b"v%d" % n)
        acked[b"more:%d" % n] = b"v%d" % n
    check_reads(c, acked)
    check_agree(rig, acked)
    assert all_running(rig) and pids(rig) == before, "a process restarted"
    for i in range(1, rig.nreplicas + 1):
        read_journal(rig.votes_log(i))  # no torn record left in the middle
    read_journal(rig.decision_log)


def test_full_tmpfs_decision_log(make_rig):
    """Only the coordinator's folder on a tiny tmpfs, filled to a few KB: its decision log
    itself hits ENOSPC (a real short write and a real cut-back), not the replicas'
    reserve check."""
    rig = make_rig()
    os.makedirs(rig.coord.dir)
    ok, why = _mount_tmpfs(rig.coord.dir, "1m")
    if not ok:
        pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): %s" % why)
    try:
        _full_decision_log(rig)
    except Exception as e:  # the coordinator's log lives on the tmpfs: attach it first
        raise AssertionError("%s\n%s" % (e, rig.report(60))) from e
    finally:
        rig.close()
        subprocess.run(["umount", "-l", rig.coord.dir], stderr=subprocess.DEVNULL)


def _full_decision_log(rig):
    rig.start()
    before = pids(rig)
    c = rig.client()
    acked = {}
    for n in range(5):
        c.set(b"k%d" % n, b"v%d" % n)
        acked[b"k%d" % n] = b"v%d" % n
    filler = os.path.join(rig.coord.dir, "filler")
    st = os.statvfs(rig.coord.dir)
    with open(filler, "wb") as f:  # leave 8 KB: two pages
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 8192))
    mark = rig.coord.log_mark()
    pending = None
    for n in range(2000):  # ~60 bytes of COMMIT + END per write: fills 8 KB in ~140
        key = b"fill:%d" % n
        try:
            rig.client(socket_timeout=3).set(key, b"x")
            acked[key] = b"x"
        except redis.exceptions.TimeoutError:
            pending = key  # its COMMIT record is in the failed batch: it waits
            break
        except redis.exceptions.ResponseError as e:
            assert MISCONF_DECISION.match(str(e)), str(e)
            break
    rig.coord.wait_log(r"decision log: can't make records durable \(No space left on "
                       r"device\)", mark)
    with pytest.raises(redis.exceptions.ResponseError) as exc:
        c.set(b"refused", b"x")
    m = MISCONF_DECISION.match(str(exc.value))
    assert m and m.group(1) == "No space left on device", str(exc.value)
    check_reads(c, acked)
    assert all_running(rig) and pids(rig) == before, "the coordinator exited on ENOSPC"

    os.unlink(filler)
    err = wait_write_ok(c, b"after", b"free again")
    assert err is None, "writes did not resume after space was freed: %s" % err
    acked[b"after"] = b"free again"
    if pending is not None:  # its round commits once the record is durable
        deadline = time.monotonic() + 10
        while c.get(pending) != b"x" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.get(pending) == b"x", "the waiting round did not commit"
    assert c.get(b"refused") is None, "a refused write became visible"
    check_agree(rig, acked)
    read_journal(rig.decision_log)  # the cut-back left no torn record
    assert rig.coord.stop() == 0
    rig.coord.start()
    rig.wait_ready()
    check_agree(rig, acked)


# --------------------------------------------------------------------------
# (b) injected EIO, switched at run time
# --------------------------------------------------------------------------

def _preload(binary):
    """LD_PRELOAD for the shim: after a dynamically linked ASan runtime, if the binary has
    one (it must come first in the library list: `make asan` builds with gcc)."""
    try:
        out = subprocess.run(["ldd", binary], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.decode(errors="replace")
    except OSError:
        out = ""
    first = [ln.split("=>")[1].split()[0] for ln in out.splitlines()
             if "libasan.so" in ln and "=>" in ln]
    return ":".join(first[:1] + [EIOFS])


def _shim_env(ctl, match, binary):
    if not os.path.exists(EIOFS):
        pytest.skip("%s not built" % EIOFS)
    return {"LD_PRELOAD": _preload(binary), "EIOFS_MATCH": match, "EIOFS_CONTROL": ctl}


def _set_fault(ctl, what):
    with open(ctl + ".tmp", "w") as f:
        f.write(what)
    os.replace(ctl + ".tmp", ctl)


@pytest.mark.parametrize("fault", ["write EIO", "fsync EIO"])
def test_vote_log_eio(make_rig, fault):
    rig = make_rig()
    ctl = os.path.join(rig.root, "eiofs.ctl")
    env = _shim_env(ctl, "/replica-2/votes.log", REPLICA)
    for i in (1, 3):
        rig.replica(i).start()
    rig.replica(2).start(env=env)
    rig.coord.start()
    rig.wait_ready()
    before = pids(rig)
    c = rig.client()
    acked = {}
    for n in range(20):
        c.set(b"k%d" % n, b"v%d" % n)
        acked[b"k%d" % n] = b"v%d" % n

    _set_fault(ctl, fault)
    errors = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            c.set(b"refused", b"x")
        except redis.exceptions.ResponseError as e:
            errors.append(str(e))
            if MISCONF_VOTE.match(str(e)):
                break
        else:
            pytest.fail("a write was acknowledged while replica 2's vote log fails")
    m = MISCONF_VOTE.match(errors[-1]) if errors else None
    assert m, "no MISCONF error naming the replica: %r" % errors[-3:]
    assert int(m.group(1)) == rig.replica(2).port, errors[-1]
    assert m.group(2) == "Input/output error", errors[-1]
    assert rig.replica_info(2).get("vote_log_status") == "err"
    assert rig.replica_info(1).get("vote_log_status") == "ok"
    check_reads(c, acked)
    assert all_running(rig) and pids(rig) == before, "a process exited on EIO"

    _set_fault(ctl, "")
    t0 = time.monotonic()
    err = wait_write_ok(c, b"after", b"healed")
    assert err is None, "writes did not resume after the fault cleared: %s" % err
    print("vote log %s: writes resumed %.2f s after the fault cleared"
          % (fault, time.monotonic() - t0))
    assert rig.replica_info(2).get("vote_log_status") == "ok"
    acked[b"after"] = b"healed"
    assert c.get(b"refused") is None, "a refused write became visible"
    check_agree(rig, acked)
    read_journal(rig.votes_log(2))  # the cut-back left no torn record in the middle
    # And the log replays: a restart of the replica finds every record valid.
    assert rig.replica(2).stop() == 0
    rig.replica(2).start()
    rig.wait_ready()
    check_agree(rig, acked)


def _decision_log_rig(make_rig, prefix, n):
    """A rig whose coordinator's decision log goes through the EIO shim, with n keys
    written: (rig, control file, client, acknowledged writes, pids)."""
    rig = make_rig()
    ctl = os.path.join(rig.root, "eiofs.ctl")
    env = _shim_env(ctl, "/coordinator/decision.log", SERVER)
    for r in rig.replicas:
        r.start()
    rig.coord.start(env=env)
    rig.wait_ready()
    before = pids(rig)
    c = rig.client()
    acked = {}
    for i in range(n):
        c.set(b"%s%d" % (prefix, i), b"v%d" % i)
        acked[b"%s%d" % (prefix, i)] = b"v%d" % i
    return rig, ctl, c, acked, before


@pytest.mark.parametrize("fault", ["write EIO", "fsync EIO"])
def test_decision_log_eio(make_rig, fault):
    rig, ctl, c, acked, before = _decision_log_rig(make_rig, b"k", 20)

    mark = rig.coord.log_mark()
    _set_fault(ctl, fault)
    # The next records fail (the first write's COMMIT, or an earlier round's END). Under
    # the rule of durable votes a write already voted is committed by its votes and
    # answered OK without waiting for its record; the writes after the coordinator knows
    # its log fails are refused at once (MISCONF): an abort could not be logged, and an
    # error may not go out before its ABORT is durable.
    first = {}

    def first_write():
        try:
            first["reply"] = rig.client(socket_timeout=30).set(b"pending", b"p")
        except Exception as e:  # noqa: BLE001 -- reported below
            first["reply"] = e

    t = threading.Thread(target=first_write)
    t.start()
    # Once the coordinator knows its log fails (not before: a write racing the first one
    # may share its failed batch, and wait with it), writes are refused at once.
    rig.coord.wait_log(r"decision log: can't make records durable \(Input/output error\)",
                       mark)
    errors = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not errors:
        try:
            c.set(b"refused", b"x")
        except redis.exceptions.ResponseError as e:
            errors.append(str(e))
        time.sleep(0.02)
    assert errors and MISCONF_DECISION.match(errors[0]), errors
    assert MISCONF_DECISION.match(errors[0]).group(1) == "Input/output error"
    assert rig.info().get("decision_log_status") == "err"
    check_reads(c, acked)
    assert all_running(rig) and pids(rig) == before, "a process exited on EIO"

    _set_fault(ctl, "")
    t0 = time.monotonic()
    t.join(20)
    print("decision log %s: the first write was answered %.2f s after the fault "
          "cleared (<= 0: before)" % (fault, time.monotonic() - t0))
    # OK on its votes, or MISCONF when a lazily written record (an earlier round's END or
    # COMMIT) met the fault first: the write then never started.
    reply = first.get("reply")
    if reply is True:
        acked[b"pending"] = b"p"
    else:
        assert isinstance(reply, redis.exceptions.ResponseError) and \
            MISCONF_DECISION.match(str(reply)), "the first write: %r" % reply
    deadline = time.monotonic() + 10  # the journal's retry heals it
    while rig.info().get("decision_log_status") != "ok" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rig.info().get("decision_log_status") == "ok"
    err = wait_write_ok(c, b"after", b"healed")
    assert err is None, "writes did not resume after the fault cleared: %s" % err
    acked[b"after"] = b"healed"
    assert c.get(b"refused") is None, "a refused write became visible"
    if reply is not True:
        assert c.get(b"pending") is None, "a refused write became visible"
    check_agree(rig, acked)
    read_journal(rig.decision_log)
    # A restart replays the decision log and finds the same data.
    assert rig.coord.stop() == 0
    rig.coord.start()
    rig.wait_ready()
    check_agree(rig, acked)


@pytest.mark.parametrize("point", ["journal.write_eio@10", "journal.fsync_eio@10"])
def test_transient_eio_failpoint(make_rig, point):
    """One failed write (half a record left in the file) or fdatasync of replica 1's vote
    log, from a failpoint: the journal cuts back and writes again within its first retry
    (20 ms). A write that reaches the replica in those few ms gets MISCONF (it refuses a
    PREPARE while its log is failing) and succeeds when retried; nothing acknowledged is
    lost, and the log replays clean."""
    rig = make_rig()
    rig.replica(1).start(failpoints=point)
    for i in (2, 3):
        rig.replica(i).start()
    rig.coord.start()
    rig.wait_ready()
    before = pids(rig)
    c = rig.client()
    acked = {}
    refused = 0
    for n in range(40):
        for _ in range(50):
            try:
                c.set(b"k%d" % n, b"v%d" % n)
                break
            except redis.exceptions.ResponseError as e:
                assert MISCONF_VOTE.match(str(e)), str(e)
                refused += 1
                time.sleep(0.01)
        acked[b"k%d" % n] = b"v%d" % n
    assert refused <= 5, "%d writes refused by a 20 ms failure" % refused
    rig.replica(1).wait_log(r"vote log: can't make records durable \(Input/output error\)")
    rig.replica(1).wait_log(r"vote log: writable again; writes resume")
    assert all_running(rig) and pids(rig) == before, "a process exited on EIO"
    check_agree(rig, acked)
    read_journal(rig.votes_log(1))
    assert rig.replica(1).stop() == 0
    rig.replica(1).start()
    rig.wait_ready()
    check_agree(rig, acked)


def test_replica_set_change_on_a_failing_decision_log(make_rig):
    """#13: a replica set change whose decision-log record cannot be made durable does not
    make the coordinator exit (it did: txn_sync_or_die, then a restart into the same
    disk). REPLICASET REMOVE says the change is made but not durable; writes are refused
    with MISCONF until it is (no round may commit under a replica set a crash could take
    back), reads go on; once the disk recovers the change becomes durable by itself, writes
    resume, and a restart finds the replica set without the removed replica."""
    rig, ctl, c, acked, before = _decision_log_rig(make_rig, b"m", 10)
    time.sleep(0.5)  # the rounds' END records are written: the log is idle
    mark = rig.coord.log_mark()
    _set_fault(ctl, "fsync EIO")
    gone = rig.replica(3).addr
    with pytest.raises(redis.exceptions.ResponseError) as e:
        c.execute_command("REPLICASET", "REMOVE", gone)
    assert str(e.value).startswith("MISCONF Errors writing to the decision log of the "
                                   "coordinator: the replica set change is made but not "
                                   "durable yet"), str(e.value)
    rig.coord.wait_log(r"the replica set change is not durable", mark)
    with pytest.raises(redis.exceptions.ResponseError) as e:
        c.set(b"refused", b"x")
    assert str(e.value).startswith("MISCONF Errors writing to the decision log"), str(e.value)
    # another change is refused outright while the log fails
    with pytest.raises(redis.exceptions.ResponseError) as e:
        c.execute_command("REPLICASET", "REMOVE", rig.replica(2).addr)
    assert "the replica set cannot change now" in str(e.value), str(e.value)
    check_reads(c, acked)
    time.sleep(1.0)
    assert all_running(rig) and pids(rig) == before, "a process exited on EIO"

    _set_fault(ctl, "")
    rig.coord.wait_log(r"the replica set change is durable now; writes resume", mark)
    err = wait_write_ok(c, b"after", b"healed")
    assert err is None, "writes did not resume after the fault cleared: %s" % err
    acked[b"after"] = b"healed"
    assert c.get(b"refused") is None, "a refused write became visible"
    members = [m[1] if isinstance(m, list) else m for m in
               c.execute_command("REPLICASET", "LIST")]
    assert all(gone.encode() not in repr(m).encode() for m in members), members
    # A restart replays the change from the decision log.
    assert rig.coord.stop() == 0
    rig.coord.start()
    rig.wait_ready(2)
    listed = repr(rig.client().execute_command("REPLICASET", "LIST"))
    assert gone not in listed and rig.replica(1).addr in listed, listed
    c = rig.client()
    for k, v in acked.items():
        assert c.get(k) == v

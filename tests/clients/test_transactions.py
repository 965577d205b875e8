"""MULTI / EXEC / DISCARD / WATCH over a raw socket: Redis 7's exact bytes.

Every expected reply below was taken from redis-server 7.0 for the same
input.  A transaction is one 2PC round: the data is checked on the replicas'
SQLite files too, not only through the coordinator.
"""

import signal
import threading
import time

import pytest

from conftest import connect, parse_info, resp_encode, send


def test_exec_returns_each_result_in_order(c):
    conn = connect(c)
    assert send(conn, "MULTI") == b"+OK\r\n"
    for args in (("SET", "tx:a", "1"), ("INCR", "tx:a"), ("GET", "tx:a"), ("PING",),
                 ("ECHO", "hi"), ("GET", "tx:missing"), ("INCR", "tx:notnum:x")):
        assert send(conn, *args) == b"+QUEUED\r\n", args
    assert send(conn, "SET", "tx:notnum", "abc") == b"+QUEUED\r\n"
    assert send(conn, "INCR", "tx:notnum") == b"+QUEUED\r\n"
    assert send(conn, "EXEC") == (
        b"*9\r\n+OK\r\n:2\r\n$1\r\n2\r\n+PONG\r\n$2\r\nhi\r\n$-1\r\n:1\r\n+OK\r\n"
        b"-ERR value is not an integer or out of range\r\n")
    # an error inside EXEC does not undo the others (Redis semantics)
    assert send(conn, "GET", "tx:notnum") == b"$3\r\nabc\r\n"
    c.wait_sqlite({b"tx:a": b"2", b"tx:notnum": b"abc"}, exact=False)


def test_empty_exec_and_errors(c):
    conn = connect(c)
    assert send(conn, "EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert send(conn, "DISCARD") == b"-ERR DISCARD without MULTI\r\n"
    assert send(conn, "MULTI") == b"+OK\r\n"
    assert send(conn, "MULTI") == b"-ERR MULTI calls can not be nested\r\n"
    assert send(conn, "WATCH", "x") == b"-ERR WATCH inside MULTI is not allowed\r\n"
    assert send(conn, "EXEC") == b"*0\r\n"  # the two errors above do not abort
    assert send(conn, "EXEC", "x") == (b"-EXECABORT Transaction discarded because of: "
                                       b"wrong number of arguments for 'exec' command\r\n")
    assert send(conn, "MULTI") == b"+OK\r\n"
    assert send(conn, "DISCARD", "x") == b"-ERR wrong number of arguments for 'discard' command\r\n"
    assert send(conn, "EXEC", "x") == (b"-EXECABORT Transaction discarded because of: "
                                       b"wrong number of arguments for 'exec' command\r\n")
    assert send(conn, "EXEC") == b"-ERR EXEC without MULTI\r\n"


@pytest.mark.parametrize("bad,err", [
    (("NOSUCHCMD", "a"), b"-ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' \r\n"),
    (("GET",), b"-ERR wrong number of arguments for 'get' command\r\n"),
    (("SET", "k"), b"-ERR wrong number of arguments for 'set' command\r\n"),
], ids=["unknown", "arity-get", "arity-set"])
def test_queue_time_error_aborts_exec(c, bad, err):
    conn = connect(c)
    assert send(conn, "MULTI") == b"+OK\r\n"
    assert send(conn, "SET", "tx:aborted", "1") == b"+QUEUED\r\n"
    assert send(conn, *bad) == err
    assert send(conn, "EXEC") == b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    assert send(conn, "EXISTS", "tx:aborted") == b":0\r\n"
    assert send(conn, "EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_discard_applies_nothing(c):
    conn = connect(c)
    assert send(conn, "MULTI") == b"+OK\r\n"
    assert send(conn, "SET", "tx:discarded", "1") == b"+QUEUED\r\n"
    assert send(conn, "DISCARD") == b"+OK\r\n"
    assert send(conn, "EXISTS", "tx:discarded") == b":0\r\n"
    c.wait_sqlite({}, exact=False, absent=[b"tx:discarded"])


def test_local_commands_are_spliced_in_place(c):
    conn = connect(c)
    assert send(conn, "MULTI") == b"+OK\r\n"
    assert send(conn, "CLIENT", "SETNAME", "txname") == b"+QUEUED\r\n"
    assert send(conn, "SET", "tx:splice", "v") == b"+QUEUED\r\n"
    assert send(conn, "CLIENT", "GETNAME") == b"+QUEUED\r\n"
    assert send(conn, "GET", "tx:splice") == b"+QUEUED\r\n"
    assert send(conn, "EXEC") == b"*4\r\n+OK\r\n+OK\r\n$6\r\ntxname\r\n$1\r\nv\r\n"


def test_watch_dirtied_by_other_client(c):
    a, b = connect(c), connect(c)
    assert send(a, "SET", "w:k", "1") == b"+OK\r\n"
    assert send(a, "WATCH", "w:k") == b"+OK\r\n"
    assert send(b, "SET", "w:k", "2") == b"+OK\r\n"
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "SET", "w:k", "from-a") == b"+QUEUED\r\n"
    assert send(a, "EXEC") == b"*-1\r\n"
    assert send(a, "GET", "w:k") == b"$1\r\n2\r\n"
    # EXEC unwatched everything: the next transaction runs
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "SET", "w:k", "from-a") == b"+QUEUED\r\n"
    assert send(a, "EXEC") == b"*1\r\n+OK\r\n"


def test_watch_dirtied_by_same_client_and_by_multi_key_commands(c):
    a = connect(c)
    assert send(a, "WATCH", "w:same") == b"+OK\r\n"
    assert send(a, "SET", "w:same", "x") == b"+OK\r\n"
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "EXEC") == b"*-1\r\n"
    b = connect(c)
    assert send(a, "WATCH", "w:other", "w:m2") == b"+OK\r\n"
    assert send(b, "MSET", "w:m1", "1", "w:m2", "2") == b"+OK\r\n"
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "EXEC") == b"*-1\r\n"
    # a write to a key nobody watches leaves the transaction alone
    assert send(a, "WATCH", "w:other") == b"+OK\r\n"
    assert send(b, "DEL", "w:m1") == b":1\r\n"
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "PING") == b"+QUEUED\r\n"
    assert send(a, "EXEC") == b"*1\r\n+PONG\r\n"


def test_watch_dirtied_by_another_transaction(c):
    a, b = connect(c), connect(c)
    assert send(a, "WATCH", "w:tx") == b"+OK\r\n"
    assert send(b, "MULTI") == b"+OK\r\n"
    assert send(b, "INCR", "w:tx") == b"+QUEUED\r\n"
    assert send(b, "EXEC") == b"*1\r\n:1\r\n"
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "INCR", "w:tx") == b"+QUEUED\r\n"
    assert send(a, "EXEC") == b"*-1\r\n"


def test_unwatch_and_discard_forget_watches(c):
    a, b = connect(c), connect(c)
    assert send(a, "WATCH", "w:u") == b"+OK\r\n"
    assert send(a, "UNWATCH") == b"+OK\r\n"
    assert send(b, "SET", "w:u", "1") == b"+OK\r\n"
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "EXEC") == b"*0\r\n"
    assert send(a, "WATCH", "w:u") == b"+OK\r\n"
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "DISCARD") == b"+OK\r\n"
    assert send(b, "SET", "w:u", "2") == b"+OK\r\n"
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "EXEC") == b"*0\r\n"


def test_own_write_pipelined_before_watch_does_not_dirty(c):
    """SET then WATCH in one pipeline: in Redis the SET runs first, so the
    WATCH starts after it and EXEC succeeds."""
    a = connect(c)
    a.send(resp_encode("SET", "w:pipe", "1") + resp_encode("WATCH", "w:pipe") +
           resp_encode("MULTI") + resp_encode("SET", "w:pipe", "2") + resp_encode("EXEC") +
           resp_encode("GET", "w:pipe"))
    replies = [a.read_raw() for _ in range(6)]
    assert replies == [b"+OK\r\n", b"+OK\r\n", b"+OK\r\n", b"+QUEUED\r\n", b"*1\r\n+OK\r\n",
                       b"$1\r\n2\r\n"]


def test_exec_waits_for_a_write_in_flight_on_a_watched_key(c):
    """A write submitted before EXEC but not yet committed must dirty the
    watch: pipelined WATCH/SET/MULTI/EXEC from one client gets *-1."""
    a = connect(c)
    a.send(resp_encode("WATCH", "w:inflight") + resp_encode("SET", "w:inflight", "x") +
           resp_encode("MULTI") + resp_encode("SET", "w:inflight", "y") + resp_encode("EXEC") +
           resp_encode("GET", "w:inflight"))
    replies = [a.read_raw() for _ in range(6)]
    assert replies == [b"+OK\r\n", b"+OK\r\n", b"+OK\r\n", b"+QUEUED\r\n", b"*-1\r\n",
                       b"$1\r\nx\r\n"]


def run_incrementers(port, n, m, key):
    """N raw-socket clients each add 1 to key M times with
    WATCH/GET/MULTI/SET/EXEC, retrying on *-1.  Returns the final value."""
    from conftest import RespConn
    send(RespConn(port), "SET", key, "0")
    errors = []

    def worker():
        conn = RespConn(port)
        try:
            done = 0
            while done < m:
                assert send(conn, "WATCH", key) == b"+OK\r\n"
                v = int(send(conn, "GET", key).split(b"\r\n")[1])
                assert send(conn, "MULTI") == b"+OK\r\n"
                assert send(conn, "SET", key, str(v + 1)) == b"+QUEUED\r\n"
                r = send(conn, "EXEC")
                if r == b"*1\r\n+OK\r\n":
                    done += 1
                else:
                    assert r == b"*-1\r\n", r
        except Exception as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return int(send(RespConn(port), "GET", key).split(b"\r\n")[1])


def test_concurrent_watch_increments_are_exact(c):
    """Any lost update (a transaction committing over a change it did not
    see) shows as a final count below N*M."""
    assert run_incrementers(c.port, 6, 15, "w:counter") == 6 * 15


def test_the_increment_check_catches_a_watch_bug(manual_cluster):
    """The same check against a coordinator with the deliberate bug switch
    coord.bug.watch_no_wait (EXEC does not wait for writes in flight on its
    watched keys): it must see lost updates, or the test above proves nothing."""
    mc = manual_cluster(server_env={"TWOPC_FAILPOINTS": "coord.bug.watch_no_wait"})
    finals = []
    for attempt in range(3):
        finals.append(run_incrementers(mc.port, 6, 15, "bug:counter:%d" % attempt))
        if finals[-1] < 6 * 15:
            return
    pytest.fail("no lost update detected with the bug switch on: %r" % finals)


def test_exec_fails_whole_when_a_replica_is_down():
    """A transaction's round cannot commit without every replica: EXEC gets
    NOREPLICAS and none of its writes is applied anywhere."""
    from conftest import new_cluster
    c = new_cluster()
    try:
        conn = connect(c)
        # No wait for the replica's restart by the launcher (the default waits 2 s, long
        # enough for it to come back): the transaction meets it down.
        assert send(conn, "CONFIG", "SET", "write-wait-ms", "1") == b"+OK\r\n"
        c.kill_replica(2)
        deadline = time.monotonic() + 10
        while c.info().get("replicas_ready") == "3" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert send(conn, "MULTI") == b"+OK\r\n"
        assert send(conn, "SET", "down:a", "1") == b"+QUEUED\r\n"
        assert send(conn, "SET", "down:b", "2") == b"+QUEUED\r\n"
        r = send(conn, "EXEC")
        assert r.startswith(b"-NOREPLICAS ") or r.startswith(b"-ERR write not applied"), r
        c.wait_ready()
        assert send(conn, "EXISTS", "down:a", "down:b") == b":0\r\n"
    finally:
        c.close()


def test_flush_dirties_the_watches_of_keys_it_deletes(c):
    """FLUSHALL fails an EXEC watching a key it deleted; FLUSHDB of an empty database
    changes nothing and leaves the WATCH alone (both as Redis 7.0)."""
    a, b = connect(c), connect(c)
    assert send(a, "SET", "w:flush", "1") == b"+OK\r\n"
    assert send(a, "WATCH", "w:flush") == b"+OK\r\n"
    assert send(b, "FLUSHALL") == b"+OK\r\n"
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "EXEC") == b"*-1\r\n"
    assert send(a, "WATCH", "w:flush") == b"+OK\r\n"
    assert send(b, "FLUSHDB") == b"+OK\r\n"      # nothing left to delete
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "EXEC") == b"*0\r\n"


def next_round(admin):
    info = parse_info(send(admin, "INFO", "twopc").split(b"\r\n", 1)[1])
    return int(info["next_round"])


def test_watch_after_a_prepare_went_out(manual_cluster):
    """A round asks the replicas what each op changed only if some key is watched when its
    PREPARE leaves. A WATCH that arrives while such a round is in flight gets no word
    about it, and the commit hook falls back to every key the op may write: a real change
    must fail the EXEC (else an update is lost), and a write that changes nothing fails it
    too in that window (more cautious than Redis). A round prepared after the WATCH is
    exact."""
    mc = manual_cluster("--prepare-timeout-ms", "8000")
    admin, a, b = mc.raw(), mc.raw(), mc.raw()
    replica = mc.procs[1]
    assert send(a, "SET", "late:k", "1") == b"+OK\r\n"
    cases = [(("INCR", "late:k"), b":2\r\n", True, b"*-1\r\n"),
             (("DEL", "late:missing"), b":0\r\n", True, b"*-1\r\n"),
             (("DEL", "late:missing"), b":0\r\n", False, b"*1\r\n+PONG\r\n")]
    for write, reply, prepared_first, want in cases:
        before = next_round(admin)
        if not prepared_first:
            assert send(a, "WATCH", "late:k", "late:missing") == b"+OK\r\n"
        replica.send_signal(signal.SIGSTOP)
        try:
            b.send(resp_encode(*write))
            deadline = time.monotonic() + 5
            while next_round(admin) == before:    # its round started: PREPARE is out
                assert time.monotonic() < deadline, "the round did not start"
                time.sleep(0.01)
            if prepared_first:
                assert send(a, "WATCH", "late:k", "late:missing") == b"+OK\r\n"
            assert send(a, "MULTI") == b"+OK\r\n"
            assert send(a, "PING") == b"+QUEUED\r\n"
            a.send(resp_encode("EXEC"))             # waits for the write in flight
        finally:
            replica.send_signal(signal.SIGCONT)
        assert b.read_raw() == reply, write
        assert a.read_raw() == want, (write, prepared_first)


def test_flush_and_a_watch_after_its_prepare_went_out(manual_cluster):
    """A round that may flush sends the keys watched when its PREPARE leaves, and the
    replicas say which of them the flush deletes: only their watchers are dirtied (as
    Redis). A key first watched after that has no answer, so the flush dirties its watchers
    conservatively, even when it never existed (Redis would run that EXEC); a key already
    in the list keeps its exact answer, whoever watches it."""
    mc = manual_cluster("--prepare-timeout-ms", "8000")
    admin, b = mc.raw(), mc.raw()
    early, same, late, late_existing = mc.raw(), mc.raw(), mc.raw(), mc.raw()
    replica = mc.procs[1]
    assert send(b, "SET", "fl:j", "1") == b"+OK\r\n"
    assert send(early, "WATCH", "fl:early") == b"+OK\r\n"    # missing: not deleted
    before = next_round(admin)
    replica.send_signal(signal.SIGSTOP)
    try:
        b.send(resp_encode("FLUSHDB"))
        deadline = time.monotonic() + 5
        while next_round(admin) == before:    # its round started: PREPARE is out
            assert time.monotonic() < deadline, "the round did not start"
            time.sleep(0.01)
        assert send(same, "WATCH", "fl:early") == b"+OK\r\n"        # in the list
        assert send(late, "WATCH", "fl:late") == b"+OK\r\n"         # not in it
        assert send(late_existing, "WATCH", "fl:j") == b"+OK\r\n"   # not in it, deleted
        for conn in (early, same, late, late_existing):
            assert send(conn, "MULTI") == b"+OK\r\n"
            assert send(conn, "PING") == b"+QUEUED\r\n"
            conn.send(resp_encode("EXEC"))    # waits for the flush in flight
    finally:
        replica.send_signal(signal.SIGCONT)
    assert b.read_raw() == b"+OK\r\n"
    assert early.read_raw() == b"*1\r\n+PONG\r\n"
    assert same.read_raw() == b"*1\r\n+PONG\r\n"
    assert late.read_raw() == b"*-1\r\n"              # conservative (Redis: *1 +PONG)
    assert late_existing.read_raw() == b"*-1\r\n"
    # The next flush, prepared after every WATCH, is exact for all of them.
    assert send(b, "SET", "fl:j", "1") == b"+OK\r\n"
    for conn in (early, late):
        assert send(conn, "WATCH", "fl:early" if conn is early else "fl:late") == b"+OK\r\n"
    assert send(b, "FLUSHALL") == b"+OK\r\n"
    for conn in (early, late):
        assert send(conn, "MULTI") == b"+OK\r\n"
        assert send(conn, "EXEC") == b"*0\r\n"

"""test_replicaset.py -- the front end of the replica set: the REPLICASET command's
replies and errors, the --min-replicas / --down-after-ms / --write-wait-ms options and
their CONFIG parameters, INFO's replica-set fields, COMMAND's `loading` flags, and
-LOADING while the coordinator recovers at start-up.

What the engine does with a member (adding, removing, repairing, leaving one out of the
in-sync set) is tested elsewhere; here only what the front end promises: exact error
texts, reply shapes, and that each setting reaches CONFIG and INFO.
"""

import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import SERVER, Cluster, RespConn, RespError, parse_info

SETTINGS = {b"min-replicas": b"0", b"down-after-ms": b"5000", b"write-wait-ms": b"2000"}
LIST_FIELDS = [b"id", b"addr", b"state", b"link", b"epoch", b"applied", b"why"]


def err(conn, *args):
    reply = conn.command(*args)
    assert isinstance(reply, RespError), (args, reply)
    return reply.message


def test_help_lists_the_options():
    out = subprocess.run([SERVER, "--help"], stdout=subprocess.PIPE, timeout=10).stdout
    for option, default in ((b"--min-replicas K", b"default 0"),
                            (b"--down-after-ms MS", b"default 5000"),
                            (b"--write-wait-ms MS", b"2000")):
        assert option in out, out
        assert default in out[out.index(option):], (option, out)


@pytest.mark.parametrize("option,value,why", [
    ("--min-replicas", "-1", "argument must be between 0 and 16 inclusive"),
    ("--min-replicas", "x", "argument couldn't be parsed into an integer"),
    ("--down-after-ms", "0", "argument must be between 1 and 2147483647 inclusive"),
    ("--write-wait-ms", "-5", "argument must be between 1 and 2147483647 inclusive"),
])
def test_bad_option_values_refused(option, value, why):
    with tempfile.TemporaryDirectory(prefix="twopc-it-") as d:
        res = subprocess.run([SERVER, "--dir", d, "--replica", "127.0.0.1:1", option, value],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert res.returncode == 2, res
    assert ("twopc-server: %s %s: %s\n" % (option, value, why)).encode() in res.stderr, \
        res.stderr


def test_help_subcommand(module_cluster):
    conn = module_cluster.raw()
    lines = conn.command("REPLICASET", "HELP")
    assert lines[0] == b"REPLICASET <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == [b"HELP", b"    Prints this help."]
    for sub in (b"LIST", b"ADD <host:port>", b"REMOVE <addr|id>",
                b"REPLACE <addr|id> <host:port>"):
        assert sub in lines, lines
    assert conn.command("replicaset", "help") == lines  # any case


def test_errors(module_cluster):
    conn = module_cluster.raw()
    arity = b"ERR wrong number of arguments for '%s' command"
    assert err(conn, "REPLICASET") == arity % b"replicaset"
    assert err(conn, "REPLICASET", "LIST", "x") == arity % b"replicaset|list"
    assert err(conn, "REPLICASET", "ADD") == arity % b"replicaset|add"
    assert err(conn, "REPLICASET", "ADD", "a", "b") == arity % b"replicaset|add"
    assert err(conn, "REPLICASET", "REMOVE") == arity % b"replicaset|remove"
    assert err(conn, "REPLICASET", "REPLACE", "1") == arity % b"replicaset|replace"
    assert err(conn, "REPLICASET", "HELP", "x") == arity % b"replicaset|help"
    assert err(conn, "REPLICASET", "NOSUCH") == \
        b"ERR unknown subcommand 'NOSUCH'. Try REPLICASET HELP."
    # CR/LF echoed back become spaces; the connection stays usable
    assert err(conn, "REPLICASET", "a\r\nb") == \
        b"ERR unknown subcommand 'a  b'. Try REPLICASET HELP."
    # a NUL byte cannot reach the engine's C strings
    assert err(conn, "REPLICASET", "REMOVE", b"1\x00x").startswith(b"ERR invalid replica")
    # inside MULTI a subcommand error is refused at queue time: EXEC aborts
    assert conn.command("MULTI") == b"OK"
    assert err(conn, "REPLICASET", "NOSUCH").startswith(b"ERR unknown subcommand")
    assert err(conn, "EXEC").startswith(b"EXECABORT Transaction discarded")
    assert conn.command("PING") == b"PONG"


def test_list(module_cluster):
    c = module_cluster
    members = c.raw().command("REPLICASET", "LIST")
    assert isinstance(members, list) and len(members) == c.replicas, members
    ids, addrs = set(), set()
    for m in members:
        assert m[0::2] == LIST_FIELDS, m
        f = dict(zip(m[0::2], m[1::2]))
        assert isinstance(f[b"id"], int) and f[b"id"] > 0, m
        assert f[b"state"] in (b"in-sync", b"out"), m
        assert isinstance(f[b"epoch"], int) and isinstance(f[b"applied"], int), m
        assert isinstance(f[b"why"], bytes) and isinstance(f[b"link"], bytes), m
        ids.add(f[b"id"])
        addrs.add(f[b"addr"])
    assert len(ids) == c.replicas
    assert addrs == {c.replica_addr(i).encode() for i in range(1, c.replicas + 1)}


def test_config_get_set(module_cluster):
    conn = module_cluster.raw()
    for name, default in SETTINGS.items():
        assert conn.command("CONFIG", "GET", name) == [name, default]
    got = conn.command("CONFIG", "GET", "*-ms")
    assert dict(zip(got[0::2], got[1::2]))[b"write-wait-ms"] == b"2000"
    failed = b"ERR CONFIG SET failed (possibly related to argument '%s') - %s"
    for name, value, why in ((b"min-replicas", b"-1",
                              b"argument must be between 0 and 16 inclusive"),
                             (b"min-replicas", b"two",
                              b"argument couldn't be parsed into an integer"),
                             (b"down-after-ms", b"0",
                              b"argument must be between 1 and 2147483647 inclusive"),
                             (b"write-wait-ms", b"0",
                              b"argument must be between 1 and 2147483647 inclusive")):
        assert err(conn, "CONFIG", "SET", name, value) == failed % (name, why)
    # all or nothing: a bad pair refuses the good one with it
    assert err(conn, "CONFIG", "SET", "down-after-ms", "700", "write-wait-ms", "0")
    assert conn.command("CONFIG", "GET", "down-after-ms") == [b"down-after-ms", b"5000"]
    try:
        assert conn.command("CONFIG", "SET", "min-replicas", "2", "down-after-ms", "700",
                            "write-wait-ms", "300") == b"OK"
        got = conn.command("CONFIG", "GET", "min-replicas", "down-after-ms", "write-wait-ms")
        assert got == [b"min-replicas", b"2", b"down-after-ms", b"700",
                       b"write-wait-ms", b"300"]
        info = parse_info(conn.command("INFO", "twopc"))
        assert info["down_after_ms"] == "700" and info["write_wait_ms"] == "300", info
    finally:
        for name, default in SETTINGS.items():
            conn.command("CONFIG", "SET", name, default)


def test_info_fields(module_cluster):
    c = module_cluster
    info = parse_info(c.raw().command("INFO", "twopc"))
    assert re.fullmatch(r"[0-9a-f]{16}", info["cluster_id"]), info
    for name in ("epoch", "min_replicas", "replicas_in_sync"):
        assert info[name].isdigit(), (name, info)
    assert info["replicas"] == str(c.replicas)
    for i in range(1, c.replicas + 1):
        line = info["replica_%d" % i]
        fields = dict(f.partition("=")[::2] for f in line.split(","))
        assert fields["addr"] == c.replica_addr(i), line
        assert fields["state"] == "ready", line  # the link's state, as before
        assert fields["member"] in ("in-sync", "out"), line
        assert fields["id"].isdigit() and fields["epoch"].isdigit(), line
        assert fields["applied"].isdigit(), line
        assert re.fullmatch(r"[0-9a-f]{16}|-", fields["hello_cluster"]), line
    persistence = parse_info(c.raw().command("INFO", "persistence"))
    assert persistence["loading"] == "0" and persistence["async_loading"] == "0"
    assert "loading_eta_seconds" not in persistence


def test_command_loading_flags(module_cluster):
    """Redis 7's `loading` flag: what may run while the coordinator recovers."""
    conn = module_cluster.raw()
    allowed = ["info", "auth", "hello", "client", "config", "command", "select", "multi",
               "exec", "quit", "reset", "time", "watch", "slowlog", "replicaset"]
    refused = ["ping", "echo", "get", "set", "dbsize", "keys"]
    rows = conn.command("COMMAND", "INFO", *(allowed + refused))
    for name, row in zip(allowed + refused, rows):
        assert row[0] == name.encode(), row
        assert (b"loading" in row[2]) == (name in allowed), (name, row[2])


def engine_has_replica_set(c):
    return parse_info(c.raw().command("INFO", "twopc")).get("cluster_id", "0" * 16) != "0" * 16


def test_loading_while_a_replica_does_not_answer():
    """The coordinator restarts while replica 3 is stopped (connected, silent): until it
    answers or write-wait-ms passes, data commands and PING get -LOADING naming what is
    awaited; INFO, CLIENT, CONFIG and REPLICASET still work; INFO says loading:1."""
    c = Cluster(3, coordinator_args=["--write-wait-ms", "60000"])
    stopped = None
    try:
        c.start()
        c.wait_ready()
        if not engine_has_replica_set(c):
            pytest.skip("the engine's replica set is a stub (cluster_id 0): no loading yet")
        r = c.client(socket_timeout=5)
        assert r.set(b"k", b"v")
        stopped = c.kill_replica(3, signal.SIGSTOP)
        old = c.kill_server(signal.SIGKILL)
        deadline = time.monotonic() + 15
        conn = None
        while time.monotonic() < deadline:  # the launcher restarts the coordinator
            pid = c.server_pid()
            try:
                if pid and pid != old:
                    conn = RespConn(c.port, timeout=5)
                    break
            except OSError:
                pass
            time.sleep(0.05)
        assert conn, "the coordinator did not come back"
        for args in (("GET", "k"), ("PING",), ("SET", "k", "w")):
            msg = err(conn, *args)
            assert msg.startswith(b"LOADING twopc is recovering: "), (args, msg)
        assert c.replica_addr(3).encode() in err(conn, "GET", "k")
        info = parse_info(conn.command("INFO", "persistence"))
        assert info["loading"] == "1", info
        for field in ("loading_start_time", "loading_total_bytes", "loading_loaded_bytes",
                      "loading_loaded_perc", "loading_eta_seconds"):
            assert field in info, (field, info)
        assert isinstance(conn.command("CLIENT", "ID"), int)
        assert conn.command("CONFIG", "GET", "write-wait-ms") == [b"write-wait-ms", b"60000"]
        assert len(conn.command("REPLICASET", "LIST")) == 3
        assert conn.command("MULTI") == b"OK"  # a refused command flags the transaction
        assert err(conn, "GET", "k").startswith(b"LOADING")
        assert err(conn, "EXEC").startswith(b"EXECABORT")
        os.kill(stopped, signal.SIGCONT)
        stopped = None
        deadline = time.monotonic() + 15
        while parse_info(conn.command("INFO", "persistence"))["loading"] != "0":
            assert time.monotonic() < deadline, "still loading after the replica answered"
            time.sleep(0.05)
        assert conn.command("GET", "k") == b"v"
        assert conn.command("PING") == b"PONG"
    finally:
        try:
            if stopped:
                os.kill(stopped, signal.SIGCONT)
        except OSError:
            pass
        c.close()

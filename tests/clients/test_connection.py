"""Connection commands over a raw socket: HELLO / RESP3, AUTH, CLIENT, RESET,
SELECT, QUIT -- Redis 7's exact bytes (taken from redis-server 7.0 for the
same input, except the version string: twopc reports 7.0.0)."""

import re

import pytest

from conftest import connect, resp_encode, send


def hello_map(proto, cid):
    head = b"%7\r\n" if proto == 3 else b"*14\r\n"
    return (head + b"$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n"
            b"$5\r\nproto\r\n:%d\r\n$2\r\nid\r\n:%d\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
            b"$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n" % (proto, cid))


def test_hello_switches_protocol(c):
    conn = connect(c)
    cid = int(send(conn, "CLIENT", "ID")[1:-2])
    assert send(conn, "HELLO") == hello_map(2, cid)
    assert send(conn, "HELLO", "3") == hello_map(3, cid)
    assert send(conn, "GET", "resp3:missing") == b"_\r\n"
    assert send(conn, "CONFIG", "GET", "timeout") == b"%1\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"
    assert send(conn, "COMMAND", "INFO", "nosuchcmd") == b"*1\r\n_\r\n"
    assert send(conn, "MULTI") == b"+OK\r\n"
    assert send(conn, "GET", "resp3:missing") == b"+QUEUED\r\n"
    assert send(conn, "SET", "resp3:k", "v") == b"+QUEUED\r\n"
    assert send(conn, "EXEC") == b"*2\r\n_\r\n+OK\r\n"
    assert send(conn, "INFO", "nosuchsection") == b"=4\r\ntxt:\r\n"
    assert send(conn, "HELLO", "2") == hello_map(2, cid)
    assert send(conn, "GET", "resp3:missing") == b"$-1\r\n"


def test_resp3_null_from_a_write_result(c):
    """Round results are encoded in RESP2 by the round engine and re-encoded for
    a RESP3 client: an EXEC aborted by WATCH is a RESP3 null."""
    a, b = connect(c), connect(c)
    assert send(a, "HELLO", "3").startswith(b"%7\r\n")
    assert send(a, "WATCH", "resp3:w") == b"+OK\r\n"
    assert send(b, "SET", "resp3:w", "1") == b"+OK\r\n"
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "EXEC") == b"_\r\n"


@pytest.mark.parametrize("args,err", [
    (("HELLO", "4"), b"-NOPROTO unsupported protocol version\r\n"),
    (("HELLO", "1"), b"-NOPROTO unsupported protocol version\r\n"),
    (("HELLO", "foo"), b"-ERR Protocol version is not an integer or out of range\r\n"),
    (("HELLO", "2", "SETNAME", "x", "y"), b"-ERR Syntax error in HELLO option 'y'\r\n"),
    (("HELLO", "3", "AUTH", "a"), b"-ERR Syntax error in HELLO option 'AUTH'\r\n"),
    (("HELLO", "3", "AUTH", "bob", "pw"),
     b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
    (("AUTH", "pw"), b"-ERR AUTH <password> called without any password configured for the "
                     b"default user. Are you sure your configuration is correct?\r\n"),
    (("AUTH", "bob", "pw"), b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
    (("AUTH", "default", "anything"), b"+OK\r\n"),
    (("AUTH", "a", "b", "c"), b"-ERR syntax error\r\n"),
    (("SELECT", "0"), b"+OK\r\n"),
    (("SELECT", "16"), b"-ERR DB index is out of range\r\n"),
    (("SELECT", "-1"), b"-ERR DB index is out of range\r\n"),
    (("SELECT", "15"), b"+OK\r\n"),
    (("SELECT", "0"), b"+OK\r\n"),
    (("SELECT", "x"), b"-ERR value is not an integer or out of range\r\n"),
    (("RESET", "x"), b"-ERR wrong number of arguments for 'reset' command\r\n"),
    (("CLIENT",), b"-ERR wrong number of arguments for 'client' command\r\n"),
    (("CLIENT", "FOO"), b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"),
    (("CLIENT", "SETNAME", "a", "b"),
     b"-ERR wrong number of arguments for 'client|setname' command\r\n"),
    (("CLIENT", "SETNAME", "a b"),
     b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"),
    (("CLIENT", "GETNAME", "x"), b"-ERR wrong number of arguments for 'client|getname' command\r\n"),
    (("CLIENT", "REPLY", "foo"), b"-ERR syntax error\r\n"),
    (("CLIENT", "KILL", "1.2.3.4:5"), b"-ERR No such client\r\n"),
    (("CLIENT", "KILL", "ID", "999999"), b":0\r\n"),
    (("CLIENT", "KILL", "ID", "x"), b"-ERR client-id should be greater than 0\r\n"),
    (("CLIENT", "KILL", "TYPE", "foo"), b"-ERR Unknown client type 'foo'\r\n"),
    (("CLIENT", "KILL", "SKIPME", "x"), b"-ERR syntax error\r\n"),
    (("CLIENT", "KILL", "USER", "x"), b"-ERR No such user 'x'\r\n"),
    (("CLIENT", "LIST", "TYPE", "foo"), b"-ERR Unknown client type 'foo'\r\n"),
    (("CLIENT", "LIST", "ID", "x"), b"-ERR Invalid client ID\r\n"),
    (("CLIENT", "LIST", "ID", "999999"), b"$0\r\n\r\n"),
    (("CLIENT", "SETINFO", "lib-foo", "x"), b"-ERR Unrecognized option 'lib-foo'\r\n"),
    (("CLIENT", "SETINFO", "lib-name", "a b"),
     b"-ERR lib-name cannot contain spaces, newlines or special characters.\r\n"),
    (("CLIENT", "NO-EVICT", "x"), b"-ERR syntax error\r\n"),
    (("CLIENT", "PAUSE", "x"), b"-ERR timeout is not an integer or out of range\r\n"),
])
def test_connection_replies(c, args, err):
    conn = connect(c)
    assert send(conn, *args) == err
    assert send(conn, "PING") == b"+PONG\r\n"


def test_client_name_info_and_list(c):
    a, b = connect(c), connect(c)
    assert send(a, "CLIENT", "GETNAME") == b"$-1\r\n"
    assert send(a, "CLIENT", "SETNAME", "alpha") == b"+OK\r\n"
    assert send(a, "CLIENT", "GETNAME") == b"$5\r\nalpha\r\n"
    assert send(a, "CLIENT", "SETINFO", "LIB-NAME", "mylib") == b"+OK\r\n"
    assert send(a, "CLIENT", "SETINFO", "LIB-VER", "1.2") == b"+OK\r\n"
    aid = int(send(a, "CLIENT", "ID")[1:-2])
    bid = int(send(b, "CLIENT", "ID")[1:-2])
    assert bid > aid
    info = send(a, "CLIENT", "INFO").split(b"\r\n", 1)[1]
    assert re.match(
        rb"id=%d addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:%d fd=\d+ name=alpha age=\d+ idle=\d+ "
        rb"flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=\d+ qbuf-free=\d+ argv-mem=\d+ "
        rb"multi-mem=0 rbs=\d+ rbp=\d+ obl=\d+ oll=\d+ omem=\d+ tot-mem=\d+ events=r "
        rb"cmd=client\|info user=default redir=-1 resp=2 lib-name=mylib lib-ver=1\.2\n\r\n$"
        % (aid, c.port), info), info
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "PING") == b"+QUEUED\r\n"
    listing = send(b, "CLIENT", "LIST").split(b"\r\n", 1)[1]
    lines = [l for l in listing.split(b"\n") if l.startswith(b"id=")]
    byid = {int(re.match(rb"id=(\d+)", l).group(1)): l for l in lines}
    assert b" flags=x " in byid[aid] and b" multi=1 " in byid[aid], byid[aid]
    assert b" cmd=ping " in byid[aid]
    assert b" cmd=client|list " in byid[bid]
    only = send(b, "CLIENT", "LIST", "ID", str(aid)).split(b"\r\n", 1)[1]
    assert only.count(b"id=") == 1 and only.startswith(b"id=%d " % aid)
    assert send(a, "DISCARD") == b"+OK\r\n"


def test_client_list_cmd_of_refused_requests(c):
    """cmd= is set when the command is looked up, as in Redis 7.0.15: a command (or
    subcommand) refused for its arity still shows, an unknown one shows NULL."""
    a, b = connect(c), connect(c)
    aid = int(send(a, "CLIENT", "ID")[1:-2])

    def cmd_of_a():
        listing = send(b, "CLIENT", "LIST", "ID", str(aid)).split(b"\r\n", 1)[1]
        return re.search(rb" cmd=(\S+) ", listing).group(1)

    for args, want in [(["GET"], b"get"), (["nosuch"], b"NULL"),
                       (["CLIENT", "GETNAME", "x"], b"client|getname"),
                       (["CLIENT", "nosuch"], b"NULL"),
                       (["client", "GetName"], b"client|getname"),
                       (["CONFIG"], b"config"), (["PING"], b"ping")]:
        assert send(a, *args)
        assert cmd_of_a() == want, args


def test_client_kill(c):
    a, b, k = connect(c), connect(c), connect(c)
    bid = int(send(b, "CLIENT", "ID")[1:-2])
    assert send(a, "CLIENT", "KILL", "ID", str(bid)) == b":1\r\n"
    assert b.closed_by_server()
    addr = re.search(rb"addr=(\S+)", send(k, "CLIENT", "INFO")).group(1)
    assert send(a, "CLIENT", "KILL", addr) == b"+OK\r\n"
    assert k.closed_by_server()
    # SKIPME yes (the default) spares the caller; SKIPME no kills it after its reply
    aid = int(send(a, "CLIENT", "ID")[1:-2])
    assert send(a, "CLIENT", "KILL", "ID", str(aid)) == b":0\r\n"
    assert send(a, "CLIENT", "KILL", "ID", str(aid), "SKIPME", "no") == b":1\r\n"
    assert a.closed_by_server()


def test_client_reply_off_on_skip(c):
    a = connect(c)
    a.send(resp_encode("CLIENT", "REPLY", "OFF") + resp_encode("SET", "reply:k", "1") +
           resp_encode("GET", "reply:k") + resp_encode("PING", "hidden") +
           resp_encode("CLIENT", "REPLY", "ON") + resp_encode("PING", "a") +
           resp_encode("CLIENT", "REPLY", "SKIP") + resp_encode("PING", "skipped") +
           resp_encode("PING", "b"))
    assert a.read_raw() == b"+OK\r\n"          # CLIENT REPLY ON
    assert a.read_raw() == b"$1\r\na\r\n"
    assert a.read_raw() == b"$1\r\nb\r\n"      # SKIP hid only the next reply
    assert send(a, "GET", "reply:k") == b"$1\r\n1\r\n"  # the silent SET did run


def test_reset_restores_a_fresh_connection(c):
    a = connect(c)
    cid = int(send(a, "CLIENT", "ID")[1:-2])
    assert send(a, "SELECT", "2") == b"+OK\r\n"
    assert send(a, "SET", "reset:db", "2") == b"+OK\r\n"
    # HELLO and AUTH keep the selected database, as in Redis
    assert send(a, "HELLO", "3", "SETNAME", "before") == hello_map(3, cid)
    assert send(a, "AUTH", "default", "x") == b"+OK\r\n"
    assert send(a, "GET", "reset:db") == b"$1\r\n2\r\n"
    assert send(a, "WATCH", "reset:k") == b"+OK\r\n"
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "RESET") == b"+RESET\r\n"
    assert send(a, "CLIENT", "GETNAME") == b"$-1\r\n"       # RESP2 again, no name
    assert send(a, "EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert send(a, "CLIENT", "ID") == b":%d\r\n" % cid      # same connection
    assert send(a, "GET", "reset:db") == b"$-1\r\n"         # back in database 0
    assert b" db=0 " in send(a, "CLIENT", "INFO")


def test_quit_closes_after_ok(c):
    a = connect(c)
    assert send(a, "QUIT", "extra") == b"+OK\r\n"
    assert a.closed_by_server()


def test_requirepass(manual_cluster):
    mc = manual_cluster("--requirepass", "s3cret")
    a = mc.raw()
    assert send(a, "GET", "k") == b"-NOAUTH Authentication required.\r\n"
    assert send(a, "PING") == b"-NOAUTH Authentication required.\r\n"
    assert send(a, "nosuch") == b"-ERR unknown command 'nosuch', with args beginning with: \r\n"
    assert send(a, "GET") == b"-ERR wrong number of arguments for 'get' command\r\n"
    # a container's subcommand is checked before NOAUTH too (Redis 7.0.15)
    assert send(a, "CLIENT", "nosuch") == (b"-ERR unknown subcommand 'nosuch'. "
                                           b"Try CLIENT HELP.\r\n")
    assert send(a, "CLIENT", "GETNAME", "x") == (b"-ERR wrong number of arguments for "
                                                 b"'client|getname' command\r\n")
    assert send(a, "CLIENT", "GETNAME") == b"-NOAUTH Authentication required.\r\n"
    assert send(a, "HELLO", "3") == (
        b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        b"HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
        b"the RESP protocol version at the same time\r\n")
    assert send(a, "EXEC") == (b"-EXECABORT Transaction discarded because of: "
                               b"NOAUTH Authentication required.\r\n")
    assert send(a, "AUTH", "wrong") == (b"-WRONGPASS invalid username-password pair or user "
                                        b"is disabled.\r\n")
    assert send(a, "AUTH", "default", "wrong").startswith(b"-WRONGPASS")
    assert send(a, "AUTH", "s3cret") == b"+OK\r\n"
    assert send(a, "SET", "k", "v") == b"+OK\r\n"
    assert send(a, "RESET") == b"+RESET\r\n"
    assert send(a, "GET", "k") == b"-NOAUTH Authentication required.\r\n"
    b = mc.raw()
    r = send(b, "HELLO", "3", "AUTH", "default", "s3cret")
    assert r.startswith(b"%7\r\n$6\r\nserver\r\n"), r
    assert send(b, "GET", "k") == b"$1\r\nv\r\n"
    # a password set at run time applies to new connections; "" removes it
    assert send(b, "CONFIG", "SET", "requirepass", "") == b"+OK\r\n"
    assert send(mc.raw(), "GET", "k") == b"$1\r\nv\r\n"
    assert send(b, "CONFIG", "SET", "requirepass", "other") == b"+OK\r\n"
    assert send(mc.raw(), "GET", "k") == b"-NOAUTH Authentication required.\r\n"
    assert send(b, "GET", "k") == b"$1\r\nv\r\n"   # already authenticated
    assert send(mc.raw(), "QUIT") == b"+OK\r\n"


def test_databases_setting(manual_cluster):
    """--databases 4: SELECT, MOVE, SWAPDB and COPY ... DB accept 0..3 and answer Redis's
    "DB index is out of range" past it (also inside MULTI); CONFIG GET shows it, CONFIG SET
    refuses it; --help documents it."""
    mc = manual_cluster("--databases", "4")
    a = mc.raw()
    out_of_range = b"-ERR DB index is out of range\r\n"
    assert send(a, "SELECT", "3") == b"+OK\r\n"
    assert send(a, "SELECT", "4") == out_of_range
    assert send(a, "SET", "k", "v") == b"+OK\r\n"
    assert send(a, "MOVE", "k", "4") == out_of_range
    assert send(a, "SWAPDB", "0", "4") == out_of_range
    assert send(a, "COPY", "k", "k2", "DB", "4") == out_of_range
    assert send(a, "COPY", "k", "k2", "DB", "0") == b":1\r\n"
    assert send(a, "MULTI") == b"+OK\r\n"
    assert send(a, "SELECT", "9") == b"+QUEUED\r\n"
    assert send(a, "MOVE", "k", "7") == b"+QUEUED\r\n"
    assert send(a, "EXEC") == b"*2\r\n" + out_of_range + out_of_range
    assert send(a, "GET", "k") == b"$1\r\nv\r\n"           # still in database 3
    assert send(a, "CONFIG", "GET", "databases") == b"*2\r\n$9\r\ndatabases\r\n$1\r\n4\r\n"
    assert send(a, "CONFIG", "SET", "databases", "8") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set "
        b"immutable config\r\n")
    import subprocess
    from conftest import SERVER
    out = subprocess.run([SERVER, "--help"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=10).stdout
    assert b"--databases" in out, out

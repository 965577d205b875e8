"""test_basic.py -- the coordinator speaks Redis: commands through redis-cli
(one-shot and interactive), redis-py and a raw socket; Redis 7's exact error
texts; protocol errors close only the offending connection; inline commands;
a 1000-command pipeline in one send; replicas answer RESP reads themselves.

All tests share one cluster (module scope); each uses its own keys.
"""

import time

import pytest

from conftest import RespConn, RespError, parse_info, redis_cli, resp_encode


@pytest.fixture(scope="module")
def c(module_cluster):
    return module_cluster


def cli(c, *args, **kw):
    return redis_cli(c.port, *args, **kw)


def test_ping_echo(c):
    assert cli(c, "PING") == "PONG"
    assert cli(c, "ECHO", "hello world") == "hello world"
    conn = c.raw()
    assert conn.command("PING") == b"PONG"
    assert conn.command("PING", "x y") == b"x y"
    assert conn.command("ECHO", b"a\r\nb") == b"a\r\nb"


def test_set_get_del_exists(c):
    assert cli(c, "SET", "basic:k1", "v1") == "OK"
    assert cli(c, "GET", "basic:k1") == "v1"
    assert cli(c, "SET", "basic:k2", "v2") == "OK"
    assert cli(c, "SET", "basic:k1", "v1b") == "OK"
    assert cli(c, "GET", "basic:k1") == "v1b"
    assert cli(c, "EXISTS", "basic:k1") == "1"
    assert cli(c, "EXISTS", "basic:k1", "basic:k1", "basic:k2", "basic:none") == "3"
    assert cli(c, "DEL", "basic:k1", "basic:none", "basic:k2") == "2"
    assert cli(c, "DEL", "basic:k1") == "0"
    assert cli(c, "EXISTS", "basic:k1", "basic:k2") == "0"
    # nil: exact RESP rather than redis-cli's empty line
    conn = c.raw()
    conn.send(resp_encode("GET", "basic:k1"))
    assert conn.read_raw() == b"$-1\r\n"


def test_select(c):
    assert cli(c, "SELECT", "0") == "OK"
    assert cli(c, "SELECT", "15") == "OK"
    assert cli(c, "SELECT", "16") == "ERR DB index is out of range"
    conn = c.raw()
    conn.send(resp_encode("SELECT", "16"))
    assert conn.read_raw() == b"-ERR DB index is out of range\r\n"
    assert conn.command("PING") == b"PONG"
    # Each database holds its own keys.
    conn.send(resp_encode("SELECT", "5"))
    assert conn.read_raw() == b"+OK\r\n"
    assert conn.command("SET", "basic:db", "five") == b"OK"
    assert conn.command("GET", "basic:db") == b"five"
    assert cli(c, "GET", "basic:db") == ""
    conn.send(resp_encode("SELECT", "0"))
    assert conn.read_raw() == b"+OK\r\n"
    assert conn.command("GET", "basic:db") is None


def test_interactive_through_pipe(c):
    out = cli(c, input="SET basic:ia 1\nGET basic:ia\nEXISTS basic:ia basic:ia\n")
    assert out.splitlines() == ["OK", "1", "2"]


def test_command_count_and_docs(c):
    conn = c.raw()
    count = conn.command("COMMAND", "COUNT")
    assert isinstance(count, int) and count > 0, count
    assert cli(c, "COMMAND", "COUNT") == str(count)
    assert c.client().command_count() == count
    table = conn.command("COMMAND")
    assert isinstance(table, list) and len(table) == count
    docs = conn.command("COMMAND", "DOCS")
    assert isinstance(docs, list), docs


def test_info(c):
    text = cli(c, "INFO")
    assert "# Server" in text
    info = parse_info(text)
    assert info.get("redis_version"), text
    assert "# Twopc" in info, text
    assert info.get("replicas") == "3"
    assert info.get("replicas_ready") == "3"
    for i in (1, 2, 3):
        # addr=...,state=...[,more fields]: Redis-style, open to additions
        line = info.get("replica_%d" % i, "")
        fields = dict(f.partition("=")[::2] for f in line.split(","))
        assert fields.get("addr") == c.replica_addr(i), line
        assert fields.get("state") == "ready", line
        assert line.startswith("addr="), line


def test_config_get(c):
    conn = c.raw()
    reply = conn.command("CONFIG", "GET", "save")
    assert isinstance(reply, list), reply
    assert len(reply) % 2 == 0
    conn.send(resp_encode("CONFIG", "GET", "no-such-setting"))
    assert conn.read_raw() == b"*0\r\n"
    assert isinstance(c.client().config_get("save"), dict)


def test_error_texts_raw(c):
    conn = c.raw()
    conn.send(resp_encode("SET", "a"))
    assert conn.read_raw() == b"-ERR wrong number of arguments for 'set' command\r\n"
    conn.send(resp_encode("get"))
    assert conn.read_raw() == b"-ERR wrong number of arguments for 'get' command\r\n"
    conn.send(resp_encode("FOO", "a"))
    assert conn.read_raw() == (b"-ERR unknown command 'FOO', with args "
                               b"beginning with: 'a' \r\n")
    conn.send(resp_encode("FOO"))
    assert conn.read_raw() == b"-ERR unknown command 'FOO', with args beginning with: \r\n"
    # the connection stays usable after ordinary errors
    assert conn.command("PING") == b"PONG"


def test_error_texts_cli(c):
    assert cli(c, "SET", "a") == "ERR wrong number of arguments for 'set' command"
    assert cli(c, "FOO", "a") == "ERR unknown command 'FOO', with args beginning with: 'a'"


PROTOCOL_ERRORS = [
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*3\r\n$3\r\nSET\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$2000000000\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n:1\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
    (b'SET k "a b\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    (b"A" * 70000, b"-ERR Protocol error: too big inline request\r\n"),
]


@pytest.mark.parametrize("data,reply", PROTOCOL_ERRORS,
                         ids=["multibulk-len", "bulk-len", "bulk-too-big",
                              "expected-dollar", "unbalanced-quotes",
                              "inline-too-big"])
def test_protocol_error_closes_connection(c, data, reply):
    conn = c.raw(timeout=5)
    assert conn.command("PING") == b"PONG"
    conn.send(data)
    assert conn.read_raw() == reply
    assert conn.closed_by_server(), "server did not close the connection"
    conn.close()
    fresh = c.raw()
    assert fresh.command("PING") == b"PONG"
    assert fresh.command("SET", "basic:after-proto", "ok") == b"OK"
    assert fresh.command("GET", "basic:after-proto") == b"ok"


def test_inline_commands(c):
    conn = c.raw()
    conn.send(b"PING\r\n")
    assert conn.read_raw() == b"+PONG\r\n"
    conn.send(b'SET basic:inline "a b"\r\n')
    assert conn.read_raw() == b"+OK\r\n"
    conn.send(b"GET basic:inline\r\n")
    assert conn.read_raw() == b"$3\r\na b\r\n"
    conn.send(resp_encode("GET", "basic:inline"))
    assert conn.read_raw() == b"$3\r\na b\r\n"


def test_request_split_byte_by_byte(c):
    conn = c.raw()
    data = resp_encode("SET", "basic:split", "v" * 20) + resp_encode("GET", "basic:split")
    for i in range(len(data)):
        conn.send(data[i:i + 1])
        time.sleep(0.001)
    assert conn.read_raw() == b"+OK\r\n"
    assert conn.read_raw() == b"$20\r\n" + b"v" * 20 + b"\r\n"


def test_pipeline_1000_in_one_send(c):
    conn = c.raw(timeout=30)
    payload = []
    expected = []
    for i in range(1000):
        if i % 3 == 0:
            payload.append(resp_encode("SET", "basic:pipe:%d" % i, "val-%d" % i))
            expected.append(b"+OK\r\n")
        elif i % 3 == 1:
            v = b"val-%d" % (i - 1)
            payload.append(resp_encode("GET", "basic:pipe:%d" % (i - 1)))
            expected.append(b"$%d\r\n%s\r\n" % (len(v), v))
        else:
            payload.append(resp_encode("ECHO", "echo-%d" % i))
            expected.append(b"$%d\r\necho-%d\r\n" % (len(b"echo-%d" % i), i))
    conn.send(b"".join(payload))
    got = [conn.read_raw() for _ in range(1000)]
    bad = [(i, expected[i], got[i]) for i in range(1000) if got[i] != expected[i]]
    assert not bad, "first wrong replies (index, expected, got): %r" % bad[:5]
    assert conn.command("PING") == b"PONG"


def test_quit(c):
    conn = c.raw()
    conn.send(resp_encode("SET", "basic:quit", "1") + resp_encode("QUIT")
              + resp_encode("PING"))
    assert conn.read_raw() == b"+OK\r\n"
    assert conn.read_raw() == b"+OK\r\n"
    assert conn.closed_by_server(), "QUIT did not close the connection"
    assert cli(c, "GET", "basic:quit") == "1"


def test_replicas_serve_reads(c):
    assert cli(c, "SET", "basic:onreplica", "hello replica") == "OK"
    for i in (1, 2, 3):
        deadline = time.monotonic() + 5
        while True:
            got = redis_cli(c.replica_port(i), "GET", "basic:onreplica")
            if got == "hello replica" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert got == "hello replica", "replica %d on port %d" % (i, c.replica_port(i))


def test_replicas_refuse_client_writes(c):
    assert cli(c, "SET", "basic:ro", "original") == "OK"
    for i in (1, 2, 3):
        conn = RespConn(c.replica_port(i))
        reply = conn.command("SET", "basic:ro", "changed-on-replica-%d" % i)
        assert isinstance(reply, RespError), \
            "replica %d accepted a client SET: %r" % (i, reply)
        conn.close()
    assert cli(c, "GET", "basic:ro") == "original"
    c.wait_sqlite({"basic:ro": "original"}, exact=False)
    for i in (1, 2, 3):
        assert redis_cli(c.replica_port(i), "GET", "basic:ro") == "original"

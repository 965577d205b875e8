"""Server commands over a raw socket: INFO, CONFIG, COMMAND, TIME, SLOWLOG,
LATENCY, MONITOR, SHUTDOWN -- Redis 7's formats and error texts."""

import re
import time

import pytest

from conftest import connect, parse_info, resp_encode, send


def bulk(reply):
    """The payload of a bulk reply."""
    head, _, rest = reply.partition(b"\r\n")
    assert head.startswith(b"$"), reply
    return rest[:int(head[1:])]


def test_info_sections_tools_read(c):
    conn = connect(c)
    send(conn, "SET", "info:k1", "1")
    send(conn, "MSET", "info:k2", "2", "info:k3", "3")
    text = bulk(send(conn, "INFO"))
    headers = re.findall(rb"^# (\w+)\r$", text, re.M)
    assert headers == [b"Server", b"Clients", b"Memory", b"Persistence", b"Stats",
                       b"Replication", b"CPU", b"Modules", b"Errorstats", b"Cluster",
                       b"Keyspace", b"Twopc"], headers
    info = parse_info(text)
    for field in ("redis_version", "process_id", "tcp_port", "uptime_in_seconds",
                  "connected_clients", "blocked_clients", "maxclients", "used_memory",
                  "used_memory_human", "used_memory_rss", "total_connections_received",
                  "total_commands_processed", "instantaneous_ops_per_sec", "rejected_connections",
                  "role", "used_cpu_sys", "used_cpu_user", "cluster_enabled", "replicas_ready"):
        assert info.get(field), (field, text)
    assert info["tcp_port"] == str(c.port)
    assert info["role"] == "master"
    assert int(info["used_memory"]) > 0
    keys = int(re.match(r"keys=(\d+),expires=\d+,avg_ttl=\d+$", info["db0"]).group(1))
    assert keys >= 3
    assert not text.endswith(b"\r\n\r\n")
    # one section, several sections, unknown ones
    assert bulk(send(conn, "INFO", "server")).startswith(b"# Server\r\n")
    two = bulk(send(conn, "INFO", "clients", "KEYSPACE"))
    assert re.findall(rb"^# (\w+)\r$", two, re.M) == [b"Clients", b"Keyspace"]
    assert send(conn, "INFO", "nosuchsection") == b"$0\r\n\r\n"


def test_info_keyspace_sees_own_writes(c):
    conn = connect(c)
    before = parse_info(bulk(send(conn, "INFO", "keyspace"))).get("db0", "keys=0,")
    n0 = int(re.match(r"keys=(\d+)", before).group(1))
    conn.send(resp_encode("MSET", "ks:a", "1", "ks:b", "2", "ks:c", "3") +
              resp_encode("INFO", "keyspace"))
    assert conn.read_raw() == b"+OK\r\n"
    after = parse_info(bulk(conn.read_raw()))["db0"]
    assert int(re.match(r"keys=(\d+)", after).group(1)) >= n0 + 3


def test_info_stats_count_commands_and_reset(c):
    conn = connect(c)
    n1 = int(parse_info(bulk(send(conn, "INFO", "stats")))["total_commands_processed"])
    for _ in range(5):
        send(conn, "PING")
    n2 = int(parse_info(bulk(send(conn, "INFO", "stats")))["total_commands_processed"])
    assert n2 - n1 == 6  # five PINGs and the first INFO
    assert send(conn, "CONFIG", "RESETSTAT") == b"+OK\r\n"
    n3 = int(parse_info(bulk(send(conn, "INFO", "stats")))["total_commands_processed"])
    assert n3 <= 1


@pytest.mark.parametrize("args,reply", [
    (("CONFIG", "GET", "timeout"), b"*2\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"),
    (("CONFIG", "GET", "maxclients"), b"*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"),
    (("CONFIG", "GET", "client-query-buffer-limit"),
     b"*2\r\n$25\r\nclient-query-buffer-limit\r\n$10\r\n1073741824\r\n"),
    (("CONFIG", "GET", "no-such-setting"), b"*0\r\n"),
    (("CONFIG", "GET"), b"-ERR wrong number of arguments for 'config|get' command\r\n"),
    (("CONFIG",), b"-ERR wrong number of arguments for 'config' command\r\n"),
    (("CONFIG", "FOO"), b"-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"),
    (("CONFIG", "SET", "timeout"), b"-ERR wrong number of arguments for 'config|set' command\r\n"),
    (("CONFIG", "SET", "foo", "1"),
     b"-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"),
    (("CONFIG", "SET", "timeout", "x"),
     b"-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be "
     b"parsed into an integer\r\n"),
    (("CONFIG", "SET", "timeout", "-1"),
     b"-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be "
     b"between 0 and 2147483647 inclusive\r\n"),
    (("CONFIG", "SET", "timeout", "0", "maxclients"), b"-ERR syntax error\r\n"),
    (("CONFIG", "SET", "timeout", "0", "timeout", "1"),
     b"-ERR CONFIG SET failed (possibly related to argument 'timeout') - duplicate parameter\r\n"),
    (("CONFIG", "SET", "daemonize", "yes"),
     b"-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable "
     b"config\r\n"),
    (("CONFIG", "SET", "client-query-buffer-limit", "1"),
     b"-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - "
     b"argument must be between 1048576 and 9223372036854775807 inclusive\r\n"),
    (("CONFIG", "SET", "client-query-buffer-limit", "1x"),
     b"-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - "
     b"argument must be a memory value\r\n"),
    (("CONFIG", "SET", "maxclients", "0"),
     b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be "
     b"between 1 and 4294967295 inclusive\r\n"),
    (("CONFIG", "SET", "slowlog-log-slower-than", "-5"),
     b"-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - "
     b"argument must be between -1 and 9223372036854775807 inclusive\r\n"),
    (("CONFIG", "RESETSTAT", "x"),
     b"-ERR wrong number of arguments for 'config|resetstat' command\r\n"),
    (("CONFIG", "REWRITE"), b"-ERR The server is running without a config file\r\n"),
    (("COMMAND", "GETKEYS", "mset", "a", "b", "c", "d"), b"*2\r\n$1\r\na\r\n$1\r\nc\r\n"),
    (("COMMAND", "GETKEYS", "set", "a", "b"), b"*1\r\n$1\r\na\r\n"),
    (("COMMAND", "GETKEYS", "ping", "x"), b"-ERR The command has no key arguments\r\n"),
    (("COMMAND", "GETKEYS", "nosuch", "x"), b"-ERR Invalid command specified\r\n"),
    (("COMMAND", "GETKEYS", "get", "a", "b"),
     b"-ERR Invalid number of arguments specified for command\r\n"),
    (("COMMAND", "GETKEYS", "get"),
     b"-ERR wrong number of arguments for 'command|getkeys' command\r\n"),
    (("COMMAND", "COUNT", "x"), b"-ERR wrong number of arguments for 'command|count' command\r\n"),
    (("COMMAND", "INFO", "nosuch"), b"*1\r\n$-1\r\n"),
    (("SLOWLOG",), b"-ERR wrong number of arguments for 'slowlog' command\r\n"),
    (("SLOWLOG", "FOO"), b"-ERR unknown subcommand 'FOO'. Try SLOWLOG HELP.\r\n"),
    (("SLOWLOG", "GET", "x"), b"-ERR count should be greater than or equal to -1\r\n"),
    (("LATENCY", "LATEST"), b"*0\r\n"),
    (("LATENCY", "HISTORY", "command"), b"*0\r\n"),
    (("LATENCY", "HISTORY"), b"-ERR wrong number of arguments for 'latency|history' command\r\n"),
    (("LATENCY", "RESET"), b":0\r\n"),
    (("LATENCY", "FOO"), b"-ERR unknown subcommand 'FOO'. Try LATENCY HELP.\r\n"),
    (("SHUTDOWN", "ABORT"), b"-ERR No shutdown in progress.\r\n"),
    (("SHUTDOWN", "FOO"), b"-ERR syntax error\r\n"),
    (("SHUTDOWN", "SAVE", "NOSAVE"), b"-ERR syntax error\r\n"),
    (("TIME", "x"), b"-ERR wrong number of arguments for 'time' command\r\n"),
    (("MONITOR", "x"), b"-ERR wrong number of arguments for 'monitor' command\r\n"),
])
def test_server_replies(c, args, reply):
    conn = connect(c)
    assert send(conn, *args) == reply
    assert send(conn, "PING") == b"+PONG\r\n"


def test_config_set_takes_effect_and_reads_back(c):
    conn = connect(c)
    assert send(conn, "CONFIG", "SET", "slowlog-max-len", "7", "timeout", "0") == b"+OK\r\n"
    assert send(conn, "CONFIG", "GET", "slowlog-max-len") == b"*2\r\n$15\r\nslowlog-max-len\r\n$1\r\n7\r\n"
    assert send(conn, "CONFIG", "SET", "client-query-buffer-limit", "2mb") == b"+OK\r\n"
    assert send(conn, "CONFIG", "GET", "client-query-buffer-limit").endswith(b"$7\r\n2097152\r\n")
    assert send(conn, "CONFIG", "SET", "client-query-buffer-limit", "1gb") == b"+OK\r\n"
    assert send(conn, "CONFIG", "SET", "slowlog-max-len", "128") == b"+OK\r\n"
    r = send(conn, "CONFIG", "GET", "*")
    assert b"$11\r\nappendfsync\r\n$6\r\nalways\r\n" in r


def test_command_table(c):
    conn = connect(c)
    count = int(send(conn, "COMMAND", "COUNT")[1:-2])
    names = re.findall(rb"\$\d+\r\n([a-z_|-]+)\r\n", send(conn, "COMMAND", "LIST"))
    assert len(names) == count
    for name in (b"multi", b"exec", b"watch", b"hello", b"client", b"slowlog", b"monitor",
                 b"set", b"get"):
        assert name in names
    assert send(conn, "COMMAND", "INFO", "watch").startswith(
        b"*1\r\n*10\r\n$5\r\nwatch\r\n:-2\r\n")


def test_time(c):
    conn = connect(c)
    r = send(conn, "TIME")
    m = re.match(rb"\*2\r\n\$\d+\r\n(\d+)\r\n\$\d+\r\n(\d+)\r\n$", r)
    assert m, r
    assert abs(int(m.group(1)) - time.time()) < 5 and int(m.group(2)) < 1000000


def test_slowlog_records_slow_commands(c):
    conn = connect(c)
    assert send(conn, "SLOWLOG", "RESET") == b"+OK\r\n"
    assert send(conn, "CONFIG", "SET", "slowlog-log-slower-than", "0") == b"+OK\r\n"
    try:
        send(conn, "SET", "slow:k", "x" * 300)
        send(conn, "CLIENT", "SETNAME", "slowpoke")
        send(conn, "MSET", *["a%d" % i for i in range(40)])
    finally:
        send(conn, "CONFIG", "SET", "slowlog-log-slower-than", "10000")
    assert int(send(conn, "SLOWLOG", "LEN")[1:-2]) >= 4
    entries = send(conn, "SLOWLOG", "GET", "3")
    assert entries.startswith(b"*3\r\n*6\r\n:")
    # newest first: the MSET, cut to 32 arguments, the last saying how many more
    mset = entries.split(b"*6\r\n")[1]
    assert b"*32\r\n$4\r\nMSET\r\n" in mset
    assert b"$23\r\n... (10 more arguments)\r\n" in mset
    assert b"$8\r\nslowpoke\r\n" in mset
    assert re.search(rb"\$\d+\r\n127\.0\.0\.1:\d+\r\n", mset)
    # long values are cut at 128 bytes
    all_entries = send(conn, "SLOWLOG", "GET", "-1")
    assert b"x" * 128 + b"... (172 more bytes)" in all_entries
    assert send(conn, "SLOWLOG", "RESET") == b"+OK\r\n"
    assert send(conn, "SLOWLOG", "LEN") == b":0\r\n"


def test_monitor_streams_commands(c):
    mon, other = connect(c), connect(c)
    assert send(mon, "MONITOR") == b"+OK\r\n"
    send(other, "SET", "mon:k", 'va"l\n')
    send(other, "MULTI")
    send(other, "INCR", "mon:n")
    send(other, "EXEC")
    send(other, "CONFIG", "GET", "port")   # admin commands are not shown
    send(other, "GET", "mon:k")
    send(other, "SELECT", "3")             # the prefix names the client's database
    send(other, "GET", "mon:k")
    send(other, "SELECT", "0")
    lines = [mon.read_raw() for _ in range(8)]
    pat = rb"^\+\d+\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\] (.*)\r\n$"
    args = [re.match(pat, l, re.S).group(1, 2) for l in lines]
    assert args == [(b"0", b'"SET" "mon:k" "va\\"l\\n"'), (b"0", b'"MULTI"'),
                    (b"0", b'"INCR" "mon:n"'), (b"0", b'"EXEC"'), (b"0", b'"GET" "mon:k"'),
                    (b"3", b'"SELECT" "3"'), (b"3", b'"GET" "mon:k"'),
                    (b"0", b'"SELECT" "0"')], lines  # Redis 7 feeds after the command
    # a monitoring client may PING but not touch the keyspace
    assert send(mon, "GET", "mon:k") == b"-ERR Replica can't interact with the keyspace\r\n"
    assert send(mon, "RESET") == b"+RESET\r\n"
    assert send(mon, "GET", "mon:k") == b'$5\r\nva"l\n\r\n'


def test_shutdown_stops_the_coordinator(manual_cluster):
    mc = manual_cluster()
    conn = mc.raw()
    assert send(conn, "SET", "sd:k", "v") == b"+OK\r\n"
    conn.send(resp_encode("SHUTDOWN", "NOSAVE"))
    assert conn.closed_by_server()
    assert mc.server.wait(10) == 0

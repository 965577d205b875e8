"""redis-cli (Debian's redis-tools 7.0) against twopc: one-shot commands,
interactive mode through a pipe, --pipe mass insertion, --scan, --raw, --csv,
--stat and --latency."""

import re
import signal
import subprocess

import pytest

from conftest import tool


def cli(c, *args, input=None, timeout=60):
    res = subprocess.run([tool("redis-cli"), "-p", str(c.port)] + [str(a) for a in args],
                         input=input if input is not None else b"", stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=timeout)
    return res.stdout.decode(errors="backslashreplace"), res.returncode


def cli_for_a_moment(c, *args, seconds=2.0):
    """Run a redis-cli mode that never ends (--stat, --latency) for a moment,
    then interrupt it the way a person would (Ctrl-C): its stdout."""
    p = subprocess.Popen(["stdbuf", "-oL", tool("redis-cli"), "-p", str(c.port)] + list(args),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
    return out.decode(errors="backslashreplace") + err.decode(errors="backslashreplace")


def test_one_shot(c):
    assert cli(c, "SET", "cli:k", "v") == ("OK\n", 0)
    assert cli(c, "GET", "cli:k") == ("v\n", 0)
    assert cli(c, "INCR", "cli:n") == ("1\n", 0)
    # redis-cli prints an error reply followed by an empty line (as with Redis)
    out, _ = cli(c, "INCR", "cli:k")
    assert out == "ERR value is not an integer or out of range\n\n"
    out, _ = cli(c, "NOSUCH", "x")
    assert out == "ERR unknown command 'NOSUCH', with args beginning with: 'x' \n\n"
    assert cli(c, "PING") == ("PONG\n", 0)


def test_interactive_through_a_pipe(c):
    script = (b"SET cli:ia 1\nGET cli:ia\nMULTI\nINCR cli:ia\nGET cli:ia\nEXEC\n"
              b"GET cli:missing\nCLIENT SETNAME me\nCLIENT GETNAME\n")
    out, rc = cli(c, input=script)
    assert rc == 0
    assert out.split("\n") == ["OK", "1", "OK", "QUEUED", "QUEUED", "2", "2", "", "OK", "me", ""]


def test_raw_and_csv(c):
    cli(c, "SET", "cli:r", "a b")
    assert cli(c, "--raw", "GET", "cli:r") == ("a b\n", 0)
    assert cli(c, "--raw", "GET", "cli:nothing") == ("\n", 0)
    assert cli(c, "--csv", "GET", "cli:r") == ('"a b"\n', 0)
    assert cli(c, "--csv", "GET", "cli:nothing") == ("NULL\n", 0)
    assert cli(c, "--csv", "EXISTS", "cli:r", "cli:r") == ("2\n", 0)
    out, _ = cli(c, "--csv", "HELLO", "3")
    assert out.startswith('"server","redis","version","7.0.0","proto",3,"id",')


def test_pipe_mass_insertion(c):
    n = 100000
    payload = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                       % (len(k), k, len(v), v)
                       for k, v in ((b"mass:%d" % i, b"%d" % i) for i in range(n)))
    out, rc = cli(c, "--pipe", input=payload, timeout=240)
    assert rc == 0, out
    assert re.search(r"errors: 0, replies: %d" % n, out), out
    out, _ = cli(c, "EXISTS", "mass:0", "mass:%d" % (n // 2), "mass:%d" % (n - 1))
    assert out == "3\n"
    c.wait_sqlite({b"mass:%d" % i: b"%d" % i for i in range(0, n, 997)}, exact=False)


def test_scan(c):
    out, _ = cli(c, "COMMAND", "INFO", "scan")
    if not out.strip() or out.strip() == "":
        pytest.skip("SCAN is not implemented yet (data commands are another "
                    "module's work); redis-cli --scan needs it")
    for i in range(30):
        cli(c, "SET", "scan:%d" % i, i)
    out, rc = cli(c, "--scan", "--pattern", "scan:*")
    assert rc == 0
    assert sorted(out.split()) == sorted("scan:%d" % i for i in range(30))


def test_stat_for_a_moment(c):
    cli(c, "SET", "stat:k", "1")
    out = cli_for_a_moment(c, "--stat", "-i", "0.3", seconds=2.0)
    lines = out.splitlines()
    assert lines[0].startswith("------- data ------"), out
    assert lines[1].split()[:5] == ["keys", "mem", "clients", "blocked", "requests"], out
    rows = [l.split() for l in lines[2:] if re.match(r"\d+\s", l)]
    assert len(rows) >= 3, out
    assert all(int(r[0]) >= 1 for r in rows), out       # keys, from INFO keyspace
    assert "ERR" not in out


def test_latency_for_a_moment(c):
    out = cli_for_a_moment(c, "--latency", seconds=2.0)
    # not a tty: one summary line "min max avg samples"
    m = re.search(r"^(\d+) (\d+) ([\d.]+) (\d+)$", out.strip(), re.M)
    assert m, out
    assert int(m.group(4)) > 10


def test_numbered_database(c):
    """redis-cli -n 1: its SELECT at connect, then its commands in database 1 only; the
    prompt-less pipe mode too; INFO keyspace counts each database."""
    assert cli(c, "-n", "1", "SET", "cli:db", "one") == ("OK\n", 0)
    assert cli(c, "-n", "2", "SET", "cli:db", "two") == ("OK\n", 0)
    assert cli(c, "-n", "1", "GET", "cli:db") == ("one\n", 0)
    assert cli(c, "-n", "2", "GET", "cli:db") == ("two\n", 0)
    assert cli(c, "GET", "cli:db") == ("\n", 0)
    out, rc = cli(c, "-n", "1", input=b"INCR cli:n\nINCR cli:n\nCLIENT INFO\n")
    assert rc == 0 and out.startswith("1\n2\n") and " db=1 " in out, out
    assert cli(c, "-n", "2", "EXISTS", "cli:n") == ("0\n", 0)
    assert cli(c, "-n", "1", "MOVE", "cli:n", "2") == ("1\n", 0)
    assert cli(c, "-n", "2", "GET", "cli:n") == ("2\n", 0)
    out, rc = cli(c, "INFO", "keyspace")
    assert rc == 0 and re.search(r"^db1:keys=\d+,expires=0,avg_ttl=0", out, re.M), out
    assert re.search(r"^db2:keys=\d+,", out, re.M), out

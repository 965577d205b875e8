"""test_restart.py -- stop the whole cluster cleanly (SIGTERM or SIGINT to
the launcher: it exits 0 and leaves no child running), start it again on the
same folder and ports: every key is still there with its value, deleted keys
stay deleted, and writes work.
"""

import signal
import subprocess

import pytest

from conftest import CLUSTER, Cluster, closing_cluster, pid_alive


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT],
                         ids=["SIGTERM", "SIGINT"])
def test_stop_and_restart_keeps_data(cluster, sig):
    r = cluster.client(socket_timeout=10)
    expected = {}
    pipe = r.pipeline(transaction=False)
    for n in range(200):
        k = b"restart:%d" % n
        v = b"v%d\x00\r\n" % n + bytes([n % 256]) * (n % 13)
        pipe.set(k, v)
        expected[k] = v
    assert all(pipe.execute())
    for n in range(0, 200, 10):                       # overwrite some
        k = b"restart:%d" % n
        expected[k] = b"overwritten-%d" % n
        assert r.set(k, expected[k]) is True
    deleted = [b"restart:%d" % n for n in range(5, 200, 10)]
    assert r.delete(*deleted) == len(deleted)
    for k in deleted:
        del expected[k]
    r.close()

    assert cluster.launcher_pid_file() == cluster.proc.pid
    children = cluster.child_pids()
    assert len(children) == 4, children
    res = cluster.stop(sig)
    assert res.returncode == 0, res
    assert res.leftovers == [], res
    assert not any(pid_alive(p) for p in children)

    cluster.start()
    cluster.wait_ready()
    assert not set(cluster.child_pids()) & set(children)
    r = cluster.client(socket_timeout=10)
    for k, v in expected.items():
        assert r.get(k) == v, "after restart, GET %r" % k
    for k in deleted:
        assert r.get(k) is None, "deleted key %r is back after restart" % k
    assert r.set(b"restart:new", b"after restart") is True
    expected[b"restart:new"] = b"after restart"
    assert r.get(b"restart:new") == b"after restart"
    cluster.wait_sqlite(expected, exact=True)


def test_launcher_passes_options_after_double_dash():
    """twopc-cluster ... -- OPTIONS: the options reach the coordinator (make run ARGS=...)."""
    def factory():
        return Cluster(coordinator_args=["--timeout", "321", "--maxclients", "77"])
    for c in closing_cluster(factory):
        c.start()
        c.wait_ready()
        r = c.client(socket_timeout=10)
        assert r.config_get("timeout") == {"timeout": "321"}
        assert r.config_get("maxclients") == {"maxclients": "77"}
        assert r.set("k", "v") is True and r.get("k") == b"v"
        r.close()


def test_launcher_refuses_stray_arguments():
    res = subprocess.run([CLUSTER, "--port", "1", "stray"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=10)
    assert res.returncode == 2
    assert b"Usage: twopc-cluster" in res.stderr

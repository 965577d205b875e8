"""test_hosts.py -- the simulated hosts (hosts.py) are separate machines as far as the
deploy tasks can tell, and leave nothing behind: not after a clean exit, not after an
exception inside the `with`, not after the test process is SIGKILLed (the next run's sweep
and the hosts' parent-death signal clean up)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from hosts import STATE_DIR, SimHosts, sh

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(autouse=True)
def need_root():
    if os.geteuid() != 0:
        pytest.skip("the simulated hosts need root")


def test_separate_and_clean_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with SimHosts(["a", "b"]) as hs:
            a, b = hs["a"], hs["b"]
            assert hs.ssh("a", "hostname").stdout.strip() == "a"
            hs.ssh("a", "touch /opt/only-a /srv/only-a /etc/only-a; sleep 300 "
                   "</dev/null >/dev/null 2>&1 & echo $!")
            assert hs.ssh("b", "ls -A /opt /srv | grep only; test -e /etc/only-a && echo LEAK",
                          check=False).stdout.strip() == ""
            assert not os.path.exists("/etc/only-a")
            # reachable from the root side and from each other, over the bridge only
            assert hs.run("b", "ip route").stdout.count("default") == 0
            assert hs.ssh("b", "timeout 2 bash -c 'exec 3<>/dev/tcp/%s/22 && "
                          "head -c 4 <&3'" % a.addr).stdout == "SSH-"
            1 / 0
    assert hs.leftovers() == []
    assert "sleep 300" not in sh("ps", "-eo", "cmd").stdout


def test_clean_after_sigkill():
    """A test process killed by SIGKILL (a CTest timeout) runs no teardown: the hosts
    die with it, and the next SimHosts sweeps its network and folders."""
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from hosts import SimHosts\n"
            "hs = SimHosts(['x', 'y']); hs.__enter__()\n"
            "print(hs.run_id, hs.base, flush=True); time.sleep(300)\n" % HERE)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    run_id, base = p.stdout.readline().split()
    assert run_id in sh("ip", "netns", "list").stdout
    p.send_signal(signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 10
    while "sshd -D -f %s" % base in sh("ps", "-eo", "cmd").stdout:
        assert time.monotonic() < deadline, "the hosts' sshd outlived the killed test"
        time.sleep(0.1)
    assert os.path.exists(os.path.join(STATE_DIR, run_id + ".json"))
    with SimHosts(["z"]) as hs:
        assert run_id not in sh("ip", "netns", "list").stdout
        assert not os.path.exists(base)
    assert hs.leftovers() == []
    assert not os.path.exists(os.path.join(STATE_DIR, run_id + ".json"))

"""test_units.py -- deploy/systemd's units pass `systemd-analyze verify` with no output at
all (it exits 0 on parse warnings, so any stderr fails the test), checked against a temp
root that holds the built binaries at /opt/twopc/bin (verify fails when ExecStart's binary
is missing) and the system's own units; and their `systemd-analyze security` exposure
stays low (the figure is printed; docs in deploy/README.md)."""

import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
UNITS = os.path.join(HERE, "..", "..", "deploy", "systemd")
ROOT = os.path.join(HERE, "..", "..")


@pytest.fixture
def fake_root(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze (Debian's systemd) is not installed")
    r = tmp_path / "root"
    (r / "opt/twopc/bin").mkdir(parents=True)
    (r / "etc/systemd/system").mkdir(parents=True)
    (r / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", str(r / "usr/lib/systemd/system"),
                    symlinks=True)
    for var, name, sub in (("TWOPC_SERVER", "twopc-server", "server"),
                           ("TWOPC_REPLICA", "twopc-replica", "replica")):
        src = os.environ.get(var) or os.path.join(ROOT, "build", sub, name)
        shutil.copy(src, str(r / "opt/twopc/bin" / name))
    for u in ("twopc-server.service", "twopc-replica.service"):
        shutil.copy(os.path.join(UNITS, u), str(r / "etc/systemd/system" / u))
    return r


def verify(root, unit):
    return subprocess.run(["systemd-analyze", "verify", "--root=%s" % root,
                           "/etc/systemd/system/" + unit], capture_output=True, text=True)


@pytest.mark.parametrize("unit", ["twopc-server.service", "twopc-replica.service"])
def test_unit_verifies(fake_root, unit):
    r = verify(fake_root, unit)
    assert r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(), \
        "systemd-analyze verify %s: exit %d\n%s%s" % (unit, r.returncode, r.stdout, r.stderr)
    text = open(os.path.join(UNITS, unit)).read()
    for needed in ("User=twopc", "Restart=on-failure", "LimitNOFILE=", "ProtectSystem=strict",
                   "ReadWritePaths=/var/lib/twopc", "ProtectHome=yes", "PrivateTmp=yes",
                   "NoNewPrivileges=yes", "--config /etc/twopc/twopc.conf"):
        assert needed in text, (unit, needed)
    sec = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                          "--root=%s" % fake_root, unit], capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", sec.stdout + sec.stderr)
    assert m, sec.stdout + sec.stderr
    print("%s: systemd-analyze security exposure %s" % (unit, m.group(1)))
    assert float(m.group(1)) <= 2.0, "exposure %s is above 2.0" % m.group(1)


def test_verify_catches_a_broken_unit(fake_root):
    """The check can fail: a misspelt directive and a missing binary are reported."""
    p = fake_root / "etc/systemd/system/twopc-server.service"
    p.write_text(p.read_text().replace("ProtectHome=yes", "ProtectHom=yes"))
    r = verify(fake_root, "twopc-server.service")
    assert "ProtectHom" in r.stderr, r.stderr
    os.unlink(str(fake_root / "opt/twopc/bin/twopc-replica"))
    r = verify(fake_root, "twopc-replica.service")
    assert r.returncode != 0 or r.stderr.strip(), "a missing ExecStart binary passed"

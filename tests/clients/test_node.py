"""ioredis and node-redis (from npm, versions pinned by node/package-lock.json)
against twopc, with node's built-in test runner.

The node project is copied to a work folder (TWOPC_NODE_WORKDIR, CTest gives
build/tests/clients/node; else a temporary folder) and installed there with
`npm ci --ignore-scripts`, so the source tree stays clean; the install is
reused while package-lock.json is unchanged.  The tests read the coordinator's
port from TWOPC_PORT."""

import hashlib
import os
import shutil
import subprocess
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_SRC = os.path.join(HERE, "node")


def need(name):
    path = shutil.which(name)
    if not path:
        pytest.fail("%s not found: the node client tests need Node.js >= 18 and npm" % name)
    return path


def prepare_workdir():
    work = os.environ.get("TWOPC_NODE_WORKDIR") or os.path.join(tempfile.gettempdir(),
                                                               "twopc-node-clients")
    os.makedirs(work, exist_ok=True)
    for f in os.listdir(NODE_SRC):
        if f.endswith((".json", ".mjs")):
            shutil.copy(os.path.join(NODE_SRC, f), os.path.join(work, f))
    with open(os.path.join(NODE_SRC, "package-lock.json"), "rb") as f:
        lock_hash = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(work, "node_modules", ".twopc-lock-sha256")
    try:
        with open(stamp) as f:
            if f.read().strip() == lock_hash:
                return work
    except OSError:
        pass
    res = subprocess.run([need("npm"), "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                         cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=240)
    assert res.returncode == 0, "npm ci failed:\n" + res.stdout.decode(errors="replace")
    with open(stamp, "w") as f:
        f.write(lock_hash)
    return work


def test_lockfile_names_no_registry():
    """package-lock.json must not record where packages were fetched from."""
    with open(os.path.join(NODE_SRC, "package-lock.json")) as f:
        lock = f.read()
    assert '"resolved"' not in lock


def test_ioredis_and_node_redis(cluster):
    need("node")
    work = prepare_workdir()
    env = dict(os.environ, TWOPC_PORT=str(cluster.port))
    res = subprocess.run([need("node"), "--test", "ioredis.test.mjs", "node-redis.test.mjs",
                          "apps.test.mjs"],
                         cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=240)
    out = res.stdout.decode(errors="replace")
    assert res.returncode == 0, out
    assert "# fail 0" in out and "# pass 23" in out, out

"""hiredis (Debian's libhiredis 0.14, synchronous API) against twopc: runs the
C program hiredis_client.c, built by CMake as twopc-hiredis-client."""

import os
import subprocess

import pytest

from conftest import REPO_ROOT


def binary():
    path = os.environ.get("TWOPC_HIREDIS_CLIENT") or os.path.join(
        REPO_ROOT, "build", "tests", "clients", "twopc-hiredis-client")
    if not os.access(path, os.X_OK):
        pytest.fail("hiredis client program not built: %s" % path)
    return path


def test_hiredis_sync_api(cluster):
    res = subprocess.run([binary(), "127.0.0.1", str(cluster.port)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=120)
    out = res.stdout.decode(errors="replace")
    assert res.returncode == 0, out
    assert out.strip().endswith("all checks passed"), out
    for line in ("ok reply types", "ok pipeline of 2000", "ok multi/exec", "ok watch"):
        assert line in out, out

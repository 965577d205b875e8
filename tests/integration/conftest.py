"""conftest.py -- fixtures for the twopc integration tests.

The harness itself (Cluster, RespConn, redis_cli, ...) lives in tests/lib/twopc_harness.py,
shared with tests/crash; this file adds the pytest fixtures and the failure report hook.
Tests may keep importing names from conftest: everything of the harness is re-exported.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from twopc_harness import *  # noqa: E402,F401,F403
from twopc_harness import (cluster, module_cluster,  # noqa: E402,F401
                           pytest_runtest_makereport)



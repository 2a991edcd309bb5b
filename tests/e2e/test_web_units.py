"""The page's DOM-free modules (web/test/*.test.ts), run by node's test runner via `npm test`.

Here so that the README's single test command runs them too; they need node and the
packages `make web` installs, and are skipped without them unless VS_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

WEB = Path(__file__).resolve().parents[2] / "web"


def test_web_unit_tests_pass() -> None:
    npm = shutil.which("npm")
    if npm is None or not (WEB / "node_modules").is_dir():
        reason = "npm or web/node_modules missing: run `make web`"
        if os.environ.get("VS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    result = subprocess.run([npm, "test", "--silent"], cwd=WEB, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

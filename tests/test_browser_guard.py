"""A missing Chromium skips the browser suite on a laptop and fails it in CI."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _browser_suite(tmp_path, **env):
    """Collect and run tests/browser in a child pytest with Chromium pointed at nothing."""
    child_env = {k: v for k, v in os.environ.items() if k != "CI"}
    child_env.update({"CHROMIUM": str(tmp_path / "no-chromium"), **env})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/browser",
         "-k", "docs_page_from_the_sidebar"],
        cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.slow
def test_missing_chromium_is_a_skip_outside_ci(tmp_path):
    run = _browser_suite(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout
    assert "no-chromium is not installed" in run.stdout


@pytest.mark.slow
def test_missing_chromium_fails_the_run_in_ci(tmp_path):
    run = _browser_suite(tmp_path, CI="true")
    assert run.returncode != 0
    assert "no-chromium is not installed" in run.stdout
    assert "passed" not in run.stdout.splitlines()[-1]

"""`.ci/run` itself: in CI a browser test never skips, and the property tests run twice."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CI = Path(__file__).resolve().parent.parent / ".ci" / "run"


def prologue() -> str:
    """`.ci/run` up to the test command: what it sets up before pytest runs."""
    text = CI.read_text(encoding="utf-8")
    return text.split("# The README's test command")[0]


def test_a_machine_without_chromium_fails_the_browser_tests_not_skips_them(tmp_path):
    bin_dir = tmp_path / "bin"  # no chromium, no apt-get: nothing can install it
    bin_dir.mkdir()
    os.symlink("/usr/bin/dirname", bin_dir / "dirname")
    (tmp_path / ".ci").mkdir()
    script = prologue() + 'echo "SCS_REQUIRE_BROWSER=${SCS_REQUIRE_BROWSER:-}"\n'
    result = subprocess.run(["/bin/bash", "-c", script], cwd=tmp_path / ".ci",
                            env={"PATH": str(bin_dir)}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "SCS_REQUIRE_BROWSER=1" in result.stdout
    assert "the browser tests will fail" in result.stderr


def test_the_property_tests_run_again_with_a_fresh_printed_seed():
    text = CI.read_text(encoding="utf-8")
    assert "SCS_PROPERTY_FRESH=1" in text and '"--hypothesis-seed=$seed"' in text
    assert 'echo "ci: property tests with a fresh seed: --hypothesis-seed=$seed"' in text

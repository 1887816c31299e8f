"""Shell completion: `scs --install-completion` / `--show-completion`, and completion of
commands and bundled catalogue names."""

from __future__ import annotations

import os
import subprocess
import sys


def complete(words: str) -> list[str]:
    env = {**os.environ, "_SCS_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - 1)}
    code = "from scs_cli.cli.app import app; app(prog_name='scs')"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True)
    return result.stdout.split()


def test_completes_bundled_catalogue_names() -> None:
    assert complete("scs catalogue show rong") == ["rongcheng-2016", "rongcheng-2021"]
    assert complete("scs catalogue diff rongcheng-2016 su") == ["suining-2010", "suqian-2019"]


def test_completes_commands() -> None:
    assert complete("scs led") == ["ledger"]
    assert "import" in complete("scs ledger im")


def test_the_root_offers_completion_scripts(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("--help")
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout
    script = scs("--show-completion", "bash")
    assert script.exit_code == 0 and "_SCS_COMPLETE=complete_bash" in script.stdout

"""The package's type annotations hold: mypy (configured in pyproject.toml) finds no error."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_mypy_finds_no_type_errors_in_the_package() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir=/dev/null"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout

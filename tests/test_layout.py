"""The shape of the house: file sizes and the layering contracts.

A file past 700 lines is a module doing several things; split it by what each part does. Data
tables (word lists the demo store draws from) and migrations are the exceptions, named here.
The import rules (engines import no Django, the domain never imports an api package, no import
circles) live in ``.importlinter`` and are checked by ``lint-imports`` in ``make test``; the test
here runs the same check so a plain ``pytest`` run catches a broken contract too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("platform_core", "catalog", "recommend", "training", "courses", "tests", "bench")
MAX_LINES = 700
# Vocabulary tables: long by nature, no logic.
DATA_TABLES = {"catalog/demo/vocab.py"}


def python_files():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative in DATA_TABLES:
                continue
            yield relative, path


def test_no_python_file_is_over_700_lines():
    too_long = {}
    for relative, path in python_files():
        with path.open(encoding="utf-8") as handle:
            lines = sum(1 for _ in handle)
        if lines > MAX_LINES:
            too_long[relative] = lines
    assert too_long == {}, f"split these by what each part does (limit {MAX_LINES}): {too_long}"


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--config", str(ROOT / ".importlinter")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

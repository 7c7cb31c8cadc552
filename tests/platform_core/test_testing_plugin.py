"""The test plugin (``platform_core/testing.py``) gives every test process a temporary DATA_DIR
and removes it when that process's session ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

INNER_TEST = """
import os
from pathlib import Path


def test_records_its_data_dir():
    data_dir = Path(os.environ["DATA_DIR"])
    assert data_dir.name.startswith("aisle-test-") and data_dir.is_dir()
    (data_dir / "artifacts").mkdir()
    (data_dir / "artifacts" / "model.bin").write_bytes(b"x")
    Path(os.environ["RECORD_TO"]).write_text(str(data_dir))
"""


def test_a_session_removes_its_own_data_dir_when_it_ends(tmp_path):
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    record = tmp_path / "data_dir.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["RECORD_TO"] = str(record)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
        + ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    inner_data_dir = Path(record.read_text())
    assert inner_data_dir != Path(os.environ["DATA_DIR"])
    assert not inner_data_dir.exists()
    assert Path(os.environ["DATA_DIR"]).is_dir()  # this session's own folder is still there

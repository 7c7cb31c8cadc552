"""bench/gpu_check.sh's reduced CPU mode, as CI runs it: every step of the GPU path runs on a
machine without CUDA and prints its figure next to its anchor."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_gpu_check_runs_every_step_in_its_cpu_mode():
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env["CUDA_VISIBLE_DEVICES"] = ""  # as on CI, whatever this machine has
    done = subprocess.run(
        ["bash", "bench/gpu_check.sh", "--cpu"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = done.stdout
    assert done.returncode == 0, (out + done.stderr)[-4000:]
    assert "reduced CPU mode" in out
    lines = {
        line.strip().split("  ")[0]: line for line in out.splitlines() if line.startswith("  ")
    }
    assert "bare encode" in lines["embedding: job encode (no database)"]
    for mode in ("full", "lora"):
        assert "bare loop" in lines[f"retriever fine-tune, {mode} fp32"]
    assert "examples/s" in lines["intent classifier, one epoch"]
    assert {"quantise", "distil"} <= set(lines)
    # embed_images and generate_copy: on the CPU the "mixed" path is fp32 (autocast is CUDA's)
    assert (
        "fp32" in lines["image tower train, fp32"]
        and "pictures/s" in lines["image tower train, fp32"]
    )
    assert "pictures/s" in lines["image tower encode, fp32"]
    assert "cosine" in lines["image vectors, mixed vs fp32 model"]
    assert "drafts/s" in lines["copy generator, weights fp32"]
    assert "gpu_check done in" in out

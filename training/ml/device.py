"""Device selection, mixed precision and memory figures for training and embedding jobs.

Jobs use CUDA with mixed precision when it is available and the CPU otherwise; every path here
also runs on a CPU-only machine. torch is imported inside the functions so that importing this
module costs nothing in processes that never touch a model.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

__all__ = ["DeviceInfo", "autocast_context", "peak_memory_mb", "pick_device", "reset_peak"]


@dataclass(frozen=True)
class DeviceInfo:
    """Where a job runs.

    ``device`` is a torch device string ("cpu", "cuda:0"); ``dtype`` is the autocast dtype
    (bfloat16 on CUDA cards that support it, float16 on older ones, None on the CPU, where the
    job runs in float32); ``name`` is a human-readable description for the job log.
    """

    device: str
    dtype: torch.dtype | None
    name: str

    @property
    def is_cuda(self) -> bool:
        """True when the device is a CUDA GPU."""
        return self.device.startswith("cuda")


def pick_device(prefer: str | None = None) -> DeviceInfo:
    """Choose the device for a job.

    ``prefer`` may be None or "auto" (CUDA when available, else CPU), "cpu", "cuda" or
    "cuda:N". A CUDA preference on a machine without CUDA falls back to the CPU with a warning,
    so a job queued for a GPU still completes on a CPU worker.
    """
    import torch

    choice = (prefer or "auto").strip().lower()
    if choice == "cpu":
        return _cpu_info()
    if choice not in ("auto", "cuda") and not choice.startswith("cuda:"):
        raise ValueError(
            f"unknown device preference {prefer!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'"
        )
    if not torch.cuda.is_available():
        if choice != "auto":
            logger.warning(
                "device %r requested but CUDA is not available: running on the CPU", prefer
            )
        return _cpu_info()
    index = int(choice.split(":", 1)[1]) if ":" in choice else torch.cuda.current_device()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    name = f"{torch.cuda.get_device_name(index)} (cuda:{index}, autocast {str(dtype).removeprefix('torch.')})"
    return DeviceInfo(device=f"cuda:{index}", dtype=dtype, name=name)


def _cpu_info() -> DeviceInfo:
    import torch

    return DeviceInfo(
        device="cpu", dtype=None, name=f"CPU ({torch.get_num_threads()} threads, float32)"
    )


def autocast_context(info: DeviceInfo) -> contextlib.AbstractContextManager[Any]:
    """Mixed-precision context for forward passes: autocast on CUDA, a no-op on the CPU."""
    import torch

    if info.is_cuda and info.dtype is not None:
        return torch.autocast(device_type="cuda", dtype=info.dtype)
    return contextlib.nullcontext()


def reset_peak(info: DeviceInfo) -> None:
    """Start a new peak-memory window (CUDA allocator stats, or the process's peak RSS)."""
    if info.is_cuda:
        import torch

        torch.cuda.reset_peak_memory_stats(info.device)
        return
    # Linux resets the VmHWM high-water mark when "5" is written to clear_refs; elsewhere (or
    # where /proc is read-only) the peak simply covers the process's whole life.
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_memory_mb(info: DeviceInfo) -> float:
    """Peak memory in MiB since :func:`reset_peak`.

    On CUDA: ``torch.cuda.max_memory_allocated``. On the CPU: the process's peak resident set
    (VmHWM) where Linux reports it, otherwise its current RSS from psutil.
    """
    if info.is_cuda:
        import torch

        return torch.cuda.max_memory_allocated(info.device) / 2**20
    hwm_kb = _vm_hwm_kb()
    if hwm_kb is not None:
        return hwm_kb / 1024
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def _vm_hwm_kb() -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None

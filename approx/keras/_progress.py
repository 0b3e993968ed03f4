"""Keras's terminal output: the progress line of an epoch, ``evaluate`` and
``predict``, and the byte sizes of ``summary()``."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["format_param_size", "progress_line"]


def _format_value(value) -> str:
    """A logged value with Keras's four significant decimals."""
    if isinstance(value, np.ndarray):
        return "[" + " ".join(_format_value(float(v)) for v in value.ravel()) + "]"
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 or not math.isfinite(value) else f"{value:.4e}"


def _format_time(seconds: float, steps: int) -> tuple[str, str]:
    """The total time and the time per step, in Keras's units."""
    per = seconds / max(steps, 1)
    per_text = f"{per * 1e3:.0f}ms/step" if per >= 1e-3 else f"{per * 1e6:.0f}us/step"
    return f"{seconds:.0f}s" if seconds >= 1 else f"{seconds * 1e3:.0f}ms", per_text


def progress_line(steps: int, seconds: float, logs: dict, mode: int) -> str:
    """Keras's line for ``steps`` steps that took ``seconds``, with ``logs``:
    a bar (``mode`` 1) or plain (``mode`` 2)."""
    total, per = _format_time(seconds, steps)
    values = " - ".join(f"{k}: {_format_value(v)}" for k, v in logs.items())
    if mode == 1:
        line = f"{steps}/{steps} " + "\u2501" * 20 + f" {total} {per}"
    else:
        line = f"{steps}/{steps} - {total} - {per}"
    return line + (f" - {values}" if values else "")


def format_param_size(params: int) -> str:
    """The size of ``params`` float32 parameters, as ``summary()`` shows it."""
    size = params * 4.0
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return ""

"""The 1-D width sweep that figures 4, 5 and 10 share: built by one function
so that equal settings make equal sweeps, which the cache runs once."""

from __future__ import annotations

from approx.config import SweepConfig

__all__ = ["sweep_1d"]


def sweep_1d(target: str, quick: bool, **overrides) -> SweepConfig:
    """The 1-D width sweep behind figures 4, 5 and 10: widths 1..128, three
    seeds, 2000 Adam steps (cosine schedule) from the spread init, 512
    training points; ``overrides`` change any setting."""
    base = {
        "target": target,
        "widths": (2, 8) if quick else tuple(2**k for k in range(8)),
        "seeds": 1 if quick else 3,
        "steps": 20 if quick else 2000,
        "train_points": 128 if quick else 512,
        "test_points": 256 if quick else 2048,
        "bucket_ratio": 8.0 if quick else 4.0,
    }
    return SweepConfig(**(base | overrides))

"""What a workload reports: :class:`BenchResult`, its rates, and its JSON form."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

__all__ = ["BenchResult", "spread"]


@dataclass
class BenchResult:
    """One workload's figures; seconds unless named otherwise."""

    workload: str
    compile_s: float
    run_s: float
    steps: int
    samples: int
    flops: float
    ceiling_gflops: float
    wall_s: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.run_s if self.run_s > 0 else math.nan

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.run_s if self.run_s > 0 else math.nan

    @property
    def gflops(self) -> float:
        return self.flops / self.run_s / 1e9 if self.run_s > 0 else math.nan

    @property
    def fraction(self) -> float:
        return self.gflops / self.ceiling_gflops if self.ceiling_gflops > 0 else math.nan

    def to_dict(self) -> dict:
        """The fields and the derived rates, as ``approx bench --json`` prints them."""
        d = asdict(self)
        d.update(steps_per_s=self.steps_per_s, samples_per_s=self.samples_per_s, gflops=self.gflops, fraction=self.fraction)
        return d


def spread(values) -> list[float]:
    """``[min, max]`` of repeated timings, as the ``*_range`` entries report them."""
    return [float(min(values)), float(max(values))]

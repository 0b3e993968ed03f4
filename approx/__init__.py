"""approx: universal approximation, measured.

Single-hidden-layer and deep MLPs fit to functions on ``[0, 1]^d`` and to
Fashion-MNIST, trained by compiled JAX loops, with width sweeps, error
measures and lecture figures. Cybenko (1989), Hornik (1991), Barron (1993).
"""

# Before jax loads: OpenBLAS runs on one thread unless the user chose (see approx.threads).
from approx.threads import OPENBLAS_THREADS_SET_BY_APPROX  # noqa: F401 (kept as approx.OPENBLAS_THREADS_SET_BY_APPROX)

from approx.config import ConfigError, FMNISTConfig, SweepConfig
from approx.models import MLP, count_params
from approx.experiments.sweep import run_sweep
from approx.targets import Target, as_target, grid, make_target, sample_uniform
from approx.train import TrainConfig, make_epoch_fn, make_run_fn
from approx.keras import Sequential
from approx.keras.callbacks import History
from approx.keras.layers import Dense

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Dense",
    "History",
    "Sequential",
    "FMNISTConfig",
    "MLP",
    "SweepConfig",
    "Target",
    "TrainConfig",
    "as_target",
    "count_params",
    "grid",
    "make_epoch_fn",
    "make_run_fn",
    "make_target",
    "run_sweep",
    "sample_uniform",
]

"""approx: universal approximation, measured.

Single-hidden-layer and deep MLPs fit to functions on ``[0, 1]^d`` and to
Fashion-MNIST, trained by compiled JAX loops, with width sweeps, error
measures and lecture figures. Cybenko (1989), Hornik (1991), Barron (1993).
"""

import os as _os

# JAX's CPU linear algebra (the least-squares readout's SVD) calls LAPACK
# through OpenBLAS, whose worker threads spin while XLA's own threads run and
# make a batch of small SVDs erratically slow (up to hundreds of times). The
# matrices are small, so one thread is best; a value the user has set is kept.
OPENBLAS_THREADS_SET_BY_APPROX = "OPENBLAS_NUM_THREADS" not in _os.environ
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

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

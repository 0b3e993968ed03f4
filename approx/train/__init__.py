"""The compiled training loops, shared by sweeps, Fashion-MNIST and the Keras-style front.

A network is split once into its static ``graphdef`` and its parameters (a
pytree); everything below is a pure function of arrays, so a whole run is one
``jax.jit``:

* :func:`make_run_fn` - full-batch (or sampled minibatch) training for a fixed
  number of steps, one ``lax.scan`` over the steps (``_run``).
* :func:`make_epoch_fn` - one epoch of shuffled minibatches, one ``lax.scan``
  over the batches (``_epoch``; Keras's ``fit`` and Fashion-MNIST call it once
  per epoch).

Both take an *ensemble* axis: parameters, masks and keys carry a leading axis
of size ``E`` (seeds, and widths padded into one bucket) and are ``vmap``ped
(``_ensemble``); the data are shared. Divergence is detected inside the
compiled program, without any host sync: :func:`make_run_fn` checks every step
(once the loss or a gradient is not finite, a member stops updating, keeps its
last finite parameters and loss, and is flagged); :func:`make_epoch_fn` checks
once per epoch (a member whose epoch ends with non-finite losses or parameters
goes back to where the epoch started, is flagged and stays there), which keeps
the per-step work to the step itself. Optimizers and schedules by name are in
``_optimizers``, the state both loops carry in ``_state``.
"""

from approx.train._ensemble import ensemble_vmap, stack_masks
from approx.train._epoch import (
    epoch_batches,
    graphdef_forward,
    make_epoch,
    make_epoch_fn,
    per_example_losses,
    per_example_mean,
)
from approx.train._network import fit_output_layer, make_apply, mean_squared_error
from approx.train._optimizers import OPTIMIZERS, SCHEDULES, make_optimizer
from approx.train._run import OUTPUT_INITS, RunResult, RunSnapshots, TrainConfig, make_run_fn
from approx.train._state import TrainState, init_train_state

__all__ = [
    "OPTIMIZERS",
    "OUTPUT_INITS",
    "SCHEDULES",
    "RunResult",
    "RunSnapshots",
    "TrainConfig",
    "TrainState",
    "ensemble_vmap",
    "epoch_batches",
    "fit_output_layer",
    "graphdef_forward",
    "init_train_state",
    "make_apply",
    "make_epoch",
    "make_epoch_fn",
    "make_optimizer",
    "make_run_fn",
    "mean_squared_error",
    "per_example_losses",
    "per_example_mean",
    "stack_masks",
]

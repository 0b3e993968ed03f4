"""Shared test settings: CPU unless told otherwise, no silent rank promotion,
no network, no persistent compilation cache.

The strict settings are process-wide, set before JAX is imported, so that
fixtures of every scope (module-scoped ones build data and train before any
test runs) and subprocesses (which inherit the environment) run under them
too, not only the test functions.

``JAX_PLATFORMS= python -m pytest`` runs the suite on the default backend (a
GPU when there is one); tests that need the CPU's host devices set
``JAX_PLATFORMS=cpu`` for their own subprocesses.
"""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("APPROX_NO_DOWNLOAD", "1")
os.environ.setdefault("APPROX_NO_CACHE", "1")
# Two test processes share an accelerator when there is one (JAX_PLATFORMS=):
# neither may take three quarters of its memory up front.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
# (n,) against (n, 1) broadcasting silently is the classic loss bug.
os.environ["JAX_NUMPY_RANK_PROMOTION"] = "raise"

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True)
def _strict_process_settings():
    # A test that loosens rank promotion, or leaves float64 on, must not do so
    # for the next one (float64 left on changes the last bits of every float32
    # run after it: the same config would no longer give the same numbers).
    yield
    if jax.config.jax_numpy_rank_promotion != "raise":
        jax.config.update("jax_numpy_rank_promotion", "raise")
        pytest.fail("the test left jax_numpy_rank_promotion loosened")
    if jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", False)
        pytest.fail("the test left jax_enable_x64 on for the process")


# The longest files first: the two test workers take whole files in this
# order, so a long file started last would leave one worker idle at the end.
_LONGEST_FIRST = (
    "test_train.py", "test_sweep.py", "test_models.py", "test_fmnist.py", "test_train_reference.py",
    "test_scenarios.py", "test_keras_model.py", "test_targets.py", "test_cli.py", "test_faults.py",
)  # fmt: skip


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file keeps its order

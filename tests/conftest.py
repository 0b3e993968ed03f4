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
# (n,) against (n, 1) broadcasting silently is the classic loss bug.
os.environ["JAX_NUMPY_RANK_PROMOTION"] = "raise"

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True)
def _strict_rank_promotion():
    # A test that loosens the setting must not loosen it for the next one.
    yield
    if jax.config.jax_numpy_rank_promotion != "raise":
        jax.config.update("jax_numpy_rank_promotion", "raise")
        pytest.fail("the test left jax_numpy_rank_promotion loosened")

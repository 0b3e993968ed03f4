"""Shared test settings: CPU, no silent rank promotion, no network, tiny configs."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("APPROX_NO_DOWNLOAD", "1")
os.environ.setdefault("APPROX_NO_CACHE", "1")

import jax  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _strict_rank_promotion():
    # (n,) against (n, 1) broadcasting silently is the classic loss bug.
    with jax.numpy_rank_promotion("raise"):
        yield

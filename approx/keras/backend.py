"""``keras.backend``: the few backend functions course code calls."""

from approx.keras._subset import missing_name, reset_names

__all__ = ["backend", "clear_session", "epsilon", "floatx"]


def backend() -> str:
    return "jax"


def epsilon() -> float:
    return 1e-7


def floatx() -> str:
    return "float32"


def clear_session(free_memory: bool = True) -> None:
    """Restarts layer names (``dense``, ``dense_1``, ...) from the beginning, as Keras does."""
    reset_names()


__getattr__ = missing_name("keras.backend", "functions", __all__)
